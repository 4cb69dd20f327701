//! The protection API (a resource server's calls to the AS), end to end: PAT renewal, herds, limits.

use std::time::Duration;

use super::{BOUND, Class, ProtectionAdapter, ProtectionSetup, Protector, bounded, kit, start};
use crate::{Dialect, Endpoint, Fault, Kit, KitConfig, Server};

/// How many calls a herd makes at once.
const HERD: usize = 16;

fn protector(adapter: &dyn ProtectionAdapter, kit: &Kit) -> Box<dyn Protector> {
    adapter.protector(&ProtectionSetup::for_kit(kit))
}

/// A PAT the AS refuses (401) is renewed once and the call retried; refused again after the renewal,
/// the call fails with that 401 and no third PAT is asked for. In the spec and Keycloak dialects.
pub fn a_refused_pat_is_renewed_once_then_reported(adapter: &dyn ProtectionAdapter, tls: bool) {
    for dialect in [Dialect::Spec, Dialect::keycloak()] {
        let kit = kit(dialect.clone(), tls);
        let p = protector(adapter, &kit);
        p.list_resources().expect("a PAT, then the list");
        assert_eq!(kit.count_endpoint(Endpoint::Token), 1, "{dialect:?}");
        kit.set_fault_times(Endpoint::Permission, Fault::Status(401), 1);
        p.request_ticket("res-a", &["read"]).expect("renewed");
        assert_eq!(kit.count_endpoint(Endpoint::Token), 2, "{dialect:?}");
        assert_eq!(kit.count_endpoint(Endpoint::Permission), 2, "{dialect:?}");

        kit.set_fault(Endpoint::Permission, Some(Fault::Status(401)));
        let error = p.request_ticket("res-a", &["read"]).expect_err("refused");
        assert_eq!(error.class, Class::Status(401), "{dialect:?}");
        assert_eq!(kit.count_endpoint(Endpoint::Token), 3, "{dialect:?}");
        assert_eq!(p.pat_requests(), 3, "{dialect:?}");
        assert!(!error.shown.contains("rs-secret"), "{}", error.shown);
    }
}

/// A herd on a fresh handle: challenges and token-less `enforce` calls, all at once, share one PAT
/// request (the core parks the others behind it); each gets its own ticket and answers with a challenge.
pub fn a_herd_on_a_fresh_handle_costs_one_pat_request(adapter: &dyn ProtectionAdapter, tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let album = protector(adapter, &kit)
        .create_resource("album", &["view"])
        .expect("created");
    let fresh = protector(adapter, &kit);
    let (pats, tickets) = (
        kit.count_endpoint(Endpoint::Token),
        kit.count_endpoint(Endpoint::Permission),
    );
    // A slow token endpoint makes sure the herd overlaps the PAT request.
    kit.set_fault_times(Endpoint::Token, Fault::Delay(Duration::from_millis(200)), 1);
    let verdicts = bounded(BOUND, || fresh.herd_without_token(HERD, &album, "view"));
    for verdict in verdicts {
        assert_eq!(verdict.expect("a challenge"), 401);
    }
    assert_eq!(kit.count_endpoint(Endpoint::Token) - pats, 1);
    assert_eq!(fresh.pat_requests(), 1);
    assert_eq!(kit.count_endpoint(Endpoint::Permission) - tickets, HERD);
}

/// A herd on a handle whose PAT has expired: challenges and token-less `enforce` calls, all at once,
/// cost exactly one PAT renewal, not one per call.
pub fn a_herd_with_an_expired_pat_costs_one_renewal(adapter: &dyn ProtectionAdapter, tls: bool) {
    let mut config = KitConfig::new(Dialect::Spec);
    // PATs live 3 s (renewed from 2 s on): the herd has 2 s with the renewed one.
    config.access_token_lifetime = Duration::from_secs(3);
    let kit = start(config, tls);
    let p = protector(adapter, &kit);
    let album = p.create_resource("album", &["view"]).expect("created");
    assert_eq!(p.pat_requests(), 1);
    std::thread::sleep(Duration::from_millis(3100));

    let (pats, tickets) = (
        kit.count_endpoint(Endpoint::Token),
        kit.count_endpoint(Endpoint::Permission),
    );
    // A slow token endpoint makes sure the herd overlaps the renewal.
    kit.set_fault_times(Endpoint::Token, Fault::Delay(Duration::from_millis(200)), 1);
    let verdicts = bounded(BOUND, || p.herd_without_token(HERD, &album, "view"));
    for verdict in verdicts {
        assert_eq!(verdict.expect("a challenge"), 401);
    }
    assert_eq!(kit.count_endpoint(Endpoint::Token) - pats, 1, "one renewal");
    assert_eq!(p.pat_requests(), 2);
    assert_eq!(kit.count_endpoint(Endpoint::Permission) - tickets, HERD);
    // Every ticket was asked for with the renewed PAT, none with the expired one.
    let renewed = kit
        .log()
        .into_iter()
        .filter(|r| r.endpoint == Endpoint::Permission);
    let bearers: std::collections::HashSet<_> = renewed
        .skip(tickets)
        .map(|r| r.header("authorization").map(str::to_owned))
        .collect();
    assert_eq!(bearers.len(), 1, "{bearers:?}");
}

