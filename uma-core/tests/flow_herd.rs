//! Herd control: many flows for one key share one exchange; a failed or abandoned exchange never strands
//! the flows that waited on it.

mod support;

use std::time::Duration;

use support::*;
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
    assert!(woken.iter().any(|k| matches!(k, ExchangeKey::Rpt { .. })));

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
