//! The axum example (`examples/axum_pep.rs`) behind `PepLayer`, end to end on the testkit: the
//! project's three clients (uma-hyper, uma-reqwest, uma-ureq) get through it; the AS calls it costs are
//! counted from the kit's log under 100 concurrent requests (one introspection per distinct RPT within
//! its cache lifetime, one PAT request per PAT expiry); and the README's axum block is the example's.

#[path = "../../examples/axum_pep.rs"]
#[allow(dead_code)]
mod example;

use std::time::Duration;

use crate::common::{body_of, client_for, config_for, start};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use uma_core::auth::ClientCredentials;
use uma_core::discovery::Issuer;
use uma_core::protection::{Dialect, ResourceDescription};
use uma_hyper::Protection;
use uma_testkit::{Endpoint, Kit, KitConfig, Server};

async fn protection(kit: &Kit, dialect: Dialect) -> Protection {
    let issuer = Issuer::parse(&kit.issuer()).unwrap();
    client_for(kit)
        .protection(
            &issuer,
            ClientCredentials::basic("rs", "rs-secret"),
            dialect,
        )
        .await
        .unwrap()
}

/// Registers "photo album", builds the example's app on `protection` and serves it on 127.0.0.1.
/// Returns the base URL and the resource id.
async fn serve_example(protection: Protection) -> (String, String) {
    let album = protection
        .create_resource(&ResourceDescription::new("photo album", ["view", "print"]))
        .await
        .unwrap();
    let app = example::app(protection).await.expect("the example builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(example::serve(listener, app));
    (base, album.id)
}

type Plain = HyperClient<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

/// A plain request with an optional Bearer token: (status, body).
async fn call(http: &Plain, method: &str, url: &str, token: Option<&str>) -> (u16, String) {
    let mut request = http::Request::builder().method(method).uri(url);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = http
        .request(request.body(Full::default()).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_reqwest_and_ureq_clients_get_through_the_axum_example() {
    let kit = start(KitConfig::new(uma_testkit::Dialect::keycloak()), false);
    let p = protection(&kit, Dialect::Keycloak)
        .await
        .with_realm("demo")
        .unwrap();
    let (base, _) = serve_example(p).await;
    let plain = HyperClient::builder(TokioExecutor::new()).build_http();

    // uma-hyper: a logged-in party; GET needs `view`, POST `print`.
    let client = client_for(&kit);
    let issuer = Issuer::parse(&kit.issuer()).unwrap();
    client
        .login_password(&issuer, "alice", "alice-pw", None)
        .await
        .unwrap();
    let response = client
        .get(&format!("{base}/photos/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(body_of(response).await.starts_with(b"photo 1 (RPT with"));
    let response = client
        .post(&format!("{base}/photos/1/print"), Bytes::new())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(&body_of(response).await[..], b"printing photo 1\n");

    // uma-reqwest, in a middleware chain.
    let uma = uma_reqwest::UmaMiddleware::with_http_client(
        config_for(&kit),
        uma_reqwest::http_client(uma_hyper::UmaClient::tls_config_trusting([]).unwrap()).unwrap(),
    );
    let app_client =
        uma_reqwest::http_client(uma_hyper::UmaClient::tls_config_trusting([]).unwrap());
    let chain = reqwest_middleware::ClientBuilder::new(app_client.unwrap())
        .with(uma)
        .build();
    let response = chain.get(format!("{base}/photos/2")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .starts_with("photo 2 (RPT with")
    );

    // uma-ureq, blocking, on its own thread.
    let url = format!("{base}/photos/3");
    let config = config_for(&kit);
    let (status, body) = tokio::task::spawn_blocking(move || {
        let agent =
            uma_ureq::UmaClient::from_ureq(uma_ureq::ureq::Agent::new_with_defaults(), config);
        let mut response = agent.get(&url).send().unwrap();
        let body = response.body_mut().read_to_vec().unwrap();
        (response.status().as_u16(), body)
    })
    .await
    .unwrap();
    assert_eq!(status, 200);
    assert!(body.starts_with(b"photo 3 (RPT with"));

    // Without a token: the challenge; the public route: no PEP; an unknown path behind it: refused.
    let (status, _) = call(&plain, "GET", &format!("{base}/photos/4"), None).await;
    assert_eq!(status, 401);
    assert_eq!(
        call(&plain, "GET", &format!("{base}/health"), None).await,
        (200, "ok".into())
    );
    let (status, _) = call(&plain, "GET", &format!("{base}/albums"), None).await;
    assert_eq!(status, 403);
}

/// The PAT requests the kit received: client-credentials grants of the resource server `rs`.
fn pat_requests(kit: &Kit) -> usize {
    kit.log_of(Server::As)
        .iter()
        .filter(|r| r.endpoint == Endpoint::Token)
        .filter(|r| r.form_value("grant_type") == Some("client_credentials"))
        .count()
}

/// 100 concurrent requests: `fresh` distinct new RPTs and `cached` RPTs introspected before, ten
/// requests each, the rest without a token (each costs a ticket). Every one is answered as expected.
async fn burst(url: &str, fresh: &[String], cached: &[String]) {
    let http: Plain = HyperClient::builder(TokioExecutor::new()).build_http();
    let mut tasks = Vec::new();
    for i in 0..100 {
        let rpts = fresh.iter().chain(cached);
        let token = rpts.clone().nth(i / 10).cloned();
        let (http, url) = (http.clone(), url.to_owned());
        tasks.push(tokio::spawn(async move {
            let (status, _) = call(&http, "GET", &url, token.as_deref()).await;
            (token.is_some(), status)
        }));
    }
    for task in tasks {
        let (with_token, status) = task.await.unwrap();
        assert_eq!(status, if with_token { 200 } else { 401 });
    }
}

/// AS calls of the example under 100 concurrent requests, counted from the kit's log. PATs live 6 s
/// (renewed 1 s before expiry); RPT introspections are cached for 60 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn as_calls_one_introspection_per_rpt_and_one_pat_per_expiry() {
    let mut config = KitConfig::new(uma_testkit::Dialect::Spec);
    config.access_token_lifetime = Duration::from_secs(6);
    let kit = start(config, false);
    // Spec dialect: introspection as well as tickets need the PAT.
    let (base, album) = serve_example(protection(&kit, Dialect::Uma).await).await;
    let url = format!("{base}/photos/1");
    let rpts = |n: usize| -> Vec<String> {
        (0..n)
            .map(|_| kit.rpt_for("alice", &[(album.as_str(), "view")]))
            .collect()
    };
    assert_eq!(pat_requests(&kit), 1, "start-up: one PAT");

    // 5 new RPTs × 10 requests + 50 token-less: 5 introspections, 50 tickets, no new PAT.
    let first = rpts(5);
    let introspections = kit.count_endpoint(Endpoint::Introspection);
    let tickets = kit.count_endpoint(Endpoint::Permission);
    burst(&url, &first, &[]).await;
    assert_eq!(
        kit.count_endpoint(Endpoint::Introspection) - introspections,
        5
    );
    assert_eq!(kit.count_endpoint(Endpoint::Permission) - tickets, 50);
    assert_eq!(pat_requests(&kit), 1);

    // Twice more, each after the PAT fell due: 3 new RPTs and the cached ones. One PAT request per
    // expiry for the whole burst, and one introspection per new RPT only.
    let mut cached = first;
    for round in 2..=3 {
        tokio::time::sleep(Duration::from_millis(5200)).await;
        let fresh = rpts(3);
        let introspections = kit.count_endpoint(Endpoint::Introspection);
        burst(&url, &fresh, &cached[..5]).await;
        assert_eq!(
            kit.count_endpoint(Endpoint::Introspection) - introspections,
            3
        );
        assert_eq!(pat_requests(&kit), round, "one PAT request per expiry");
        cached.extend(fresh);
    }
}

/// The README's axum block is the example's code between its `README` marks, character for character.
#[test]
fn the_readme_axum_block_is_the_example() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = std::fs::read_to_string(root.join("examples/axum_pep.rs")).unwrap();
    let from = example.find("// README: from here\n").expect("start mark") + 21;
    let to = example.find("// README: to here").expect("end mark");
    let excerpt = &example[from..to];

    let readme = std::fs::read_to_string(root.join("../README.md")).unwrap();
    let section = readme
        .split("### Protecting a hyper or axum service")
        .nth(1)
        .expect("the README's PEP layer section");
    let block = section
        .split("```text\n")
        .find(|b| b.contains("Router::new()"))
        .and_then(|b| b.split("```").next())
        .expect("an axum block in the section");
    assert!(
        block.contains(excerpt.trim_end()),
        "README block:\n{block}\nexample:\n{excerpt}"
    );
}
