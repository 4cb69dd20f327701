//! The `tracing` spans of uma-hyper: a full flow through `UmaClient` and through `UmaLayer` (login,
//! discovery, challenge, token, retry), and the protection calls behind a `PepLayer` (discovery, PAT,
//! resource lookup, ticket, introspection). The expected spans and fields exist, and no recorded value
//! holds a token, ticket, secret or password.
#![cfg(feature = "tracing")]

use std::convert::Infallible;
use std::time::Duration;

use crate::common::{client_for, start};
use http::Method;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tower::ServiceExt;
use tower_layer::Layer;
use uma_core::auth::ClientCredentials;
use uma_core::discovery::Issuer;
use uma_core::protection::{Dialect, ResourceDescription};
use uma_hyper::pep_layer::{PepLayer, Resource, Rule};
use uma_testkit::spans::{Capture, assert_flow_spans, assert_protection_spans, secrets_seen};
use uma_testkit::{Kit, KitConfig};

fn kit() -> Kit {
    let mut config = KitConfig::new(uma_testkit::Dialect::Spec);
    config.policy.poll_interval = 0;
    start(config, false)
}

fn issuer(kit: &Kit) -> Issuer {
    Issuer::parse(&kit.issuer()).unwrap()
}

// One thread: the capturing subscriber is the thread's default.
#[tokio::test(flavor = "current_thread")]
async fn client_spans_of_a_full_flow_carry_no_secret() {
    let kit = kit();
    let client = client_for(&kit);
    let capture = Capture::default();
    let _default = tracing::subscriber::set_default(capture.clone());

    client
        .login_password(&issuer(&kit), "alice", "alice-pw", None)
        .await
        .expect("login");
    let response = client
        .get(&kit.rs_url("/api/a?q=1"))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 200);

    let secrets = secrets_seen(&kit, &["alice-pw", "app-secret"]);
    assert_flow_spans(&capture, &kit, &secrets);
}

#[tokio::test(flavor = "current_thread")]
async fn layer_spans_of_a_full_flow_carry_no_secret() {
    let kit = kit();
    let client = client_for(&kit);
    let capture = Capture::default();
    let _default = tracing::subscriber::set_default(capture.clone());

    client
        .login_password(&issuer(&kit), "alice", "alice-pw", None)
        .await
        .expect("login");
    let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<uma_hyper::RequestBody>();
    let service = client.layer().layer(http);
    let request = http::Request::get(kit.rs_url("/api/a?q=1"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = service.oneshot(request).await.expect("GET");
    assert_eq!(response.status(), 200);

    let secrets = secrets_seen(&kit, &["alice-pw", "app-secret"]);
    assert_flow_spans(&capture, &kit, &secrets);
}

#[tokio::test(flavor = "current_thread")]
async fn protection_and_pep_layer_spans_carry_no_secret() {
    let kit = kit();
    let capture = Capture::default();
    let _default = tracing::subscriber::set_default(capture.clone());

    let protection = client_for(&kit)
        .protection(
            &issuer(&kit),
            ClientCredentials::basic("rs", "rs-secret"),
            Dialect::Uma,
        )
        .await
        .expect("discovery");
    protection
        .create_resource(&ResourceDescription::new("album", ["view"]))
        .await
        .expect("registered");
    let layer = PepLayer::builder(protection)
        .rule(Rule::new(Method::GET, "/photos/*", Resource::name("album"), ["view"]).unwrap())
        .build()
        .await
        .expect("layer");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = tower::service_fn(|_: http::Request<Incoming>| async {
        Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from("photo"))))
    });
    let service = layer.layer(app);
    let server = tokio::spawn(async move {
        // Two connections at most: the challenged request and its retry (keep-alive may share one).
        for _ in 0..2 {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let service = service.clone();
            let hyper_service =
                hyper::service::service_fn(move |request| service.clone().oneshot(request));
            tokio::spawn(
                http1::Builder::new().serve_connection(TokioIo::new(stream), hyper_service),
            );
        }
    });

    // The client gets through: the layer asks for a ticket, then introspects the RPT.
    let client = client_for(&kit);
    let response = tokio::time::timeout(
        Duration::from_secs(30),
        client.get(&format!("{base}/photos/1")).send(),
    )
    .await
    .expect("in time")
    .expect("GET");
    assert_eq!(response.status(), 200);
    server.abort();

    let secrets = secrets_seen(&kit, &["rs-secret", "app-secret"]);
    assert_protection_spans(
        &capture,
        &secrets,
        &[
            "discovery",
            "login",
            "resource registration endpoint",
            "permission endpoint",
            "introspection endpoint",
        ],
    );
}
