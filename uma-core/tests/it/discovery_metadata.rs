//! Metadata validation against real-world documents and hostile ones (docs/protocol.md §10).

use uma_core::discovery::{
    DiscoveryError, Endpoint, EndpointPolicy, Issuer, MAX_METADATA_BYTES, parse_metadata,
};

/// docs/protocol.md §10.2, verbatim.
const KEYCLOAK: &str = r#"{
  "issuer": "https://kc.example.org/auth/realms/demo",
  "authorization_endpoint": "https://kc.example.org/auth/realms/demo/protocol/openid-connect/auth",
  "token_endpoint": "https://kc.example.org/auth/realms/demo/protocol/openid-connect/token",
  "token_introspection_endpoint": "https://kc.example.org/auth/realms/demo/protocol/openid-connect/token/introspect",
  "introspection_endpoint": "https://kc.example.org/auth/realms/demo/protocol/openid-connect/token/introspect",
  "end_session_endpoint": "https://kc.example.org/auth/realms/demo/protocol/openid-connect/logout",
  "jwks_uri": "https://kc.example.org/auth/realms/demo/protocol/openid-connect/certs",
  "registration_endpoint": "https://kc.example.org/auth/realms/demo/clients-registrations/openid-connect",
  "grant_types_supported": ["authorization_code", "implicit", "refresh_token", "password", "client_credentials"],
  "response_types_supported": ["code", "none", "id_token", "token", "id_token token", "code id_token",
                               "code token", "code id_token token"],
  "response_modes_supported": ["query", "fragment", "form_post"],
  "scopes_supported": ["openid", "address", "email", "offline_access", "phone", "profile", "roles", "web-origins"],
  "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_basic", "client_secret_post",
                                            "client_secret_jwt"],
  "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
  "resource_registration_endpoint": "https://kc.example.org/auth/realms/demo/authz/protection/resource_set",
  "permission_endpoint": "https://kc.example.org/auth/realms/demo/authz/protection/permission",
  "policy_endpoint": "https://kc.example.org/auth/realms/demo/authz/protection/uma-policy"
}"#;

/// docs/protocol.md §10.3, verbatim.
const GLUU: &str = r#"{
  "issuer": "https://auth.eoepca.example",
  "authorization_endpoint": "https://auth.eoepca.example/oxauth/restv1/authorize",
  "token_endpoint": "https://auth.eoepca.example/oxauth/restv1/token",
  "jwks_uri": "https://auth.eoepca.example/oxauth/restv1/jwks",
  "registration_endpoint": "https://auth.eoepca.example/oxauth/restv1/register",
  "grant_types_supported": ["authorization_code", "implicit", "client_credentials",
                            "urn:ietf:params:oauth:grant-type:uma-ticket"],
  "response_types_supported": ["code", "id_token", "token"],
  "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "client_secret_jwt",
                                            "private_key_jwt"],
  "uma_profiles_supported": [],
  "introspection_endpoint": "https://auth.eoepca.example/oxauth/restv1/rpt/status",
  "resource_registration_endpoint": "https://auth.eoepca.example/oxauth/restv1/host/rsrc/resource_set",
  "permission_endpoint": "https://auth.eoepca.example/oxauth/restv1/host/rsrc_pr",
  "scope_endpoint": "https://auth.eoepca.example/oxauth/restv1/uma/scopes",
  "claims_interaction_endpoint": "https://auth.eoepca.example/oxauth/restv1/uma/gather_claims"
}"#;

fn resp(status: u16, body: &[u8]) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .unwrap()
}

fn issuer(s: &str) -> Issuer {
    Issuer::parse(s).unwrap()
}

const STRICT: EndpointPolicy = EndpointPolicy {
    allow_insecure_http: false,
    allow_cross_origin_token_endpoint: false,
};

fn parse(
    iss: &str,
    status: u16,
    body: &str,
) -> Result<uma_core::discovery::AsMetadata, DiscoveryError> {
    parse_metadata(&issuer(iss), &resp(status, body.as_bytes()), &STRICT)
}

