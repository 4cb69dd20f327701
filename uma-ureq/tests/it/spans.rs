//! The `tracing` spans of a full flow (login, challenge, discovery, token, retry): the expected spans
//! and fields exist, and no recorded value holds a token, ticket, secret or password.
#![cfg(feature = "tracing")]

use crate::common::*;
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

#[test]
fn spans_of_protection_calls_carry_no_secret() {
    use uma_testkit::spans::assert_protection_spans;
    use uma_ureq::uma_core::auth::ClientCredentials;
    use uma_ureq::uma_core::protection::{Dialect as As, PermissionRequest, ResourceDescription};
    use uma_ureq::uma_core::secret::AccessToken;

    let kit = kit(Dialect::Spec, false);
    let agent = agent(&kit);
    let capture = Capture::default();
    let _default = tracing::subscriber::set_default(capture.clone());

    let protection = agent
        .protection(
            &issuer(&kit),
            ClientCredentials::basic("rs", "rs-secret"),
            As::Uma,
        )
        .expect("discovery");
    protection
        .create_resource(&ResourceDescription::new("album", ["view"]))
        .expect("registered");
    let challenge = protection.challenge_for(vec![PermissionRequest::new("res-a", ["read"])]);
    assert_eq!(challenge.status(), 401);
    let rpt = kit.rpt_for("alice", &[("res-a", "read")]);
    let introspection = protection
        .introspect(&AccessToken::new(rpt.clone()))
        .expect("introspection");
    assert!(introspection.active);

    let secrets = secrets_seen(&kit, &["rs-secret", &rpt]);
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
