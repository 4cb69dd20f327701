//! The one fresh challenge after a dead ticket belongs to the same flow (issue 2 §5), also when the
//! identity is refreshed first: `on_token` hands the grant to `send_resource_with(.., Some(grant))`, whose
//! `maybe_refresh_identity` returns its own step and must not drop `refetch`; otherwise the fresh
//! challenge counts as a second UMA flow and the request fails with `MaxFlowsReached`.

use std::time::Duration;

use crate::support::*;
use uma_core::cache::Identity;
use uma_core::secret::{AccessToken, RefreshToken};
use uma_core::{Error, Flow, Party, RequestKind, Step};

#[test]
fn fresh_challenge_after_a_dead_ticket_survives_an_identity_refresh() {
    let mut d = Driver::new(client());
    // The user's own token: 20 s lifetime, refresh skew 2 s, so due from t = 18 s.
    d.client.set_identity(
        Party::default(),
        Identity {
            access_token: AccessToken::new("user-at"),
            refresh_token: Some(RefreshToken::new("user-rt")),
            expires_at: Some(d.now + Duration::from_secs(20)),
            obtained_at: d.now,
            issuer: Some(issuer()),
            id_token: None,
        },
    );

    let mut flow = Flow::new(get("/a"));
    let step = d.start(&mut flow);
    let step = d.feed(&mut flow, step, challenge("t1"));
    let step = d.feed(&mut flow, step, metadata());
    // The owner is asked; poll in 20 s.
    let step = d.feed(
        &mut flow,
        step,
        error(
            403,
            r#"{"error":"request_submitted","ticket":"t2","interval":20}"#,
        ),
    );
    let Step::Wait { until } = step else {
        panic!("{step:?}")
    };
    d.now = until;
    let step = d.resume(&mut flow);
    assert!(matches!(kind(&step), Some(RequestKind::Token)));
    // The ticket expired meanwhile: one fresh challenge is allowed.
    let step = d.feed(&mut flow, step, error(400, r#"{"error":"invalid_grant"}"#));
    // The user's token is due now and gets refreshed first (fine)…
    assert!(matches!(kind(&step), Some(RequestKind::Token)), "{step:?}");
    assert!(d.sent.last().unwrap().contains("grant_type=refresh_token"));
    let step = d.feed(
        &mut flow,
        step,
        token_json(r#"{"access_token":"user-at2","token_type":"Bearer","expires_in":300}"#),
    );
    assert!(matches!(kind(&step), Some(RequestKind::Resource)));
    // …but the fresh challenge must still be exchanged within the same UMA flow.
    let step = d.feed(&mut flow, step, challenge("t3"));
    match step {
        Step::Send(ref out) => {
            assert_eq!(out.kind, RequestKind::Token);
            assert!(d.sent.last().unwrap().contains("ticket=t3"));
        }
        Step::Failed(f) => {
            assert!(
                !matches!(f.error, Error::MaxFlowsReached { .. }),
                "the fresh challenge after the dead ticket was counted as a new flow: {}",
                f.error
            );
            panic!("unexpected failure: {}", f.error);
        }
        other => panic!("{other:?}"),
    }
}