#[test]
fn keycloak_document() {
    let m = parse("https://kc.example.org/auth/realms/demo", 200, KEYCLOAK).unwrap();
    assert_eq!(m.issuer.as_str(), "https://kc.example.org/auth/realms/demo");
    assert_eq!(
        m.token_endpoint.as_str(),
        "https://kc.example.org/auth/realms/demo/protocol/openid-connect/token"
    );
    assert_eq!(
        m.introspection_endpoint.as_ref().unwrap().as_str(),
        "https://kc.example.org/auth/realms/demo/protocol/openid-connect/token/introspect"
    );
    assert_eq!(
        m.permission_endpoint.as_ref().unwrap().as_str(),
        "https://kc.example.org/auth/realms/demo/authz/protection/permission"
    );
    assert_eq!(
        m.resource_registration_endpoint.as_ref().unwrap().as_str(),
        "https://kc.example.org/auth/realms/demo/authz/protection/resource_set"
    );
    assert_eq!(
        m.policy_endpoint.as_ref().unwrap().as_str(),
        "https://kc.example.org/auth/realms/demo/authz/protection/uma-policy"
    );
    assert!(m.jwks_uri.is_some());
    assert!(m.registration_endpoint.is_some());
    assert!(m.claims_interaction_endpoint.is_none());
    assert!(m.revocation_endpoint.is_none());
    // The UMA grant is not advertised by this Keycloak, and that is fine (§2.4).
    assert!(
        !m.grant_types_supported
            .iter()
            .any(|g| g.contains("uma-ticket"))
    );
    assert_eq!(m.token_endpoint_auth_methods_supported.len(), 4);
    assert!(m.uma_profiles_supported.is_empty());
    assert!(matches!(
        m.endpoint(Endpoint::ClaimsInteraction, &STRICT),
        Err(DiscoveryError::MissingEndpoint(
            "claims_interaction_endpoint"
        ))
    ));
    assert_eq!(
        m.endpoint(Endpoint::Policy, &STRICT).unwrap().path(),
        "/auth/realms/demo/authz/protection/uma-policy"
    );
}

#[test]
fn keycloak_with_trailing_slash_on_either_side() {
    assert!(parse("https://kc.example.org/auth/realms/demo/", 200, KEYCLOAK).is_ok());
    let slashed = KEYCLOAK.replace(
        "\"issuer\": \"https://kc.example.org/auth/realms/demo\"",
        "\"issuer\": \"https://kc.example.org/auth/realms/demo/\"",
    );
    assert!(parse("https://kc.example.org/auth/realms/demo", 200, &slashed).is_ok());
    assert!(parse("https://kc.example.org/auth/realms/demo/", 200, &slashed).is_ok());
    // Only ONE slash is forgiven.
    let double = KEYCLOAK.replace("/realms/demo\"", "/realms/demo//\"");
    assert!(matches!(
        parse("https://kc.example.org/auth/realms/demo", 200, &double),
        Err(DiscoveryError::IssuerMismatch { .. })
    ));
}

#[test]
fn gluu_document() {
    let m = parse("https://auth.eoepca.example/", 200, GLUU).unwrap();
    assert_eq!(
        m.token_endpoint.as_str(),
        "https://auth.eoepca.example/oxauth/restv1/token"
    );
    assert_eq!(
        m.claims_interaction_endpoint.as_ref().unwrap().as_str(),
        "https://auth.eoepca.example/oxauth/restv1/uma/gather_claims"
    );
    assert_eq!(
        m.introspection_endpoint.as_ref().unwrap().as_str(),
        "https://auth.eoepca.example/oxauth/restv1/rpt/status"
    );
    assert!(
        m.grant_types_supported
            .iter()
            .any(|g| g == "urn:ietf:params:oauth:grant-type:uma-ticket")
    );
    assert!(m.policy_endpoint.is_none());
    for e in [
        Endpoint::Token,
        Endpoint::Introspection,
        Endpoint::ResourceRegistration,
        Endpoint::Permission,
        Endpoint::ClaimsInteraction,
        Endpoint::Registration,
    ] {
        assert!(m.endpoint(e, &STRICT).is_ok(), "{e:?}");
    }
    assert!(matches!(
        m.endpoint(Endpoint::Revocation, &STRICT),
        Err(DiscoveryError::MissingEndpoint("revocation_endpoint"))
    ));
}

#[test]
fn pingam_issuer_mismatch_is_refused() {
    // §10.4: the document lives under /am/uma/... while its issuer is /am/oauth2/<realm>.
    let body = r#"{"issuer":"https://am.example.org/am/oauth2/alpha",
        "token_endpoint":"https://am.example.org/am/oauth2/alpha/access_token"}"#;
    let err = parse(
        "https://am.example.org/am/uma/realms/root/realms/alpha",
        200,
        body,
    )
    .unwrap_err();
    assert_eq!(
        err,
        DiscoveryError::IssuerMismatch {
            expected: "https://am.example.org/am/uma/realms/root/realms/alpha".into(),
            found: "https://am.example.org/am/oauth2/alpha".into(),
        }
    );
    // With the explicitly configured issuer it validates.
    assert!(parse("https://am.example.org/am/oauth2/alpha", 200, body).is_ok());
}

