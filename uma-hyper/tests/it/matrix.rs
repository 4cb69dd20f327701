//! The end-to-end matrix of the blocking twin, over plain http and TLS, asserting the server-side log.

use std::time::{Duration, Instant};

use crate::common::*;
use sha2::{Digest, Sha256};
use uma_core::config::{ClaimPushing, PollPolicy};
use uma_core::grant::PushedClaim;
use uma_core::secret::ClaimToken;
use uma_hyper::Error;
use uma_testkit::{Dialect, Endpoint, Fault, KitConfig, RequiredClaim, Server};

both!(
    happy_spec,
    happy_keycloak,
    happy_gluu,
    cached_rpt,
    upgrade_across_two_resources,
    refresh_on_expiry,
    need_info_with_pushed_claims,
    request_submitted_then_approval,
    denial,
    dead_ticket_retry,
    use_limited_rpt,
    looping_rs_stopped_by_max_flows,
    one_megabyte_post_replayed_intact,
    hostile_as_uri_gets_nothing,
    slow_as_times_out,
);

/// Challenge, discovery, token, retry: the log shows exactly that, and the retry carries the RPT.
fn assert_one_flow(kit: &uma_testkit::Kit) {
    let rs = rs_requests(kit);
    assert_eq!(rs.len(), 2, "{rs:#?}");
    assert_eq!(count(kit, Endpoint::Discovery), 1);
    assert_eq!(count(kit, Endpoint::Token), 1);
    let token = &tokens(kit)[0];
    assert_eq!(token.form_value("grant_type"), Some(uma_testkit::UMA_GRANT));
    assert!(
        rs[1]
            .header("authorization")
            .is_some_and(|a| a.starts_with("Bearer "))
    );
}

