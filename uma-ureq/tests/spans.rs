//! The `tracing` spans of a full flow (login, challenge, discovery, token, retry): the expected spans
//! and fields exist, and no recorded value holds a token, ticket, secret or password.
#![cfg(feature = "tracing")]

mod common;

use common::*;
use uma_testkit::Dialect;
use uma_testkit::spans::{Capture, assert_flow_spans, secrets_seen};

#[test]
fn spans_of_a_full_flow_carry_no_secret() {
    let kit = kit(Dialect::Spec, false);
    let agent = agent(&kit);
    let capture = Capture::default();
    let _default = tracing::subscriber::set_default(capture.clone());

    agent
        .login_password(&issuer(&kit), "alice", "alice-pw", None)
        .expect("login");
    let response = agent
        .get(&kit.rs_url("/api/a?q=1"))
        .send()
        .expect("GET")
        .buffered();
    assert_eq!(response.status(), 200);

    let secrets = secrets_seen(&kit, &["alice-pw", "app-secret"]);
    assert_flow_spans(&capture, &kit, &secrets);
}
