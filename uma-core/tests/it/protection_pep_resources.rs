//! EOEPCA's PEP resource API: request shapes, the PEP's answers, and its refusals as types
//! (`shared/peers/eoepca-clients.md` §2.7, §4.4).

use crate::support::{bare_response, response};
use http::StatusCode;
use uma_core::protection::{
    PepResource, PepResourceError, create_pep_resource_request, delete_pep_resource_request,
    list_pep_resources_request, parse_create_pep_resource_response,
    parse_delete_pep_resource_response, parse_list_pep_resources_response,
    parse_read_pep_resource_response, read_pep_resource_request,
};
use uma_core::secret::ClaimToken;

const ID_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MX0.c2lnbmF0dXJlLXZhbHVl";

fn pep() -> url::Url {
    url::Url::parse("http://ades-pepapi.eoepca.example/").unwrap()
}

fn token() -> ClaimToken {
    ClaimToken::new(ID_TOKEN)
}

#[test]
fn create_sends_demo_clients_body_with_the_id_token_as_bearer() {
    let resource = PepResource::new("ADES", "/alice", ["Authenticated"]).on_behalf_of("u-7");
    let r = create_pep_resource_request(&pep(), &token(), &resource).unwrap();
    assert_eq!(r.method(), "POST");
    assert_eq!(r.uri(), "http://ades-pepapi.eoepca.example/resources");
    assert_eq!(r.headers()["authorization"], format!("Bearer {ID_TOKEN}"));
    assert_eq!(r.headers()["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"name": "ADES", "icon_uri": "/alice",
            "resource_scopes": ["Authenticated"], "uuid": "u-7"})
    );
    assert!(!format!("{r:?}").contains(ID_TOKEN));
}

#[test]
fn paths_below_the_pep_base_and_ids_are_one_segment() {
    let base = url::Url::parse("https://pep.example/api").unwrap();
    let list = list_pep_resources_request(&base, &token(), Some("/alice/wps3")).unwrap();
    assert_eq!(
        list.uri(),
        "https://pep.example/api/resources?path=%2Falice%2Fwps3"
    );
    let read = read_pep_resource_request(&base, &token(), "a/b").unwrap();
    assert_eq!(read.uri(), "https://pep.example/api/resources/a%2Fb");
    let delete = delete_pep_resource_request(&pep(), &token(), "r-1").unwrap();
    assert_eq!(delete.method(), "DELETE");
    assert_eq!(
        delete.uri(),
        "http://ades-pepapi.eoepca.example/resources/r-1"
    );
    assert!(matches!(
        read_pep_resource_request(&pep(), &token(), ""),
        Err(PepResourceError::InvalidInput(_))
    ));
    assert!(matches!(
        create_pep_resource_request(&pep(), &token(), &PepResource::new("", "/x", ["a"])),
        Err(PepResourceError::InvalidInput(_))
    ));
}

#[test]
fn answers_are_read_in_both_shapes() {
    let created = parse_create_pep_resource_response(&bare_response(
        200,
        r#"{"name":"ADES","icon_uri":"/alice","resource_scopes":["Authenticated","protected_get"],
            "ownership_id":"alice","id":"r-1"}"#,
    ))
    .unwrap();
    assert_eq!(created.id, "r-1");
    assert_eq!(created.path.as_deref(), Some("/alice"));
    assert_eq!(created.resource_scopes, ["Authenticated", "protected_get"]);
    assert_eq!(created.ownership_id.as_deref(), Some("alice"));

    let list = parse_list_pep_resources_response(&bare_response(
        200,
        r#"[{"_id":"r-1","_name":"ADES","_reverse_match_url":"/alice"},{"_id":"r-2"}]"#,
    ))
    .unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].name.as_deref(), Some("ADES"));
    assert_eq!(list[0].path.as_deref(), Some("/alice"));
    let one = parse_list_pep_resources_response(&bare_response(
        200,
        r#"{"_id":"r-1","_name":"ADES","_reverse_match_url":"/alice"}"#,
    ))
    .unwrap();
    assert_eq!(one[0].id, "r-1");
    let read = parse_read_pep_resource_response(&bare_response(200, r#"{"_id":"r-1"}"#)).unwrap();
    assert_eq!(read.id, "r-1");
    parse_delete_pep_resource_response(&bare_response(204, "")).unwrap();
    assert!(matches!(
        parse_list_pep_resources_response(&bare_response(200, r#"[{"_name":"no id"}]"#)),
        Err(PepResourceError::InvalidBody(_))
    ));
    assert!(matches!(
        parse_list_pep_resources_response(&bare_response(200, "<html>")),
        Err(PepResourceError::InvalidBody(_))
    ));
}

#[test]
fn refusals_are_typed_and_carry_the_error_header() {
    let cases = [
        (401, StatusCode::UNAUTHORIZED),
        (403, StatusCode::FORBIDDEN),
        (404, StatusCode::NOT_FOUND),
        (405, StatusCode::METHOD_NOT_ALLOWED),
        (422, StatusCode::UNPROCESSABLE_ENTITY),
        (500, StatusCode::INTERNAL_SERVER_ERROR),
    ];
    for (status, want) in cases {
        let e = parse_create_pep_resource_response(&response(status, &[("Error", "why")], ""))
            .unwrap_err();
        assert_eq!(e.status(), Some(want), "{e}");
    }
    let e = parse_delete_pep_resource_response(&response(
        403,
        &[("Error", "User lacking sufficient access privileges")],
        "",
    ))
    .unwrap_err();
    assert!(
        matches!(&e, PepResourceError::Forbidden { message: Some(m) } if m.contains("privileges"))
    );
    let e = parse_read_pep_resource_response(&bare_response(405, "")).unwrap_err();
    assert!(matches!(e, PepResourceError::MethodNotAllowed));
    let e = parse_list_pep_resources_response(&bare_response(302, "")).unwrap_err();
    assert!(matches!(e, PepResourceError::UnexpectedStatus(s) if s == 302));
    let e =
        parse_create_pep_resource_response(&bare_response(500, r#"{"error":"Invalid request"}"#))
            .unwrap_err();
    assert_eq!(
        e.to_string(),
        "the PEP resource API answered 500 Internal Server Error (Invalid request)"
    );
}

#[test]
fn an_echoed_id_token_never_reaches_a_message() {
    let echo = format!("No valid token\t{ID_TOKEN}");
    let e = parse_list_pep_resources_response(&response(401, &[("Error", &echo)], "")).unwrap_err();
    for text in [e.to_string(), format!("{e:?}")] {
        assert!(!text.contains(ID_TOKEN), "{text}");
        assert!(!text.contains("eyJzdWIi"), "{text}");
    }
    assert!(e.to_string().contains("[redacted]"), "{e}");
}
