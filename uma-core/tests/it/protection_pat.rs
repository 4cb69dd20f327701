//! PAT request, token-response parsing and renewal timing (`docs/protocol.md` §9.1).

use std::time::{Duration, Instant};

use crate::support::{headers, json_response};
use uma_core::auth::{AuthError, ClientCredentials};
use uma_core::protection::{
    ErrorCode, PatCache, PatResponse, PatState, ProtectionError, parse_pat_response, pat_request,
    renewal_skew,
};
use uma_core::secret::AccessToken;

fn token_url() -> url::Url {
    url::Url::parse("https://kc.example.org/realms/myrealm/protocol/openid-connect/token").unwrap()
}

#[test]
fn pat_request_basic_default_scope() {
    let r = pat_request(
        &token_url(),
        &ClientCredentials::basic("my-resource-server", "s3cr:et"),
        None,
    )
    .unwrap();
    assert_eq!(r.method(), http::Method::POST);
    assert_eq!(r.uri(), token_url().as_str());
    assert_eq!(
        headers(&r),
        vec![
            (
                "content-type".into(),
                "application/x-www-form-urlencoded".into()
            ),
            ("accept".into(), "application/json".into()),
            (
                "authorization".into(),
                // base64("my-resource-server:s3cr%3Aet")
                "Basic bXktcmVzb3VyY2Utc2VydmVyOnMzY3IlM0FldA==".into()
            ),
        ]
    );
    assert!(r.headers()["authorization"].is_sensitive());
    assert_eq!(
        r.body(),
        b"grant_type=client_credentials&scope=uma_protection"
    );
}

#[test]
fn pat_request_post_custom_and_no_scope() {
    let gluu = url::Url::parse("https://auth.eoepca.example/oxauth/restv1/token").unwrap();
    let r = pat_request(
        &gluu,
        &ClientCredentials::post("pep", "secret"),
        Some("openid uma_protection permission"),
    )
    .unwrap();
    assert_eq!(
        headers(&r),
        vec![
            (
                "content-type".into(),
                "application/x-www-form-urlencoded".into()
            ),
            ("accept".into(), "application/json".into()),
        ]
    );
    assert_eq!(
        r.body(),
        b"grant_type=client_credentials&scope=openid+uma_protection+permission&client_id=pep&client_secret=secret"
    );

    // Keycloak: no scope parameter at all.
    let r = pat_request(&token_url(), &ClientCredentials::post("rs", "s"), Some("")).unwrap();
    assert_eq!(
        r.body(),
        b"grant_type=client_credentials&client_id=rs&client_secret=s"
    );
}

#[test]
fn pat_request_needs_own_credentials() {
    let e = pat_request(&token_url(), &ClientCredentials::bearer("rs"), None).unwrap_err();
    assert!(matches!(
        e,
        ProtectionError::Auth(AuthError::MissingAccessToken)
    ));
    let creds = ClientCredentials {
        client_secret: None,
        ..ClientCredentials::basic("rs", "x")
    };
    let e = pat_request(&token_url(), &creds, None).unwrap_err();
    assert!(matches!(e, ProtectionError::Auth(AuthError::MissingSecret)));
}

#[test]
fn parse_keycloak_pat() {
    let body = r#"{"access_token":"eyJhbGciOi.pat.sig","expires_in":300,"refresh_expires_in":1800,"token_type":"bearer","not-before-policy":0,"scope":"profile email"}"#;
    let pat = parse_pat_response(&json_response(200, body)).unwrap();
    assert_eq!(pat.access_token.secret(), "eyJhbGciOi.pat.sig");
    assert_eq!(pat.expires_in, Some(Duration::from_secs(300)));
    assert_eq!(pat.scope.as_deref(), Some("profile email"));
    assert!(!format!("{pat:?}").contains("eyJ"));
}

