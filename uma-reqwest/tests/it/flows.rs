//! The rest of the matrix: need_info, request_submitted, a hostile as_uri, a silent AS.

use std::time::{Duration, Instant};

use crate::common::*;
use uma_core::config::PollPolicy;
use uma_core::grant::PushedClaim;
use uma_core::secret::ClaimToken;
use uma_reqwest::{Deadline, Error, Options};
use uma_testkit::{Dialect, Endpoint, Fault, KitConfig, RequiredClaim, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn need_info_with_pushed_claims() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    kit.require_claim(Some(RequiredClaim::email()));
    let mut server = server_for(&kit);
    server.claim = Some(PushedClaim::id_token(ClaimToken::new(
        kit.id_token_for("alice"),
    )));
    let mut config = config_for(&kit);
    config.authorization_servers = vec![server];
    let client = chain(&kit, &uma_with(&kit, config));
    let response = client.get(kit.rs_url("/api/a")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let grants = tokens(&kit);
    assert_eq!(grants.len(), 2);
    assert!(
        grants[0].form_value("claim_token").is_none(),
        "minimal disclosure"
    );
    assert_eq!(
        grants[1].form_value("claim_token_format"),
        Some(uma_testkit::ID_TOKEN_FORMAT)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_submitted_then_approval() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    kit.approve_after_polls(1);
    let mut config = config_for(&kit);
    config.poll = PollPolicy {
        min_interval: Duration::from_millis(10),
        ..PollPolicy::default()
    };
    let client = chain(&kit, &uma_with(&kit, config));
    let started = Instant::now();
    let response = client.get(kit.rs_url("/api/a")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(count(&kit, Endpoint::Token), 2);
    // The server's interval (1 s) was honoured between the polls.
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_as_uri_gets_nothing() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    kit.set_challenge_as_uri(Some(kit.hostile_issuer()));
    let client = chain(&kit, &uma_for(&kit));
    let error = client.get(kit.rs_url("/api/a")).send().await.unwrap_err();
    let uma = uma_reqwest::uma_error(&error).expect("a UMA error");
    assert!(
        matches!(
            uma.uma(),
            Some(uma_core::Error::UntrustedAuthorizationServer { .. })
        ),
        "{uma}"
    );
    assert_eq!(uma.response().map(|r| r.status().as_u16()), Some(401));
    assert_eq!(kit.log_of(Server::HostileAs).len(), 0);
    assert_eq!(kit.log_of(Server::As).len(), 0);
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("app-secret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_token_endpoint_times_out() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    kit.set_fault(Endpoint::Token, Some(Fault::NeverAnswer));
    let uma = uma_for(&kit)
        .with_options(Options::default().with_exchange_timeout(Some(Duration::from_millis(300))));
    let client = chain(&kit, &uma);
    let started = Instant::now();
    let error = client.get(kit.rs_url("/api/a")).send().await.unwrap_err();
    assert!(
        matches!(
            uma_reqwest::uma_error(&error),
            Some(Error::Timeout {
                what: Deadline::Exchange(uma_core::RequestKind::Token),
                ..
            })
        ),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}