#[test]
fn issuer_case_mismatch_is_refused() {
    let body = r#"{"issuer":"https://AS.example.org","token_endpoint":"https://as.example.org/t"}"#;
    assert!(matches!(
        parse("https://as.example.org", 200, body),
        Err(DiscoveryError::IssuerMismatch { .. })
    ));
}

#[test]
fn b12_status_other_than_200_is_refused_even_with_valid_json() {
    for status in [500, 404, 201, 302, 401] {
        assert_eq!(
            parse("https://kc.example.org/auth/realms/demo", status, KEYCLOAK).unwrap_err(),
            DiscoveryError::Status(status)
        );
    }
}

#[test]
fn html_and_garbage_bodies() {
    assert_eq!(
        parse(
            "https://as.example.org",
            200,
            "<html><body>Login</body></html>"
        )
        .unwrap_err(),
        DiscoveryError::NotJson
    );
    assert_eq!(
        parse("https://as.example.org", 200, "").unwrap_err(),
        DiscoveryError::NotJson
    );
    let bin = parse_metadata(
        &issuer("https://as.example.org"),
        &resp(200, &[0xff, 0xfe, 0x00]),
        &STRICT,
    );
    assert_eq!(bin.unwrap_err(), DiscoveryError::NotJson);
    for not_obj in ["[]", "\"x\"", "null", "42"] {
        assert_eq!(
            parse("https://as.example.org", 200, not_obj).unwrap_err(),
            DiscoveryError::NotAnObject
        );
    }
    let big = vec![b' '; MAX_METADATA_BYTES + 1];
    assert_eq!(
        parse_metadata(&issuer("https://as.example.org"), &resp(200, &big), &STRICT).unwrap_err(),
        DiscoveryError::TooLarge
    );
    let deep = "[".repeat(10_000);
    assert_eq!(
        parse("https://as.example.org", 200, &deep).unwrap_err(),
        DiscoveryError::NotJson
    );
}

