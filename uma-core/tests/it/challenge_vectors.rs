//! docs/protocol.md §8.5 test vectors (one test each) and §8.4 catalogue rows.

use http::{HeaderMap, HeaderValue, StatusCode, header::WWW_AUTHENTICATE};
use uma_core::challenge::{
    ChallengeError, ChallengeForm, Strictness, UmaChallenge, parse_field_values, parse_headers,
    uma_candidates,
};

const LAX: Strictness = Strictness::Lax;
const STRICT: Strictness = Strictness::Strict;
const U401: StatusCode = StatusCode::UNAUTHORIZED;
const F403: StatusCode = StatusCode::FORBIDDEN;

fn headers(lines: &[&str]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for line in lines {
        map.append(
            WWW_AUTHENTICATE,
            HeaderValue::from_str(line).expect("test header is valid"),
        );
    }
    map
}

fn cands(
    status: StatusCode,
    lines: &[&str],
    body: &[u8],
    s: Strictness,
) -> Result<Vec<UmaChallenge>, ChallengeError> {
    uma_candidates(status, &headers(lines), body, s)
}

/// Exactly one candidate, from a 401 without body.
fn only(lines: &[&str], s: Strictness) -> UmaChallenge {
    let mut found = cands(U401, lines, b"", s).expect("usable UMA challenge");
    assert_eq!(found.len(), 1, "one candidate");
    found.remove(0)
}

fn check(c: &UmaChallenge, as_uri: &str, ticket: &str, realm: Option<&str>) {
    assert_eq!(c.as_uri.as_deref(), Some(as_uri));
    assert_eq!(c.ticket.secret(), ticket);
    assert_eq!(c.realm.as_deref(), realm);
}

fn params(line: &str) -> Vec<(String, Vec<(String, String)>)> {
    parse_field_values([line.as_bytes()])
        .into_iter()
        .map(|c| (c.scheme, c.params))
        .collect()
}

