//! Large bodies through each adapter against its bare transport: a download and an upload of the same
//! size, interleaved rounds, throughput ratio and peak resident-set growth.
//!
//! Both sides send the same request with the same cached RPT (the bare side as a static `Authorization`
//! header read from the resource server's log), read or write every byte, and run in one process against
//! one embedded testkit (which streams the download from a pattern and hashes the upload). Peak growth:
//! the kernel's high-water mark is reset (`/proc/self/clear_refs`, `5`) before each transfer and read
//! after it, minus the resident set at the reset.

use std::fmt::Write as _;
use std::time::Instant;

use http_body_util::BodyExt;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use uma_testkit::{GrantedBody, Kit, PatternSource, Server, proc_status_kib};
use ureq::RequestExt;

use crate::stats::Summary;

/// Goal on the throughput ratio (adapter ÷ bare).
pub const RATIO_GOAL: f64 = 0.95;
/// Goal on the adapter's peak resident-set growth, in MiB.
pub const GROWTH_GOAL_MIB: f64 = 16.0;

/// One comparison (adapter and direction).
#[derive(Debug, Clone)]
pub struct BodyResult {
    /// `uma-hyper vs hyper-util, download`…
    pub label: String,
    /// Bytes per transfer.
    pub bytes: u64,
    /// Bare side, MiB/s.
    pub bare: Summary,
    /// Adapter, MiB/s.
    pub adapter: Summary,
    /// Adapter ÷ bare per round.
    pub ratio: Summary,
    /// Peak resident-set growth of the bare side's transfers, MiB.
    pub bare_growth: Summary,
    /// Peak resident-set growth of the adapter's transfers, MiB.
    pub adapter_growth: Summary,
}

/// Runs `transfer` and returns (MiB/s, peak resident-set growth in MiB).
fn measured(
    bytes: u64,
    transfer: impl FnOnce() -> Result<u64, String>,
) -> Result<(f64, f64), String> {
    // Resets the high-water mark to the current resident set (Linux ≥ 4.0).
    std::fs::write("/proc/self/clear_refs", "5").map_err(|e| format!("clear_refs: {e}"))?;
    let base = proc_status_kib("VmRSS:");
    let started = Instant::now();
    let moved = transfer()?;
    let elapsed = started.elapsed().as_secs_f64().max(1e-9);
    if moved != bytes {
        return Err(format!("moved {moved} bytes of {bytes}"));
    }
    let growth = proc_status_kib("VmHWM:").saturating_sub(base) as f64 / 1024.0;
    Ok((bytes as f64 / (1024.0 * 1024.0) / elapsed, growth))
}

/// Interleaves `rounds` of the two sides (alternating which goes first) and summarises them.
fn compare(
    label: &str,
    bytes: u64,
    rounds: usize,
    mut bare: impl FnMut() -> Result<u64, String>,
    mut adapter: impl FnMut() -> Result<u64, String>,
) -> Result<BodyResult, String> {
    let (mut b, mut a, mut ratio, mut bg, mut ag) = (vec![], vec![], vec![], vec![], vec![]);
    for round in 0..rounds {
        let (bare_fig, adapter_fig) = if round % 2 == 0 {
            let x = measured(bytes, &mut bare)?;
            (x, measured(bytes, &mut adapter)?)
        } else {
            let y = measured(bytes, &mut adapter)?;
            (measured(bytes, &mut bare)?, y)
        };
        b.push(bare_fig.0);
        a.push(adapter_fig.0);
        ratio.push(adapter_fig.0 / bare_fig.0);
        bg.push(bare_fig.1);
        ag.push(adapter_fig.1);
    }
    Ok(BodyResult {
        label: label.to_owned(),
        bytes,
        bare: Summary::of(&b),
        adapter: Summary::of(&a),
        ratio: Summary::of(&ratio),
        bare_growth: Summary::of(&bg),
        adapter_growth: Summary::of(&ag),
    })
}

fn last_authorization(kit: &Kit) -> Result<String, String> {
    kit.log_of(Server::Rs)
        .last()
        .and_then(|r| r.header("authorization").map(str::to_owned))
        .ok_or_else(|| "no RPT seen by the RS".to_owned())
}

/// Downloads and uploads of `bytes` through uma-hyper and hyper-util, then uma-ureq and ureq.
pub fn all(kit: &Kit, bytes: u64, rounds: usize) -> (Vec<BodyResult>, Vec<String>) {
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for outcome in [hyper(kit, bytes, rounds), ureq(kit, bytes, rounds)] {
        match outcome {
            Ok(mut r) => results.append(&mut r),
            Err(e) => errors.push(format!("bodies: {e}")),
        }
    }
    kit.set_granted_body(GrantedBody::Json);
    (results, errors)
}

