//! Success bodies, hostile bodies, decision/permissions modes and the claims-interaction URL.

use uma_core::grant::{
    ClaimsRedirectError, GrantedPermission, MAX_RESPONSE_BYTES, Outcome, TokenError,
    claims_redirect_url, parse_decision, parse_permissions, parse_token_response,
};
use uma_core::secret::Ticket;

fn resp(status: u16, body: &[u8]) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .unwrap()
}

fn malformed(r: Result<impl std::fmt::Debug, TokenError>) -> (u16, String) {
    match r {
        Err(TokenError::Malformed { status, reason }) => (status, reason),
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn spec_success() {
    let t = parse_token_response(&resp(
        200,
        br#"{"access_token":"sbjsbhs(/SSJHBSUSSJHVhjsgvhsgvshgsv","token_type":"Bearer","pct":"c2F2ZWRjb25zZW50","upgraded":true}"#,
    ))
    .unwrap();
    assert_eq!(
        t.access_token.secret(),
        "sbjsbhs(/SSJHBSUSSJHVhjsgvhsgvshgsv"
    );
    assert_eq!(t.token_type, "Bearer");
    assert_eq!(t.pct.as_ref().unwrap().secret(), "c2F2ZWRjb25zZW50");
    assert!(t.upgraded);
    assert_eq!(t.expires_in, None);
    assert!(t.refresh_token.is_none());
    let dbg = format!("{t:?}");
    assert!(
        !dbg.contains("sbjsbhs") && !dbg.contains("c2F2ZWRjb25zZW50"),
        "{dbg}"
    );
}

#[test]
fn keycloak_success() {
    let t = parse_token_response(&resp(
        200,
        br#"{"access_token":"eyJ.rpt.sig","expires_in":300,"refresh_expires_in":1800,"refresh_token":"eyJ.rt.sig",
            "token_type":"Bearer","not-before-policy":0,"upgraded":false}"#,
    ))
    .unwrap();
    assert_eq!(t.expires_in, Some(300));
    assert_eq!(t.refresh_expires_in, Some(1800));
    assert_eq!(t.refresh_token.as_ref().unwrap().secret(), "eyJ.rt.sig");
    assert!(!t.upgraded);
    assert!(t.pct.is_none());
}

#[test]
fn gluu_success() {
    let t = parse_token_response(&resp(
        200,
        br#"{"access_token":"gluu-rpt","token_type":"Bearer","pct":"gluu-pct","upgraded":false}"#,
    ))
    .unwrap();
    assert_eq!(t.access_token.secret(), "gluu-rpt");
    assert_eq!(t.pct.as_ref().unwrap().secret(), "gluu-pct");
    assert_eq!(t.expires_in, None);
    assert!(t.refresh_token.is_none());
}

#[test]
fn lenient_success_members() {
    let t = parse_token_response(&resp(
        200,
        br#"{"access_token":"a","token_type":"bearer","expires_in":"3600","scope":"read",
            "id_token":"eyJ.id","refresh_token":null,"pct":7,"unknown":[1]}"#,
    ))
    .unwrap();
    assert_eq!(t.expires_in, Some(3600));
    assert!(!t.upgraded, "absent upgraded is false");
    assert_eq!(t.scope.as_deref(), Some("read"));
    assert_eq!(t.id_token.as_ref().unwrap().secret(), "eyJ.id");
    assert!(t.refresh_token.is_none() && t.pct.is_none());
    for (body, want) in [
        (
            r#"{"access_token":"a","token_type":"BEARER","expires_in":300.0}"#,
            Some(300),
        ),
        (
            r#"{"access_token":"a","token_type":"Bearer","expires_in":-5}"#,
            None,
        ),
        (
            r#"{"access_token":"a","token_type":"Bearer","expires_in":"soon"}"#,
            None,
        ),
        (
            r#"{"access_token":"a","token_type":"Bearer","expires_in":1e300}"#,
            None,
        ),
    ] {
        assert_eq!(
            parse_token_response(&resp(200, body.as_bytes()))
                .unwrap()
                .expires_in,
            want,
            "{body}"
        );
    }
}