fn p(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

const V1: &str = r#"UMA realm="example", as_uri="https://as.example.com", ticket="016f84e8-f9b9-11e0-bd6f-0021cc6004de""#;

#[test]
fn vector_01_spec_example() {
    for s in [LAX, STRICT] {
        let c = only(&[V1], s);
        check(
            &c,
            "https://as.example.com",
            "016f84e8-f9b9-11e0-bd6f-0021cc6004de",
            Some("example"),
        );
        assert_eq!(c.form, ChallengeForm::Uma);
        assert!(!c.lax);
    }
}

#[test]
fn vector_02_keycloak_no_spaces() {
    let c = only(
        &[r#"UMA realm="r",as_uri="https://kc/realms/r",ticket="a.b.c""#],
        STRICT,
    );
    check(&c, "https://kc/realms/r", "a.b.c", Some("r"));
}

#[test]
fn vector_03_case_insensitive_names() {
    let c = only(
        &[r#"uma REALM="r", AS_URI="https://a", Ticket="t""#],
        STRICT,
    );
    check(&c, "https://a", "t", Some("r"));
    assert_eq!(parse_field_values([&b"UmA x=1"[..]])[0].scheme, "uma");
}

#[test]
fn vector_04_eoepca_unquoted() {
    let line = "UMA realm=eoepca,as_uri=https://auth.example,ticket=6b2c-1";
    let c = only(&[line], LAX);
    check(&c, "https://auth.example", "6b2c-1", Some("eoepca"));
    assert!(c.lax);
    assert_eq!(
        cands(U401, &[line], b"", STRICT).unwrap_err(),
        ChallengeError::NotStrict
    );
    let parsed = parse_field_values([line.as_bytes()]);
    assert!(parsed[0].lax);
    assert_eq!(
        parsed[0].params,
        [
            p("realm", "eoepca"),
            p("as_uri", "https://auth.example"),
            p("ticket", "6b2c-1")
        ]
    );
}

#[test]
fn vector_05_comma_inside_quotes() {
    let c = only(
        &[r#"UMA realm="a, b", as_uri="https://a", ticket="t""#],
        STRICT,
    );
    check(&c, "https://a", "t", Some("a, b"));
}

#[test]
fn vector_06_quoted_pairs() {
    let c = only(
        &[r#"UMA realm="say \"hi\"", as_uri="https://a", ticket="t\\x""#],
        STRICT,
    );
    check(&c, "https://a", r"t\x", Some(r#"say "hi""#));
}

#[test]
fn vector_07_bws_around_equals() {
    let c = only(&[r#"UMA as_uri = "https://a" , ticket = t"#], STRICT);
    check(&c, "https://a", "t", None);
    assert!(!c.lax);
}

#[test]
fn vector_08_second_challenge_in_line() {
    let line = r#"Bearer realm="api", UMA realm="api", as_uri="https://a", ticket="t""#;
    let c = only(&[line], STRICT);
    check(&c, "https://a", "t", Some("api"));
    let all = params(line);
    assert_eq!(all.len(), 2);
    assert_eq!(all[0], ("bearer".to_owned(), vec![p("realm", "api")]));
}

#[test]
fn vector_09_two_field_lines() {
    let lines = [
        r#"Bearer realm="api""#,
        r#"UMA realm="api", as_uri="https://a", ticket="t""#,
    ];
    let c = only(&lines, STRICT);
    check(&c, "https://a", "t", Some("api"));
    assert_eq!(parse_headers(&headers(&lines)).len(), 2);
}

#[test]
fn vector_10_openig_param_line_and_body_ticket() {
    let lines = [r#"UMA realm="OpenIG""#, r#"as_uri="https://a""#];
    let body = br#"{"ticket":"t"}"#;
    let found = cands(F403, &lines, body, LAX).expect("UMA 1.0 form");
    assert_eq!(found.len(), 1);
    check(&found[0], "https://a", "t", Some("OpenIG"));
    assert_eq!(found[0].form, ChallengeForm::Uma1BodyTicket);
    assert!(found[0].lax, "parameter-only line is a lax rule");
    assert_eq!(
        cands(F403, &lines, body, STRICT).unwrap_err(),
        ChallengeError::NotStrict
    );
    assert_eq!(
        cands(F403, &lines, b"", LAX).unwrap_err(),
        ChallengeError::MissingTicket
    );
    assert_eq!(
        cands(F403, &lines, b"<html>", LAX).unwrap_err(),
        ChallengeError::MissingTicket
    );
}

#[test]
fn vector_11_ticket_keeps_padding() {
    let c = only(
        &[r#"UMA realm="x", as_uri="https://a", ticket="ZXJyb3JfZGV0YWlscw==""#],
        STRICT,
    );
    check(&c, "https://a", "ZXJyb3JfZGV0YWlscw==", Some("x"));
}

#[test]
fn vector_12_duplicate_as_uri_rejected() {
    let line = r#"UMA realm="x", as_uri="https://a", as_uri="https://b", ticket="t""#;
    for s in [LAX, STRICT] {
        assert_eq!(
            cands(U401, &[line], b"", s).unwrap_err(),
            ChallengeError::DuplicateParameter("as_uri")
        );
    }
    assert!(parse_field_values([line.as_bytes()])[0].duplicate_params);
}

#[test]
fn vector_13_missing_as_uri() {
    for s in [LAX, STRICT] {
        let err = cands(U401, &[r#"UMA realm="x", ticket="t""#], b"", s).unwrap_err();
        assert_eq!(err, ChallengeError::MissingAsUri);
    }
}

#[test]
fn vector_14_bearer_without_ticket_is_not_uma() {
    let line = r#"Bearer realm="https://portal.example/oidc/authenticate/""#;
    assert!(cands(U401, &[line], b"", LAX).unwrap().is_empty());
    assert_eq!(
        params(line),
        [(
            "bearer".to_owned(),
            vec![p("realm", "https://portal.example/oidc/authenticate/")]
        )]
    );
}

#[test]
fn vector_15_free_text() {
    let line = "Please login to access the resource";
    for s in [LAX, STRICT] {
        assert!(cands(U401, &[line], b"", s).unwrap().is_empty());
    }
    let parsed = parse_field_values([line.as_bytes()]);
    assert_eq!(parsed.len(), 1);
    assert_eq!(parsed[0].scheme, "please");
    assert!(parsed[0].lax && parsed[0].params.is_empty());
}

#[test]
fn vector_16_empty_list_elements() {
    let c = only(
        &[r#"UMA realm="x",, ,as_uri="https://a",ticket="t""#],
        STRICT,
    );
    check(&c, "https://a", "t", Some("x"));
}

#[test]
fn vector_17_rfc9110_example() {
    let line = r#"Basic realm="simple", Newauth realm="apps", type=1, title="Login to \"apps\"""#;
    assert_eq!(
        params(line),
        [
            ("basic".to_owned(), vec![p("realm", "simple")]),
            (
                "newauth".to_owned(),
                vec![
                    p("realm", "apps"),
                    p("type", "1"),
                    p("title", r#"Login to "apps""#)
                ]
            ),
        ]
    );
    assert!(parse_field_values([line.as_bytes()]).iter().all(|c| !c.lax));
    assert!(cands(U401, &[line], b"", STRICT).unwrap().is_empty());
}

#[test]
fn vector_18_missing_comma_after_quote() {
    let line = r#"UMA realm="x", as_uri="https://a"  error="insufficient_scope""#;
    let parsed = parse_field_values([line.as_bytes()]);
    assert_eq!(parsed.len(), 1);
    assert!(parsed[0].lax);
    assert_eq!(
        parsed[0].params,
        [
            p("realm", "x"),
            p("as_uri", "https://a"),
            p("error", "insufficient_scope")
        ]
    );
    let body = br#"{"ticket":"t"}"#;
    let found = cands(F403, &[line], body, LAX).expect("lax accepts");
    check(&found[0], "https://a", "t", Some("x"));
    assert_eq!(found[0].form, ChallengeForm::Uma1BodyTicket);
    assert_eq!(
        cands(F403, &[line], body, STRICT).unwrap_err(),
        ChallengeError::NotStrict
    );
    // With a header ticket the strict/lax split is the same.
    let with_ticket = r#"UMA as_uri="https://a" ticket="t""#;
    check(&only(&[with_ticket], LAX), "https://a", "t", None);
    assert_eq!(
        cands(U401, &[with_ticket], b"", STRICT).unwrap_err(),
        ChallengeError::NotStrict
    );
}

#[test]
fn vector_19_http_as_uri_parses() {
    let c = only(&[r#"UMA realm="x", as_uri="http://a", ticket="t""#], STRICT);
    check(&c, "http://a", "t", Some("x"));
}

#[test]
fn vector_20_underscore_typo_is_not_uma() {
    let line = r#"UMA_realm="example",as_uri="https://a",ticket="t""#;
    assert!(parse_field_values([line.as_bytes()]).is_empty());
    for s in [LAX, STRICT] {
        assert!(cands(U401, &[line], b"", s).unwrap().is_empty());
    }
}

// ---- §8.4 catalogue rows not covered above ----

#[test]
fn catalogue_spec_example_obs_folded() {
    let folded = b"UMA realm=\"example\",\r\n   as_uri=\"https://as.example.com\",\r\n   ticket=\"016f84e8\"";
    let parsed = parse_field_values([&folded[..]]);
    assert_eq!(parsed.len(), 1);
    assert!(!parsed[0].lax);
    assert_eq!(parsed[0].param("as_uri"), Some("https://as.example.com"));
    assert_eq!(parsed[0].param("ticket"), Some("016f84e8"));
}

#[test]
fn catalogue_keycloak_jwt_ticket() {
    let line = r#"UMA realm="myrealm",as_uri="https://kc.example.org/realms/myrealm",ticket="eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln""#;
    let c = only(&[line], STRICT);
    check(
        &c,
        "https://kc.example.org/realms/myrealm",
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
        Some("myrealm"),
    );
}

#[test]
fn catalogue_keycloak_without_user_managed_access() {
    assert!(cands(F403, &[], b"", LAX).unwrap().is_empty());
    assert!(cands(StatusCode::FOUND, &[], b"", LAX).unwrap().is_empty());
}

#[test]
fn catalogue_keycloak_legacy_adapters() {
    let lines = [
        r#"UMA realm="app",as_uri="https://kc/auth/realms/r/authz/authorize",ticket="x1""#,
        r#"KC_ETT realm="app",as_uri="https://kc/auth/realms/r/authz/entitlement""#,
    ];
    let c = only(&lines, STRICT);
    check(
        &c,
        "https://kc/auth/realms/r/authz/authorize",
        "x1",
        Some("app"),
    );
    assert_eq!(parse_headers(&headers(&lines))[1].scheme, "kc_ett");
}

#[test]
fn catalogue_eoepca_keycloak_prototype() {
    let c = only(
        &["UMA realm=eoepca, as_uri=https://kc.example.org, ticket=eyJ0.eyJ1.c2"],
        LAX,
    );
    check(&c, "https://kc.example.org", "eyJ0.eyJ1.c2", Some("eoepca"));
}

#[test]
fn catalogue_uma1_core_example_body_ticket() {
    let line = r#"UMA realm="example", as_uri="https://as.example.com""#;
    let found = cands(F403, &[line], br#"{"ticket": "016f84e8", "other": 1}"#, LAX).unwrap();
    check(
        &found[0],
        "https://as.example.com",
        "016f84e8",
        Some("example"),
    );
    assert_eq!(found[0].form, ChallengeForm::Uma1BodyTicket);
    assert!(!found[0].lax);
    // Too large a body is not read.
    let mut big = br#"{"ticket": "t", "pad": ""#.to_vec();
    big.resize(70 * 1024, b'a');
    big.extend_from_slice(b"\"}");
    assert_eq!(
        cands(F403, &[line], &big, LAX).unwrap_err(),
        ChallengeError::MissingTicket
    );
    // A non-string ticket is not a ticket; an invalid one is reported.
    assert_eq!(
        cands(F403, &[line], br#"{"ticket": 5}"#, LAX).unwrap_err(),
        ChallengeError::MissingTicket
    );
    assert!(matches!(
        cands(F403, &[line], br#"{"ticket": "a b"}"#, LAX).unwrap_err(),
        ChallengeError::InvalidTicket { .. }
    ));
}

#[test]
fn catalogue_mixed_rs() {
    let line = r#"Bearer realm="api", error="invalid_token", UMA realm="api", as_uri="https://as.example.org", ticket="t""#;
    let c = only(&[line], STRICT);
    check(&c, "https://as.example.org", "t", Some("api"));
}

#[test]
fn catalogue_eoepca_docs_bearer_with_ticket() {
    let line = r#"Bearer realm="eoepca",ticket="t-9""#;
    let c = only(&[line], LAX);
    assert_eq!(c.as_uri, None);
    assert_eq!(c.ticket.secret(), "t-9");
    assert_eq!(c.form, ChallengeForm::Bearer);
    assert!(cands(U401, &[line], b"", STRICT).unwrap().is_empty());
    // A spec-form candidate wins over the fallback.
    let both = [line, r#"UMA as_uri="https://a", ticket="u""#];
    let found = cands(U401, &both, b"", LAX).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].form, ChallengeForm::Uma);
}

#[test]
fn several_candidates_in_order() {
    let line = r#"UMA as_uri="https://a", ticket="1", UMA as_uri="https://b", ticket="2""#;
    let found = cands(U401, &[line], b"", STRICT).unwrap();
    let uris: Vec<_> = found.iter().map(|c| c.as_uri.as_deref()).collect();
    assert_eq!(uris, [Some("https://a"), Some("https://b")]);
}

#[test]
fn unusable_challenge_ignored_when_another_is_usable() {
    let line = r#"UMA ticket="1", UMA as_uri="https://b", ticket="2""#;
    assert_eq!(only(&[line], STRICT).ticket.secret(), "2");
}

#[test]
fn other_statuses_are_not_uma() {
    for status in [
        StatusCode::OK,
        StatusCode::INTERNAL_SERVER_ERROR,
        StatusCode::NOT_FOUND,
    ] {
        assert!(cands(status, &[V1], b"", LAX).unwrap().is_empty());
    }
}

#[test]
fn invalid_values_are_errors() {
    let bad_uri = [
        ("ftp://a", "scheme"),
        ("/relative", "absolute"),
        ("https://u:p@a", "userinfo"),
        ("https://a?x=1", "query"),
        ("https://a#f", "fragment"),
        ("https://a b", "characters"),
        ("", "empty"),
    ];
    for (uri, why) in bad_uri {
        let line = format!(r#"UMA as_uri="{uri}", ticket="t""#);
        match cands(U401, &[&line], b"", LAX).unwrap_err() {
            ChallengeError::InvalidAsUri { reason } => {
                assert!(reason.contains(why), "{uri}: {reason}")
            }
            other => panic!("{uri}: {other:?}"),
        }
    }
    let long = format!(
        r#"UMA as_uri="https://a", ticket="{}""#,
        "a".repeat(8 * 1024 + 1)
    );
    for (line, why) in [
        (r#"UMA as_uri="https://a", ticket="""#, "empty"),
        (r#"UMA as_uri="https://a", ticket="a b""#, "visible ASCII"),
        (long.as_str(), "too long"),
    ] {
        match cands(U401, &[line], b"", LAX).unwrap_err() {
            ChallengeError::InvalidTicket { reason } => assert!(reason.contains(why), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
    let dup_ticket = r#"UMA as_uri="https://a", ticket="t", Ticket="u""#;
    assert_eq!(
        cands(U401, &[dup_ticket], b"", LAX).unwrap_err(),
        ChallengeError::DuplicateParameter("ticket")
    );
}

#[test]
fn errors_do_not_show_tickets() {
    let line = r#"UMA as_uri="https://a?q", ticket="SECRET-TICKET""#;
    let err = cands(U401, &[line], b"", LAX).unwrap_err();
    assert!(!format!("{err} {err:?}").contains("SECRET"));
    let c = only(&[r#"UMA as_uri="https://a", ticket="SECRET-TICKET""#], LAX);
    assert!(!format!("{c:?}").contains("SECRET"));
}
