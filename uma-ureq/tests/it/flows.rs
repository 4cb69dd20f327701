//! The UMA flow's branches end to end (spec dialect unless said), asserted on the server-side log.

use std::time::{Duration, Instant};

use crate::common::*;
use sha2::{Digest, Sha256};
use uma_core::config::ClaimPushing;
use uma_core::grant::PushedClaim;
use uma_core::secret::ClaimToken;
use uma_testkit::{Dialect, Endpoint, KitConfig, RequiredClaim, Server};
use uma_ureq::UmaAgent;

const UMA: &str = uma_testkit::UMA_GRANT;

/// N requests to one resource cost one exchange: the RPT is cached.
fn cached_rpt(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let agent = agent(&kit);
    for _ in 0..5 {
        let response = agent
            .get(&kit.rs_url("/api/a"))
            .send()
            .expect("GET")
            .buffered();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(discoveries(&kit), 1);
    assert_eq!(tokens(&kit), 1);
    // One challenge, then five requests with the RPT.
    assert_eq!(kit.count(Server::Rs, "/api/a"), 6);
    let with_rpt = rs_log(&kit)
        .iter()
        .filter(|r| r.header("authorization").is_some())
        .count();
    assert_eq!(with_rpt, 5);
}

/// A second resource upgrades the RPT (`rpt=` in the ticket grant); afterwards alternating requests run
/// no more flows (the Python peer's B10 ping-pong).
fn rpt_upgrade(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let agent = agent(&kit);
    for path in ["/api/a", "/api/b", "/api/a", "/api/b", "/api/a", "/api/b"] {
        assert_eq!(
            agent
                .get(&kit.rs_url(path))
                .send()
                .expect("GET")
                .buffered()
                .status(),
            200
        );
    }
    let tokens = token_log(&kit);
    assert_eq!(tokens.len(), 2, "{tokens:#?}");
    assert_eq!(tokens[0].form_value("rpt"), None);
    assert!(
        tokens[1].form_value("rpt").is_some(),
        "second grant upgrades"
    );
    assert_eq!(discoveries(&kit), 1);
    assert_eq!(kit.log_of(Server::Rs).len(), 8);
}

/// An RPT about to expire is refreshed with its refresh token, with no new challenge.
fn refresh_on_expiry(tls: bool) {
    let mut config = KitConfig::new(Dialect::Spec);
    config.rpt_lifetime = Some(Duration::from_secs(1));
    let kit = start(config, tls);
    let agent = agent(&kit);
    assert_eq!(
        agent
            .get(&kit.rs_url("/api/a"))
            .send()
            .expect("GET")
            .buffered()
            .status(),
        200
    );
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(
        agent
            .get(&kit.rs_url("/api/a"))
            .send()
            .expect("GET")
            .buffered()
            .status(),
        200
    );
    let tokens = token_log(&kit);
    assert_eq!(tokens.len(), 2);
    assert_eq!(tokens[1].form_value("grant_type"), Some("refresh_token"));
    assert_eq!(discoveries(&kit), 1);
    // challenge, retry, and the refreshed RPT's request: no second 401.
    assert_eq!(kit.count(Server::Rs, "/api/a"), 3);
}

/// `need_info` answered by pushing the configured ID token once.
fn need_info_pushes_claims(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    kit.require_claim(Some(RequiredClaim::email()));
    let mut server = server(&kit);
    server.claim = Some(PushedClaim::id_token(ClaimToken::new(
        kit.id_token_for("alice"),
    )));
    let agent = UmaAgent::with_options(ureq_agent(&kit), config(&kit, server), options());
    assert_eq!(
        agent
            .get(&kit.rs_url("/api/a"))
            .send()
            .expect("GET")
            .buffered()
            .status(),
        200
    );
    let tokens = token_log(&kit);
    assert_eq!(tokens.len(), 2);
    assert_eq!(
        tokens[0].form_value("claim_token"),
        None,
        "minimal disclosure"
    );
    assert!(tokens[1].form_value("claim_token").is_some());
    assert_eq!(
        tokens[1].form_value("claim_token_format"),
        Some(uma_testkit::ID_TOKEN_FORMAT)
    );
    // The second grant uses the rotated ticket.
    assert_ne!(
        tokens[0].form_value("ticket"),
        tokens[1].form_value("ticket")
    );
}

/// `need_info` without a claim to push: a typed error with the interaction URL, the 401 kept.
fn need_info_without_claim(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    kit.require_claim(Some(RequiredClaim::email()));
    let agent = agent(&kit);
    let error = agent
        .get(&kit.rs_url("/api/a"))
        .send()
        .expect_err("needs info");
    match error.uma() {
        Some(uma_core::Error::NeedInfo { error, .. }) => assert!(error.redirect_user.is_some()),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(error.response().map(|r| r.status().as_u16()), Some(401));
    assert_eq!(tokens(&kit), 1);
}

/// `request_submitted` twice, then approval: the client polls with the rotated tickets.
fn request_submitted_then_approval(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    kit.approve_after_polls(2);
    let agent = agent(&kit);
    let started = Instant::now();
    assert_eq!(
        agent
            .get(&kit.rs_url("/api/a"))
            .send()
            .expect("GET")
            .buffered()
            .status(),
        200
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let tokens = token_log(&kit);
    assert_eq!(tokens.len(), 3);
    let tickets: Vec<_> = tokens.iter().map(|t| t.form_value("ticket")).collect();
    assert!(
        tickets[0] != tickets[1] && tickets[1] != tickets[2],
        "{tickets:?}"
    );
    assert_eq!(kit.count(Server::Rs, "/api/a"), 2);
}

/// The owner never approves: polling stops at the configured bound with a typed error.
fn request_submitted_bounded(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    kit.approve_after_polls(1000);
    let mut config = config(&kit, server(&kit));
    config.poll.max_polls = 3;
    let agent = UmaAgent::with_options(ureq_agent(&kit), config, options());
    let error = agent
        .get(&kit.rs_url("/api/a"))
        .send()
        .expect_err("pending");
    assert!(
        matches!(error.uma(), Some(uma_core::Error::ApprovalPending { .. })),
        "{error:?}"
    );
    assert!(tokens(&kit) <= 4, "{}", tokens(&kit));
}

/// A `request_submitted` interval beyond the request deadline fails at once, without sleeping.
fn request_submitted_past_deadline(tls: bool) {
    let mut kit_config = KitConfig::new(Dialect::Spec);
    kit_config.policy.poll_interval = 30;
    let kit = start(kit_config, tls);
    kit.approve_after_polls(1);
    let mut config = config(&kit, server(&kit));
    config.poll.max_interval = Duration::from_secs(60);
    let options = options().with_request_timeout(Some(Duration::from_secs(2)));
    let agent = UmaAgent::with_options(ureq_agent(&kit), config, options);
    let started = Instant::now();
    let error = agent
        .get(&kit.rs_url("/api/a"))
        .send()
        .expect_err("deadline");
    assert!(error.is_timeout(), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(tokens(&kit), 1);
}

/// Denial is final: a typed error, the resource response kept, one exchange.
fn denial(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let mut server = server(&kit);
    server.claim = Some(PushedClaim::id_token(ClaimToken::new(
        kit.id_token_for("bob"),
    )));
    let mut config = config(&kit, server);
    config.claim_pushing = ClaimPushing::Always;
    let agent = UmaAgent::with_options(ureq_agent(&kit), config, options());
    let error = agent
        .delete(&kit.rs_url("/api/a"))
        .send()
        .expect_err("bob may not write");
    assert!(error.is_denied(), "{error:?}");
    assert_eq!(error.response().map(|r| r.status().as_u16()), Some(401));
    assert_eq!(tokens(&kit), 1);
    assert_eq!(kit.count(Server::Rs, "/api/a"), 1);
    // Reading is still allowed for bob, on the same agent.
    assert_eq!(
        agent
            .get(&kit.rs_url("/api/a"))
            .send()
            .expect("GET")
            .buffered()
            .status(),
        200
    );
}

/// A ticket that died on the way (slow discovery, short-lived tickets) is replaced by one fresh challenge.
fn dead_ticket_retry(tls: bool) {
    let mut kit_config = KitConfig::new(Dialect::Spec);
    kit_config.ticket_lifetime = Duration::from_millis(300);
    let kit = start(kit_config, tls);
    kit.set_fault_times(
        Endpoint::Discovery,
        uma_testkit::Fault::Delay(Duration::from_millis(500)),
        1,
    );
    let agent = agent(&kit);
    assert_eq!(
        agent
            .get(&kit.rs_url("/api/a"))
            .send()
            .expect("GET")
            .buffered()
            .status(),
        200
    );
    let tokens = token_log(&kit);
    assert_eq!(tokens.len(), 2);
    assert_ne!(
        tokens[0].form_value("ticket"),
        tokens[1].form_value("ticket")
    );
    // challenge, fresh challenge, retry with the RPT
    assert_eq!(kit.count(Server::Rs, "/api/a"), 3);
    assert_eq!(discoveries(&kit), 1);
}

/// An RPT good for two uses: the client gets a new one when the RS says it is spent.
fn use_limited_rpt(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    kit.set_rpt_use_limit(Some(2));
    let agent = agent(&kit);
    for i in 0..5 {
        let response = agent
            .get(&kit.rs_url("/api/a"))
            .send()
            .expect("GET")
            .buffered();
        assert_eq!(response.status(), 200, "request {i}");
    }
    assert_eq!(tokens(&kit), 3);
    assert_eq!(discoveries(&kit), 1);
    assert!(
        token_log(&kit)
            .iter()
            .all(|t| t.form_value("grant_type") == Some(UMA))
    );
}

/// An RS that always challenges is stopped after max flows; its last answer is kept.
fn looping_rs_stopped(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    kit.set_rs_always_401(true);
    let agent = agent(&kit);
    let error = agent.get(&kit.rs_url("/api/a")).send().expect_err("loops");
    assert!(
        matches!(
            error.uma(),
            Some(uma_core::Error::MaxFlowsReached { flows: 1 })
        ),
        "{error:?}"
    );
    let response = error.into_response().expect("last response kept");
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
    assert_eq!(tokens(&kit), 1);
    assert_eq!(kit.count(Server::Rs, "/api/a"), 2);
}

/// A 1 MB body is replayed byte for byte on the retry.
fn large_body_replayed(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let agent = agent(&kit);
    let body: Vec<u8> = (0..1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let digest: String = Sha256::digest(&body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let response = agent
        .post(&kit.rs_url("/api/echo"), body.clone())
        .header("content-type", "application/octet-stream")
        .send()
        .expect("POST")
        .buffered();
    assert_eq!(response.status(), 200);
    let echo: serde_json::Value = serde_json::from_slice(response.body()).expect("echo JSON");
    assert_eq!(echo["len"], body.len());
    assert_eq!(echo["sha256"], digest);
    let rs = rs_log(&kit);
    assert_eq!(rs.len(), 2);
    assert!(rs.iter().all(|r| r.body_len == body.len()));
}

/// Without redirects enabled, a resource-server redirect is returned as it is; with them enabled, a
/// redirect to another origin never carries the RPT.
fn redirects_keep_credentials_home(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let target = format!("{}/elsewhere", kit.hostile_issuer());
    // Returned as is by default.
    let agent = agent(&kit);
    assert_eq!(
        agent
            .get(&kit.rs_url("/api/a"))
            .send()
            .expect("GET")
            .buffered()
            .status(),
        200
    );
    kit.set_fault(
        Endpoint::RsResource,
        Some(uma_testkit::Fault::RedirectTo(target.clone())),
    );
    let response = agent
        .get(&kit.rs_url("/api/a"))
        .send()
        .expect("GET")
        .buffered();
    assert_eq!(response.status(), 307);
    assert_eq!(kit.count_endpoint(Endpoint::HostileAs), 0);

    // Followed when enabled, without the RPT.
    kit.set_fault(Endpoint::RsResource, None);
    let mut config = config(&kit, server(&kit));
    config.max_redirects = 2;
    let following = UmaAgent::with_options(ureq_agent(&kit), config, options());
    assert_eq!(
        following
            .get(&kit.rs_url("/api/a"))
            .send()
            .expect("GET")
            .buffered()
            .status(),
        200
    );
    kit.set_fault(
        Endpoint::RsResource,
        Some(uma_testkit::Fault::RedirectTo(target)),
    );
    let _ = following.get(&kit.rs_url("/api/a")).send();
    let hostile = kit.log_of(Server::HostileAs);
    assert!(!hostile.is_empty(), "the redirect was followed");
    assert!(
        hostile.iter().all(|r| r.header("authorization").is_none()),
        "{hostile:#?}"
    );
}

both_transports!(
    cached_rpt,
    rpt_upgrade,
    refresh_on_expiry,
    need_info_pushes_claims,
    need_info_without_claim,
    request_submitted_then_approval,
    request_submitted_bounded,
    request_submitted_past_deadline,
    denial,
    dead_ticket_retry,
    use_limited_rpt,
    looping_rs_stopped,
    large_body_replayed,
    redirects_keep_credentials_home,
);
