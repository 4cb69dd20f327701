//! Dynamic client registration (RFC 7591).

use crate::support::{bare_response, headers};
use uma_core::auth::ClientAuthMethod;
use uma_core::grant::UMA_TICKET_GRANT;
use uma_core::protection::{
    ClientRegistration, ErrorCode, ProtectionError, parse_registration_response,
    registration_request,
};
use uma_core::secret::AccessToken;

fn url() -> url::Url {
    url::Url::parse("https://auth.eoepca.example/oxauth/restv1/register").unwrap()
}

#[test]
fn uma_client_request() {
    let r =
        registration_request(&url(), &ClientRegistration::uma_client("Demo Client"), None).unwrap();
    assert_eq!(r.method(), http::Method::POST);
    assert_eq!(
        r.uri(),
        "https://auth.eoepca.example/oxauth/restv1/register"
    );
    assert_eq!(
        headers(&r),
        vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            ("accept".to_owned(), "application/json".to_owned()),
        ]
    );
    assert_eq!(
        std::str::from_utf8(r.body()).unwrap(),
        r#"{"client_name":"Demo Client","grant_types":["client_credentials","urn:ietf:params:oauth:grant-type:uma-ticket"],"token_endpoint_auth_method":"client_secret_basic"}"#
    );
}

#[test]
fn full_request_with_initial_access_token() {
    let mut reg = ClientRegistration {
        client_name: Some("EOEPCA \"Demo\"".into()),
        redirect_uris: vec!["https://app.example/cb".into()],
        claims_redirect_uris: vec!["https://app.example/claims?x=1".into()],
        grant_types: vec![
            "client_credentials".into(),
            "password".into(),
            UMA_TICKET_GRANT.into(),
        ],
        response_types: vec!["code".into(), "token".into(), "id_token".into()],
        token_endpoint_auth_method: Some("client_secret_post".into()),
        scope: Some("openid email uma_protection permission".into()),
        contacts: vec!["ops@example.org".into()],
        ..ClientRegistration::default()
    };
    reg.extra.insert("subject_type".into(), "public".into());
    reg.extra.insert("client_name".into(), "shadowed".into());
    let iat = AccessToken::new("initial-token");
    let r = registration_request(&url(), &reg, Some(&iat)).unwrap();
    assert_eq!(
        headers(&r),
        vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            ("accept".to_owned(), "application/json".to_owned()),
            (
                "authorization".to_owned(),
                "Bearer initial-token".to_owned()
            ),
        ]
    );
    assert!(r.headers()["authorization"].is_sensitive());
    assert_eq!(
        std::str::from_utf8(r.body()).unwrap(),
        r#"{"client_name":"EOEPCA \"Demo\"","redirect_uris":["https://app.example/cb"],"claims_redirect_uris":["https://app.example/claims?x=1"],"grant_types":["client_credentials","password","urn:ietf:params:oauth:grant-type:uma-ticket"],"response_types":["code","token","id_token"],"token_endpoint_auth_method":"client_secret_post","scope":"openid email uma_protection permission","contacts":["ops@example.org"],"subject_type":"public"}"#
    );
}

#[test]
fn parse_rfc7591_response() {
    let body = r#"{"client_id":"s6BhdRkqt3","client_secret":"cf136dc3c1fc93f31185e5885805d",
        "client_id_issued_at":2893256800,"client_secret_expires_at":2893276800,
        "registration_access_token":"this.is.an.access.token.value.ffx83",
        "registration_client_uri":"https://server.example.com/connect/register?client_id=s6BhdRkqt3",
        "redirect_uris":["https://client.example.org/callback"],
        "grant_types":["authorization_code","refresh_token"],
        "token_endpoint_auth_method":"client_secret_basic","example_extension_parameter":"example_value"}"#;
    let c = parse_registration_response(&bare_response(201, body)).unwrap();
    assert_eq!(c.client_id, "s6BhdRkqt3");
    assert_eq!(
        c.client_secret.as_ref().unwrap().secret(),
        "cf136dc3c1fc93f31185e5885805d"
    );
    assert_eq!(
        c.registration_access_token.as_ref().unwrap().secret(),
        "this.is.an.access.token.value.ffx83"
    );
    assert_eq!(
        c.registration_client_uri.as_deref(),
        Some("https://server.example.com/connect/register?client_id=s6BhdRkqt3")
    );
    assert_eq!(c.client_id_issued_at, Some(2_893_256_800));
    assert_eq!(c.client_secret_expires_at, Some(2_893_276_800));
    assert_eq!(c.metadata["example_extension_parameter"], "example_value");
    assert!(!c.metadata.contains_key("client_secret"));

    let debug = format!("{c:?}");
    assert!(!debug.contains("cf136dc3"), "{debug}");
    assert!(!debug.contains("ffx83"), "{debug}");
    assert!(debug.contains("s6BhdRkqt3"));

    let creds = c.credentials();
    assert_eq!(creds.method, ClientAuthMethod::ClientSecretBasic);
    assert_eq!(creds.client_id, "s6BhdRkqt3");
}

#[test]
fn credentials_follow_registered_method() {
    let c = parse_registration_response(&bare_response(
        200,
        r#"{"client_id":"@!1","client_secret":"s","token_endpoint_auth_method":"client_secret_post"}"#,
    ))
    .unwrap();
    assert_eq!(c.credentials().method, ClientAuthMethod::ClientSecretPost);
    let c = parse_registration_response(&bare_response(
        201,
        r#"{"client_id":"pub","token_endpoint_auth_method":"none"}"#,
    ))
    .unwrap();
    assert_eq!(c.credentials().method, ClientAuthMethod::None);
    assert!(c.credentials().client_secret.is_none());
    // A secret of the wrong type is dropped, not echoed.
    let c = parse_registration_response(&bare_response(
        201,
        r#"{"client_id":"x","client_secret":123,"registration_access_token":""}"#,
    ))
    .unwrap();
    assert!(c.client_secret.is_none());
    assert!(c.registration_access_token.is_none());
}

#[test]
fn registration_errors() {
    for (body, code) in [
        (
            r#"{"error":"invalid_redirect_uri","error_description":"The redirection URI http://sketchy.example.com is not allowed by this server."}"#,
            ErrorCode::InvalidRedirectUri,
        ),
        (
            r#"{"error":"invalid_client_metadata","error_description":"The grant type 'authorization_code' must be registered along with the response type 'code' but found only 'implicit' instead."}"#,
            ErrorCode::InvalidClientMetadata,
        ),
        (
            r#"{"error":"invalid_software_statement"}"#,
            ErrorCode::InvalidSoftwareStatement,
        ),
        (
            r#"{"error":"unapproved_software_statement"}"#,
            ErrorCode::UnapprovedSoftwareStatement,
        ),
    ] {
        let e = parse_registration_response(&bare_response(400, body)).unwrap_err();
        assert_eq!(e.code(), Some(&code));
        assert_eq!(e.status(), Some(http::StatusCode::BAD_REQUEST));
    }
    let e = parse_registration_response(&bare_response(401, "")).unwrap_err();
    assert!(e.is_unauthorized());
}

#[test]
fn registration_bad_bodies() {
    for body in ["", "{}", r#"{"client_id":""}"#, r#"{"client_id":1}"#, "[]"] {
        let e = parse_registration_response(&bare_response(201, body)).unwrap_err();
        assert!(
            matches!(e, ProtectionError::InvalidBody { .. }),
            "{body}: {e:?}"
        );
    }
}