fn hyper(kit: &Kit, bytes: u64, rounds: usize) -> Result<Vec<BodyResult>, String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let http: HyperClient<HttpConnector, uma_hyper::RequestBody> =
        HyperClient::builder(TokioExecutor::new()).build(HttpConnector::new());
    let uma = uma_hyper::UmaClient::from_hyper(http.clone(), crate::warm::uma_config(kit));
    let (down_url, up_url) = (kit.rs_url("/api/a"), kit.rs_url("/api/echo"));
    // Warm the RPT (read on /api/a, then upgraded with write on /api/echo): the bare side sends the
    // upgraded one for both.
    kit.set_granted_body(GrantedBody::Json);
    rt.block_on(async {
        let r = uma.get(&down_url).send().await.map_err(|e| e.to_string())?;
        r.into_body().collect().await.map_err(|e| e.to_string())
    })?;
    let write = rt.block_on(async {
        let r = uma
            .post(&up_url, "warm")
            .send()
            .await
            .map_err(|e| e.to_string())?;
        r.into_body().collect().await.map_err(|e| e.to_string())?;
        last_authorization(kit)
    })?;
    let drain = |response: http::Response<hyper::body::Incoming>| async move {
        if response.status() != 200 {
            return Err(format!("status {}", response.status()));
        }
        let mut body = response.into_body();
        let mut n = 0u64;
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.map_err(|e| e.to_string())?.into_data() {
                n += data.len() as u64;
            }
        }
        Ok::<u64, String>(n)
    };

    kit.set_granted_body(GrantedBody::Pattern(bytes));
    let down = compare(
        "uma-hyper vs hyper-util, download",
        bytes,
        rounds,
        || {
            rt.block_on(async {
                let request = http::Request::get(&down_url)
                    .header(http::header::AUTHORIZATION, &write)
                    .body(uma_hyper::RequestBody::empty())
                    .map_err(|e| e.to_string())?;
                drain(http.request(request).await.map_err(|e| e.to_string())?).await
            })
        },
        || {
            rt.block_on(async {
                drain(uma.get(&down_url).send().await.map_err(|e| e.to_string())?).await
            })
        },
    )?;

    kit.set_granted_body(GrantedBody::Json);
    let echoed = |response: http::Response<hyper::body::Incoming>| async move {
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?;
        let json: serde_json::Value =
            serde_json::from_slice(&body.to_bytes()).map_err(|e| e.to_string())?;
        json["len"].as_u64().ok_or_else(|| "no len".to_owned())
    };
    let up = compare(
        "uma-hyper vs hyper-util, upload",
        bytes,
        rounds,
        || {
            rt.block_on(async {
                let request = http::Request::post(&up_url)
                    .header(http::header::AUTHORIZATION, &write)
                    .body(uma_hyper::RequestBody::wrap(PatternSource::new(bytes)))
                    .map_err(|e| e.to_string())?;
                echoed(http.request(request).await.map_err(|e| e.to_string())?).await
            })
        },
        || {
            rt.block_on(async {
                let head = http::Request::post(&up_url)
                    .body(())
                    .map_err(|e| e.to_string())?;
                let response = uma
                    .send_with_body(head, move || PatternSource::new(bytes))
                    .await
                    .map_err(|e| e.to_string())?;
                echoed(response).await
            })
        },
    )?;
    Ok(vec![down, up])
}