/// The transport's limits hold for protection calls too: an 8 MiB answer is refused unread, and a
/// redirect is never followed (the hostile AS sees nothing).
pub fn limits_apply_to_protection_calls(adapter: &dyn ProtectionAdapter, tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let p = protector(adapter, &kit);
    kit.set_fault(
        Endpoint::Permission,
        Some(Fault::Oversized(8 * 1024 * 1024)),
    );
    let error = p.request_ticket("res-a", &["read"]).expect_err("too large");
    assert!(
        matches!(
            error.class,
            Class::BodyTooLarge {
                from_authorization_server: true,
                ..
            }
        ),
        "{error:?}"
    );
    kit.set_fault(
        Endpoint::Permission,
        Some(Fault::RedirectTo(kit.hostile_issuer())),
    );
    let error = p
        .request_ticket("res-a", &["read"])
        .expect_err("redirected");
    assert_eq!(error.class, Class::Status(307), "{error:?}");
    assert_eq!(kit.log_of(Server::HostileAs).len(), 0);
}

/// A PAT request that fails below HTTP frees its claim as it unwinds: the next call asks for a PAT at
/// once, instead of parking behind a claim nobody holds.
pub fn a_failed_pat_request_frees_its_claim(adapter: &dyn ProtectionAdapter, tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let p = protector(adapter, &kit);
    kit.set_fault_times(Endpoint::Token, Fault::DropConnection, 1);
    let error = p.list_resources().expect_err("dropped");
    assert_eq!(error.class, Class::Transport, "{error:?}");
    bounded(Duration::from_secs(5), || p.list_resources()).expect("a PAT at once");
    assert_eq!(p.pat_requests(), 2);
    assert_eq!(p.parked(), 0);
}

/// A wrong client secret fails at the token endpoint (401 `invalid_client`), and the secret shows
/// neither in the error nor in the handle's `Debug`.
pub fn a_wrong_client_secret_fails_at_the_token_endpoint(
    adapter: &dyn ProtectionAdapter,
    tls: bool,
) {
    let kit = kit(Dialect::Spec, tls);
    let p = adapter.protector(&ProtectionSetup {
        client_secret: "wrong-secret".into(),
        ..ProtectionSetup::for_kit(&kit)
    });
    let error = p.list_resources().expect_err("refused");
    assert_eq!(error.class, Class::Status(401), "{error:?}");
    assert!(error.shown.contains("invalid_client"), "{}", error.shown);
    let shown = format!("{} {}", error.shown, p.shown());
    assert!(!shown.contains("wrong-secret"), "{shown}");
    assert_eq!(kit.count_endpoint(Endpoint::ResourceRegistration), 0);
}

/// A PEP whose AS fails (503 from the permission endpoint) answers 403 with a `Warning`, never a 401
/// without a ticket; the call behind it reports the 503.
pub fn a_pep_answers_403_when_the_as_is_unreachable(adapter: &dyn ProtectionAdapter, tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let p = protector(adapter, &kit);
    kit.set_fault(Endpoint::Permission, Some(Fault::Status(503)));
    let answer = p.challenge("res-a", "read");
    assert_eq!(answer.status(), 403);
    assert!(answer.headers().contains_key("warning"));
    let error = p
        .request_ticket("res-a", &["read"])
        .expect_err("unreachable");
    assert_eq!(error.class, Class::Status(503), "{error:?}");
}
