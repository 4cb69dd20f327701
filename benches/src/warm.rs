//! Warm-path overhead: the adapters with a cached RPT against the bare transports sending the same RPT as a
//! static `Authorization` header, to the same loopback resource server, rounds interleaved.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use uma_core::auth::ClientCredentials;
use uma_core::discovery::Issuer;
use uma_core::{AuthorizationServer, Config};
use uma_hyper::UmaClient;
use uma_testkit::{Dialect, Kit, KitConfig, Server};
use ureq::RequestExt;

use crate::stats::Summary;

/// The resource every warm request fetches.
const PATH: &str = "/api/a";

/// One side-by-side comparison.
#[derive(Debug, Clone)]
pub struct WarmResult {
    /// e.g. `uma-hyper vs hyper-util`.
    pub label: String,
    /// Concurrent tasks or threads.
    pub concurrency: usize,
    /// Requests per round per client.
    pub requests: usize,
    /// Requests/s of the bare transport, per round.
    pub raw: Summary,
    /// Requests/s through the adapter, per round.
    pub uma: Summary,
    /// `uma / raw` of each round (the rounds are adjacent in time, so drift cancels).
    pub ratio: Summary,
    /// Responses that were not `200` or failed (must be 0).
    pub errors: usize,
    /// A diagnostic third side, interleaved with the others: its label, req/s, and adapter ÷ it per round.
    pub diagnostic: Option<(String, Summary, Summary)>,
}

/// A kit whose RPTs never expire and have no use limit, so nothing but the warm path is measured.
pub fn start_kit() -> std::io::Result<Kit> {
    let mut config = KitConfig::new(Dialect::Spec);
    config.rpt_lifetime = None;
    config.rpt_use_limit = None;
    config.refresh_tokens = false;
    Kit::start(config)
}

/// The client configuration trusting the kit's AS over plain http (loopback only).
pub fn uma_config(kit: &Kit) -> Config {
    match Issuer::parse(&kit.issuer()) {
        Ok(issuer) => Config::new()
            .with_authorization_server(AuthorizationServer::new(
                issuer,
                ClientCredentials::basic("app", "app-secret"),
            ))
            .allow_insecure_http(true),
        Err(_) => Config::new(),
    }
}

/// The `Authorization` value of the last request the RS received (the RPT the adapter cached).
fn last_authorization(kit: &Kit) -> Option<String> {
    kit.log_of(Server::Rs)
        .last()
        .and_then(|r| r.header("authorization").map(str::to_owned))
}

fn hyper_client<B>() -> HyperClient<HttpConnector, B>
where
    B: hyper::body::Body + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    HyperClient::builder(TokioExecutor::new()).build(HttpConnector::new())
}

/// Runs `total` requests as `concurrency` tasks of `send`; returns the elapsed time and failures.
async fn hyper_round<F, Fut>(send: F, total: usize, concurrency: usize) -> (Duration, usize)
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let per_task = total / concurrency.max(1);
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let send = send.clone();
            tokio::spawn(async move {
                let mut errors = 0;
                for _ in 0..per_task {
                    if !send().await {
                        errors += 1;
                    }
                }
                errors
            })
        })
        .collect();
    let mut errors = 0;
    for task in tasks {
        errors += task.await.unwrap_or(per_task);
    }
    (started.elapsed(), errors)
}

fn rate(requests: usize, elapsed: Duration) -> f64 {
    requests as f64 / elapsed.as_secs_f64().max(1e-9)
}

/// uma-hyper (cached RPT) against the raw hyper-util client with a static bearer header.
pub fn hyper(
    kit: &Kit,
    rounds: usize,
    requests: usize,
    concurrency: usize,
) -> Result<WarmResult, String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let url = kit.rs_url(PATH);
        let uma = UmaClient::from_hyper(hyper_client(), uma_config(kit));
        let first = uma.get(&url).send().await.map_err(|e| e.to_string())?;
        if first.status() != 200 {
            return Err(format!("warm-up answered {}", first.status()));
        }
        let bearer = last_authorization(kit).ok_or("no RPT seen by the RS")?;
        let raw = hyper_client::<Full<Bytes>>();
        let uri: http::Uri = url
            .parse()
            .map_err(|e: http::uri::InvalidUri| e.to_string())?;
        let bearer = Arc::new(bearer);

        let raw_send = {
            let (raw, uri, bearer) = (raw.clone(), uri.clone(), Arc::clone(&bearer));
            move || {
                let (raw, uri, bearer) = (raw.clone(), uri.clone(), Arc::clone(&bearer));
                async move {
                    let Ok(request) = http::Request::get(uri)
                        .header(http::header::AUTHORIZATION, bearer.as_str())
                        .body(Full::new(Bytes::new()))
                    else {
                        return false;
                    };
                    match raw.request(request).await {
                        Ok(response) => {
                            let ok = response.status() == 200;
                            // Read the whole body, as the adapter does.
                            ok && response.into_body().collect().await.is_ok()
                        }
                        Err(_) => false,
                    }
                }
            }
        };
        let uma_send = {
            let (uma, url) = (uma.clone(), url.clone());
            move || {
                let (uma, url) = (uma.clone(), url.clone());
                async move {
                    match uma.get(&url).send().await {
                        // Read the whole body, as the bare side does.
                        Ok(r) if r.status() == 200 => r.into_body().collect().await.is_ok(),
                        _ => false,
                    }
                }
            }
        };

        // One unmeasured round each fills both connection pools.
        let warmup = requests.min(200);
        hyper_round(raw_send.clone(), warmup, concurrency).await;
        hyper_round(uma_send.clone(), warmup, concurrency).await;

        let (mut raw_rates, mut uma_rates, mut ratios, mut errors) =
            (Vec::new(), Vec::new(), Vec::new(), 0);
        for round in 0..rounds {
            // Alternate which side goes first so that neither always runs on a warmer machine.
            let (r, u) = if round % 2 == 0 {
                let r = hyper_round(raw_send.clone(), requests, concurrency).await;
                let u = hyper_round(uma_send.clone(), requests, concurrency).await;
                (r, u)
            } else {
                let u = hyper_round(uma_send.clone(), requests, concurrency).await;
                let r = hyper_round(raw_send.clone(), requests, concurrency).await;
                (r, u)
            };
            let done = (requests / concurrency.max(1)) * concurrency.max(1);
            raw_rates.push(rate(done, r.0));
            uma_rates.push(rate(done, u.0));
            ratios.push(rate(done, u.0) / rate(done, r.0));
            errors += r.1 + u.1;
        }
        Ok(WarmResult {
            label: "uma-hyper vs hyper-util".to_string(),
            concurrency,
            requests,
            raw: Summary::of(&raw_rates),
            uma: Summary::of(&uma_rates),
            ratio: Summary::of(&ratios),
            errors,
            diagnostic: None,
        })
    })
}

