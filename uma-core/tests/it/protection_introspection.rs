//! Introspection builder and parser, and the UMAF §5.1.1 permission rules (`docs/protocol.md` §9.4).

use crate::support::{bare_response, headers};
use uma_core::auth::ClientCredentials;
use uma_core::protection::{
    ErrorCode, IntrospectionAuth, ProtectionError, TokenTypeHint, introspection_request,
    parse_introspection_response,
};
use uma_core::secret::AccessToken;

#[test]
fn spec_request_with_pat() {
    let url = url::Url::parse("https://as.example.org/introspect").unwrap();
    let pat = AccessToken::new("pat-1");
    let r = introspection_request(
        &url,
        &AccessToken::new("sbjsbhs(/SSJHBSUSSJHVhjsgvhsgvshgsv"),
        TokenTypeHint::None,
        IntrospectionAuth::Pat(&pat),
    )
    .unwrap();
    assert_eq!(r.method(), http::Method::POST);
    assert_eq!(r.uri(), "https://as.example.org/introspect");
    assert_eq!(
        headers(&r),
        vec![
            (
                "content-type".to_owned(),
                "application/x-www-form-urlencoded".to_owned()
            ),
            ("accept".to_owned(), "application/json".to_owned()),
            ("authorization".to_owned(), "Bearer pat-1".to_owned()),
        ]
    );
    assert!(r.headers()["authorization"].is_sensitive());
    assert_eq!(r.body(), b"token=sbjsbhs%28%2FSSJHBSUSSJHVhjsgvhsgvshgsv");

    let r = introspection_request(
        &url,
        &AccessToken::new("rpt"),
        TokenTypeHint::AccessToken,
        IntrospectionAuth::Pat(&pat),
    )
    .unwrap();
    assert_eq!(r.body(), b"token=rpt&token_type_hint=access_token");
}

#[test]
fn keycloak_request_with_client_credentials() {
    let url = url::Url::parse(
        "https://kc.example.org/realms/myrealm/protocol/openid-connect/token/introspect",
    )
    .unwrap();
    let rs = ClientCredentials::basic("s6BhdRkqt3", "gX1fBat3bV");
    let r = introspection_request(
        &url,
        &AccessToken::new("eyJ.rpt"),
        TokenTypeHint::RequestingPartyToken,
        IntrospectionAuth::Client(&rs),
    )
    .unwrap();
    assert_eq!(
        headers(&r),
        vec![
            (
                "content-type".to_owned(),
                "application/x-www-form-urlencoded".to_owned()
            ),
            ("accept".to_owned(), "application/json".to_owned()),
            (
                "authorization".to_owned(),
                "Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW".to_owned()
            ),
        ]
    );
    assert_eq!(
        r.body(),
        b"token=eyJ.rpt&token_type_hint=requesting_party_token"
    );

    let post = ClientCredentials::post("rs", "s");
    let r = introspection_request(
        &url,
        &AccessToken::new("t"),
        TokenTypeHint::RequestingPartyToken,
        IntrospectionAuth::Client(&post),
    )
    .unwrap();
    assert!(r.headers().get("authorization").is_none());
    assert_eq!(
        r.body(),
        b"token=t&token_type_hint=requesting_party_token&client_id=rs&client_secret=s"
    );

    let bearer = ClientCredentials::bearer("rs");
    let e = introspection_request(
        &url,
        &AccessToken::new("t"),
        TokenTypeHint::None,
        IntrospectionAuth::Client(&bearer),
    )
    .unwrap_err();
    assert!(matches!(e, ProtectionError::InvalidInput(_)));
}

