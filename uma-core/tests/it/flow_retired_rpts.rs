//! A resource server that retires each RPT after a number of uses (EOEPCA's PEP), under many concurrent
//! requests: being refused an RPT that had served its path is not charged as a failed exchange. (Issue
//! 18: one request ended with "max flows: the resource server still asks for authorization after 1 UMA
//! flow(s)" although the server kept granting; it had waited on another request's exchange and then met
//! an RPT the others had already used up.)

use crate::support::*;
use uma_core::{Flow, RequestKind, Step};

fn upgraded(rpt: &str) -> http::Response<Vec<u8>> {
    token_json(&format!(
        r#"{{"access_token":"{rpt}","token_type":"Bearer","upgraded":true}}"#
    ))
}

#[test]
fn waiting_on_another_exchange_then_meeting_a_retired_rpt_does_not_cost_the_flow() {
    let mut d = Driver::new(client());
    // r1 served /a, and has now been used up.
    d.prime(
        get("/a"),
        vec![challenge("t0"), metadata(), token("r1"), ok("{}")],
    );

    // W: refused r1, runs its one flow (upgrading r1 to r2); its retry with r2 is on its way.
    let mut w = Flow::new(get("/a"));
    let step = d.start(&mut w);
    let step = d.feed(&mut w, step, challenge("t1"));
    assert!(d.sent.last().unwrap().ends_with("&ticket=t1&rpt=r1"));
    let w_retry = d.feed(&mut w, step, upgraded("r2"));
    assert!(d.sent.last().unwrap().ends_with("auth=Bearer r2"));
    assert_eq!(w.flows_used(), 1);

    // Meanwhile the others use r2 up: one is served, the next is refused and upgrades r2 to r3.
    d.prime(get("/a"), vec![ok("{}")]);
    let mut v = Flow::new(get("/a"));
    let step = d.start(&mut v);
    let v_token = d.feed(&mut v, step, challenge("t2"));
    assert!(d.sent.last().unwrap().ends_with("&ticket=t2&rpt=r2"));

    // W's retry is refused too: it waits on V's exchange rather than fail.
    let parked = d.feed(&mut w, w_retry, challenge("t3"));
    assert!(matches!(parked, Step::Park { .. }), "{parked:?}");
    let v_retry = d.feed(&mut v, v_token, upgraded("r3"));
    assert_eq!(done_status(&d.feed(&mut v, v_retry, ok("{}"))), 200);

    // W resends with r3, which the others have used up by the time it arrives. r3 had served /a: it was
    // retired, not short of permissions, so W runs a flow of its own instead of failing.
    let step = d.resume(&mut w);
    assert!(d.sent.last().unwrap().ends_with("auth=Bearer r3"));
    let step = d.feed(&mut w, step, challenge("t4"));
    match &step {
        Step::Send(out) => assert_eq!(out.kind, RequestKind::Token),
        Step::Failed(f) => panic!("W failed although the server kept granting: {}", f.error),
        other => panic!("{other:?}"),
    }
    assert!(d.sent.last().unwrap().ends_with("&ticket=t4&rpt=r3"));
    let step = d.feed(&mut w, step, upgraded("r4"));
    assert_eq!(done_status(&d.feed(&mut w, step, ok("{}"))), 200);
    assert_eq!(d.client.rpt_count(), 1);
}

#[test]
fn an_rpt_obtained_but_never_accepted_still_ends_the_request_at_max_flows() {
    let mut d = Driver::new(client());
    // The exchange's RPT is refused at once: the server does not grant, and one flow is all we run.
    let step = d.run(
        get("/a"),
        vec![challenge("t1"), metadata(), token("r1"), challenge("t2")],
    );
    match step {
        Step::Failed(f) => assert!(
            matches!(f.error, uma_core::Error::MaxFlowsReached { flows: 1 }),
            "{}",
            f.error
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(d.client.stats().token_requests, 1);
}

#[test]
fn retired_rpts_buy_a_bounded_number_of_extra_flows() {
    let mut d = Driver::new(client());
    d.prime(
        get("/a"),
        vec![challenge("t0"), metadata(), token("r0"), ok("{}")],
    );
    // Every RPT serves /a once (for another request), then is refused to this one.
    let mut w = Flow::new(get("/a"));
    let mut step = d.start(&mut w);
    let mut n = 0;
    loop {
        step = match step {
            Step::Send(out) if out.kind == RequestKind::Token => {
                n += 1;
                let next = d.feed(&mut w, Step::Send(out), upgraded(&format!("r{n}")));
                // Another request is served with it before W's retry arrives.
                d.prime(get("/a"), vec![ok("{}")]);
                next
            }
            step @ Step::Send(_) => d.feed(&mut w, step, challenge(&format!("t{n}"))),
            Step::Failed(f) => {
                assert!(matches!(f.error, uma_core::Error::MaxFlowsReached { .. }));
                break;
            }
            other => panic!("{other:?}"),
        };
        assert!(n < 20, "unbounded");
    }
    // max_flows (1), then at most four more for RPTs that had served the path.
    assert_eq!(n, 5);
}
