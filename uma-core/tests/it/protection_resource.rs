//! Resource registration builders and parsers against the spec, Keycloak and Gluu bodies of
//! `docs/protocol.md` §9.2.

use crate::support::{bare_response, headers};
use uma_core::protection::{
    CreatedResource, ErrorCode, ProtectionError, ResourceDescription, ResourceQuery,
    create_resource_request, delete_resource_request, list_resources_request,
    parse_create_resource_response, parse_delete_resource_response, parse_list_resources_response,
    parse_read_resource_response, parse_update_resource_response, read_resource_request,
    update_resource_request,
};
use uma_core::secret::AccessToken;

fn pat_headers(json: bool) -> Vec<(String, String)> {
    let mut h = vec![
        ("authorization".to_owned(), "Bearer pat-1".to_owned()),
        ("accept".to_owned(), "application/json".to_owned()),
    ];
    if json {
        h.push(("content-type".to_owned(), "application/json".to_owned()));
    }
    h
}

fn spec() -> url::Url {
    url::Url::parse("https://as.example.org/rreg/").unwrap()
}

fn kc() -> url::Url {
    url::Url::parse("https://kc.example.org/realms/demo/authz/protection/resource_set").unwrap()
}

fn pat() -> AccessToken {
    AccessToken::new("pat-1")
}

fn tweedl() -> ResourceDescription {
    ResourceDescription {
        resource_scopes: vec![
            "read-public".into(),
            "post-updates".into(),
            "http://www.example.com/scopes/all".into(),
        ],
        icon_uri: Some("http://www.example.com/icons/sharesocial.png".into()),
        name: Some("Tweedl Social Service".into()),
        resource_type: Some("http://www.example.com/rsrcs/socialstream/140-compatible".into()),
        ..ResourceDescription::default()
    }
}

#[test]
fn create_request_spec_example() {
    let r = create_resource_request(&spec(), &pat(), &tweedl()).unwrap();
    assert_eq!(r.method(), http::Method::POST);
    assert_eq!(r.uri(), "https://as.example.org/rreg/");
    assert_eq!(headers(&r), pat_headers(true));
    assert!(r.headers()["authorization"].is_sensitive());
    assert_eq!(
        std::str::from_utf8(r.body()).unwrap(),
        r#"{"resource_scopes":["read-public","post-updates","http://www.example.com/scopes/all"],"name":"Tweedl Social Service","icon_uri":"http://www.example.com/icons/sharesocial.png","type":"http://www.example.com/rsrcs/socialstream/140-compatible"}"#
    );
}

#[test]
fn create_request_keycloak_extensions() {
    let mut d = ResourceDescription::new("Photo Album", ["view", "delete"]);
    d.uris = vec!["/album/*".into()];
    d.owner = Some("alice".into());
    d.owner_managed_access = Some(true);
    d.display_name = Some("Alice's album".into());
    d.attributes
        .insert("team".into(), vec!["a".into(), "b".into()]);
    d.extra.insert("custom".into(), serde_json::json!(1));
    // A leftover clashing with a typed field, and response-only members, are not sent.
    d.extra.insert("name".into(), serde_json::json!("shadow"));
    d.extra.insert("_id".into(), serde_json::json!("x"));
    d.id = Some("id-1".into());
    d.user_access_policy_uri = Some("https://as/p".into());
    let r = create_resource_request(&kc(), &pat(), &d).unwrap();
    assert_eq!(
        r.uri(),
        "https://kc.example.org/realms/demo/authz/protection/resource_set"
    );
    assert_eq!(
        std::str::from_utf8(r.body()).unwrap(),
        r#"{"resource_scopes":["view","delete"],"name":"Photo Album","uris":["/album/*"],"owner":"alice","ownerManagedAccess":true,"displayName":"Alice's album","attributes":{"team":["a","b"]},"custom":1}"#
    );
}

