//! The PEP helper: permission request, then the 401 UMA challenge a client can parse.

use crate::support::bare_response;
use uma_core::challenge::{self, ChallengeError, ChallengeForm, Strictness};
use uma_core::protection::{Dialect, ErrorCode, Pep, PepError, PermissionRequest, ProtectionError};
use uma_core::secret::{AccessToken, Ticket};

fn gluu_pep() -> Pep {
    Pep::new(
        "https://auth.eoepca.example",
        url::Url::parse("https://auth.eoepca.example/oxauth/restv1/host/rsrc_pr").unwrap(),
        Dialect::Gluu,
    )
    .unwrap()
}

#[test]
fn permission_request_follows_dialect() {
    let r = gluu_pep()
        .permission_request(
            &AccessToken::new("pat"),
            vec![PermissionRequest::new("ades", ["protected_get"])],
        )
        .unwrap();
    assert_eq!(r.method(), http::Method::POST);
    assert_eq!(
        r.uri(),
        "https://auth.eoepca.example/oxauth/restv1/host/rsrc_pr"
    );
    assert_eq!(r.headers()["authorization"], "Bearer pat");
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(r.headers()["accept"], "application/json");
    assert_eq!(r.headers().len(), 3);
    assert_eq!(
        r.body(),
        br#"{"resource_id":"ades","resource_scopes":["protected_get"]}"#
    );
    let e = gluu_pep()
        .permission_request(&AccessToken::new("pat"), Vec::new())
        .unwrap_err();
    assert!(matches!(e, ProtectionError::InvalidInput(_)));
}

#[test]
fn challenge_is_a_complete_401_the_client_parses() {
    let pep = gluu_pep().with_realm("eoepca").unwrap();
    assert_eq!(pep.realm(), Some("eoepca"));
    assert_eq!(pep.as_uri(), "https://auth.eoepca.example");
    let r = pep
        .challenge(&bare_response(201, r#"{"ticket":"6b2c1b4e-0f2a"}"#))
        .unwrap();
    assert_eq!(r.status(), http::StatusCode::UNAUTHORIZED);
    assert!(r.body().is_empty());
    assert_eq!(r.headers().len(), 2);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(
        r.headers()["www-authenticate"],
        r#"UMA realm="eoepca", as_uri="https://auth.eoepca.example", ticket="6b2c1b4e-0f2a""#
    );
    let found =
        challenge::uma_candidates(r.status(), r.headers(), r.body(), Strictness::Strict).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].form, ChallengeForm::Uma);
    assert_eq!(
        found[0].as_uri.as_deref(),
        Some("https://auth.eoepca.example")
    );
    assert_eq!(found[0].realm.as_deref(), Some("eoepca"));
    assert!(found[0].ticket.same_as(&Ticket::new("6b2c1b4e-0f2a")));
}

#[test]
fn challenge_without_realm() {
    let r = gluu_pep().challenge_for_ticket(&Ticket::new("t")).unwrap();
    assert_eq!(
        r.headers()["www-authenticate"],
        r#"UMA as_uri="https://auth.eoepca.example", ticket="t""#
    );
}

#[test]
fn as_errors_and_bad_tickets_are_typed() {
    let e = gluu_pep()
        .challenge(&bare_response(400, r#"{"error":"invalid_resource_id"}"#))
        .unwrap_err();
    assert!(
        matches!(&e, PepError::Protection(p) if p.code() == Some(&ErrorCode::InvalidResourceId))
    );
    let e = gluu_pep()
        .challenge(&bare_response(201, r#"{"ticket":"has space\"SECRET"}"#))
        .unwrap_err();
    assert!(matches!(
        e,
        PepError::Challenge(ChallengeError::InvalidTicket { .. })
    ));
    assert!(!e.to_string().contains("SECRET"));
}

#[test]
fn configuration_is_checked_up_front() {
    let endpoint = url::Url::parse("https://as.example.org/perm").unwrap();
    for bad in ["", "not a uri", "https://as.example.org/\"x"] {
        let e = Pep::new(bad, endpoint.clone(), Dialect::Uma).unwrap_err();
        assert!(
            matches!(e, PepError::Challenge(ChallengeError::InvalidAsUri { .. })),
            "{bad}"
        );
    }
    let e = Pep::new("https://as.example.org", endpoint, Dialect::Uma)
        .unwrap()
        .with_realm("a\nb")
        .unwrap_err();
    assert!(matches!(
        e,
        PepError::Challenge(ChallengeError::InvalidRealm { .. })
    ));
}

#[test]
fn unreachable_is_403_with_warning() {
    let r = Pep::unreachable();
    assert_eq!(r.status(), http::StatusCode::FORBIDDEN);
    assert_eq!(
        r.headers()["warning"],
        "199 - \"UMA Authorization Server Unreachable\""
    );
    assert!(r.headers().get("www-authenticate").is_none());
}
