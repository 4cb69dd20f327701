//! The `tracing` spans of uma-reqwest: a full flow through the middleware (challenge, discovery,
//! token, retry). The expected spans and fields exist, and no recorded value holds a token, ticket or
//! secret.
#![cfg(feature = "tracing")]

use crate::common::*;
use uma_testkit::spans::{Capture, assert_request_spans, secrets_seen};
use uma_testkit::{Dialect, KitConfig};

// One thread: the capturing subscriber is the thread's default.
#[tokio::test(flavor = "current_thread")]
async fn spans_of_a_full_flow_carry_no_secret() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    let uma = uma_for(&kit);
    let client = chain(&kit, &uma);
    let capture = Capture::default();
    let _default = tracing::subscriber::set_default(capture.clone());

    let response = client
        .get(kit.rs_url("/api/a?q=1"))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 200);

    let secrets = secrets_seen(&kit, &["app-secret"]);
    assert_request_spans(&capture, &kit, &secrets);
}