#[test]
fn b12_non_200_with_access_token_is_not_success() {
    for status in [500, 201, 302, 401, 403] {
        let r = parse_token_response(&resp(
            status,
            br#"{"access_token":"EVIL","token_type":"Bearer"}"#,
        ));
        let (s, reason) = malformed(r);
        assert_eq!(s, status);
        assert!(!reason.contains("EVIL"));
    }
    // With an error member it is a rejection, still not a success.
    let r = parse_token_response(&resp(
        500,
        br#"{"error":"server_error","access_token":"EVIL"}"#,
    ));
    match r {
        Err(TokenError::Rejected(e)) => {
            assert_eq!(e.outcome, Outcome::ServerError);
            assert!(!format!("{e:?}").contains("EVIL"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unusable_success_bodies() {
    for body in [
        &br#"{"token_type":"Bearer"}"#[..],
        br#"{"access_token":"","token_type":"Bearer"}"#,
        br#"{"access_token":42,"token_type":"Bearer"}"#,
        br#"{"access_token":"a","token_type":"mac"}"#,
        br#"{"error":"need_info","ticket":"x"}"#,
        br#"[]"#,
        b"",
        b"<html><body>Welcome</body></html>",
        b"null",
    ] {
        let (status, _) = malformed(parse_token_response(&resp(200, body)));
        assert_eq!(status, 200);
    }
}

#[test]
fn error_status_without_an_error_body() {
    for (status, body) in [
        (502, &b"<html><h1>502 Bad Gateway</h1></html>"[..]),
        (404, b"Not Found"),
        (400, br#"{"message":"bad"}"#),
        (400, br#"{"error":42}"#),
        (403, b""),
        (401, b"[1,2]"),
    ] {
        assert_eq!(
            malformed(parse_token_response(&resp(status, body))).0,
            status
        );
    }
}

#[test]
fn garbage_50_kb_and_non_utf8() {
    let mut garbage = Vec::with_capacity(50 * 1024);
    let mut x: u32 = 0x1234_5678;
    for _ in 0..50 * 1024 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        garbage.push((x >> 16) as u8);
    }
    for status in [200, 400, 403, 500] {
        let (s, reason) = malformed(parse_token_response(&resp(status, &garbage)));
        assert_eq!(s, status);
        assert!(reason.len() < 100);
    }
    let non_utf8 = b"{\"error\":\"invalid_request\",\"error_description\":\"\xff\xfe\"}";
    assert_eq!(malformed(parse_token_response(&resp(400, non_utf8))).0, 400);
    assert_eq!(
        malformed(parse_token_response(&resp(200, b"\xc3\x28"))).0,
        200
    );
    let huge = vec![b' '; MAX_RESPONSE_BYTES + 1];
    assert_eq!(
        malformed(parse_token_response(&resp(200, &huge))).1,
        "body larger than the limit"
    );
    let deep = "[".repeat(100_000);
    assert_eq!(
        malformed(parse_token_response(&resp(200, deep.as_bytes()))).0,
        200
    );
    assert!(parse_decision(&resp(200, &garbage)).is_err());
    assert!(parse_permissions(&resp(200, &garbage)).is_err());
}

#[test]
fn decision_mode() {
    assert!(parse_decision(&resp(200, br#"{"result":true}"#)).unwrap());
    assert!(!parse_decision(&resp(200, br#"{"result":false}"#)).unwrap());
    malformed(parse_decision(&resp(200, br#"{"result":"true"}"#)));
    malformed(parse_decision(&resp(200, br#"{}"#)));
    malformed(parse_decision(&resp(500, br#"{"result":true}"#)));
    match parse_decision(&resp(
        403,
        br#"{"error":"access_denied","error_description":"not_authorized"}"#,
    )) {
        Err(TokenError::Rejected(e)) => assert_eq!(e.outcome, Outcome::Denied),
        other => panic!("{other:?}"),
    }
    let e = parse_decision(&resp(
        400,
        br#"{"error":"invalid_request","error_description":"Invalid response_mode"}"#,
    ))
    .unwrap_err();
    assert_eq!(e.outcome(), Some(Outcome::InvalidRequest));
}

#[test]
fn permissions_mode() {
    let p = parse_permissions(&resp(
        200,
        br#"[{"rsid":"7f0e","rsname":"Resource A","scopes":["view","edit"]},
             {"rsid":"8a1b","rsname":"Resource B"},
             "junk", {"scopes":[1,"x"],"claims":{"a":["b"]}}]"#,
    ))
    .unwrap();
    assert_eq!(
        p,
        vec![
            GrantedPermission {
                resource_id: Some("7f0e".into()),
                resource_name: Some("Resource A".into()),
                scopes: vec!["view".into(), "edit".into()],
            },
            GrantedPermission {
                resource_id: Some("8a1b".into()),
                resource_name: Some("Resource B".into()),
                scopes: vec![]
            },
            GrantedPermission {
                resource_id: None,
                resource_name: None,
                scopes: vec!["x".into()]
            },
        ]
    );
    assert!(parse_permissions(&resp(200, b"[]")).unwrap().is_empty());
    malformed(parse_permissions(&resp(200, br#"{"rsid":"x"}"#)));
    malformed(parse_permissions(&resp(500, b"[]")));
    assert_eq!(
        parse_permissions(&resp(403, br#"{"error":"access_denied"}"#))
            .unwrap_err()
            .outcome(),
        Some(Outcome::Denied)
    );
}

#[test]
fn token_error_display() {
    let e = parse_token_response(&resp(502, b"<html>")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "token endpoint answered 502 with an unusable response: the body is not JSON"
    );
    assert_eq!(e.outcome(), None);
}

// ---- claims interaction URL (docs/protocol.md §5.2)

fn ticket() -> Ticket {
    Ticket::new("016f84e8-f9b9-11e0-bd6f-0021cc6004de")
}

#[test]
fn claims_url_spec_example_with_existing_query() {
    let u = claims_redirect_url(
        "https://as.example.com/rqp_claims?id=2346576421",
        "some_client_id",
        &ticket(),
        "https://client.example.com/redirect_claims",
        Some("abc"),
    )
    .unwrap();
    assert_eq!(
        u.as_str(),
        "https://as.example.com/rqp_claims?id=2346576421&client_id=some_client_id\
         &ticket=016f84e8-f9b9-11e0-bd6f-0021cc6004de\
         &claims_redirect_uri=https%3A%2F%2Fclient.example.com%2Fredirect_claims&state=abc"
    );
}

#[test]
fn claims_url_gluu_with_and_without_question_mark() {
    // Gluu with script parameters: client_id and ticket present, not added again.
    let u = claims_redirect_url(
        "https://auth.eoepca.example/oxauth/restv1/uma/gather_claims?step=1&client_id=c1&ticket=new-t",
        "c1",
        &Ticket::new("new-t"),
        "https://client.example/cb",
        None,
    )
    .unwrap();
    assert_eq!(
        u.as_str(),
        "https://auth.eoepca.example/oxauth/restv1/uma/gather_claims?step=1&client_id=c1&ticket=new-t\
         &claims_redirect_uri=https%3A%2F%2Fclient.example%2Fcb"
    );
    // Gluu's malformed form without '?'.
    let u = claims_redirect_url(
        "https://auth.eoepca.example/oxauth/restv1/uma/gather_claims&client_id=c1&ticket=new-t",
        "c1",
        &Ticket::new("new-t"),
        "https://client.example/cb",
        Some("s"),
    )
    .unwrap();
    assert_eq!(u.path(), "/oxauth/restv1/uma/gather_claims");
    assert_eq!(
        u.query(),
        Some(
            "client_id=c1&ticket=new-t&claims_redirect_uri=https%3A%2F%2Fclient.example%2Fcb&state=s"
        )
    );
}

#[test]
fn claims_url_static_endpoint_and_replacement() {
    let u = claims_redirect_url(
        "https://auth.eoepca.example/oxauth/restv1/uma/gather_claims",
        "c",
        &ticket(),
        "",
        None,
    )
    .unwrap();
    assert_eq!(
        u.query(),
        Some("client_id=c&ticket=016f84e8-f9b9-11e0-bd6f-0021cc6004de")
    );
    // Stale state / claims_redirect_uri values are replaced, others kept.
    let u = claims_redirect_url(
        "https://as/x?state=old&keep=1&claims_redirect_uri=old",
        "c",
        &ticket(),
        "https://client/cb?a=1",
        Some("new"),
    )
    .unwrap();
    assert_eq!(
        u.query(),
        Some(
            "keep=1&client_id=c&ticket=016f84e8-f9b9-11e0-bd6f-0021cc6004de\
              &claims_redirect_uri=https%3A%2F%2Fclient%2Fcb%3Fa%3D1&state=new"
        )
    );
    // A fragment on the AS URL is dropped so it cannot swallow the parameters.
    let u = claims_redirect_url("https://as/x?y=1#frag", "c", &ticket(), "", None).unwrap();
    assert_eq!(u.fragment(), None);
}

#[test]
fn claims_url_errors() {
    for (base, redirect, want) in [
        (
            "javascript:alert(1)",
            "https://c/cb",
            ClaimsRedirectError::UnsupportedScheme,
        ),
        (
            "data:text/html,hi",
            "https://c/cb",
            ClaimsRedirectError::UnsupportedScheme,
        ),
        ("/relative", "https://c/cb", ClaimsRedirectError::InvalidUrl),
        ("", "https://c/cb", ClaimsRedirectError::InvalidUrl),
        (
            "https://as/x",
            "relative/cb",
            ClaimsRedirectError::InvalidClaimsRedirectUri,
        ),
        (
            "https://as/x",
            "https://c/cb#frag",
            ClaimsRedirectError::InvalidClaimsRedirectUri,
        ),
    ] {
        assert_eq!(
            claims_redirect_url(base, "c", &ticket(), redirect, None).unwrap_err(),
            want,
            "{base}"
        );
    }
}

#[test]
fn a_missing_token_type_means_bearer_and_another_type_is_refused() {
    let ok = http::Response::builder()
        .status(200)
        .body(br#"{"access_token":"rpt"}"#.to_vec())
        .unwrap();
    let t = uma_core::grant::parse_token_response(&ok).unwrap();
    assert_eq!(t.token_type, "Bearer");
    let dpop = http::Response::builder()
        .status(200)
        .body(br#"{"access_token":"rpt","token_type":"DPoP"}"#.to_vec())
        .unwrap();
    assert!(uma_core::grant::parse_token_response(&dpop).is_err());
}