#[test]
fn parse_spec_example_and_rules() {
    let i = parse_introspection_response(&bare_response(
        200,
        r#"{"active":true,"exp":1256953732,"iat":1256912345,
            "permissions":[{"resource_id":"112210f47de98100",
                            "resource_scopes":["view","http://photoz.example.com/dev/actions/print"],"exp":1256953732}]}"#,
    ))
    .unwrap();
    assert!(i.active);
    assert_eq!(i.exp, Some(1_256_953_732));
    assert_eq!(i.iat, Some(1_256_912_345));
    assert_eq!(i.permissions.len(), 1);
    let p = &i.permissions[0];
    assert_eq!(p.resource_id.as_deref(), Some("112210f47de98100"));
    assert_eq!(
        p.resource_scopes,
        vec!["view", "http://photoz.example.com/dev/actions/print"]
    );
    let now = 1_256_912_400;
    assert!(i.allows("112210f47de98100", "view", now));
    assert!(!i.allows("112210f47de98100", "delete", now));
    assert!(!i.allows("other", "view", now));
    assert!(!i.allows("112210f47de98100", "view", 1_256_953_732)); // at exp
    assert!(!i.allows("112210f47de98100", "view", 1_256_912_344)); // before iat
    assert!(i.allows_all(
        "112210f47de98100",
        &["view", "http://photoz.example.com/dev/actions/print"],
        now
    ));
    assert!(!i.allows_all("112210f47de98100", &["view", "delete"], now));
    assert!(i.allows_all("112210f47de98100", &[], now));
    assert!(!i.allows_all("other", &[], now));
}

#[test]
fn token_and_permission_windows_combine() {
    let i = parse_introspection_response(&bare_response(
        200,
        r#"{"active":true,"exp":2000,"iat":1000,"nbf":1100,"permissions":[
            {"resource_id":"a","resource_scopes":["s"],"exp":1500},
            {"resource_id":"b","resource_scopes":["s"],"exp":3000,"iat":500,"nbf":1200},
            {"resource_id":"c","resource_scopes":["s"],"iat":1300},
            {"resource_scopes":["s"]}
        ]}"#,
    ))
    .unwrap();
    // Earlier exp wins.
    assert!(i.allows("a", "s", 1499));
    assert!(!i.allows("a", "s", 1500));
    assert!(i.allows("b", "s", 1999));
    assert!(!i.allows("b", "s", 2000));
    // Later nbf/iat win.
    assert!(!i.allows("a", "s", 1099));
    assert!(!i.allows("b", "s", 1199));
    assert!(i.allows("b", "s", 1200));
    assert!(!i.allows("c", "s", 1299));
    assert!(i.allows("c", "s", 1300));
    // A permission without a resource id matches nothing.
    assert_eq!(i.permissions[3].resource_id, None);
}

#[test]
fn scopes_may_come_from_several_entries() {
    let i = parse_introspection_response(&bare_response(
        200,
        r#"{"active":true,"permissions":[
            {"resource_id":"r","resource_scopes":["read"]},
            {"resource_id":"r","resource_scopes":["write"],"exp":10}
        ]}"#,
    ))
    .unwrap();
    assert!(i.allows_all("r", &["read", "write"], 5));
    assert!(!i.allows_all("r", &["read", "write"], 10));
}

