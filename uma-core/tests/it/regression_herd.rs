//! Review: the herd key is (issuer, resource-server origin, party), but the answers it shares are about one
//! resource. A denial (or need_info, approval pending…) of flow A's ticket for `/a` is handed to flow B
//! that parked with its own ticket for `/b`, and B fails without its ticket ever reaching the AS.

use crate::support::*;
use uma_core::{Flow, Machine, Step};

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
