//! Permission endpoint builder and parser (`docs/protocol.md` §9.3).

use crate::support::{bare_response, headers};
use uma_core::protection::{
    Dialect, ErrorCode, PermissionBody, PermissionRequest, ProtectionError,
    parse_permission_response, permission_request,
};
use uma_core::secret::AccessToken;

fn two() -> Vec<PermissionRequest> {
    vec![
        PermissionRequest::new("7b727369647d", ["view", "crop"]),
        PermissionRequest::new("7b72736964337d", ["http://www.example.com/scopes/all"]),
    ]
}

#[test]
fn spec_array_example() {
    let url = url::Url::parse("https://as.example.org/perm").unwrap();
    let body = PermissionBody::for_dialect(Dialect::Uma, two()).unwrap();
    let r = permission_request(&url, &AccessToken::new("pat"), &body).unwrap();
    assert_eq!(r.method(), http::Method::POST);
    assert_eq!(r.uri(), "https://as.example.org/perm");
    assert_eq!(
        headers(&r),
        vec![
            ("authorization".to_owned(), "Bearer pat".to_owned()),
            ("accept".to_owned(), "application/json".to_owned()),
            ("content-type".to_owned(), "application/json".to_owned()),
        ]
    );
    assert!(r.headers()["authorization"].is_sensitive());
    assert_eq!(
        std::str::from_utf8(r.body()).unwrap(),
        r#"[{"resource_id":"7b727369647d","resource_scopes":["view","crop"]},{"resource_id":"7b72736964337d","resource_scopes":["http://www.example.com/scopes/all"]}]"#
    );
}

#[test]
fn dialect_decides_object_or_array() {
    let one = vec![PermissionRequest::new("r1", ["view"])];
    assert!(matches!(
        PermissionBody::for_dialect(Dialect::Uma, one.clone()).unwrap(),
        PermissionBody::Single(_)
    ));
    assert!(matches!(
        PermissionBody::for_dialect(Dialect::Gluu, one.clone()).unwrap(),
        PermissionBody::Single(_)
    ));
    let kc = PermissionBody::for_dialect(Dialect::Keycloak, one.clone()).unwrap();
    assert!(matches!(kc, PermissionBody::Many(_)));
    assert_eq!(kc.permissions(), one.as_slice());
    assert!(matches!(
        PermissionBody::for_dialect(Dialect::Gluu, two()).unwrap(),
        PermissionBody::Many(_)
    ));
    for d in [Dialect::Uma, Dialect::Keycloak, Dialect::Gluu] {
        let e = PermissionBody::for_dialect(d, Vec::new()).unwrap_err();
        assert!(matches!(e, ProtectionError::InvalidInput(_)));
    }
    let url = url::Url::parse("https://as.example.org/perm").unwrap();
    let e = permission_request(
        &url,
        &AccessToken::new("p"),
        &PermissionBody::Many(Vec::new()),
    )
    .unwrap_err();
    assert!(matches!(e, ProtectionError::InvalidInput(_)));
}

#[test]
fn single_object_and_keycloak_claims() {
    let url = url::Url::parse("https://as.example.org/perm").unwrap();
    let body = PermissionBody::Single(PermissionRequest::new("r1", Vec::<String>::new()));
    let r = permission_request(&url, &AccessToken::new("p"), &body).unwrap();
    assert_eq!(r.body(), br#"{"resource_id":"r1","resource_scopes":[]}"#);

    let mut p = PermissionRequest::new("Hello World Resource", ["view"]);
    p.claims
        .insert("organization".into(), vec!["acme".into(), "b".into()]);
    let kc =
        url::Url::parse("https://kc.example.org/realms/demo/authz/protection/permission").unwrap();
    let body = PermissionBody::for_dialect(Dialect::Keycloak, vec![p]).unwrap();
    let r = permission_request(&kc, &AccessToken::new("p"), &body).unwrap();
    assert_eq!(
        r.uri(),
        "https://kc.example.org/realms/demo/authz/protection/permission"
    );
    assert_eq!(
        std::str::from_utf8(r.body()).unwrap(),
        r#"[{"resource_id":"Hello World Resource","resource_scopes":["view"],"claims":{"organization":["acme","b"]}}]"#
    );
}

#[test]
fn parse_ticket() {
    let t = parse_permission_response(&bare_response(
        201,
        r#"{"ticket":"016f84e8-f9b9-11e0-bd6f-0021cc6004de"}"#,
    ))
    .unwrap();
    assert_eq!(t.secret(), "016f84e8-f9b9-11e0-bd6f-0021cc6004de");
    assert_eq!(format!("{t:?}"), "Ticket([redacted])");
    // Keycloak JWT ticket, extra members ignored, 200 tolerated.
    let t =
        parse_permission_response(&bare_response(200, r#"{"ticket":"eyJ.a.b","x":1}"#)).unwrap();
    assert_eq!(t.secret(), "eyJ.a.b");
}

#[test]
fn parse_ticket_bad_bodies() {
    for body in [
        "",
        "{}",
        r#"{"ticket":""}"#,
        r#"{"ticket":7}"#,
        r#"["t"]"#,
        "nope",
    ] {
        let e = parse_permission_response(&bare_response(201, body)).unwrap_err();
        assert!(
            matches!(e, ProtectionError::InvalidBody { .. }),
            "{body}: {e:?}"
        );
    }
}

#[test]
fn parse_permission_errors() {
    let cases = [
        (
            400,
            r#"{"error":"invalid_resource_id","error_description":"Resource set with id [x] does not exists in this server."}"#,
            ErrorCode::InvalidResourceId,
        ),
        (400, r#"{"error":"invalid_scope"}"#, ErrorCode::InvalidScope),
        (
            400,
            r#"{"error":"invalid_permission_request"}"#,
            ErrorCode::InvalidPermissionRequest,
        ),
        (
            401,
            r#"{"error":"unauthorized_client"}"#,
            ErrorCode::UnauthorizedClient,
        ),
        (
            403,
            r#"{"error":"invalid_clientId"}"#,
            ErrorCode::Other("invalid_clientId".into()),
        ),
    ];
    for (status, body, code) in cases {
        let e = parse_permission_response(&bare_response(status, body)).unwrap_err();
        assert_eq!(e.status().map(|s| s.as_u16()), Some(status));
        assert_eq!(e.code(), Some(&code));
    }
}

#[test]
fn error_display_never_echoes_a_ticket_value() {
    // A server that puts the ticket where a string is not expected.
    let e = parse_permission_response(&bare_response(201, r#"{"ticket":["SECRET-TICKET"]}"#))
        .unwrap_err();
    assert!(!e.to_string().contains("SECRET"), "{e}");
    assert!(!format!("{e:?}").contains("SECRET"));
}