#[test]
fn parse_pat_without_lifetime_or_type() {
    let pat = parse_pat_response(&json_response(200, r#"{"access_token":"p"}"#)).unwrap();
    assert_eq!(pat.expires_in, None);
    let pat = parse_pat_response(&json_response(
        200,
        r#"{"access_token":"p","token_type":"Bearer","expires_in":-5}"#,
    ))
    .unwrap();
    assert_eq!(pat.expires_in, Some(Duration::ZERO));
}

#[test]
fn parse_pat_rejects_bad_bodies() {
    for body in [
        "",
        "not json",
        "[]",
        r#"{"token_type":"bearer"}"#,
        r#"{"access_token":""}"#,
        r#"{"access_token":"p","token_type":"mac"}"#,
        r#"{"access_token":5}"#,
        r#"["p"]"#,
    ] {
        let e = parse_pat_response(&json_response(200, body)).unwrap_err();
        assert!(
            matches!(e, ProtectionError::InvalidBody { .. }),
            "{body}: {e:?}"
        );
    }
}

#[test]
fn parse_pat_errors() {
    let e = parse_pat_response(&json_response(
        401,
        r#"{"error":"invalid_client","error_description":"Invalid client secret"}"#,
    ))
    .unwrap_err();
    assert_eq!(e.status(), Some(http::StatusCode::UNAUTHORIZED));
    assert_eq!(e.code(), Some(&ErrorCode::InvalidClient));
    assert!(e.is_unauthorized());
    assert_eq!(
        e.to_string(),
        "authorization server answered 401 Unauthorized: invalid_client (Invalid client secret)"
    );
    let e = parse_pat_response(&json_response(302, "")).unwrap_err();
    assert!(matches!(e, ProtectionError::UnexpectedStatus { .. }));
}

#[test]
fn skew_scales_with_lifetime() {
    assert_eq!(
        renewal_skew(Duration::from_secs(300)),
        Duration::from_secs(30)
    );
    assert_eq!(
        renewal_skew(Duration::from_secs(3600)),
        Duration::from_secs(60)
    );
    assert_eq!(renewal_skew(Duration::from_secs(5)), Duration::from_secs(1));
    assert_eq!(
        renewal_skew(Duration::from_secs(1)),
        Duration::from_millis(500)
    );
    assert_eq!(renewal_skew(Duration::ZERO), Duration::ZERO);
}

fn pat(expires_in: Option<u64>) -> PatResponse {
    PatResponse {
        access_token: AccessToken::new("pat"),
        expires_in: expires_in.map(Duration::from_secs),
        scope: None,
    }
}

#[test]
fn pat_state_renews_early() {
    let t0 = Instant::now();
    let s = PatState::new(pat(Some(300)), t0);
    assert_eq!(s.expires_at(), Some(t0 + Duration::from_secs(300)));
    assert_eq!(s.renew_at(), Some(t0 + Duration::from_secs(270)));
    assert!(!s.needs_renewal(t0));
    assert!(!s.needs_renewal(t0 + Duration::from_secs(269)));
    assert!(s.needs_renewal(t0 + Duration::from_secs(270)));
    assert!(s.needs_renewal(t0 + Duration::from_secs(1000)));

    let s = PatState::new(pat(Some(0)), t0);
    assert!(s.needs_renewal(t0));

    let s = PatState::new(pat(None), t0);
    assert!(!s.needs_renewal(t0 + Duration::from_secs(1_000_000)));
    assert_eq!(s.renew_at(), None);
}

#[test]
fn pat_cache_lifecycle() {
    let t0 = Instant::now();
    let mut cache = PatCache::new();
    assert!(cache.needs_renewal(t0));
    assert!(cache.token(t0).is_none());
    cache.store(pat(Some(60)), t0);
    assert_eq!(cache.token(t0).unwrap().secret(), "pat");
    assert_eq!(cache.renew_at(), Some(t0 + Duration::from_secs(54)));
    assert!(cache.needs_renewal(t0 + Duration::from_secs(54)));
    assert!(cache.state().is_some());
    cache.store(pat(Some(60)), t0 + Duration::from_secs(54));
    assert!(!cache.needs_renewal(t0 + Duration::from_secs(60)));
    cache.invalidate();
    assert!(cache.needs_renewal(t0 + Duration::from_secs(60)));
    assert!(!format!("{cache:?}").contains("\"pat\""));
}
