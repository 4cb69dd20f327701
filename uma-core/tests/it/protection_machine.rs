//! The protection machines over a fake clock: one PAT request per herd, renew once on 401, take over
//! from a vanished claim holder, the PEP verdict.

use std::time::{Duration, Instant};

use crate::support::{error, issuer, metadata, ok, response};
use uma_core::auth::ClientCredentials;
use uma_core::discovery::{self, EndpointPolicy};
use uma_core::protection::{
    Decision, Dialect, Enforce, PermissionRequest, ProtectionCall, ProtectionClient,
};
use uma_core::secret::AccessToken;
use uma_core::{Machine, Outgoing, RequestKind, Step};

fn protection(t0: Instant) -> ProtectionClient {
    let policy = EndpointPolicy::default();
    let metadata = discovery::parse_metadata(&issuer(), &metadata(), &policy).unwrap();
    ProtectionClient::new(
        issuer(),
        ClientCredentials::basic("rs", "rs-secret"),
        Dialect::Uma,
        policy,
        metadata,
        t0,
    )
}

fn pat(value: &str, lifetime: u64) -> http::Response<Vec<u8>> {
    ok(&format!(
        r#"{{"access_token":"{value}","token_type":"Bearer","expires_in":{lifetime}}}"#
    ))
}

fn sent<T: std::fmt::Debug>(step: Step<T>) -> Outgoing {
    match step {
        Step::Send(out) => out,
        other => panic!("expected a request, got {other:?}"),
    }
}

fn bearer(out: &Outgoing) -> &str {
    out.request.headers()["authorization"].to_str().unwrap()
}

#[test]
fn a_herd_with_an_expired_pat_costs_one_renewal() {
    let t0 = Instant::now();
    let mut client = protection(t0);
    let mut first = ProtectionCall::pat();
    let out = sent(first.start(&mut client, t0));
    assert_eq!(out.kind, RequestKind::Token);
    let step = first.handle_response(&mut client, out.id, pat("pat-1", 60), t0);
    assert!(matches!(step, Step::Done(Ok(ref p)) if p.secret() == "pat-1"));

    // Two minutes later the PAT has expired; 20 calls start together.
    let later = t0 + Duration::from_secs(120);
    let mut calls: Vec<_> = (0..20)
        .map(|i| ProtectionCall::delete_resource(format!("r{i}")))
        .collect();
    let mut steps: Vec<_> = calls
        .iter_mut()
        .map(|c| c.start(&mut client, later))
        .collect();
    let renewal = match steps.remove(0) {
        Step::Send(out) if out.kind == RequestKind::Token => out,
        other => panic!("the first call should renew the PAT, got {other:?}"),
    };
    assert!(
        steps.iter().all(|s| matches!(s, Step::Park { .. })),
        "{steps:?}"
    );
    let generation = client.generation();

    let delete = sent(calls[0].handle_response(&mut client, renewal.id, pat("pat-2", 300), later));
    assert_eq!(bearer(&delete), "Bearer pat-2");
    assert_ne!(client.generation(), generation, "parked calls are woken");
    for call in &mut calls[1..] {
        let out = sent(call.resume(&mut client, later));
        assert_eq!(bearer(&out), "Bearer pat-2");
        let done = call.handle_response(&mut client, out.id, response(204, &[], ""), later);
        assert!(matches!(done, Step::Done(Ok(()))));
    }
    assert_eq!(
        client.stats().pat_requests,
        2,
        "one initial PAT, one renewal for all 20"
    );
    assert_eq!(client.stats().parked, 19);
}

#[test]
fn a_refused_pat_is_renewed_once_then_the_refusal_stands() {
    let t0 = Instant::now();
    let mut client = protection(t0);
    let mut call = ProtectionCall::read_resource("album");
    let out = sent(call.start(&mut client, t0));
    let out = sent(call.handle_response(&mut client, out.id, pat("pat-1", 300), t0));
    assert_eq!(bearer(&out), "Bearer pat-1");
    let unauthorized = || error(401, r#"{"error":"invalid_token"}"#);
    let renew = sent(call.handle_response(&mut client, out.id, unauthorized(), t0));
    assert_eq!(renew.kind, RequestKind::Token);
    let retry = sent(call.handle_response(&mut client, renew.id, pat("pat-2", 300), t0));
    assert_eq!(bearer(&retry), "Bearer pat-2");
    match call.handle_response(&mut client, retry.id, unauthorized(), t0) {
        Step::Done(Err(e)) => assert!(e.to_string().contains("401"), "{e}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(client.stats().pat_requests, 2);
}

#[test]
fn a_parked_call_takes_over_when_the_holder_gives_up() {
    let t0 = Instant::now();
    let mut client = protection(t0);
    let mut holder = ProtectionCall::pat();
    let mut waiter = ProtectionCall::pat();
    let _lost = sent(holder.start(&mut client, t0));
    assert!(matches!(waiter.start(&mut client, t0), Step::Park { .. }));
    holder.abort(&mut client); // say, a transport error
    let out = sent(waiter.resume(&mut client, t0));
    assert_eq!(out.kind, RequestKind::Token);
}

#[test]
fn stale_metadata_is_fetched_again_first() {
    let t0 = Instant::now();
    let mut client = protection(t0).with_metadata_ttl(Duration::from_secs(10));
    let mut call = ProtectionCall::pat();
    let out = sent(call.start(&mut client, t0 + Duration::from_secs(11)));
    assert_eq!(out.kind, RequestKind::Discovery);
    let out = sent(call.handle_response(&mut client, out.id, metadata(), t0));
    assert_eq!(out.kind, RequestKind::Token);
    assert_eq!(client.stats().discovery_requests, 1);
}

#[test]
fn enforce_allows_a_sufficient_rpt_and_challenges_otherwise() {
    let t0 = Instant::now();
    let mut client = protection(t0);
    let wants = || vec![PermissionRequest::new("album", ["view"])];
    let introspected =
        r#"{"active":true,"permissions":[{"resource_id":"album","resource_scopes":["view"]}]}"#;

    let mut enforce = Enforce::new(
        Some(AccessToken::new("rpt")),
        wants(),
        Dialect::Uma,
        None,
        1_000,
    );
    let out = sent(enforce.start(&mut client, t0));
    let out = sent(enforce.handle_response(&mut client, out.id, pat("pat", 300), t0));
    assert_eq!(out.kind, RequestKind::Protection("introspection endpoint"));
    let step = enforce.handle_response(&mut client, out.id, ok(introspected), t0);
    assert!(
        matches!(step, Step::Done(Ok(Decision::Allow(_)))),
        "{step:?}"
    );

    let mut enforce = Enforce::new(None, wants(), Dialect::Uma, Some("demo".into()), 1_000);
    let out = sent(enforce.start(&mut client, t0));
    assert_eq!(out.kind, RequestKind::Protection("permission endpoint"));
    let ticket = response(
        201,
        &[("content-type", "application/json")],
        r#"{"ticket":"t-1"}"#,
    );
    match enforce.handle_response(&mut client, out.id, ticket, t0) {
        Step::Done(Ok(Decision::Challenge(r))) => {
            assert_eq!(r.status(), 401);
            let header = r.headers()["www-authenticate"].to_str().unwrap();
            assert!(header.starts_with("UMA realm=\"demo\""), "{header}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(client.stats().pat_requests, 1);
}
