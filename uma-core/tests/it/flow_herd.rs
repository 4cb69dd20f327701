//! Herd control: many flows for one key share one exchange; a failed or abandoned exchange never strands
//! the flows that waited on it.

use std::time::Duration;

use crate::support::*;
use uma_core::{Error, ExchangeKey, Flow, Machine, Step};

type S = Step<http::Response<Vec<u8>>>;

/// Starts `n` flows on `/a` and answers each first request with a challenge.
fn cold_herd(d: &mut Driver, n: usize) -> Vec<(Flow, S)> {
    (0..n)
        .map(|i| {
            let mut flow = Flow::new(get("/a"));
            let step = d.start(&mut flow);
            let step = d.feed(&mut flow, step, challenge(&format!("t{i}")));
            (flow, step)
        })
        .collect()
}

#[test]
fn herd_of_32_costs_one_discovery_and_one_token_request() {
    let mut d = Driver::new(client());
    let mut herd = cold_herd(&mut d, 32);
    let parked = herd
        .iter()
        .filter(|(_, s)| matches!(s, Step::Park { .. }))
        .count();
    assert_eq!(parked, 31);
    assert!(matches!(
        kind(&herd[0].1),
        Some(uma_core::RequestKind::Discovery)
    ));

    // The leader finishes its exchange.
    let (mut leader, step) = herd.remove(0);
    let step = d.feed(&mut leader, step, metadata());
    let step = d.feed(&mut leader, step, token("rpt"));
    assert_eq!(done_status(&d.feed(&mut leader, step, ok("{}"))), 200);
    let mut woken = Vec::new();
    while let Some(key) = d.client.poll_finished_exchange() {
        woken.push(key);
    }
    assert!(
        woken
            .iter()
            .any(|k| matches!(k, ExchangeKey::Permission { .. }))
    );

    // Every parked flow retries with the shared RPT.
    for (mut flow, step) in herd {
        assert!(matches!(step, Step::Park { .. }));
        let step = d.resume(&mut flow);
        assert!(d.sent.last().unwrap().ends_with("auth=Bearer rpt"));
        assert_eq!(done_status(&d.feed(&mut flow, step, ok("{}"))), 200);
    }
    let stats = d.client.stats();
    assert_eq!(stats.discovery_requests, 1);
    assert_eq!(stats.token_requests, 1);
    assert_eq!(stats.resource_requests, 32 * 2);
}

