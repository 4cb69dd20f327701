//! Scenario tests: a flow driven with canned responses and a fake clock, asserting the exact sequence of
//! requests it emits.

use std::time::Duration;

use crate::support::*;
use uma_core::{Error, Flow, Machine, Step};

const BASIC: &str = "Basic YXBwOmFwcC1zZWNyZXQ=";
const GRANT: &str = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Auma-ticket";

fn failure(step: Step<http::Response<Vec<u8>>>) -> uma_core::Failure {
    match step {
        Step::Failed(f) => f,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn cold_start_is_challenge_discovery_token_retry() {
    let mut d = Driver::new(client());
    let step = d.run(
        get("/a"),
        vec![
            challenge("t1"),
            metadata(),
            token("rpt-1"),
            ok(r#"{"a":1}"#),
        ],
    );
    assert_eq!(done_status(&step), 200);
    assert_eq!(
        d.sent,
        vec![
            format!("Resource GET {RS}/a"),
            format!("Discovery GET {AS}/.well-known/uma2-configuration"),
            format!("Token POST {AS}/token auth={BASIC} body={GRANT}&ticket=t1"),
            format!("Resource GET {RS}/a auth=Bearer rpt-1"),
        ]
    );
    let stats = d.client.stats();
    assert_eq!(
        (
            stats.resource_requests,
            stats.discovery_requests,
            stats.token_requests
        ),
        (2, 1, 1)
    );
}

#[test]
fn cached_rpt_costs_no_authorization_server_request() {
    let mut d = Driver::new(client());
    d.prime(
        get("/a"),
        vec![challenge("t1"), metadata(), token("rpt-1"), ok("{}")],
    );
    d.sent.clear();
    let step = d.run(get("/a"), vec![ok("{}")]);
    assert_eq!(done_status(&step), 200);
    assert_eq!(
        d.sent,
        vec![format!("Resource GET {RS}/a auth=Bearer rpt-1")]
    );
}

#[test]
fn second_resource_on_known_as_is_three_requests_with_upgrade() {
    let mut d = Driver::new(client());
    d.prime(
        get("/a"),
        vec![challenge("t1"), metadata(), token("rpt-1"), ok("{}")],
    );
    d.sent.clear();
    let upgraded = token_json(r#"{"access_token":"rpt-2","token_type":"bearer","upgraded":true}"#);
    let step = d.run(get("/b"), vec![challenge("t2"), upgraded, ok("{}")]);
    assert_eq!(done_status(&step), 200);
    assert_eq!(
        d.sent,
        vec![
            format!("Resource GET {RS}/b auth=Bearer rpt-1"),
            format!("Token POST {AS}/token auth={BASIC} body={GRANT}&ticket=t2&rpt=rpt-1"),
            format!("Resource GET {RS}/b auth=Bearer rpt-2"),
        ]
    );
    // Upgraded: the old RPT is gone, the new one serves both resources.
    assert_eq!(d.client.rpt_count(), 1);
    d.sent.clear();
    d.prime(get("/a"), vec![ok("{}")]);
    assert_eq!(
        d.sent,
        vec![format!("Resource GET {RS}/a auth=Bearer rpt-2")]
    );
}

#[test]
fn not_upgraded_rpts_are_both_kept_and_chosen_by_path() {
    let mut d = Driver::new(client());
    d.prime(
        get("/a"),
        vec![challenge("t1"), metadata(), token("rpt-a"), ok("{}")],
    );
    d.prime(get("/b"), vec![challenge("t2"), token("rpt-b"), ok("{}")]);
    assert_eq!(d.client.rpt_count(), 2);
    d.sent.clear();
    // Alternating requests go straight through: no ping-pong of flows (the Python peer's B10).
    for _ in 0..3 {
        assert_eq!(done_status(&d.run(get("/a"), vec![ok("{}")])), 200);
        assert_eq!(done_status(&d.run(get("/b"), vec![ok("{}")])), 200);
    }
    assert_eq!(d.sent.len(), 6);
    assert!(
        d.sent
            .iter()
            .step_by(2)
            .all(|s| s.ends_with("auth=Bearer rpt-a"))
    );
    assert!(
        d.sent
            .iter()
            .skip(1)
            .step_by(2)
            .all(|s| s.ends_with("auth=Bearer rpt-b"))
    );
}

#[test]
fn untrusted_as_uri_emits_no_request_and_keeps_the_response() {
    let mut d = Driver::new(client());
    let step = d.run(get("/a"), vec![challenge_from(HOSTILE, "t1")]);
    let f = failure(step);
    assert!(
        matches!(f.error, Error::UntrustedAuthorizationServer { ref as_uri } if as_uri == HOSTILE)
    );
    assert_eq!(f.response.unwrap().status(), 401);
    assert_eq!(d.sent, vec![format!("Resource GET {RS}/a")]);
}

#[test]
fn insecure_issuer_is_refused_unless_allowed() {
    let insecure = "http://as.example.org";
    let cfg =
        uma_core::Config::new().with_authorization_server(uma_core::AuthorizationServer::new(
            uma_core::discovery::Issuer::parse(insecure).unwrap(),
            uma_core::auth::ClientCredentials::basic("app", "s"),
        ));
    let mut d = Driver::new(uma_core::Client::new(cfg.clone()));
    let f = failure(d.run(get("/a"), vec![challenge_from(insecure, "t")]));
    assert!(matches!(f.error, Error::InsecureAuthorizationServer { .. }));
    assert_eq!(d.sent.len(), 1);

    let mut d = Driver::new(uma_core::Client::new(cfg.allow_insecure_http(true)));
    let mut flow = Flow::new(get("/a"));
    let step = d.start(&mut flow);
    let step = d.feed(&mut flow, step, challenge_from(insecure, "t"));
    assert_eq!(
        d.sent[1],
        format!("Discovery GET {insecure}/.well-known/uma2-configuration")
    );
    drop(step);
}

#[test]
fn plain_401_and_bearer_without_ticket_are_returned_as_is() {
    let mut d = Driver::new(client());
    let step = d.run(
        get("/a"),
        vec![response(
            401,
            &[("www-authenticate", r#"Bearer realm="api""#)],
            "login",
        )],
    );
    assert_eq!(done_status(&step), 401);
    let step = d.run(get("/a"), vec![response(403, &[], "no")]);
    assert_eq!(done_status(&step), 403);
    assert_eq!(d.sent.len(), 2);
}

#[test]
fn bearer_challenge_without_as_uri_uses_the_configured_issuer() {
    let mut d = Driver::new(client());
    let ch = response(
        401,
        &[("www-authenticate", r#"Bearer realm="rs", ticket="t9""#)],
        "",
    );
    let step = d.run(get("/a"), vec![ch, metadata(), token("r"), ok("{}")]);
    assert_eq!(done_status(&step), 200);
    assert!(d.sent[2].ends_with("&ticket=t9"));
}

#[test]
fn need_info_pushes_the_configured_claim_then_succeeds() {
    let mut cfg = config();
    cfg.authorization_servers[0].claim = Some(uma_core::grant::PushedClaim::id_token(
        uma_core::secret::ClaimToken::new("id.tok.en"),
    ));
    let mut d = Driver::new(uma_core::Client::new(cfg));
    let need = error(
        403,
        r#"{"error":"need_info","ticket":"t2","required_claims":[{"name":"email"}]}"#,
    );
    let step = d.run(
        get("/a"),
        vec![challenge("t1"), metadata(), need, token("r"), ok("{}")],
    );
    assert_eq!(done_status(&step), 200);
    assert_eq!(
        d.sent[3],
        format!(
            "Token POST {AS}/token auth={BASIC} body={GRANT}&ticket=t2&claim_token=id.tok.en\
             &claim_token_format=http%3A%2F%2Fopenid.net%2Fspecs%2Fopenid-connect-core-1_0.html%23IDToken"
        )
    );
}

#[test]
fn need_info_without_claim_fails_with_redirect_user_and_hides_the_ticket() {
    let mut d = Driver::new(client());
    let need = error(
        403,
        r#"{"error":"need_info","ticket":"secret-t2","redirect_user":"https://as.example.org/gather?id=1"}"#,
    );
    let f = failure(d.run(get("/a"), vec![challenge("t1"), metadata(), need]));
    match &f.error {
        Error::NeedInfo { error, .. } => {
            assert_eq!(
                error.redirect_user.as_deref(),
                Some("https://as.example.org/gather?id=1")
            );
            assert_eq!(error.ticket.as_ref().unwrap().secret(), "secret-t2");
        }
        other => panic!("{other:?}"),
    }
    let shown = format!("{} {:?}", f.error, f.error);
    assert!(!shown.contains("secret-t2"), "{shown}");
    assert!(shown.contains("https://as.example.org/gather?id=1"));
    assert_eq!(f.response.unwrap().status(), 401);
}

#[test]
fn need_info_that_does_not_rotate_the_ticket_fails() {
    let mut d = Driver::new(client());
    let need = error(403, r#"{"error":"need_info","ticket":"t1"}"#);
    let f = failure(d.run(get("/a"), vec![challenge("t1"), metadata(), need]));
    assert!(matches!(f.error, Error::TicketNotRotated { .. }));
}

#[test]
fn request_submitted_waits_the_interval_then_polls_with_the_new_ticket() {
    let mut d = Driver::new(client());
    let mut flow = Flow::new(get("/a"));
    let mut step = d.start(&mut flow);
    step = d.feed(&mut flow, step, challenge("t1"));
    step = d.feed(&mut flow, step, metadata());
    let submitted = error(
        403,
        r#"{"error":"request_submitted","ticket":"t2","interval":3}"#,
    );
    step = d.feed(&mut flow, step, submitted);
    let until = match step {
        Step::Wait { until } => until,
        other => panic!("{other:?}"),
    };
    assert_eq!(until, d.now + Duration::from_secs(3));
    // Too early: keeps waiting, sends nothing.
    d.advance(Duration::from_secs(1));
    assert!(matches!(d.resume(&mut flow), Step::Wait { until: u } if u == until));
    d.advance(Duration::from_secs(2));
    step = d.resume(&mut flow);
    assert!(d.sent.last().unwrap().ends_with("&ticket=t2"));
    step = d.feed(&mut flow, step, token("r"));
    step = d.feed(&mut flow, step, ok("{}"));
    assert_eq!(done_status(&step), 200);
}

#[test]
fn request_submitted_polling_is_bounded() {
    let mut d = Driver::new(client());
    let mut flow = Flow::new(get("/a"));
    let mut step = d.start(&mut flow);
    step = d.feed(&mut flow, step, challenge("t0"));
    step = d.feed(&mut flow, step, metadata());
    let mut waits = 0;
    for i in 1..100 {
        let submitted = error(
            403,
            &format!(r#"{{"error":"request_submitted","ticket":"t{i}"}}"#),
        );
        step = d.feed(&mut flow, step, submitted);
        match step {
            Step::Wait { until } => {
                waits += 1;
                d.now = until;
                step = d.resume(&mut flow);
            }
            Step::Failed(f) => {
                assert!(
                    matches!(f.error, Error::ApprovalPending { polls: 5, .. }),
                    "{:?}",
                    f.error
                );
                assert_eq!(waits, 5);
                return;
            }
            other => panic!("{other:?}"),
        }
    }
    panic!("polling never stopped");
}

#[test]
fn keycloak_request_submitted_without_ticket_is_a_denial() {
    let mut d = Driver::new(client());
    let kc = error(
        403,
        r#"{"error":"access_denied","error_description":"request_submitted"}"#,
    );
    let f = failure(d.run(get("/a"), vec![challenge("t1"), metadata(), kc]));
    assert!(f.error.is_denied(), "{:?}", f.error);
}

#[test]
fn denial_in_each_dialect_stops_with_a_typed_denial() {
    for body in [
        r#"{"error":"request_denied"}"#,
        r#"{"error":"access_denied","error_description":"not_authorized"}"#,
        r#"{"error":"forbidden_by_policy"}"#,
    ] {
        let mut d = Driver::new(client());
        let f = failure(d.run(
            get("/a"),
            vec![challenge("t1"), metadata(), error(403, body)],
        ));
        assert!(f.error.is_denied(), "{body}: {:?}", f.error);
        assert_eq!(d.sent.len(), 3, "no retry after a denial");
    }
}

#[test]
fn dead_ticket_gets_one_fresh_challenge_in_the_same_flow() {
    for dead in [
        error(400, r#"{"error":"invalid_grant"}"#),
        error(
            403,
            r#"{"error":"invalid_ticket","error_description":"Invalid permission ticket."}"#,
        ),
        error(400, r#"{"error":"invalid_ticket"}"#),
    ] {
        let mut d = Driver::new(client());
        let step = d.run(
            get("/a"),
            vec![
                challenge("t1"),
                metadata(),
                dead,
                challenge("t2"),
                token("r"),
                ok("{}"),
            ],
        );
        assert_eq!(done_status(&step), 200);
        assert!(d.sent[4].ends_with("&ticket=t2"));
    }
    // Twice dead: a typed error, no third ticket.
    let mut d = Driver::new(client());
    let dead = || error(400, r#"{"error":"invalid_grant"}"#);
    let f = failure(d.run(
        get("/a"),
        vec![challenge("t1"), metadata(), dead(), challenge("t2"), dead()],
    ));
    assert!(matches!(f.error, Error::DeadTicket { .. }));
}

#[test]
fn invalid_rpt_retries_once_without_rpt_and_invalid_pct_once_without_pct() {
    let mut d = Driver::new(client());
    let with_pct = token_json(r#"{"access_token":"r1","token_type":"Bearer","pct":"p1"}"#);
    d.prime(
        get("/a"),
        vec![challenge("t1"), metadata(), with_pct, ok("{}")],
    );
    d.sent.clear();
    let step = d.run(
        get("/b"),
        vec![
            challenge("t2"),
            error(400, r#"{"error":"invalid_rpt"}"#),
            error(401, r#"{"error":"invalid_pct"}"#),
            token("r2"),
            ok("{}"),
        ],
    );
    assert_eq!(done_status(&step), 200);
    assert!(
        d.sent[1].ends_with("&ticket=t2&pct=p1&rpt=r1"),
        "{}",
        d.sent[1]
    );
    assert!(d.sent[2].ends_with("&ticket=t2&pct=p1"), "{}", d.sent[2]);
    assert!(d.sent[3].ends_with("&ticket=t2"), "{}", d.sent[3]);
}

#[test]
fn max_flows_keeps_the_last_response() {
    let mut d = Driver::new(client());
    let f = failure(d.run(
        get("/a"),
        vec![challenge("t1"), metadata(), token("r"), challenge("t2")],
    ));
    assert!(matches!(f.error, Error::MaxFlowsReached { flows: 1 }));
    assert_eq!(f.response.unwrap().status(), 401);
    assert_eq!(d.sent.len(), 4);

    // Two flows allowed: the second challenge is exchanged with rpt= for an upgrade.
    let mut d = Driver::new(uma_core::Client::new(config().with_max_flows(2)));
    let step = d.run(
        get("/a"),
        vec![
            challenge("t1"),
            metadata(),
            token("r"),
            challenge("t2"),
            token("r2"),
            ok("{}"),
        ],
    );
    assert_eq!(done_status(&step), 200);

    // Zero flows: UMA is off, the first challenge is the answer.
    let mut d = Driver::new(uma_core::Client::new(config().with_max_flows(0)));
    let f = failure(d.run(get("/a"), vec![challenge("t1")]));
    assert!(matches!(f.error, Error::MaxFlowsReached { flows: 0 }));
}

#[test]
fn rpt_is_refreshed_before_expiry_and_a_short_one_is_not_refreshed_every_time() {
    let mut d = Driver::new(client());
    let rt = token_json(
        r#"{"access_token":"r1","token_type":"Bearer","expires_in":300,"refresh_token":"rt1"}"#,
    );
    d.prime(get("/a"), vec![challenge("t1"), metadata(), rt, ok("{}")]);
    d.sent.clear();
    d.advance(Duration::from_secs(200));
    assert_eq!(done_status(&d.run(get("/a"), vec![ok("{}")])), 200);
    assert_eq!(d.sent, vec![format!("Resource GET {RS}/a auth=Bearer r1")]);
    d.sent.clear();
    d.advance(Duration::from_secs(80)); // 280 s: inside the 30 s skew of a 300 s token.
    let refreshed = token_json(r#"{"access_token":"r2","token_type":"Bearer","expires_in":300}"#);
    assert_eq!(
        done_status(&d.run(get("/a"), vec![refreshed, ok("{}")])),
        200
    );
    assert_eq!(
        d.sent,
        vec![
            format!(
                "Token POST {AS}/token auth={BASIC} body=grant_type=refresh_token&refresh_token=rt1"
            ),
            format!("Resource GET {RS}/a auth=Bearer r2"),
        ]
    );

    // A 2-second RPT at 1 s is used as is.
    let mut d = Driver::new(client());
    let short = token_json(
        r#"{"access_token":"s1","token_type":"Bearer","expires_in":2,"refresh_token":"rt"}"#,
    );
    d.prime(
        get("/a"),
        vec![challenge("t1"), metadata(), short, ok("{}")],
    );
    d.sent.clear();
    d.advance(Duration::from_secs(1));
    d.prime(get("/a"), vec![ok("{}")]);
    assert_eq!(d.sent, vec![format!("Resource GET {RS}/a auth=Bearer s1")]);
}

#[test]
fn refreshed_rpt_refused_where_it_served_before_stops_rpt_refresh_for_that_server() {
    // Keycloak (26.4, 26.7): a refreshed RPT keeps its permissions but loses `aud`; the resource
    // server's introspection calls it inactive and challenges again.
    let mut d = Driver::new(client());
    let rt = |token: &str| {
        token_json(&format!(
            r#"{{"access_token":"{token}","token_type":"Bearer","expires_in":300,"refresh_token":"rt-{token}"}}"#
        ))
    };
    d.prime(
        get("/a"),
        vec![challenge("t1"), metadata(), rt("r1"), ok("{}")],
    );
    d.advance(Duration::from_secs(290));
    d.sent.clear();
    let refreshed = token_json(r#"{"access_token":"r2","token_type":"Bearer","expires_in":300}"#);
    let step = d.run(
        get("/a"),
        vec![refreshed, challenge("t2"), rt("r3"), ok("{}")],
    );
    assert_eq!(done_status(&step), 200);
    assert!(
        d.sent[0].contains("grant_type=refresh_token"),
        "{}",
        d.sent[0]
    );
    assert_eq!(d.sent[1], format!("Resource GET {RS}/a auth=Bearer r2"));
    assert!(d.sent[2].contains("ticket=t2"), "{}", d.sent[2]);
    assert_eq!(d.client.stats().rpt_refresh_abandoned, 1);

    // The next time the RPT is due, no refresh: it is dropped when expired and a new flow runs.
    d.advance(Duration::from_secs(301));
    d.sent.clear();
    let step = d.run(get("/a"), vec![challenge("t3"), token("r4"), ok("{}")]);
    assert_eq!(done_status(&step), 200);
    assert_eq!(d.sent[0], format!("Resource GET {RS}/a"));
    assert!(d.sent[1].contains("ticket=t3"), "{}", d.sent[1]);
    assert!(
        !d.sent.iter().any(|s| s.contains("refresh_token")),
        "{:?}",
        d.sent
    );
}

#[test]
fn rpt_refresh_can_be_turned_off_per_server() {
    let mut cfg = config();
    cfg.authorization_servers[0].refresh_rpts = false;
    let mut d = Driver::new(uma_core::Client::new(cfg));
    let rt = token_json(
        r#"{"access_token":"r1","token_type":"Bearer","expires_in":60,"refresh_token":"rt1"}"#,
    );
    d.prime(get("/a"), vec![challenge("t1"), metadata(), rt, ok("{}")]);
    d.advance(Duration::from_secs(61));
    d.sent.clear();
    let step = d.run(get("/a"), vec![challenge("t2"), token("r2"), ok("{}")]);
    assert_eq!(done_status(&step), 200);
    assert_eq!(d.sent[0], format!("Resource GET {RS}/a"));
    assert!(
        !d.sent.iter().any(|s| s.contains("refresh_token")),
        "{:?}",
        d.sent
    );
}

#[test]
fn failed_refresh_falls_back_to_a_new_ticket_flow() {
    let mut d = Driver::new(client());
    let rt = token_json(
        r#"{"access_token":"r1","token_type":"Bearer","expires_in":60,"refresh_token":"rt1"}"#,
    );
    d.prime(get("/a"), vec![challenge("t1"), metadata(), rt, ok("{}")]);
    d.advance(Duration::from_secs(120));
    d.sent.clear();
    let step = d.run(
        get("/a"),
        vec![
            error(400, r#"{"error":"invalid_grant"}"#),
            challenge("t2"),
            token("r2"),
            ok("{}"),
        ],
    );
    assert_eq!(done_status(&step), 200);
    assert_eq!(d.sent[1], format!("Resource GET {RS}/a"));
    assert!(d.sent[2].ends_with("&ticket=t2"));
}

#[test]
fn rejected_old_rpt_with_refresh_token_is_refreshed_before_a_new_flow() {
    let mut d = Driver::new(client());
    let rt = token_json(
        r#"{"access_token":"r1","token_type":"Bearer","expires_in":100,"refresh_token":"rt1"}"#,
    );
    d.prime(get("/a"), vec![challenge("t1"), metadata(), rt, ok("{}")]);
    d.advance(Duration::from_secs(60)); // past half-life, before the skew
    d.sent.clear();
    let refreshed = token_json(r#"{"access_token":"r2","token_type":"Bearer","expires_in":100}"#);
    let step = d.run(get("/a"), vec![challenge("t2"), refreshed, ok("{}")]);
    assert_eq!(done_status(&step), 200);
    assert!(d.sent[1].contains("grant_type=refresh_token"));
    assert_eq!(d.sent[2], format!("Resource GET {RS}/a auth=Bearer r2"));
}

#[test]
fn request_body_is_replayed_byte_for_byte() {
    let body: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    let request = http::Request::post(format!("{RS}/echo"))
        .body(body.clone())
        .unwrap();
    let mut d = Driver::new(client());
    let mut flow = Flow::new(request);
    let step = d.start(&mut flow);
    let Step::Send(first) = step else { panic!() };
    assert_eq!(first.request.body(), &body);
    let mut step = flow.handle_response(&mut d.client, first.id, challenge("t1"), d.now);
    step = d.feed(&mut flow, step, metadata());
    let step = {
        let Step::Send(out) = step else { panic!() };
        flow.handle_response(&mut d.client, out.id, token("r"), d.now)
    };
    let Step::Send(retry) = step else { panic!() };
    assert_eq!(retry.request.method(), "POST");
    assert_eq!(retry.request.body(), &body);
}

#[test]
fn access_token_goes_to_the_resource_until_an_rpt_exists_and_authenticates_bearer_clients() {
    let mut cfg = config();
    cfg.authorization_servers[0].credentials = uma_core::auth::ClientCredentials::bearer("app");
    let mut client = uma_core::Client::new(cfg);
    client.set_identity(
        uma_core::Party::default(),
        uma_core::Identity::from_token(
            uma_core::secret::AccessToken::new("user-at"),
            std::time::Instant::now(),
        ),
    );
    let mut d = Driver::new(client);
    d.prime(
        get("/a"),
        vec![challenge("t1"), metadata(), token("rpt"), ok("{}")],
    );
    assert_eq!(
        d.sent[0],
        format!("Resource GET {RS}/a auth=Bearer user-at")
    );
    assert_eq!(
        d.sent[2],
        format!("Token POST {AS}/token auth=Bearer user-at body={GRANT}&ticket=t1")
    );
    assert_eq!(d.sent[3], format!("Resource GET {RS}/a auth=Bearer rpt"));
}

#[test]
fn cross_origin_redirect_never_carries_authorization() {
    let mut cfg = config();
    cfg.max_redirects = 3;
    let mut d = Driver::new(uma_core::Client::new(cfg));
    d.prime(
        get("/a"),
        vec![challenge("t1"), metadata(), token("rpt"), ok("{}")],
    );
    d.sent.clear();
    let redirect = response(302, &[("location", "https://other.example.com/x")], "");
    let same = response(307, &[("location", "/a2")], "");
    let step = d.run(get("/a"), vec![same, redirect, ok("{}")]);
    assert_eq!(done_status(&step), 200);
    assert_eq!(
        d.sent,
        vec![
            format!("Resource GET {RS}/a auth=Bearer rpt"),
            format!("Resource GET {RS}/a2 auth=Bearer rpt"),
            "Resource GET https://other.example.com/x".to_owned(),
        ]
    );
}

#[test]
fn redirects_are_not_followed_by_default_and_are_bounded() {
    let mut d = Driver::new(client());
    let step = d.run(get("/a"), vec![response(302, &[("location", "/b")], "")]);
    assert_eq!(done_status(&step), 302);

    let mut cfg = config();
    cfg.max_redirects = 2;
    let mut d = Driver::new(uma_core::Client::new(cfg));
    let loop_ = || response(302, &[("location", "/a")], "");
    let f = failure(d.run(get("/a"), vec![loop_(), loop_(), loop_()]));
    assert!(matches!(f.error, Error::TooManyRedirects { max: 2 }));
}

#[test]
fn invalid_token_without_challenge_drops_the_rpt_and_asks_again() {
    let mut d = Driver::new(client());
    d.prime(
        get("/a"),
        vec![challenge("t1"), metadata(), token("r1"), ok("{}")],
    );
    d.sent.clear();
    let invalid = response(
        401,
        &[("www-authenticate", r#"Bearer error="invalid_token""#)],
        "",
    );
    let step = d.run(
        get("/a"),
        vec![invalid, challenge("t2"), token("r2"), ok("{}")],
    );
    assert_eq!(done_status(&step), 200);
    assert_eq!(d.sent[1], format!("Resource GET {RS}/a"));
}

#[test]
fn discovery_issuer_mismatch_fails_before_any_credential_is_sent() {
    let mut d = Driver::new(client());
    let bad = ok(
        r#"{"issuer":"https://evil.example.net","token_endpoint":"https://evil.example.net/token"}"#,
    );
    let f = failure(d.run(get("/a"), vec![challenge("t1"), bad]));
    assert!(matches!(f.error, Error::Discovery { .. }), "{:?}", f.error);
    assert_eq!(d.sent.len(), 2);
    // Cross-origin token endpoint with a matching issuer is refused too.
    let mut d = Driver::new(client());
    let split = ok(&format!(
        r#"{{"issuer":"{AS}","token_endpoint":"https://evil.example.net/token"}}"#
    ));
    let f = failure(d.run(get("/a"), vec![challenge("t1"), split]));
    assert!(matches!(f.error, Error::Discovery { .. }));
    assert_eq!(d.sent.len(), 2);
}

#[test]
fn malformed_and_server_errors_are_typed() {
    let mut d = Driver::new(client());
    let html = response(200, &[("content-type", "text/html")], "<html>oops</html>");
    let f = failure(d.run(get("/a"), vec![challenge("t1"), metadata(), html]));
    assert!(matches!(
        f.error,
        Error::MalformedTokenResponse { status: 200, .. }
    ));
    let mut d = Driver::new(client());
    let f = failure(d.run(
        get("/a"),
        vec![
            challenge("t1"),
            metadata(),
            error(401, r#"{"error":"invalid_client"}"#),
        ],
    ));
    assert!(matches!(f.error, Error::ClientAuthentication { .. }));
    let mut d = Driver::new(client());
    let f = failure(d.run(
        get("/a"),
        vec![
            challenge("t1"),
            metadata(),
            error(500, r#"{"error":"server_error"}"#),
        ],
    ));
    assert!(matches!(f.error, Error::TokenEndpoint { .. }));
}

#[test]
fn relative_uri_is_an_invalid_request() {
    let mut d = Driver::new(client());
    let f = failure(d.run(
        http::Request::get("/relative").body(Vec::new()).unwrap(),
        vec![],
    ));
    assert!(matches!(f.error, Error::InvalidRequest(_)));
    assert!(d.sent.is_empty());
}

#[test]
fn cross_origin_redirect_carries_neither_the_access_token_nor_a_cached_rpt() {
    let mut cfg = config();
    cfg.max_redirects = 2;
    let mut client = uma_core::Client::new(cfg);
    client.set_identity(
        uma_core::Party::default(),
        uma_core::Identity::from_token(
            uma_core::secret::AccessToken::new("user-at"),
            std::time::Instant::now(),
        ),
    );
    let mut d = Driver::new(client);
    let other = "https://other.example.com";
    // An RPT cached for the other origin must not be sent to it via a redirect either.
    let step = d.run(
        http::Request::get(format!("{other}/x"))
            .body(Vec::new())
            .unwrap(),
        vec![challenge("t1"), metadata(), token("rpt-other"), ok("{}")],
    );
    assert_eq!(done_status(&step), 200);
    d.sent.clear();
    let redirect = response(302, &[("location", "https://other.example.com/x")], "");
    let step = d.run(get("/a"), vec![redirect, ok("{}")]);
    assert_eq!(done_status(&step), 200);
    assert_eq!(
        d.sent,
        vec![
            format!("Resource GET {RS}/a auth=Bearer user-at"),
            format!("Resource GET {other}/x")
        ]
    );
}

#[test]
fn a_discovery_override_accepts_exactly_the_configured_document_issuer() {
    // PingAM: the challenge names /am/uma/…, the document there names /am/oauth2/… (docs/protocol.md §10.4).
    let as_uri = "https://am.example.org/am/uma/realms/root/realms/r";
    let doc_issuer = "https://am.example.org/am/oauth2/r";
    let mut server = uma_core::AuthorizationServer::new(
        uma_core::discovery::Issuer::parse(as_uri).unwrap(),
        uma_core::auth::ClientCredentials::basic("app", "app-secret"),
    );
    server.discovery = Some(uma_core::DiscoveryOverride {
        url: url::Url::parse(&format!("{as_uri}/.well-known/uma2-configuration")).unwrap(),
        expected_issuer: uma_core::discovery::Issuer::parse(doc_issuer).unwrap(),
    });
    let cfg = uma_core::Config::new().with_authorization_server(server);
    let doc = ok(&format!(
        r#"{{"issuer":"{doc_issuer}","token_endpoint":"https://am.example.org/am/oauth2/r/access_token"}}"#
    ));
    let mut d = Driver::new(uma_core::Client::new(cfg.clone()));
    let step = d.run(
        get("/a"),
        vec![challenge_from(as_uri, "t1"), doc, token("rpt"), ok("{}")],
    );
    assert_eq!(done_status(&step), 200);
    assert_eq!(
        d.sent[1],
        format!("Discovery GET {as_uri}/.well-known/uma2-configuration")
    );
    assert!(d.sent[2].starts_with("Token POST https://am.example.org/am/oauth2/r/access_token"));
    // The metadata is cached under the configured issuer: a second resource needs no discovery.
    d.sent.clear();
    d.prime(
        get("/b"),
        vec![challenge_from(as_uri, "t2"), token("rpt2"), ok("{}")],
    );
    assert_eq!(d.sent.len(), 3);

    // Any other document issuer is still refused.
    let mut d = Driver::new(uma_core::Client::new(cfg));
    let liar = ok(&format!(
        r#"{{"issuer":"{as_uri}","token_endpoint":"https://am.example.org/t"}}"#
    ));
    match d.run(get("/a"), vec![challenge_from(as_uri, "t1"), liar]) {
        Step::Failed(f) => assert!(matches!(f.error, Error::Discovery { .. }), "{:?}", f.error),
        other => panic!("{other:?}"),
    }
}

#[test]
fn keycloak_invalid_bearer_token_refreshes_the_user_token_once_and_retries_in_the_same_flow() {
    // Keycloak answers 401 up to 26.5 and 400 from 26.6 on (both seen on real servers).
    for status in [401, 400] {
        invalid_bearer_token_refreshes_once(status);
    }
}

fn invalid_bearer_token_refreshes_once(status: u16) {
    let mut cfg = config();
    cfg.authorization_servers[0].credentials = uma_core::auth::ClientCredentials::bearer("app");
    let mut client = uma_core::Client::new(cfg);
    let now = std::time::Instant::now();
    client.set_identity(
        uma_core::Party::default(),
        uma_core::Identity {
            access_token: uma_core::secret::AccessToken::new("user-at"),
            refresh_token: Some(uma_core::secret::RefreshToken::new("user-rt")),
            expires_at: None,
            obtained_at: now,
            issuer: Some(issuer()),
            id_token: None,
        },
    );
    let mut d = Driver::new(client);
    d.now = now;
    let invalid = error(
        status,
        r#"{"error":"invalid_grant","error_description":"Invalid bearer token"}"#,
    );
    let fresh = token_json(r#"{"access_token":"user-at2","token_type":"Bearer","expires_in":300}"#);
    let step = d.run(
        get("/a"),
        vec![
            challenge("t1"),
            metadata(),
            invalid,
            fresh,
            challenge("t2"),
            token("rpt"),
            ok("{}"),
        ],
    );
    assert_eq!(done_status(&step), 200);
    assert!(
        d.sent[3].contains("grant_type=refresh_token&refresh_token=user-rt"),
        "{}",
        d.sent[3]
    );
    assert_eq!(
        d.sent[4],
        format!("Resource GET {RS}/a auth=Bearer user-at2")
    );
    assert_eq!(
        d.sent[5],
        format!("Token POST {AS}/token auth=Bearer user-at2 body={GRANT}&ticket=t2")
    );

    // Refused again after the refresh: a typed error, no loop.
    let mut client = uma_core::Client::new({
        let mut cfg = config();
        cfg.authorization_servers[0].credentials = uma_core::auth::ClientCredentials::bearer("app");
        cfg
    });
    client.set_identity(
        uma_core::Party::default(),
        uma_core::Identity {
            access_token: uma_core::secret::AccessToken::new("user-at"),
            refresh_token: Some(uma_core::secret::RefreshToken::new("user-rt")),
            expires_at: None,
            obtained_at: now,
            issuer: Some(issuer()),
            id_token: None,
        },
    );
    let mut d = Driver::new(client);
    let invalid = || {
        error(
            status,
            r#"{"error":"invalid_grant","error_description":"Invalid bearer token"}"#,
        )
    };
    let fresh = token_json(r#"{"access_token":"user-at2","token_type":"Bearer"}"#);
    let f = failure(d.run(
        get("/a"),
        vec![
            challenge("t1"),
            metadata(),
            invalid(),
            fresh,
            challenge("t2"),
            invalid(),
        ],
    ));
    // The user's token was refused, not the client's credentials.
    assert!(
        matches!(f.error, Error::AccessTokenRejected { .. }),
        "{:?}",
        f.error
    );
    assert!(
        f.error
            .to_string()
            .contains("rejected the requesting party's access token"),
        "{}",
        f.error
    );
}