#[test]
fn required_members() {
    let i = "https://as.example.org";
    assert_eq!(
        parse(i, 200, r#"{"token_endpoint":"https://as.example.org/t"}"#).unwrap_err(),
        DiscoveryError::MissingField("issuer")
    );
    assert_eq!(
        parse(
            i,
            200,
            r#"{"issuer":null,"token_endpoint":"https://as.example.org/t"}"#
        )
        .unwrap_err(),
        DiscoveryError::MissingField("issuer")
    );
    assert_eq!(
        parse(
            i,
            200,
            r#"{"issuer":["https://as.example.org"],"token_endpoint":"https://as.example.org/t"}"#
        )
        .unwrap_err(),
        DiscoveryError::MissingField("issuer")
    );
    assert_eq!(
        parse(i, 200, r#"{"issuer":"https://as.example.org"}"#).unwrap_err(),
        DiscoveryError::MissingField("token_endpoint")
    );
    assert_eq!(
        parse(
            i,
            200,
            r#"{"issuer":"https://as.example.org","token_endpoint":null}"#
        )
        .unwrap_err(),
        DiscoveryError::MissingField("token_endpoint")
    );
    assert_eq!(
        parse(
            i,
            200,
            r#"{"issuer":"https://as.example.org","token_endpoint":7}"#
        )
        .unwrap_err(),
        DiscoveryError::MissingField("token_endpoint")
    );
}

#[test]
fn token_endpoint_validation() {
    let i = "https://as.example.org";
    let doc = |t: &str| format!(r#"{{"issuer":"https://as.example.org","token_endpoint":{t}}}"#);
    for (t, reason) in [
        (r#""/token""#, "not an absolute URL"),
        (r#""ftp://as.example.org/t""#, "scheme is not https or http"),
        (r#""https://as.example.org/t#x""#, "has a fragment"),
        (r#""https://u:p@as.example.org/t""#, "has user information"),
        (
            r#""https://as.example.org/t x""#,
            "contains whitespace or control characters",
        ),
    ] {
        assert_eq!(
            parse(i, 200, &doc(t)).unwrap_err(),
            DiscoveryError::InvalidEndpoint {
                field: "token_endpoint",
                reason
            },
            "{t}"
        );
    }
    assert_eq!(
        parse(i, 200, &doc(r#""http://as.example.org/t""#)).unwrap_err(),
        DiscoveryError::InsecureEndpoint {
            field: "token_endpoint",
            url: "http://as.example.org/t".into()
        }
    );
    // B1/D03: a document pointing the token endpoint at a collector host is refused by default.
    assert_eq!(
        parse(i, 200, &doc(r#""https://collector.test/t""#)).unwrap_err(),
        DiscoveryError::CrossOriginEndpoint {
            field: "token_endpoint",
            url: "https://collector.test/t".into()
        }
    );
    let relaxed = EndpointPolicy {
        allow_insecure_http: false,
        allow_cross_origin_token_endpoint: true,
    };
    let m = parse_metadata(
        &issuer(i),
        &resp(200, doc(r#""https://backend.internal/t""#).as_bytes()),
        &relaxed,
    )
    .unwrap();
    assert_eq!(m.token_endpoint.host_str(), Some("backend.internal"));
    // A query on the token endpoint is legal (RFC 6749 §3.2).
    assert!(parse(i, 200, &doc(r#""https://as.example.org/t?realm=a""#)).is_ok());
}

#[test]
fn insecure_issuer_needs_opt_in() {
    let body =
        r#"{"issuer":"http://127.0.0.1:8080","token_endpoint":"http://127.0.0.1:8080/token"}"#;
    assert_eq!(
        parse("http://127.0.0.1:8080", 200, body).unwrap_err(),
        DiscoveryError::InsecureIssuer {
            issuer: "http://127.0.0.1:8080".into()
        }
    );
    let dev = EndpointPolicy {
        allow_insecure_http: true,
        allow_cross_origin_token_endpoint: false,
    };
    let m = parse_metadata(
        &issuer("http://127.0.0.1:8080/"),
        &resp(200, body.as_bytes()),
        &dev,
    )
    .unwrap();
    assert_eq!(
        m.endpoint(Endpoint::Token, &dev).unwrap().as_str(),
        "http://127.0.0.1:8080/token"
    );
    assert!(matches!(
        m.endpoint(Endpoint::Token, &STRICT),
        Err(DiscoveryError::InsecureEndpoint { .. })
    ));
}

#[test]
fn nulls_and_wrong_types_in_optional_members_are_ignored() {
    let body = r#"{
        "issuer":"https://as.example.org",
        "token_endpoint":"https://as.example.org/t",
        "introspection_endpoint":null,
        "token_introspection_endpoint":"https://as.example.org/legacy-introspect",
        "permission_endpoint":42,
        "resource_registration_endpoint":{"url":"x"},
        "claims_interaction_endpoint":"not a url",
        "revocation_endpoint":"https://as.example.org/revoke#frag",
        "jwks_uri":false,
        "grant_types_supported":"authorization_code",
        "token_endpoint_auth_methods_supported":["client_secret_post",null,7,"none"],
        "uma_profiles_supported":null,
        "unknown":{"deep":[1,2,3]}
    }"#;
    let m = parse("https://as.example.org", 200, body).unwrap();
    assert_eq!(
        m.introspection_endpoint.as_ref().unwrap().path(),
        "/legacy-introspect",
        "legacy Keycloak name is the fallback"
    );
    assert!(m.permission_endpoint.is_none());
    assert!(m.resource_registration_endpoint.is_none());
    assert!(m.claims_interaction_endpoint.is_none());
    assert!(m.revocation_endpoint.is_none());
    assert!(m.jwks_uri.is_none());
    assert!(m.grant_types_supported.is_empty());
    assert_eq!(
        m.token_endpoint_auth_methods_supported,
        vec!["client_secret_post", "none"]
    );
    assert!(m.uma_profiles_supported.is_empty());
}

#[test]
fn optional_endpoints_are_checked_at_use_time() {
    // Keycloak with split frontend/backend hostnames (§10.2).
    let body = r#"{"issuer":"https://kc.example.org/realms/r",
        "token_endpoint":"https://kc.example.org/realms/r/protocol/openid-connect/token",
        "permission_endpoint":"https://kc-backend.internal/realms/r/authz/protection/permission",
        "revocation_endpoint":"http://kc.example.org/realms/r/revoke"}"#;
    let m = parse("https://kc.example.org/realms/r", 200, body).unwrap();
    assert_eq!(
        m.endpoint(Endpoint::Permission, &STRICT).unwrap_err(),
        DiscoveryError::CrossOriginEndpoint {
            field: "permission_endpoint",
            url: "https://kc-backend.internal/realms/r/authz/protection/permission".into()
        }
    );
    let cross = EndpointPolicy {
        allow_insecure_http: false,
        allow_cross_origin_token_endpoint: true,
    };
    assert!(m.endpoint(Endpoint::Permission, &cross).is_ok());
    assert!(matches!(
        m.endpoint(Endpoint::Revocation, &cross),
        Err(DiscoveryError::InsecureEndpoint { .. })
    ));
}

#[test]
fn mismatch_error_does_not_echo_control_characters() {
    let body = "{\"issuer\":\"https://evil.example/\\u001b[31m\",\"token_endpoint\":\"https://evil.example/t\"}";
    let err = parse("https://as.example.org", 200, body).unwrap_err();
    assert!(!err.to_string().contains('\u{1b}'));
}