#[test]
fn a_denial_is_shared_with_the_waiters_without_more_exchanges() {
    let mut d = Driver::new(client());
    let mut herd = cold_herd(&mut d, 8);
    let (mut leader, step) = herd.remove(0);
    let step = d.feed(&mut leader, step, metadata());
    let step = d.feed(
        &mut leader,
        step,
        error(403, r#"{"error":"request_denied"}"#),
    );
    assert!(matches!(step, Step::Failed(ref f) if f.error.is_denied()));
    for (mut flow, _) in herd {
        match d.resume(&mut flow) {
            Step::Failed(f) => {
                assert!(f.error.is_denied(), "{:?}", f.error);
                assert!(matches!(f.error, Error::Shared(_)));
                assert_eq!(
                    f.response.unwrap().status(),
                    401,
                    "each waiter keeps its own response"
                );
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(d.client.stats().token_requests, 1);
}

/// The herd key is (issuer, resource-server origin, party), but the answers it shares are about one
/// resource: a denial (or need_info, approval pending…) of flow A's ticket for `/a` is not handed to flow
/// B that parked with its own ticket for `/b`; B's ticket still reaches the AS.
#[test]
fn a_denial_for_one_resource_does_not_fail_a_waiter_for_another_resource() {
    let mut d = Driver::new(client());

    let mut a = Flow::new(get("/a"));
    let step_a = d.start(&mut a);
    let step_a = d.feed(&mut a, step_a, challenge("ticket-for-a"));
    assert!(matches!(
        kind(&step_a),
        Some(uma_core::RequestKind::Discovery)
    ));

    let mut b = Flow::new(get("/b"));
    let step_b = d.start(&mut b);
    let step_b = d.feed(&mut b, step_b, challenge("ticket-for-b"));
    assert!(matches!(step_b, Step::Park { .. }), "{step_b:?}");

    // The owner shares /b but not /a: A is denied.
    let step_a = d.feed(&mut a, step_a, metadata());
    let step_a = d.feed(&mut a, step_a, error(403, r#"{"error":"request_denied"}"#));
    assert!(matches!(step_a, Step::Failed(ref f) if f.error.is_denied()));
    while d.client.poll_finished_exchange().is_some() {}

    // B wakes. Its own ticket was never presented; it must not inherit A's denial.
    let step_b = b.resume(&mut d.client, d.now);
    match &step_b {
        Step::Failed(f) => panic!(
            "flow for /b failed with the denial of /a without presenting its own ticket: {}",
            f.error
        ),
        Step::Send(out) => {
            // Either re-ask the RS for a fresh ticket or exchange its own.
            assert!(matches!(
                out.kind,
                uma_core::RequestKind::Resource | uma_core::RequestKind::Token
            ));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_aborted_leader_hands_over_to_a_waiter() {
    let mut d = Driver::new(client());
    let mut herd = cold_herd(&mut d, 3);
    let (mut leader, _step) = herd.remove(0);
    leader.abort(&mut d.client); // e.g. its future was dropped mid-exchange
    assert!(d.client.poll_finished_exchange().is_some());

    let (mut second, _) = herd.remove(0);
    let step = d.resume(&mut second); // re-sends the resource request
    let step = d.feed(&mut second, step, challenge("t9"));
    assert!(
        matches!(kind(&step), Some(uma_core::RequestKind::Discovery)),
        "the waiter takes over"
    );
    let step = d.feed(&mut second, step, metadata());
    let step = d.feed(&mut second, step, token("rpt"));
    assert_eq!(done_status(&d.feed(&mut second, step, ok("{}"))), 200);

    let (mut third, _) = herd.remove(0);
    let step = d.resume(&mut third);
    assert_eq!(done_status(&d.feed(&mut third, step, ok("{}"))), 200);
    assert_eq!(d.client.stats().token_requests, 1);
}

#[test]
fn a_vanished_leader_is_taken_over_after_the_exchange_timeout() {
    let mut d = Driver::new(client());
    let mut herd = cold_herd(&mut d, 2);
    let (_leader, _) = herd.remove(0); // never driven again, never aborted
    let (mut waiter, step) = herd.remove(0);
    let Step::Park { until, .. } = step else {
        panic!("{step:?}")
    };
    d.now = until - Duration::from_millis(1);
    assert!(
        matches!(d.resume(&mut waiter), Step::Park { .. }),
        "still inside the leader's deadline"
    );
    d.now = until;
    let step = d.resume(&mut waiter);
    let step = d.feed(&mut waiter, step, challenge("t5"));
    assert!(matches!(
        kind(&step),
        Some(uma_core::RequestKind::Discovery)
    ));
}

#[test]
fn a_spurious_wake_up_keeps_waiting() {
    let mut d = Driver::new(client());
    let mut herd = cold_herd(&mut d, 2);
    let (_leader, _) = herd.remove(0);
    let (mut waiter, _) = herd.remove(0);
    // The leader is slow but alive: a waiter woken early goes back to waiting, sending nothing.
    let sent = d.sent.len();
    let step = d.resume(&mut waiter);
    assert!(matches!(step, Step::Park { .. }));
    assert_eq!(d.sent.len(), sent);
}

#[test]
fn a_retry_whose_rpt_was_upgraded_meanwhile_uses_the_new_one_without_a_new_flow() {
    let mut d = Driver::new(client());
    // A: /a → RPT r1; its retry is in flight when B upgrades r1 to r2 (and the AS revokes r1).
    let mut a = Flow::new(get("/a"));
    let step = d.start(&mut a);
    let step = d.feed(&mut a, step, challenge("t1"));
    let step = d.feed(&mut a, step, metadata());
    let a_retry = d.feed(&mut a, step, token("r1"));
    assert!(d.sent.last().unwrap().ends_with("auth=Bearer r1"));

    let upgraded = token_json(r#"{"access_token":"r2","token_type":"Bearer","upgraded":true}"#);
    let step = d.run(get("/b"), vec![challenge("t2"), upgraded]);
    assert!(d.sent.last().unwrap().ends_with("auth=Bearer r2"));
    drop(step);

    // A's retry with r1 is refused: it resends with r2 instead of failing with MaxFlowsReached.
    let step = d.feed(&mut a, a_retry, challenge("t3"));
    assert!(
        d.sent.last().unwrap().ends_with("auth=Bearer r2"),
        "{:?}",
        d.sent
    );
    assert_eq!(done_status(&d.feed(&mut a, step, ok("{}"))), 200);
    assert_eq!(d.client.stats().token_requests, 2);
}

#[test]
fn a_retry_refused_while_another_exchange_is_upgrading_its_rpt_waits_for_it() {
    let mut d = Driver::new(client());
    // A: /a → r1, retry in flight.
    let mut a = Flow::new(get("/a"));
    let step = d.start(&mut a);
    let step = d.feed(&mut a, step, challenge("t1"));
    let step = d.feed(&mut a, step, metadata());
    let a_retry = d.feed(&mut a, step, token("r1"));
    // B: /b sent with r1, challenged, its token request (rpt=r1) is in flight: the AS revokes r1.
    let mut b = Flow::new(get("/b"));
    let step = d.start(&mut b);
    let b_token = d.feed(&mut b, step, challenge("t2"));
    assert!(d.sent.last().unwrap().ends_with("&ticket=t2&rpt=r1"));
    // A's retry is refused before B's answer lands: A waits instead of failing with MaxFlowsReached.
    let parked = d.feed(&mut a, a_retry, challenge("t3"));
    assert!(matches!(parked, Step::Park { .. }), "{parked:?}");
    let upgraded = token_json(r#"{"access_token":"r2","token_type":"Bearer","upgraded":true}"#);
    let b_retry = d.feed(&mut b, b_token, upgraded);
    assert_eq!(done_status(&d.feed(&mut b, b_retry, ok("{}"))), 200);
    let step = d.resume(&mut a);
    assert!(d.sent.last().unwrap().ends_with("auth=Bearer r2"));
    assert_eq!(done_status(&d.feed(&mut a, step, ok("{}"))), 200);
}

fn upgraded(rpt: &str) -> http::Response<Vec<u8>> {
    token_json(&format!(
        r#"{{"access_token":"{rpt}","token_type":"Bearer","upgraded":true}}"#
    ))
}

fn park_key(step: &S) -> ExchangeKey {
    match step {
        Step::Park { key, .. } => key.clone(),
        other => panic!("expected Park, got {other:?}"),
    }
}

fn drain(d: &mut Driver) -> Vec<ExchangeKey> {
    std::iter::from_fn(|| d.client.poll_finished_exchange()).collect()
}

#[test]
fn waiters_for_another_resource_are_not_woken_by_a_landing_and_send_nothing() {
    let mut d = Driver::new(client());
    // A leads /a; B leads /b and waits for the RPT key; A2 and B2 wait for their own resource.
    let mut a = Flow::new(get("/a"));
    let step = d.start(&mut a);
    let a_disc = d.feed(&mut a, step, challenge("ta"));
    let mut b = Flow::new(get("/b"));
    let step = d.start(&mut b);
    let b_park = d.feed(&mut b, step, challenge("tb"));
    assert!(matches!(park_key(&b_park), ExchangeKey::Rpt { .. }));
    let mut a2 = Flow::new(get("/a"));
    let step = d.start(&mut a2);
    let a2_park = d.feed(&mut a2, step, challenge("ta2"));
    assert!(
        matches!(park_key(&a2_park), ExchangeKey::Permission { ref request, .. } if request == "GET /a")
    );
    let mut b2 = Flow::new(get("/b"));
    let step = d.start(&mut b2);
    let b2_park = d.feed(&mut b2, step, challenge("tb2"));
    assert!(
        matches!(park_key(&b2_park), ExchangeKey::Permission { ref request, .. } if request == "GET /b")
    );
    drain(&mut d);

    // A's exchange lands: the RPT key is handed to B, /a's waiters are told, /b's are not.
    let step = d.feed(&mut a, a_disc, metadata());
    let a_after = d.feed(&mut a, step, token("ra"));
    let woken = drain(&mut d);
    assert!(woken.contains(&park_key(&a2_park)), "{woken:?}");
    assert!(!woken.contains(&park_key(&b2_park)), "{woken:?}");
    // B is about to upgrade `ra` (the kit's AS, like UMAG §3.3.5.1 advises, revokes it then): A holds its
    // retry back rather than be refused.
    assert!(matches!(a_after, Step::Park { .. }), "{a_after:?}");

    let sent = d.sent.len();
    assert!(matches!(d.resume(&mut b2), Step::Park { .. }));
    assert_eq!(d.sent.len(), sent, "a spurious wake-up sends nothing");

    // B runs its exchange with the ticket it holds, upgrading the RPT that landed: no resend first.
    let step = d.resume(&mut b);
    assert!(
        d.sent.last().unwrap().ends_with("&ticket=tb&rpt=ra"),
        "{:?}",
        d.sent
    );
    assert!(matches!(d.resume(&mut a2), Step::Park { .. }));
    let step = d.feed(&mut b, step, upgraded("rab"));
    assert!(d.sent.last().unwrap().ends_with("auth=Bearer rab"));
    assert_eq!(done_status(&d.feed(&mut b, step, ok("{}"))), 200);

    for flow in [&mut a, &mut a2, &mut b2] {
        let step = d.resume(flow);
        assert!(d.sent.last().unwrap().ends_with("auth=Bearer rab"));
        assert_eq!(done_status(&d.feed(flow, step, ok("{}"))), 200);
    }
    let stats = d.client.stats();
    assert_eq!(stats.discovery_requests, 1);
    assert_eq!(stats.token_requests, 2);
    assert_eq!(
        stats.resource_requests,
        4 * 2,
        "challenge and retry per request"
    );
    assert_eq!(d.client.rpt_count(), 1);
}

#[test]
fn concurrent_upgrades_of_one_rpt_keep_every_permission() {
    let mut d = Driver::new(client());
    d.prime(
        get("/a"),
        vec![challenge("t0"), metadata(), token("ra"), ok("{}")],
    );
    // B (/b) and C (/c) are both refused `ra` and both need an upgrade of it.
    let mut b = Flow::new(get("/b"));
    let b_sent = d.start(&mut b);
    let mut c = Flow::new(get("/c"));
    let c_sent = d.start(&mut c);
    let b_token = d.feed(&mut b, b_sent, challenge("tb"));
    assert!(d.sent.last().unwrap().ends_with("&ticket=tb&rpt=ra"));
    let c_park = d.feed(&mut c, c_sent, challenge("tc"));
    assert!(matches!(park_key(&c_park), ExchangeKey::Rpt { .. }));
    // While `ra` is being upgraded (and may be revoked), a request for /a waits instead of presenting it.
    let sent = d.sent.len();
    let mut a = Flow::new(get("/a"));
    let a_park = d.start(&mut a);
    assert!(matches!(a_park, Step::Park { .. }), "{a_park:?}");
    assert_eq!(d.sent.len(), sent);

    // B's upgrade lands (`ra` revoked). C upgrades its successor, not the revoked `ra`: upgrading `ra`
    // would give an RPT without /b's permission and revoke `rab`, which has it.
    let b_retry = d.feed(&mut b, b_token, upgraded("rab"));
    assert!(matches!(b_retry, Step::Park { .. }), "{b_retry:?}");
    let step = d.resume(&mut c);
    assert!(
        d.sent.last().unwrap().ends_with("&ticket=tc&rpt=rab"),
        "{:?}",
        d.sent
    );
    let step = d.feed(&mut c, step, upgraded("rabc"));
    assert_eq!(done_status(&d.feed(&mut c, step, ok("{}"))), 200);
    for flow in [&mut b, &mut a] {
        let step = d.resume(flow);
        assert!(d.sent.last().unwrap().ends_with("auth=Bearer rabc"));
        assert_eq!(done_status(&d.feed(flow, step, ok("{}"))), 200);
    }

    // One RPT holds all three permissions.
    assert_eq!(d.client.rpt_count(), 1);
    for path in ["/a", "/b", "/c"] {
        d.prime(get(path), vec![ok("{}")]);
        assert!(d.sent.last().unwrap().ends_with("auth=Bearer rabc"));
    }
    assert_eq!(d.client.stats().token_requests, 3);
}

#[test]
fn a_leader_that_may_not_wait_any_longer_gets_an_rpt_of_its_own_rather_than_race_the_upgrade() {
    let mut cfg = config();
    cfg.max_parks = 0;
    let mut d = Driver::new(uma_core::Client::new(cfg));
    d.prime(
        get("/a"),
        vec![challenge("t0"), metadata(), token("ra"), ok("{}")],
    );
    let mut b = Flow::new(get("/b"));
    let b_sent = d.start(&mut b);
    let mut c = Flow::new(get("/c"));
    let c_sent = d.start(&mut c);
    let b_token = d.feed(&mut b, b_sent, challenge("tb"));
    let c_token = d.feed(&mut c, c_sent, challenge("tc"));
    // C does not present `ra`, which B is upgrading: the two answers cannot revoke each other's RPT.
    assert!(
        d.sent.last().unwrap().ends_with("&ticket=tc"),
        "{:?}",
        d.sent
    );
    let step = d.feed(&mut c, c_token, token("rc"));
    assert_eq!(done_status(&d.feed(&mut c, step, ok("{}"))), 200);
    let step = d.feed(&mut b, b_token, upgraded("rab"));
    assert_eq!(done_status(&d.feed(&mut b, step, ok("{}"))), 200);
    for (path, rpt) in [("/a", "rab"), ("/b", "rab"), ("/c", "rc")] {
        d.prime(get(path), vec![ok("{}")]);
        assert!(
            d.sent
                .last()
                .unwrap()
                .ends_with(&format!("auth=Bearer {rpt}"))
        );
    }
}

#[test]
fn a_leader_whose_ticket_died_while_it_waited_resends_once() {
    let mut d = Driver::new(client());
    let mut a = Flow::new(get("/a"));
    let step = d.start(&mut a);
    let a_disc = d.feed(&mut a, step, challenge("ta"));
    let mut b = Flow::new(get("/b"));
    let step = d.start(&mut b);
    let b_park = d.feed(&mut b, step, challenge("tb"));
    assert!(matches!(b_park, Step::Park { .. }));
    d.advance(Duration::from_secs(30));
    let step = d.feed(&mut a, a_disc, metadata());
    let a_retry = d.feed(&mut a, step, token("ra"));

    // B's turn: its ticket expired while it waited. One fresh challenge, within the same flow.
    let step = d.resume(&mut b);
    let step = d.feed(&mut b, step, error(400, r#"{"error":"invalid_grant"}"#));
    assert!(
        d.sent
            .last()
            .unwrap()
            .starts_with("Resource GET https://rs.example.org/b")
    );
    let step = d.feed(&mut b, step, challenge("tb2"));
    assert!(d.sent.last().unwrap().ends_with("&ticket=tb2&rpt=ra"));
    let step = d.feed(&mut b, step, upgraded("rab"));
    assert_eq!(done_status(&d.feed(&mut b, step, ok("{}"))), 200);
    assert_eq!(b.flows_used(), 1);
    let step = d.resume(&mut a);
    drop(a_retry);
    assert!(d.sent.last().unwrap().ends_with("auth=Bearer rab"));
    assert_eq!(done_status(&d.feed(&mut a, step, ok("{}"))), 200);
    assert_eq!(d.client.stats().resource_requests, 2 + 3);
}