fn ureq(kit: &Kit, bytes: u64, rounds: usize) -> Result<Vec<BodyResult>, String> {
    let bare = ureq::Agent::new_with_defaults();
    let uma = uma_ureq::UmaClient::from_ureq(
        ureq::Agent::new_with_defaults(),
        crate::warm::uma_config(kit),
    );
    let (down_url, up_url) = (kit.rs_url("/api/a"), kit.rs_url("/api/echo"));
    kit.set_granted_body(GrantedBody::Json);
    // The RPT is upgraded by the second warm-up: the bare side sends the upgraded one for both.
    {
        let mut r = uma.get(&down_url).send().map_err(|e| e.to_string())?;
        r.body_mut().read_to_vec().map_err(|e| e.to_string())?;
    }
    let write = {
        let mut r = uma
            .post(&up_url, "warm")
            .send()
            .map_err(|e| e.to_string())?;
        r.body_mut().read_to_vec().map_err(|e| e.to_string())?;
        last_authorization(kit)?
    };
    let drain = |mut response: http::Response<ureq::Body>| {
        if response.status() != 200 {
            return Err(format!("status {}", response.status()));
        }
        std::io::copy(&mut response.body_mut().as_reader(), &mut std::io::sink())
            .map_err(|e| e.to_string())
    };
    let config = |request: http::Request<()>| {
        request
            .with_agent(&bare)
            .configure()
            .http_status_as_error(false)
            .build()
    };

    kit.set_granted_body(GrantedBody::Pattern(bytes));
    let down = compare(
        "uma-ureq vs ureq, download",
        bytes,
        rounds,
        || {
            let request = http::Request::get(&down_url)
                .header(http::header::AUTHORIZATION, &write)
                .body(())
                .map_err(|e| e.to_string())?;
            drain(config(request).run().map_err(|e| e.to_string())?)
        },
        || drain(uma.get(&down_url).send().map_err(|e| e.to_string())?),
    )?;

    kit.set_granted_body(GrantedBody::Json);
    let echoed = |mut response: http::Response<ureq::Body>| {
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| e.to_string())?;
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        json["len"]
            .as_u64()
            .ok_or_else(|| format!("no len in {text}"))
    };
    let up = compare(
        "uma-ureq vs ureq, upload",
        bytes,
        rounds,
        || {
            let mut pattern = PatternSource::new(bytes);
            let request = http::Request::post(&up_url)
                .header(http::header::AUTHORIZATION, &write)
                .header(http::header::CONTENT_LENGTH, bytes)
                .body(ureq::SendBody::from_reader(&mut pattern))
                .map_err(|e| e.to_string())?;
            let response = request
                .with_agent(&bare)
                .configure()
                .http_status_as_error(false)
                .build()
                .run()
                .map_err(|e| e.to_string())?;
            echoed(response)
        },
        || {
            let head = http::Request::post(&up_url)
                .header(http::header::CONTENT_LENGTH, bytes)
                .body(())
                .map_err(|e| e.to_string())?;
            let response = uma
                .send_with_body(head, move || Ok(PatternSource::new(bytes)))
                .map_err(|e| e.to_string())?;
            echoed(response)
        },
    )?;
    Ok(vec![down, up])
}

/// The Markdown section, and the goals missed.
pub fn section(results: &[BodyResult], missed: &mut Vec<String>) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## 7. Large bodies (goals: throughput ratio ≥ {RATIO_GOAL}, peak growth < {GROWTH_GOAL_MIB} MiB)\n"
    );
    let _ = writeln!(
        s,
        "Method: one testkit serves `GET /api/a` as a streamed pattern of the given size and hashes \
         `POST /api/echo`; the adapter's RPTs are cached first, and the bare client sends the same \
         requests with them as a static `Authorization` header. Rounds alternate which side goes first. \
         MiB/s is bytes ÷ wall time of one transfer (the client reads or writes every byte; the server, in \
         the same process, streams or hashes them). Peak growth: the high-water mark of the resident set \
         is reset before each transfer (`/proc/self/clear_refs`) and read after it, minus the resident \
         set at the reset. The uma-ureq upload goes with `Expect: 100-continue` (over 1 MiB, as curl \
         does), which costs one extra wait for the server's `100 Continue`.\n"
    );
    let _ = writeln!(
        s,
        "| comparison | MiB per transfer | bare MiB/s | adapter MiB/s | ratio | bare peak growth MiB | adapter peak growth MiB |\n|---|---:|---:|---:|---:|---:|---:|"
    );
    for r in results {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | **{}** | {} | **{}** |",
            r.label,
            r.bytes / (1024 * 1024),
            r.bare.show(0),
            r.adapter.show(0),
            r.ratio.show(3),
            r.bare_growth.show(1),
            r.adapter_growth.show(1)
        );
        if r.ratio.median < RATIO_GOAL {
            missed.push(format!(
                "large bodies, {}: throughput ratio {:.3} (goal ≥ {RATIO_GOAL})",
                r.label, r.ratio.median
            ));
        }
        if r.adapter_growth.median >= GROWTH_GOAL_MIB {
            missed.push(format!(
                "large bodies, {}: peak growth {:.1} MiB (goal < {GROWTH_GOAL_MIB} MiB)",
                r.label, r.adapter_growth.median
            ));
        }
    }
    s
}
