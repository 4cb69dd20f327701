//! The UMA flow's branches end to end (spec dialect unless said), asserted on the server-side log:
//! cached and upgraded RPTs, refresh, `need_info`, `request_submitted`, denial, dead tickets, use-limited
//! RPTs, max flows, replayed bodies and redirects.

use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::{Adapter, Class, Outcome, Setup, Subject, class, failure, get, kit, start};
use crate::{
    ChallengeStyle, Dialect, Endpoint, Fault, Kit, KitConfig, LoggedRequest, RequiredClaim, Server,
};

const UMA: &str = crate::UMA_GRANT;

fn subject(adapter: &dyn Adapter, kit: &Kit) -> Box<dyn Subject> {
    adapter.subject(&Setup::for_kit(kit))
}

/// GETs `path` on the kit's RS and expects a 200.
fn ok(client: &dyn Subject, kit: &Kit, path: &str) -> http::Response<Vec<u8>> {
    let response = client.send(get(&kit.rs_url(path))).expect("GET");
    assert_eq!(response.status(), 200, "{path}");
    response
}

/// A request of `method` to `path` on the kit's RS.
fn request(kit: &Kit, method: &str, path: &str, body: Vec<u8>) -> http::Request<Vec<u8>> {
    let request = http::Request::builder()
        .method(method)
        .uri(kit.rs_url(path));
    request.body(body).expect("a request")
}

/// Token-endpoint requests the AS received.
fn token_log(kit: &Kit) -> Vec<LoggedRequest> {
    let log = kit.log().into_iter();
    log.filter(|r| r.endpoint == Endpoint::Token).collect()
}

fn tokens(kit: &Kit) -> usize {
    kit.count_endpoint(Endpoint::Token)
}

fn discoveries(kit: &Kit) -> usize {
    kit.count_endpoint(Endpoint::Discovery)
}

/// N requests to one resource cost one exchange: the RPT is cached.
pub fn cached_rpt(adapter: &dyn Adapter, tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let client = subject(adapter, &kit);
    for _ in 0..5 {
        ok(&*client, &kit, "/api/a");
    }
    assert_eq!(discoveries(&kit), 1);
    assert_eq!(tokens(&kit), 1);
    assert_eq!(client.token_requests(), 1);
    // One challenge, then five requests with the RPT.
    assert_eq!(kit.count(Server::Rs, "/api/a"), 6);
    let rs = kit.log_of(Server::Rs);
    let with_rpt = rs.iter().filter(|r| r.header("authorization").is_some());
    assert_eq!(with_rpt.count(), 5);
}

