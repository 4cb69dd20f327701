//! Every row of the docs/protocol.md §4.1, §4.2 and §4.3 tables mapped to its Outcome, status kept;
//! redaction of the kept body.

use uma_core::grant::{Outcome, RequiredClaim, TokenError, UmaError, parse_token_response};

fn resp(status: u16, body: &str) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(status)
        .body(body.as_bytes().to_vec())
        .unwrap()
}

fn rejected(status: u16, body: &str) -> UmaError {
    match parse_token_response(&resp(status, body)) {
        Err(TokenError::Rejected(e)) => e,
        other => panic!("{status} {body}: {other:?}"),
    }
}

fn check(status: u16, body: &str, outcome: Outcome) -> UmaError {
    let e = rejected(status, body);
    assert_eq!(e.outcome, outcome, "{status} {body}");
    assert_eq!(e.status, status);
    e
}

#[test]
fn spec_table_4_1() {
    let e = check(
        403,
        r#"{"error":"need_info","ticket":"ZXJyb3JfZGV0YWlscw==",
            "required_claims":[{"claim_token_format":["http://openid.net/specs/openid-connect-core-1_0.html#IDToken"],
            "claim_type":"urn:oid:0.9.2342.19200300.100.1.3","friendly_name":"email",
            "issuer":["https://example.com/idp"],"name":"email23423453ou453"}]}"#,
        Outcome::NeedInfo,
    );
    assert_eq!(e.ticket.as_ref().unwrap().secret(), "ZXJyb3JfZGV0YWlscw==");
    assert_eq!(
        e.required_claims,
        vec![RequiredClaim {
            claim_token_format: vec![
                "http://openid.net/specs/openid-connect-core-1_0.html#IDToken".into()
            ],
            claim_type: Some("urn:oid:0.9.2342.19200300.100.1.3".into()),
            friendly_name: Some("email".into()),
            issuer: vec!["https://example.com/idp".into()],
            name: Some("email23423453ou453".into()),
        }]
    );
    assert!(e.redirect_user.is_none());

    let e = check(
        403,
        r#"{"error":"need_info","ticket":"ZXJyb3JfZGV0YWlscw==","redirect_user":"https://as.example.com/rqp_claims?id=2346576421"}"#,
        Outcome::NeedInfo,
    );
    assert_eq!(
        e.redirect_user.as_deref(),
        Some("https://as.example.com/rqp_claims?id=2346576421")
    );
    assert!(e.required_claims.is_empty());

    check(403, r#"{"error":"request_denied"}"#, Outcome::Denied);

    let e = check(
        403,
        r#"{"error":"request_submitted","ticket":"ZXJyb3JfZGV0YWlscw==","interval":5}"#,
        Outcome::RequestSubmitted,
    );
    assert_eq!(e.interval, Some(5));
    assert!(e.ticket.is_some());

    check(400, r#"{"error":"invalid_grant"}"#, Outcome::DeadTicket);
    check(400, r#"{"error":"invalid_scope"}"#, Outcome::InvalidScope);

    // Generic OAuth errors.
    check(
        400,
        r#"{"error":"invalid_request"}"#,
        Outcome::InvalidRequest,
    );
    check(
        401,
        r#"{"error":"invalid_client"}"#,
        Outcome::ClientAuthFailed,
    );
    check(
        400,
        r#"{"error":"invalid_client"}"#,
        Outcome::ClientAuthFailed,
    );
    check(
        400,
        r#"{"error":"unauthorized_client"}"#,
        Outcome::ClientAuthFailed,
    );
    check(
        400,
        r#"{"error":"unsupported_grant_type"}"#,
        Outcome::InvalidRequest,
    );
    check(500, r#"{"error":"server_error"}"#, Outcome::ServerError);
    check(
        503,
        r#"{"error":"temporarily_unavailable"}"#,
        Outcome::ServerError,
    );

    // UMA 1.0 legacy codes.
    check(400, r#"{"error":"invalid_ticket"}"#, Outcome::DeadTicket);
    check(400, r#"{"error":"expired_ticket"}"#, Outcome::DeadTicket);
    check(403, r#"{"error":"not_authorized"}"#, Outcome::Denied);
    check(
        403,
        r#"{"error":"request_submitted"}"#,
        Outcome::RequestSubmitted,
    );
}

#[test]
fn uma1_need_info_with_error_details() {
    let e = check(
        403,
        r#"{"error":"need_info","error_details":{
            "authentication_context":{"required_acr":["https://example.com/acrs/LOA3.14159"]},
            "requesting_party_claims":{
              "required_claims":[{"name":"email23423453ou453","friendly_name":"email",
                "claim_type":"urn:oid:0.9.2342.19200300.100.1.3",
                "claim_token_format":["http://openid.net/specs/openid-connect-core-1_0.html#IDToken"],
                "issuer":["https://example.com/idp"]}],
              "redirect_user":true,
              "ticket":"UMA1-TICKET"}}}"#,
        Outcome::NeedInfo,
    );
    assert_eq!(e.ticket.as_ref().unwrap().secret(), "UMA1-TICKET");
    assert_eq!(e.required_claims.len(), 1);
    assert_eq!(e.required_claims[0].friendly_name.as_deref(), Some("email"));
    assert!(
        e.redirect_user.is_none(),
        "UMA1 boolean redirect_user means the static endpoint"
    );
    assert!(!e.body_excerpt.contains("UMA1-TICKET"));
}

#[test]
fn keycloak_table_4_2() {
    let rows: &[(u16, &str, &str, Outcome)] = &[
        (
            403,
            "invalid_ticket",
            "Ticket verification failed",
            Outcome::DeadTicket,
        ),
        (
            403,
            "invalid_ticket",
            "Invalid permission ticket.",
            Outcome::DeadTicket,
        ),
        (
            403,
            "invalid_rpt",
            "RPT signature is invalid",
            Outcome::InvalidRpt,
        ),
        (
            401,
            "invalid_grant",
            "Invalid bearer token",
            Outcome::ClientAuthFailed,
        ),
        // Keycloak 26.6+ (seen on 26.7.3).
        (
            400,
            "invalid_grant",
            "Invalid bearer token",
            Outcome::ClientAuthFailed,
        ),
        (
            401,
            "invalid_client",
            "Invalid client or Invalid client credentials",
            Outcome::ClientAuthFailed,
        ),
        (
            401,
            "unauthorized_client",
            "Invalid client or Invalid client credentials",
            Outcome::ClientAuthFailed,
        ),
        (
            403,
            "invalid_grant",
            "Public clients are not allowed to send claims",
            Outcome::DeadTicket,
        ),
        (
            400,
            "invalid_request",
            "You must provide the issuedFor",
            Outcome::InvalidRequest,
        ),
        (
            400,
            "invalid_request",
            "Unknown resource server id: [rs]",
            Outcome::InvalidRequest,
        ),
        (
            400,
            "invalid_request",
            "Client does not support permissions",
            Outcome::InvalidRequest,
        ),
        (
            400,
            "invalid_request",
            "Claim token format [x] not supported",
            Outcome::InvalidRequest,
        ),
        (
            400,
            "invalid_request",
            "Invalid claims",
            Outcome::InvalidRequest,
        ),
        (
            400,
            "unauthorized_client",
            "Invalid identity",
            Outcome::ClientAuthFailed,
        ),
        (
            400,
            "unauthorized_client",
            "Invalid signature",
            Outcome::ClientAuthFailed,
        ),
        (
            400,
            "invalid_resource",
            "Resource with id [x] does not exist.",
            Outcome::InvalidRequest,
        ),
        (
            400,
            "invalid_scope",
            "One of the given scopes [x] is invalid",
            Outcome::InvalidScope,
        ),
        (
            400,
            "invalid_request",
            "Invalid response_mode",
            Outcome::InvalidRequest,
        ),
        (
            403,
            "access_denied",
            "request_submitted",
            Outcome::RequestSubmitted,
        ),
        (403, "access_denied", "not_authorized", Outcome::Denied),
        (403, "access_denied", "request_denied", Outcome::Denied),
        (
            500,
            "server_error",
            "Unexpected error while evaluating permissions",
            Outcome::ServerError,
        ),
    ];
    for &(status, code, desc, outcome) in rows {
        let body = serde_json::json!({"error": code, "error_description": desc}).to_string();
        let e = check(status, &body, outcome);
        assert_eq!(e.code, code);
        assert_eq!(e.description.as_deref(), Some(desc));
        assert!(e.ticket.is_none());
        assert_eq!(
            e.to_string(),
            format!("token endpoint answered {status} {code}: {desc}")
        );
    }
}

#[test]
fn gluu_table_4_3() {
    let rows: &[(u16, &str, Outcome)] = &[
        (400, "invalid_ticket", Outcome::DeadTicket),
        (400, "invalid_resource_id", Outcome::InvalidRequest),
        (400, "invalid_claim_token_format", Outcome::NeedInfo),
        (400, "invalid_claim_token", Outcome::NeedInfo),
        (401, "invalid_pct", Outcome::InvalidPct),
        (400, "invalid_rpt", Outcome::InvalidRpt),
        (403, "disabled_client", Outcome::ClientAuthFailed),
        (400, "invalid_scope", Outcome::InvalidScope),
        (403, "forbidden_by_policy", Outcome::Denied),
        (403, "not_authorized_permission", Outcome::Denied),
        (500, "server_error", Outcome::ServerError),
        (400, "invalid_claims_redirect_uri", Outcome::InvalidRequest),
    ];
    for &(status, code, outcome) in rows {
        let body = serde_json::json!({
            "error": code,
            "error_description": "catalogue text",
            "reason": "free text",
            "state": ""
        })
        .to_string();
        check(status, &body, outcome);
    }
    // need_info with rotated ticket, redirect_user and required_claims (GLUU UmaNeedsInfoService).
    let e = check(
        403,
        r#"{"error":"need_info","ticket":"gluu-new-ticket",
            "redirect_user":"https://auth.eoepca.example/oxauth/restv1/uma/gather_claims&client_id=c&ticket=gluu-new-ticket",
            "required_claims":[{"claim_token_format":"http://openid.net/specs/openid-connect-core-1_0.html#IDToken",
              "name":"country","issuer":"https://auth.eoepca.example","friendly_name":"country","claim_type":"string"}]}"#,
        Outcome::NeedInfo,
    );
    assert_eq!(e.ticket.as_ref().unwrap().secret(), "gluu-new-ticket");
    assert_eq!(
        e.required_claims[0].issuer,
        vec!["https://auth.eoepca.example"]
    );
    assert_eq!(e.required_claims[0].claim_token_format.len(), 1);
    // redirect_user keeps what the AS sent; the ticket in it is the new one and it is not in Display/Debug.
    assert!(
        e.redirect_user
            .as_deref()
            .unwrap()
            .contains("gather_claims")
    );
    assert!(!e.to_string().contains("gluu-new-ticket"));
    assert!(!e.body_excerpt.contains("gluu-new-ticket"));
    let debug = format!("{e:?}");
    assert!(!debug.contains("gluu-new-ticket"), "{debug}");
    assert!(
        debug.contains("gather_claims&client_id=c&ticket=[redacted]"),
        "{debug}"
    );
    // A ticket in the URL that differs from the ticket member is redacted as a parameter.
    let e = rejected(
        403,
        r#"{"error":"need_info","ticket":"ticket-a","redirect_user":"https://as/x?id=1&ticket=OTHER&y=2"}"#,
    );
    let debug = format!("{e:?}");
    assert!(
        !debug.contains("OTHER") && debug.contains("?id=1&ticket=[redacted]&y=2"),
        "{debug}"
    );
}

#[test]
fn unknown_codes_and_case() {
    check(418, r#"{"error":"teapot"}"#, Outcome::Other);
    check(502, r#"{"error":"bad_gateway"}"#, Outcome::ServerError);
    check(
        403,
        r#"{"error":"NEED_INFO","ticket":"x"}"#,
        Outcome::NeedInfo,
    );
    let e = check(403, r#"{"error":"request_denied"}"#, Outcome::Denied);
    assert_eq!(e.to_string(), "token endpoint answered 403 request_denied");
}

#[test]
fn lenient_members() {
    let e = check(
        403,
        r#"{"error":"request_submitted","ticket":"n","interval":"7","error_uri":"https://as/doc",
            "required_claims":"nope","redirect_user":42}"#,
        Outcome::RequestSubmitted,
    );
    assert_eq!(e.interval, Some(7));
    assert_eq!(e.error_uri.as_deref(), Some("https://as/doc"));
    assert!(e.required_claims.is_empty());
    assert!(e.redirect_user.is_none());
    let e = check(
        403,
        r#"{"error":"request_submitted","ticket":"","interval":-3}"#,
        Outcome::RequestSubmitted,
    );
    assert!(e.ticket.is_none(), "an empty ticket is no ticket");
    assert_eq!(e.interval, None);
    let e = check(
        403,
        r#"{"error":"need_info","ticket":null,"required_claims":[1,{"name":"x"},null]}"#,
        Outcome::NeedInfo,
    );
    assert!(e.ticket.is_none());
    assert_eq!(
        e.required_claims,
        vec![RequiredClaim {
            name: Some("x".into()),
            ..RequiredClaim::default()
        }]
    );
}

const NEED_INFO_SECRET: &str = "SECRET-TICKET-4242";

#[test]
fn need_info_ticket_never_shows() {
    let body = format!(
        r#"{{"error":"need_info","ticket":"{NEED_INFO_SECRET}",
            "error_description":"use ticket {NEED_INFO_SECRET} next",
            "redirect_user":"https://as.example.com/rqp_claims?id=1",
            "nested":{{"access_token":"AT-LEAK","list":[{{"refresh_token":"RT-LEAK","pct":"PCT-LEAK"}}],
                       "id_token":"IDT-LEAK","rpt":"RPT-LEAK"}}}}"#
    );
    let e = rejected(403, &body);
    assert_eq!(e.ticket.as_ref().unwrap().secret(), NEED_INFO_SECRET);
    let display = e.to_string();
    let debug = format!("{e:?}");
    let token_error_display = parse_token_response(&resp(403, &body))
        .unwrap_err()
        .to_string();
    let token_error_debug = format!("{:?}", parse_token_response(&resp(403, &body)).unwrap_err());
    for text in [
        &display,
        &debug,
        &e.body_excerpt,
        &token_error_display,
        &token_error_debug,
    ] {
        for leak in [
            NEED_INFO_SECRET,
            "AT-LEAK",
            "RT-LEAK",
            "PCT-LEAK",
            "IDT-LEAK",
            "RPT-LEAK",
        ] {
            assert!(!text.contains(leak), "{leak} in {text}");
        }
    }
    assert!(e.body_excerpt.contains("[redacted]"));
    assert!(e.body_excerpt.contains("need_info"));
    assert_eq!(e.description.as_deref(), Some("use ticket [redacted] next"));
}

#[test]
fn excerpt_is_truncated_on_a_char_boundary() {
    let desc = "é".repeat(2000);
    let body = serde_json::json!({"error": "invalid_request", "error_description": desc, "filler": "ü".repeat(3000)}).to_string();
    let e = rejected(400, &body);
    assert!(e.body_excerpt.len() <= 512);
    assert!(e.body_excerpt.len() > 500);
    assert!(e.description.as_ref().unwrap().chars().count() <= 512);
}

#[test]
fn control_characters_are_neutralised() {
    let body = r#"{"error":"invalid_request\u001b[2J","error_description":"line1\r\nX-Evil: 1"}"#;
    let e = rejected(400, body);
    let shown = e.to_string();
    assert!(!shown.contains('\u{1b}') && !shown.contains('\r') && !shown.contains('\n'));
}
