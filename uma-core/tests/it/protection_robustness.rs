//! Every protection parser on hostile input: huge, empty, deeply nested and random bodies, with any
//! status. A panic is a bug; an error must not echo body values.

use proptest::prelude::*;
use uma_core::protection::{
    MAX_BODY_BYTES, ProtectionError, parse_create_resource_response,
    parse_delete_resource_response, parse_introspection_response, parse_list_resources_response,
    parse_pat_response, parse_permission_response, parse_read_resource_response,
    parse_registration_response, parse_update_resource_response,
};

fn response(status: u16, body: Vec<u8>) -> http::Response<Vec<u8>> {
    http::Response::builder().status(status).body(body).unwrap()
}

/// Runs every parser and returns the error messages (successes give none).
fn all_parsers(r: &http::Response<Vec<u8>>) -> Vec<String> {
    fn msg<T>(x: Result<T, ProtectionError>) -> Option<String> {
        x.err().map(|e| format!("{e} / {e:?}"))
    }
    [
        msg(parse_pat_response(r)),
        msg(parse_create_resource_response(r)),
        msg(parse_read_resource_response(r)),
        msg(parse_update_resource_response(r)),
        msg(parse_delete_resource_response(r)),
        msg(parse_list_resources_response(r)),
        msg(parse_permission_response(r)),
        msg(parse_introspection_response(r)),
        msg(parse_registration_response(r)),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[test]
fn huge_bodies_are_refused_before_parsing() {
    let mut body = br#"{"ticket":""#.to_vec();
    body.resize(MAX_BODY_BYTES + 1, b'a');
    for status in [200, 201, 400] {
        let r = response(status, body.clone());
        let e = parse_permission_response(&r).unwrap_err();
        assert!(
            matches!(e, ProtectionError::BodyTooLarge { len, limit } if len == MAX_BODY_BYTES + 1 && limit == MAX_BODY_BYTES)
        );
        assert_eq!(all_parsers(&r).len(), 9);
    }
}

#[test]
fn deep_nesting_does_not_overflow() {
    let depth = 100_000;
    let mut body = b"{\"active\":true,\"x\":".to_vec();
    body.extend(std::iter::repeat_n(b'[', depth));
    body.extend(std::iter::repeat_n(b']', depth));
    body.push(b'}');
    for status in [200, 201, 400] {
        let _ = all_parsers(&response(status, body.clone()));
    }
}

#[test]
fn empty_and_garbage_bodies() {
    for body in [
        &b""[..],
        b" ",
        b"\xff\xfe",
        b"null",
        b"<html></html>",
        b"{",
        b"\"x\"",
    ] {
        for status in [200, 201, 204, 400, 404, 500] {
            let _ = all_parsers(&response(status, body.to_vec()));
        }
    }
    // A success status with an empty body is an error for every parser that needs a body.
    let r = response(200, Vec::new());
    assert!(parse_permission_response(&r).is_err());
    assert!(parse_introspection_response(&r).is_err());
    assert!(parse_pat_response(&r).is_err());
    assert!(parse_registration_response(&r).is_err());
}

#[test]
fn errors_do_not_echo_values() {
    let planted = "TOPSECRET-VALUE";
    let bodies = [
        format!(r#"{{"access_token":"{planted}","token_type":7,"expires_in":"{planted}"}}"#),
        format!(r#"{{"active":"{planted}"}}"#),
        format!(r#"{{"ticket":{{"{planted}":1}}}}"#),
        format!(r#"{{"client_id":["{planted}"],"client_secret":"{planted}"}}"#),
        format!(r#"["{planted}", 5]"#),
        format!(r#"{{"_id":"{planted}","resource_scopes":"{planted}","iat":"{planted}"}}"#),
        format!(r#"{{"access_token":"{planted}","token_type":"mac"}}"#),
    ];
    for body in bodies {
        for status in [200, 201] {
            for m in all_parsers(&response(status, body.clone().into_bytes())) {
                assert!(!m.contains(planted), "{m}");
            }
        }
    }
}

#[test]
fn server_descriptions_are_shortened_and_cleaned() {
    let long = "x".repeat(10_000);
    let body = format!(r#"{{"error":"invalid_request","error_description":"a\u001b[31mb{long}"}}"#);
    let e = parse_read_resource_response(&response(400, body.into_bytes())).unwrap_err();
    let ProtectionError::Server(resp) = &e else {
        panic!("{e:?}")
    };
    let d = resp.description.as_deref().unwrap();
    assert!(d.starts_with("a[31mb"));
    assert!(d.chars().count() <= 257);
    assert!(!e.to_string().contains('\u{1b}'));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = all_parsers(&response(status, body));
    }

    #[test]
    fn random_json_never_panics(status in prop::sample::select(vec![200u16, 201, 204, 400, 401, 404, 409]), body in arb_json()) {
        let _ = all_parsers(&response(status, body.to_string().into_bytes()));
    }
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    let key = prop::sample::select(vec![
        "active",
        "permissions",
        "resource_id",
        "rsid",
        "resource_scopes",
        "scopes",
        "exp",
        "iat",
        "nbf",
        "ticket",
        "_id",
        "access_token",
        "token_type",
        "expires_in",
        "client_id",
        "client_secret",
        "error",
        "error_description",
        "owner",
        "attributes",
        "aud",
        "name",
        "uri",
    ])
    .prop_map(str::to_owned);
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        "[a-z]{0,8}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}