/// A second resource upgrades the RPT (`rpt=` in the ticket grant); afterwards alternating requests run
/// no more flows (the Python peer's B10 ping-pong).
pub fn rpt_upgrade(adapter: &dyn Adapter, tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let client = subject(adapter, &kit);
    for path in ["/api/a", "/api/b", "/api/a", "/api/b", "/api/a", "/api/b"] {
        ok(&*client, &kit, path);
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
pub fn refresh_on_expiry(adapter: &dyn Adapter, tls: bool) {
    let mut config = KitConfig::new(Dialect::Spec);
    // `expires_in` is in whole seconds: one second is the shortest lifetime the client can know.
    config.rpt_lifetime = Some(Duration::from_secs(1));
    let kit = start(config, tls);
    let client = subject(adapter, &kit);
    ok(&*client, &kit, "/api/a");
    std::thread::sleep(Duration::from_millis(1100));
    ok(&*client, &kit, "/api/a");
    let grants: Vec<_> = token_log(&kit)
        .into_iter()
        .map(|t| t.form_value("grant_type").unwrap_or("").to_owned())
        .collect();
    assert_eq!(grants, [UMA, "refresh_token"]);
    assert_eq!(discoveries(&kit), 1);
    // challenge, retry, and the refreshed RPT's request: no second 401.
    assert_eq!(kit.count(Server::Rs, "/api/a"), 3);
}

/// `need_info` answered by pushing the configured ID token once, with the rotated ticket.
pub fn need_info_pushes_claims(adapter: &dyn Adapter, tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    kit.require_claim(Some(RequiredClaim::email()));
    let client = adapter.subject(&Setup {
        pushed_id_token: Some(kit.id_token_for("alice")),
        ..Setup::for_kit(&kit)
    });
    ok(&*client, &kit, "/api/a");
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
        Some(crate::ID_TOKEN_FORMAT)
    );
    // The second grant uses the rotated ticket.
    assert_ne!(
        tokens[0].form_value("ticket"),
        tokens[1].form_value("ticket")
    );
}

/// `need_info` without a claim to push: a typed error, the 401 kept.
pub fn need_info_without_claim(adapter: &dyn Adapter, tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    kit.require_claim(Some(RequiredClaim::email()));
    let client = subject(adapter, &kit);
    let outcome = client.send(get(&kit.rs_url("/api/a")));
    assert_eq!(class(&outcome), &Class::NeedInfo, "{outcome:?}");
    assert_eq!(failure(&outcome).status(), Some(401));
    assert_eq!(tokens(&kit), 1);
}

/// `request_submitted` twice, then approval: the client polls with the rotated tickets.
pub fn request_submitted_then_approval(adapter: &dyn Adapter, tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    kit.approve_after_polls(2);
    let client = subject(adapter, &kit);
    let started = Instant::now();
    ok(&*client, &kit, "/api/a");
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

/// The server's `interval` (1 s) is honoured between polls, above the client's own minimum.
pub fn request_submitted_honours_the_interval(adapter: &dyn Adapter, tls: bool) {
    let kit = start(KitConfig::new(Dialect::Spec), tls);
    kit.approve_after_polls(1);
    let client = adapter.subject(&Setup {
        min_poll_interval: Some(Duration::from_millis(10)),
        ..Setup::for_kit(&kit)
    });
    let started = Instant::now();
    ok(&*client, &kit, "/api/a");
    assert_eq!(tokens(&kit), 2);
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// The owner never approves: polling stops at the configured bound with a typed error.
pub fn request_submitted_bounded(adapter: &dyn Adapter, tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    kit.approve_after_polls(1000);
    let client = adapter.subject(&Setup {
        max_polls: Some(3),
        ..Setup::for_kit(&kit)
    });
    let outcome = client.send(get(&kit.rs_url("/api/a")));
    assert_eq!(class(&outcome), &Class::ApprovalPending, "{outcome:?}");
    assert!(tokens(&kit) <= 4, "{}", tokens(&kit));
}

/// A `request_submitted` interval beyond the request deadline fails at once, without sleeping.
pub fn request_submitted_past_deadline(adapter: &dyn Adapter, tls: bool) {
    let mut kit_config = KitConfig::new(Dialect::Spec);
    kit_config.policy.poll_interval = 30;
    let kit = start(kit_config, tls);
    kit.approve_after_polls(1);
    let client = adapter.subject(&Setup {
        max_poll_interval: Some(Duration::from_secs(60)),
        request_timeout: Some(Duration::from_secs(2)),
        ..Setup::for_kit(&kit)
    });
    let started = Instant::now();
    let outcome = client.send(get(&kit.rs_url("/api/a")));
    let elapsed = started.elapsed();
    assert!(matches!(class(&outcome), Class::Timeout(_)), "{outcome:?}");
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
    assert_eq!(tokens(&kit), 1);
}

/// Denial is final: a typed error, the resource response kept, one exchange.
pub fn denial(adapter: &dyn Adapter, tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let client = adapter.subject(&Setup {
        pushed_id_token: Some(kit.id_token_for("bob")),
        push_claims_always: true,
        ..Setup::for_kit(&kit)
    });
    let outcome = client.send(request(&kit, "DELETE", "/api/a", Vec::new()));
    assert_eq!(
        class(&outcome),
        &Class::Denied,
        "bob may not write: {outcome:?}"
    );
    assert_eq!(failure(&outcome).status(), Some(401));
    assert_eq!(tokens(&kit), 1);
    assert_eq!(kit.count(Server::Rs, "/api/a"), 1);
    // Reading is still allowed for bob, on the same client.
    ok(&*client, &kit, "/api/a");
}

/// A ticket that died on the way (a slow discovery, or a slow token endpoint, and short-lived tickets)
/// is replaced by one fresh challenge.
pub fn dead_ticket_retry(adapter: &dyn Adapter, tls: bool) {
    for slow in [Endpoint::Discovery, Endpoint::Token] {
        let mut kit_config = KitConfig::new(Dialect::Spec);
        kit_config.ticket_lifetime = Duration::from_millis(300);
        let kit = start(kit_config, tls);
        kit.set_fault_times(slow, Fault::Delay(Duration::from_millis(500)), 1);
        let client = subject(adapter, &kit);
        ok(&*client, &kit, "/api/a");
        let tokens = token_log(&kit);
        assert_eq!(tokens.len(), 2, "{slow:?}");
        assert_ne!(
            tokens[0].form_value("ticket"),
            tokens[1].form_value("ticket")
        );
        // challenge, fresh challenge (without a token), retry with the RPT
        let rs = kit.log_of(Server::Rs);
        assert_eq!(rs.len(), 3, "{slow:?}");
        assert!(rs[1].header("authorization").is_none(), "{slow:?}");
        assert_eq!(discoveries(&kit), 1);
    }
}

/// An RPT good for two uses: the client gets a new one when the RS says it is spent.
pub fn use_limited_rpt(adapter: &dyn Adapter, tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    kit.set_rpt_use_limit(Some(2));
    let client = subject(adapter, &kit);
    for _ in 0..5 {
        ok(&*client, &kit, "/api/a");
    }
    assert_eq!(tokens(&kit), 3);
    assert_eq!(discoveries(&kit), 1);
    assert!(
        token_log(&kit)
            .iter()
            .all(|t| t.form_value("grant_type") == Some(UMA))
    );
}

/// An RS that always challenges is stopped after max flows (1 by default); its last answer is kept.
pub fn looping_rs_stopped(adapter: &dyn Adapter, tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    kit.set_rs_always_401(true);
    let client = subject(adapter, &kit);
    let outcome = client.send(get(&kit.rs_url("/api/a")));
    assert_eq!(
        class(&outcome),
        &Class::MaxFlows { flows: 1 },
        "{outcome:?}"
    );
    let response = failure(&outcome)
        .response
        .as_ref()
        .expect("last response kept");
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
    assert_eq!(tokens(&kit), 1);
    assert_eq!(kit.count(Server::Rs, "/api/a"), 2);
}

/// A 1 MiB body is replayed byte for byte on the retry.
pub fn large_body_replayed(adapter: &dyn Adapter, tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let client = subject(adapter, &kit);
    let body: Vec<u8> = (0..1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let digest: String = Sha256::digest(&body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut post = request(&kit, "POST", "/api/echo", body.clone());
    let octets = http::HeaderValue::from_static("application/octet-stream");
    post.headers_mut()
        .insert(http::header::CONTENT_TYPE, octets);
    let response: Outcome = client.send(post);
    let response = response.expect("POST");
    assert_eq!(response.status(), 200);
    let echo: serde_json::Value = serde_json::from_slice(response.body()).expect("echo JSON");
    assert_eq!(echo["len"], body.len());
    assert_eq!(echo["sha256"], digest);
    let rs = kit.log_of(Server::Rs);
    assert_eq!(rs.len(), 2);
    assert!(
        rs.iter()
            .all(|r| r.body_len == body.len() && r.method == "POST")
    );
}

/// Without redirects enabled, a resource-server redirect is returned as it is; with them enabled, a
/// redirect to another origin never carries the RPT.
pub fn redirects_keep_credentials_home(adapter: &dyn Adapter, tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let target = format!("{}/elsewhere", kit.hostile_issuer());
    // Returned as is by default.
    let client = subject(adapter, &kit);
    ok(&*client, &kit, "/api/a");
    kit.set_fault(
        Endpoint::RsResource,
        Some(Fault::RedirectTo(target.clone())),
    );
    let response = client.send(get(&kit.rs_url("/api/a"))).expect("GET");
    assert_eq!(response.status(), 307);
    assert_eq!(kit.count_endpoint(Endpoint::HostileAs), 0);

    // Followed when enabled, without the RPT.
    kit.set_fault(Endpoint::RsResource, None);
    let following = adapter.subject(&Setup {
        max_redirects: 2,
        ..Setup::for_kit(&kit)
    });
    ok(&*following, &kit, "/api/a");
    kit.set_fault(Endpoint::RsResource, Some(Fault::RedirectTo(target)));
    let _ = following.send(get(&kit.rs_url("/api/a")));
    let hostile = kit.log_of(Server::HostileAs);
    assert!(!hostile.is_empty(), "the redirect was followed");
    assert!(
        hostile.iter().all(|r| r.header("authorization").is_none()),
        "{hostile:#?}"
    );
}

/// 16 requests at once, cold on one resource: exactly one discovery and one token request, the others
/// parked behind them.
pub fn herd_shares_one_exchange(adapter: &dyn Adapter, tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    // A slow token endpoint makes sure the herd overlaps the exchange.
    kit.set_fault(
        Endpoint::Token,
        Some(Fault::Delay(Duration::from_millis(200))),
    );
    let client = subject(adapter, &kit);
    let herd = (0..16).map(|_| get(&kit.rs_url("/api/a"))).collect();
    for outcome in client.send_concurrently(herd) {
        assert_eq!(outcome.expect("GET").status(), 200);
    }
    assert_eq!(discoveries(&kit), 1);
    assert_eq!(tokens(&kit), 1);
    assert_eq!(client.token_requests(), 1);
    assert!(client.parked() >= 1, "{}", client.parked());
}

/// B9: every challenge style the kit knows is understood (two header lines, unquoted, no spaces, UMA 1
/// ticket in a 403 body, Bearer without as_uri, for which the origin's issuer is configured).
pub fn challenge_styles(adapter: &dyn Adapter, tls: bool) {
    for style in [
        ChallengeStyle::SpecQuoted,
        ChallengeStyle::Keycloak,
        ChallengeStyle::EoepcaUnquoted,
        ChallengeStyle::TwoLines,
        ChallengeStyle::Uma1Body403,
        ChallengeStyle::BearerNoAsUri,
    ] {
        let mut kit_config = KitConfig::new(Dialect::Spec).with_challenge_style(style);
        kit_config.ticket_only_with_bearer = false;
        let kit = start(kit_config, tls);
        let client = adapter.subject(&Setup {
            issuer_for_origin: vec![(kit.rs_base(), kit.issuer())],
            ..Setup::for_kit(&kit)
        });
        let outcome = client.send(get(&kit.rs_url("/api/a")));
        let status = outcome.as_ref().map(|r| r.status().as_u16());
        assert_eq!(status.as_ref().ok(), Some(&200), "{style:?}: {outcome:?}");
        assert_eq!(tokens(&kit), 1, "{style:?}");
    }
}

/// B11: `max_flows = 0` disables UMA: the challenge comes back as it is, nothing goes to the AS.
pub fn max_flows_zero_runs_no_flow(adapter: &dyn Adapter, tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let client = adapter.subject(&Setup {
        max_flows: Some(0),
        ..Setup::for_kit(&kit)
    });
    let outcome = client.send(get(&kit.rs_url("/api/a")));
    let status = match &outcome {
        Ok(response) => Some(response.status().as_u16()),
        Err(failure) => failure.status(),
    };
    assert_eq!(status, Some(401), "{outcome:?}");
    assert_eq!(kit.log_of(Server::As).len(), 0);
}

/// "No limit" spelled as `Duration::MAX`, for the request or for each exchange, is an ordinary input: it
/// saturates instead of overflowing `now + timeout` (which panicked once), and the flow completes.
pub fn unbounded_timeouts_do_not_panic(adapter: &dyn Adapter, tls: bool) {
    for (exchange_timeout, request_timeout) in [
        (Some(Duration::from_secs(5)), Some(Duration::MAX)),
        (Some(Duration::MAX), None),
    ] {
        let kit = kit(Dialect::Spec, tls);
        let client = adapter.subject(&Setup {
            exchange_timeout,
            request_timeout,
            ..Setup::for_kit(&kit)
        });
        super::bounded(super::BOUND, || ok(&*client, &kit, "/api/a"));
    }
}