#[test]
fn parse_keycloak_current_and_guide_shapes() {
    let i = parse_introspection_response(&bare_response(
        200,
        r#"{"permissions":[{"rsid":"90cc","rsname":"Hello World Resource","scopes":["view"],
                             "resource_id":"90cc","resource_scopes":["view"]}],
           "exp":1465314139,"nbf":0,"iat":1465313839,"aud":"hello-world-authz-service","active":true,
           "typ":"Bearer","acr":"1"}"#,
    ))
    .unwrap();
    assert_eq!(i.aud, vec!["hello-world-authz-service"]);
    assert_eq!(i.nbf, Some(0));
    assert_eq!(i.extra["typ"], "Bearer");
    let p = &i.permissions[0];
    assert_eq!(p.resource_id.as_deref(), Some("90cc"));
    assert_eq!(p.resource_name.as_deref(), Some("Hello World Resource"));
    assert!(i.allows("90cc", "view", 1_465_313_900));

    // Keycloak names only, with claims.
    let i = parse_introspection_response(&bare_response(
        200,
        r#"{"active":true,"aud":["a","b",3],"permissions":[{"rsid":"r1","rsname":"R","scopes":["s"],"claims":{"c":["v"]}}]}"#,
    ))
    .unwrap();
    assert_eq!(i.aud, vec!["a", "b"]);
    let p = &i.permissions[0];
    assert_eq!(p.resource_id.as_deref(), Some("r1"));
    assert_eq!(p.resource_scopes, vec!["s"]);
    assert_eq!(p.extra["claims"], serde_json::json!({"c":["v"]}));

    // The guide's older shape: resource_id + resource_name, no scopes.
    let i = parse_introspection_response(&bare_response(
        200,
        r#"{"active":true,"permissions":[{"resource_id":"r2","resource_name":"Old"}]}"#,
    ))
    .unwrap();
    assert_eq!(i.permissions[0].resource_name.as_deref(), Some("Old"));
    assert!(i.permissions[0].resource_scopes.is_empty());
    assert!(i.allows_all("r2", &[], 0));
    assert!(!i.allows("r2", "view", 0));
}

#[test]
fn parse_gluu_shape() {
    let i = parse_introspection_response(&bare_response(
        200,
        r#"{"active":true,"exp":1600003600,"iat":1600000000,"nbf":null,"client_id":"@!1736.179E","sub":"u1","aud":"@!1736.179E",
            "pct_claims":{"user_name":["bob"]},
            "permissions":[{"resource_id":"ades","resource_scopes":["protected_get"],"exp":1600003600,"params":null}]}"#,
    ))
    .unwrap();
    assert_eq!(i.client_id.as_deref(), Some("@!1736.179E"));
    assert_eq!(i.sub.as_deref(), Some("u1"));
    assert_eq!(i.nbf, None);
    assert!(i.extra.contains_key("pct_claims"));
    assert!(i.allows("ades", "protected_get", 1_600_000_001));
}

#[test]
fn inactive_never_allows() {
    let i = parse_introspection_response(&bare_response(200, r#"{"active":false}"#)).unwrap();
    assert!(!i.active);
    assert!(i.permissions.is_empty());
    // Even if a confused server lists permissions on an inactive token.
    let i = parse_introspection_response(&bare_response(
        200,
        r#"{"active":false,"permissions":[{"resource_id":"r","resource_scopes":["s"]}]}"#,
    ))
    .unwrap();
    assert!(!i.allows("r", "s", 0));
    assert!(!i.allows_all("r", &[], 0));
}

#[test]
fn bad_bodies_fail_closed() {
    for body in [
        "",
        "{}",
        r#"{"active":"true"}"#,
        r#"{"active":1}"#,
        r#"{"active":true,"permissions":{}}"#,
        r#"{"active":true,"permissions":["r"]}"#,
        r#"{"active":true,"permissions":[["r",["s"]]]}"#,
        "[true]",
        "[]",
        "null",
    ] {
        let e = parse_introspection_response(&bare_response(200, body)).unwrap_err();
        assert!(
            matches!(e, ProtectionError::InvalidBody { .. }),
            "{body}: {e:?}"
        );
    }
}

#[test]
fn introspection_errors() {
    let e = parse_introspection_response(&bare_response(
        401,
        r#"{"error":"invalid_token","error_description":"bad PAT"}"#,
    ))
    .unwrap_err();
    assert!(e.is_unauthorized());
    assert_eq!(e.code(), Some(&ErrorCode::InvalidToken));
    let e =
        parse_introspection_response(&bare_response(406, r#"{"error":"invalid_client_scope"}"#))
            .unwrap_err();
    assert!(e.is_unauthorized());
}

#[test]
fn fractional_and_odd_times() {
    let i = parse_introspection_response(&bare_response(
        200,
        r#"{"active":true,"exp":2000.9,"iat":"yesterday","permissions":[]}"#,
    ))
    .unwrap();
    assert_eq!(i.exp, Some(2000));
    assert_eq!(i.iat, None);
}