#[test]
fn create_request_gluu_scope_expression_replaces_scopes() {
    let d = ResourceDescription {
        scope_expression: Some(
            serde_json::json!({"rule":{"and":[{"var":0},{"var":1}]},"data":["a","b"]}),
        ),
        name: Some("r".into()),
        exp: Some(1_600_000_000),
        ..ResourceDescription::default()
    };
    let r = create_resource_request(&spec(), &pat(), &d).unwrap();
    assert_eq!(
        std::str::from_utf8(r.body()).unwrap(),
        r#"{"name":"r","scope_expression":{"data":["a","b"],"rule":{"and":[{"var":0},{"var":1}]}},"exp":1600000000}"#
    );
    // Without an expression, empty scopes are still sent (REQUIRED by UMAF §3.1).
    let r = create_resource_request(&spec(), &pat(), &ResourceDescription::default()).unwrap();
    assert_eq!(r.body(), br#"{"resource_scopes":[]}"#);
}

#[test]
fn id_requests_encode_the_segment() {
    let r = read_resource_request(&spec(), &pat(), "KX3A-39WE").unwrap();
    assert_eq!(r.method(), http::Method::GET);
    assert_eq!(r.uri(), "https://as.example.org/rreg/KX3A-39WE");
    assert_eq!(headers(&r), pat_headers(false));
    assert!(r.body().is_empty());

    let r = read_resource_request(&kc(), &pat(), "a b/c?d#e").unwrap();
    assert_eq!(
        r.uri(),
        "https://kc.example.org/realms/demo/authz/protection/resource_set/a%20b%2Fc%3Fd%23e"
    );

    let r = delete_resource_request(&kc(), &pat(), "90cc").unwrap();
    assert_eq!(r.method(), http::Method::DELETE);
    assert_eq!(
        r.uri(),
        "https://kc.example.org/realms/demo/authz/protection/resource_set/90cc"
    );
    assert_eq!(headers(&r), pat_headers(false));

    let r = update_resource_request(&spec(), &pat(), "KX3A-39WE", &tweedl()).unwrap();
    assert_eq!(r.method(), http::Method::PUT);
    assert_eq!(r.uri(), "https://as.example.org/rreg/KX3A-39WE");
    assert_eq!(headers(&r), pat_headers(true));
    assert!(
        r.body()
            .starts_with(br#"{"resource_scopes":["read-public""#)
    );

    let e = read_resource_request(&spec(), &pat(), "").unwrap_err();
    assert!(matches!(e, ProtectionError::InvalidInput(_)));
    let mailto = url::Url::parse("mailto:x@example.org").unwrap();
    assert!(read_resource_request(&mailto, &pat(), "a").is_err());
}

#[test]
fn pat_with_header_breaking_bytes_is_refused() {
    let e = read_resource_request(&spec(), &AccessToken::new("a\r\nX-Evil: 1"), "a").unwrap_err();
    assert!(matches!(e, ProtectionError::Auth(_)));
    assert!(!e.to_string().contains("Evil"));
}

#[test]
fn list_request_with_every_filter() {
    let r = list_resources_request(&kc(), &pat(), &ResourceQuery::default()).unwrap();
    assert_eq!(r.method(), http::Method::GET);
    assert_eq!(
        r.uri(),
        "https://kc.example.org/realms/demo/authz/protection/resource_set"
    );
    assert_eq!(headers(&r), pat_headers(false));

    let q = ResourceQuery {
        id: Some("90cc".into()),
        name: Some("Hello World".into()),
        uri: Some("/api/a&b".into()),
        owner: Some("alice".into()),
        resource_type: Some("urn:t".into()),
        scope: Some("view".into()),
        matching_uri: Some(true),
        exact_name: Some(false),
        deep: Some(true),
        first: Some(0),
        max: Some(50),
    };
    let r = list_resources_request(&kc(), &pat(), &q).unwrap();
    assert_eq!(
        r.uri(),
        "https://kc.example.org/realms/demo/authz/protection/resource_set?_id=90cc&name=Hello+World&uri=%2Fapi%2Fa%26b&owner=alice&type=urn%3At&scope=view&matchingUri=true&exactName=false&deep=true&first=0&max=50"
    );

    // An endpoint that already has a query keeps it.
    let e = url::Url::parse("https://as.example.org/rreg?tenant=1").unwrap();
    let q = ResourceQuery {
        scope: Some("read".into()),
        ..ResourceQuery::default()
    };
    let r = list_resources_request(&e, &pat(), &q).unwrap();
    assert_eq!(r.uri(), "https://as.example.org/rreg?tenant=1&scope=read");
}

#[test]
fn parse_create_spec_location_and_id() {
    let resp = http::Response::builder()
        .status(201)
        .header("content-type", "application/json")
        .header("location", "/rreg/KX3A-39WE")
        .body(br#"{"_id":"KX3A-39WE","user_access_policy_uri":"http://as.example.org/rs/222/resource/KX3A-39WE/policy"}"#.to_vec())
        .unwrap();
    let c = parse_create_resource_response(&resp).unwrap();
    assert_eq!(c.id, "KX3A-39WE");
    assert_eq!(c.location.as_deref(), Some("/rreg/KX3A-39WE"));
    assert_eq!(
        c.user_access_policy_uri.as_deref(),
        Some("http://as.example.org/rs/222/resource/KX3A-39WE/policy")
    );
}

#[test]
fn parse_create_location_only() {
    let resp = http::Response::builder()
        .status(201)
        .header("location", "https://as.example.org/rreg/a%20b/?x=1")
        .body(Vec::new())
        .unwrap();
    let c = parse_create_resource_response(&resp).unwrap();
    assert_eq!(c.id, "a b");
    // Neither id nor Location: nothing to go on.
    let e = parse_create_resource_response(&bare_response(201, "")).unwrap_err();
    assert!(matches!(e, ProtectionError::InvalidBody { .. }));
    let e = parse_create_resource_response(&bare_response(201, "{}")).unwrap_err();
    assert!(matches!(e, ProtectionError::InvalidBody { .. }));
}

const KEYCLOAK_RESOURCE: &str = r#"{"name":"Photo Album","type":"urn:photoz:album","owner":{"id":"6d5b-owner","name":"alice"},"ownerManagedAccess":true,"displayName":"Alice's album","attributes":{"team":["a"],"odd":"single"},"_id":"90cc1b1e-5b1c","uris":["/album/*"],"resource_scopes":[{"id":"s1","name":"view"},{"name":"delete","iconUri":"x"},{"id":"no-name"}],"icon_uri":"https://x/i.png","scopes":[{"name":"ignored-alias"}],"future_member":{"a":1}}"#;

#[test]
fn parse_create_keycloak_full_object() {
    let c: CreatedResource =
        parse_create_resource_response(&bare_response(201, KEYCLOAK_RESOURCE)).unwrap();
    assert_eq!(c.id, "90cc1b1e-5b1c");
    assert_eq!(c.location, None);
    let r = c.resource;
    assert_eq!(r.resource_scopes, vec!["view", "delete"]);
    assert_eq!(r.name.as_deref(), Some("Photo Album"));
    assert_eq!(r.resource_type.as_deref(), Some("urn:photoz:album"));
    assert_eq!(r.owner.as_deref(), Some("6d5b-owner"));
    assert_eq!(r.owner_managed_access, Some(true));
    assert_eq!(r.display_name.as_deref(), Some("Alice's album"));
    assert_eq!(r.uris, vec!["/album/*"]);
    assert_eq!(r.attributes["team"], vec!["a"]);
    assert_eq!(r.attributes["odd"], vec!["single"]);
    assert_eq!(r.icon_uri.as_deref(), Some("https://x/i.png"));
    assert_eq!(r.extra["future_member"], serde_json::json!({"a":1}));
    assert!(!r.extra.contains_key("scopes"));
}

#[test]
fn keycloak_read_then_update_round_trip() {
    let r = parse_read_resource_response(&bare_response(200, KEYCLOAK_RESOURCE)).unwrap();
    let req = update_resource_request(&kc(), &pat(), r.id.as_deref().unwrap(), &r).unwrap();
    assert_eq!(
        req.uri(),
        "https://kc.example.org/realms/demo/authz/protection/resource_set/90cc1b1e-5b1c"
    );
    assert_eq!(
        std::str::from_utf8(req.body()).unwrap(),
        r#"{"resource_scopes":["view","delete"],"name":"Photo Album","icon_uri":"https://x/i.png","type":"urn:photoz:album","uris":["/album/*"],"owner":"6d5b-owner","ownerManagedAccess":true,"displayName":"Alice's album","attributes":{"odd":["single"],"team":["a"]},"future_member":{"a":1}}"#
    );
}

#[test]
fn keycloak_input_aliases() {
    let r = parse_read_resource_response(&bare_response(
        200,
        r#"{"_id":"1","scopes":["a",{"name":"b"}],"uri":"/legacy","owner":"bob"}"#,
    ))
    .unwrap();
    assert_eq!(r.resource_scopes, vec!["a", "b"]);
    assert_eq!(r.uris, vec!["/legacy"]);
    assert_eq!(r.owner.as_deref(), Some("bob"));
    let r =
        parse_read_resource_response(&bare_response(200, r#"{"owner":{"name":"carol"}}"#)).unwrap();
    assert_eq!(r.owner.as_deref(), Some("carol"));
}

#[test]
fn parse_gluu_create_and_read() {
    let c = parse_create_resource_response(&bare_response(201, r#"{"_id":"1f0b-gluu"}"#)).unwrap();
    assert_eq!(c.id, "1f0b-gluu");
    assert_eq!(
        c.resource,
        ResourceDescription {
            id: Some("1f0b-gluu".into()),
            ..ResourceDescription::default()
        }
    );
    let r = parse_read_resource_response(&bare_response(
        200,
        r#"{"_id":"1f0b","name":"/ades","description":"d","icon_uri":null,"resource_scopes":["protected_get"],"scope_expression":null,"type":null,"iat":1600000000,"exp":1600003600}"#,
    ))
    .unwrap();
    assert_eq!(r.id.as_deref(), Some("1f0b"));
    assert_eq!(r.resource_scopes, vec!["protected_get"]);
    assert_eq!(r.scope_expression, None);
    assert_eq!(r.resource_type, None);
    assert_eq!((r.iat, r.exp), (Some(1_600_000_000), Some(1_600_003_600)));
}

#[test]
fn parse_update_variants() {
    let u = parse_update_resource_response(&bare_response(200, r#"{"_id":"KX3A-39WE"}"#)).unwrap();
    assert_eq!(u.id.as_deref(), Some("KX3A-39WE"));
    let u = parse_update_resource_response(&bare_response(204, "")).unwrap();
    assert_eq!(u.id, None);
    let e = parse_update_resource_response(&bare_response(200, "<html>")).unwrap_err();
    assert!(matches!(e, ProtectionError::InvalidBody { .. }));
}

#[test]
fn parse_delete_variants() {
    parse_delete_resource_response(&bare_response(204, "")).unwrap();
    parse_delete_resource_response(&bare_response(200, "ignored")).unwrap();
    let e = parse_delete_resource_response(&bare_response(404, "")).unwrap_err();
    assert!(e.is_not_found());
    assert_eq!(e.code(), None);
    assert_eq!(e.to_string(), "authorization server answered 404 Not Found");
}

#[test]
fn parse_list_ids_and_deep() {
    let l =
        parse_list_resources_response(&bare_response(200, r#"["KX3A-39WE","9UQU-DUWW"]"#)).unwrap();
    assert_eq!(l.ids, vec!["KX3A-39WE", "9UQU-DUWW"]);
    assert!(l.resources.is_empty());
    let l = parse_list_resources_response(&bare_response(200, "[]")).unwrap();
    assert!(l.ids.is_empty());
    let deep = format!("[{KEYCLOAK_RESOURCE}]");
    let l = parse_list_resources_response(&bare_response(200, &deep)).unwrap();
    assert_eq!(l.ids, vec!["90cc1b1e-5b1c"]);
    assert_eq!(l.resources[0].resource_scopes, vec!["view", "delete"]);
    for bad in ["{}", "[1]", "[null]", "", "[\"a\""] {
        let e = parse_list_resources_response(&bare_response(200, bad)).unwrap_err();
        assert!(matches!(e, ProtectionError::InvalidBody { .. }), "{bad}");
    }
}

#[test]
fn typed_error_bodies() {
    let e = parse_create_resource_response(&bare_response(
        409,
        r#"{"error":"invalid_request","error_description":"Resource with name [Photo Album] already exists."}"#,
    ))
    .unwrap_err();
    assert!(e.is_conflict());
    assert_eq!(e.code(), Some(&ErrorCode::InvalidRequest));
    assert_eq!(
        e.to_string(),
        "authorization server answered 409 Conflict: invalid_request (Resource with name [Photo Album] already exists.)"
    );
    let e = parse_create_resource_response(&bare_response(400, r#"{"error":"not_supported"}"#))
        .unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::NotSupported));
    let e = parse_read_resource_response(&bare_response(
        403,
        r#"{"error":"invalid_scope","error_description":"Requires uma_protection scope."}"#,
    ))
    .unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::InvalidScope));
    let e =
        parse_read_resource_response(&bare_response(406, r#"{"error":"invalid_client_scope"}"#))
            .unwrap_err();
    assert!(e.is_unauthorized());
    let e = parse_read_resource_response(&bare_response(
        405,
        r#"{"error":"unsupported_method_type"}"#,
    ))
    .unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::UnsupportedMethodType));
    let e = parse_read_resource_response(&bare_response(500, "<html>oops</html>")).unwrap_err();
    assert_eq!(e.status(), Some(http::StatusCode::INTERNAL_SERVER_ERROR));
    assert_eq!(e.code(), None);
    let e = parse_read_resource_response(&bare_response(400, r#"{"error":"weird\u0007code"}"#))
        .unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::Other("weirdcode".into())));
}

#[test]
fn unexpected_statuses() {
    let e = parse_read_resource_response(&bare_response(302, "")).unwrap_err();
    assert!(matches!(
        e,
        ProtectionError::UnexpectedStatus { status, .. } if status == 302
    ));
    let e = parse_create_resource_response(&bare_response(204, "")).unwrap_err();
    assert!(matches!(e, ProtectionError::UnexpectedStatus { .. }));
}