async fn happy_spec(tls: bool) {
    let kit = start(KitConfig::new(Dialect::Spec), tls);
    let client = client_for(&kit);
    let response = client.get(&kit.rs_url("/api/a")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(json(&body_of(response).await)["scope"], "read");
    assert_one_flow(&kit);
    assert_eq!(kit.count_endpoint(Endpoint::HostileAs), 0);
    let stats = client.stats();
    assert_eq!(
        (
            stats.resource_requests,
            stats.discovery_requests,
            stats.token_requests
        ),
        (2, 1, 1)
    );
}

async fn happy_keycloak(tls: bool) {
    let kit = start(KitConfig::new(Dialect::keycloak()), tls);
    let client = client_for(&kit);
    // Keycloak's enforcer only mints a ticket for a bearer-authorised request: log the user in first.
    client
        .login_password(
            &uma_core::discovery::Issuer::parse(&kit.issuer()).unwrap(),
            "alice",
            "alice-pw",
            None,
        )
        .await
        .unwrap();
    let response = client.get(&kit.rs_url("/api/a")).await.unwrap();
    assert_eq!(response.status(), 200);
    let rs = rs_requests(&kit);
    assert_eq!(rs.len(), 2, "{rs:#?}");
    assert_eq!(
        rs[0].header("authorization").map(|a| &a[..7]),
        Some("Bearer ")
    );
    // The login and the ticket grant; discovery once for both.
    assert_eq!(count(&kit, Endpoint::Discovery), 1);
    let grants: Vec<_> = tokens(&kit)
        .into_iter()
        .map(|t| t.form_value("grant_type").unwrap_or("").to_owned())
        .collect();
    assert_eq!(grants, ["password", uma_testkit::UMA_GRANT]);
}

async fn happy_gluu(tls: bool) {
    let kit = start(KitConfig::new(Dialect::Gluu), tls);
    let mut server = server_for(&kit);
    server.claim = Some(PushedClaim::id_token(ClaimToken::new(
        kit.id_token_for("alice"),
    )));
    let mut config = config_for(&kit);
    config.authorization_servers = vec![server];
    config.claim_pushing = ClaimPushing::Always;
    let client = client_with(&kit, config);
    let response = client.get(&kit.rs_url("/api/a")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_one_flow(&kit);
    let token = &tokens(&kit)[0];
    assert_eq!(
        token.form_value("claim_token_format"),
        Some(uma_testkit::ID_TOKEN_FORMAT)
    );
    assert!(kit.log_of(Server::As)[0].path.starts_with("/.well-known"));
}

async fn cached_rpt(tls: bool) {
    let kit = start(KitConfig::new(Dialect::Spec), tls);
    let client = client_for(&kit);
    for _ in 0..5 {
        let response = client.get(&kit.rs_url("/api/a")).await.unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(count(&kit, Endpoint::Discovery), 1);
    assert_eq!(count(&kit, Endpoint::Token), 1);
    // One challenge, then five requests with the cached RPT.
    assert_eq!(rs_requests(&kit).len(), 6);
}

async fn upgrade_across_two_resources(tls: bool) {
    let kit = start(KitConfig::new(Dialect::Spec), tls);
    let client = client_for(&kit);
    assert_eq!(
        client.get(&kit.rs_url("/api/a")).await.unwrap().status(),
        200
    );
    assert_eq!(
        client.get(&kit.rs_url("/api/b")).await.unwrap().status(),
        200
    );
    let grants = tokens(&kit);
    assert_eq!(grants.len(), 2);
    assert!(grants[0].form_value("rpt").is_none());
    assert!(
        grants[1].form_value("rpt").is_some(),
        "the second grant upgrades"
    );
    // The upgraded RPT covers both: no more exchanges.
    assert_eq!(
        client.get(&kit.rs_url("/api/a")).await.unwrap().status(),
        200
    );
    assert_eq!(
        client.get(&kit.rs_url("/api/b")).await.unwrap().status(),
        200
    );
    assert_eq!(count(&kit, Endpoint::Token), 2);
    assert_eq!(count(&kit, Endpoint::Discovery), 1);
}

async fn refresh_on_expiry(tls: bool) {
    let mut config = KitConfig::new(Dialect::Spec);
    // `expires_in` is in whole seconds: one second is the shortest lifetime the client can know.
    config.rpt_lifetime = Some(Duration::from_secs(1));
    let kit = start(config, tls);
    let client = client_for(&kit);
    assert_eq!(
        client.get(&kit.rs_url("/api/a")).await.unwrap().status(),
        200
    );
    tokio::time::sleep(Duration::from_millis(950)).await;
    assert_eq!(
        client.get(&kit.rs_url("/api/a")).await.unwrap().status(),
        200
    );
    let grants: Vec<_> = tokens(&kit)
        .into_iter()
        .map(|t| t.form_value("grant_type").unwrap_or("").to_owned())
        .collect();
    assert_eq!(grants, [uma_testkit::UMA_GRANT, "refresh_token"]);
    // The refreshed RPT went straight to the resource: no second challenge.
    let statuses = rs_requests(&kit).len();
    assert_eq!(statuses, 3);
}

async fn need_info_with_pushed_claims(tls: bool) {
    let kit = start(KitConfig::new(Dialect::Spec), tls);
    kit.require_claim(Some(RequiredClaim::email()));
    let mut server = server_for(&kit);
    server.claim = Some(PushedClaim::id_token(ClaimToken::new(
        kit.id_token_for("alice"),
    )));
    let mut config = config_for(&kit);
    config.authorization_servers = vec![server];
    let client = client_with(&kit, config);
    let response = client.get(&kit.rs_url("/api/a")).await.unwrap();
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
    assert_ne!(
        grants[0].form_value("ticket"),
        grants[1].form_value("ticket")
    );
}

async fn request_submitted_then_approval(tls: bool) {
    let kit = start(KitConfig::new(Dialect::Spec), tls);
    kit.approve_after_polls(1);
    let mut config = config_for(&kit);
    config.poll = PollPolicy {
        min_interval: Duration::from_millis(10),
        ..PollPolicy::default()
    };
    let client = client_with(&kit, config);
    let started = Instant::now();
    let response = client.get(&kit.rs_url("/api/a")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(count(&kit, Endpoint::Token), 2);
    // The server's interval (1 s) was honoured between the polls.
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert!(started.elapsed() < Duration::from_secs(10));
}

async fn denial(tls: bool) {
    let kit = start(KitConfig::new(Dialect::Spec), tls);
    let mut server = server_for(&kit);
    server.claim = Some(PushedClaim::id_token(ClaimToken::new(
        kit.id_token_for("bob"),
    )));
    let mut config = config_for(&kit);
    config.authorization_servers = vec![server];
    config.claim_pushing = ClaimPushing::Always;
    let client = client_with(&kit, config);
    let error = client
        .post(&kit.rs_url("/api/a"), "bob writes")
        .await
        .unwrap_err();
    assert!(error.is_denied(), "{error}");
    assert_eq!(error.response().map(|r| r.status().as_u16()), Some(401));
    assert_eq!(count(&kit, Endpoint::Token), 1);
    assert_eq!(rs_requests(&kit).len(), 1);
}

async fn dead_ticket_retry(tls: bool) {
    let mut config = KitConfig::new(Dialect::Spec);
    config.ticket_lifetime = Duration::from_millis(150);
    let kit = start(config, tls);
    // The first grant is held until its ticket expired: `invalid_grant`, then one fresh challenge.
    kit.set_fault_times(Endpoint::Token, Fault::Delay(Duration::from_millis(300)), 1);
    let client = client_for(&kit);
    let response = client.get(&kit.rs_url("/api/a")).await.unwrap();
    assert_eq!(response.status(), 200);
    let rs = rs_requests(&kit);
    assert_eq!(rs.len(), 3, "challenge, fresh challenge, success");
    assert!(rs[1].header("authorization").is_none());
    assert_eq!(count(&kit, Endpoint::Token), 2);
    assert_eq!(count(&kit, Endpoint::Discovery), 1);
}

async fn use_limited_rpt(tls: bool) {
    let kit = start(KitConfig::new(Dialect::Spec), tls);
    kit.set_rpt_use_limit(Some(2));
    let client = client_for(&kit);
    for _ in 0..4 {
        let response = client.get(&kit.rs_url("/api/a")).await.unwrap();
        assert_eq!(response.status(), 200);
    }
    // Two uses per RPT: four successes need two RPTs.
    assert_eq!(count(&kit, Endpoint::Token), 2);
    assert_eq!(count(&kit, Endpoint::Discovery), 1);
}

async fn looping_rs_stopped_by_max_flows(tls: bool) {
    let kit = start(KitConfig::new(Dialect::Spec), tls);
    kit.set_rs_always_401(true);
    let client = client_with(&kit, config_for(&kit).with_max_flows(2));
    let error = client.get(&kit.rs_url("/api/a")).await.unwrap_err();
    assert!(
        matches!(
            error.uma(),
            Some(uma_core::Error::MaxFlowsReached { flows: 2 })
        ),
        "{error}"
    );
    let last = error.response().expect("the last response is kept");
    assert_eq!(last.status(), 401);
    assert!(last.headers().contains_key("www-authenticate"));
    assert_eq!(rs_requests(&kit).len(), 3);
    assert_eq!(count(&kit, Endpoint::Token), 2);
}

async fn one_megabyte_post_replayed_intact(tls: bool) {
    let kit = start(KitConfig::new(Dialect::Spec), tls);
    let client = client_for(&kit);
    let body: Vec<u8> = (0..1_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let digest: String = Sha256::digest(&body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let response = client
        .post(&kit.rs_url("/api/echo"), body.clone())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let echoed = json(&body_of(response).await);
    assert_eq!(echoed["len"], 1_000_000);
    assert_eq!(echoed["sha256"], digest);
    let rs = rs_requests(&kit);
    assert_eq!(rs.len(), 2);
    assert!(
        rs.iter()
            .all(|r| r.body_len == 1_000_000 && r.method == "POST")
    );
}

async fn hostile_as_uri_gets_nothing(tls: bool) {
    let kit = start(KitConfig::new(Dialect::Spec), tls);
    kit.set_challenge_as_uri(Some(kit.hostile_issuer()));
    let client = client_for(&kit);
    let error = client.get(&kit.rs_url("/api/a")).await.unwrap_err();
    assert!(
        matches!(
            error.uma(),
            Some(uma_core::Error::UntrustedAuthorizationServer { .. })
        ),
        "{error}"
    );
    assert_eq!(error.response().map(|r| r.status().as_u16()), Some(401));
    assert_eq!(kit.log_of(Server::HostileAs).len(), 0);
    assert_eq!(kit.log_of(Server::As).len(), 0);
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("app-secret"));
}

async fn slow_as_times_out(tls: bool) {
    let kit = start(KitConfig::new(Dialect::Spec), tls);
    kit.set_fault(Endpoint::Token, Some(Fault::NeverAnswer));
    let client = client_for(&kit)
        .with_options(options().with_exchange_timeout(Some(Duration::from_millis(300))));
    let started = Instant::now();
    let error = client.get(&kit.rs_url("/api/a")).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        matches!(
            error,
            Error::Timeout {
                what: uma_hyper::Deadline::Exchange(uma_core::RequestKind::Token),
                ..
            }
        ),
        "{error}"
    );
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(2),
        "{elapsed:?}"
    );
    assert_eq!(count(&kit, Endpoint::Token), 1);
    // The client stays usable once the AS recovers.
    kit.set_fault(Endpoint::Token, None);
    assert_eq!(
        client.get(&kit.rs_url("/api/a")).await.unwrap().status(),
        200
    );
}