/// Runs `total` requests on `threads` threads of `send`; returns the elapsed time and failures.
fn ureq_round(send: &(dyn Fn() -> bool + Sync), total: usize, threads: usize) -> (Duration, usize) {
    let per_thread = total / threads.max(1);
    let started = Instant::now();
    let errors = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|_| scope.spawn(|| (0..per_thread).filter(|_| !send()).count()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(per_thread))
            .sum()
    });
    (started.elapsed(), errors)
}

/// uma-ureq (cached RPT) against a raw ureq agent with a static bearer header.
pub fn ureq(
    kit: &Kit,
    rounds: usize,
    requests: usize,
    threads: usize,
) -> Result<WarmResult, String> {
    let url = kit.rs_url(PATH);
    let uma = uma_ureq::UmaClient::from_ureq(ureq::Agent::new_with_defaults(), uma_config(kit));
    let first = uma.get(&url).send().map_err(|e| e.to_string())?;
    if first.status() != 200 {
        return Err(format!("warm-up answered {}", first.status()));
    }
    let bearer = last_authorization(kit).ok_or("no RPT seen by the RS")?;
    let raw = ureq::Agent::new_with_defaults();

    let raw_send = || match raw.get(&url).header("Authorization", &bearer).call() {
        Ok(mut response) => response.status() == 200 && response.body_mut().read_to_vec().is_ok(),
        Err(_) => false,
    };
    // Read the whole body, as the bare side does (an unread body also keeps its connection out of the
    // pool).
    let uma_send = || match uma.get(&url).send() {
        Ok(mut response) => response.status() == 200 && response.body_mut().read_to_vec().is_ok(),
        Err(_) => false,
    };
    // Diagnostic: the bare agent with the per-request configuration the adapter applies to every
    // exchange (uma-ureq transport.rs: statuses not errors, no redirects, per-phase timeouts).
    let configured_send = || {
        let Ok(request) = http::Request::get(url.as_str())
            .header("Authorization", bearer.as_str())
            .body(())
        else {
            return false;
        };
        let run = request
            .with_agent(&raw)
            .configure()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_send_request(Some(Duration::from_secs(30)))
            .timeout_send_body(Some(Duration::from_secs(30)))
            .timeout_recv_response(Some(Duration::from_secs(30)))
            .timeout_recv_body(Some(Duration::from_secs(30)))
            .build()
            .run();
        match run {
            Ok(mut response) => {
                response.status() == 200 && response.body_mut().read_to_vec().is_ok()
            }
            Err(_) => false,
        }
    };

    let warmup = requests.min(200);
    ureq_round(&raw_send, warmup, threads);
    ureq_round(&uma_send, warmup, threads);
    ureq_round(&configured_send, warmup, threads);

    let (mut raw_rates, mut uma_rates, mut ratios, mut errors) =
        (Vec::new(), Vec::new(), Vec::new(), 0);
    let (mut diag_rates, mut diag_ratios) = (Vec::new(), Vec::new());
    let sides: [&(dyn Fn() -> bool + Sync); 3] = [&raw_send, &uma_send, &configured_send];
    for round in 0..rounds {
        // Rotate the order of the three sides from round to round.
        let mut results = [(Duration::ZERO, 0); 3];
        for k in 0..3 {
            let side = (round + k) % 3;
            results[side] = ureq_round(sides[side], requests, threads);
        }
        let [r, u, d] = results;
        let done = (requests / threads.max(1)) * threads.max(1);
        raw_rates.push(rate(done, r.0));
        uma_rates.push(rate(done, u.0));
        diag_rates.push(rate(done, d.0));
        ratios.push(rate(done, u.0) / rate(done, r.0));
        diag_ratios.push(rate(done, u.0) / rate(done, d.0));
        errors += r.1 + u.1 + d.1;
    }
    Ok(WarmResult {
        label: "uma-ureq vs ureq".to_string(),
        concurrency: threads,
        requests,
        raw: Summary::of(&raw_rates),
        uma: Summary::of(&uma_rates),
        ratio: Summary::of(&ratios),
        errors,
        diagnostic: Some((
            "bare ureq + the adapter's per-request config (per-phase timeouts)".to_string(),
            Summary::of(&diag_rates),
            Summary::of(&diag_ratios),
        )),
    })
}
