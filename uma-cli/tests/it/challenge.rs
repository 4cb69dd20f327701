//! `uma challenge` on every docs/protocol.md §8.5 vector.

use crate::common::{self, uma};
use serde_json::{Value, json};

/// Runs `uma challenge` with `args`, checks the exit status, and returns the JSON document.
fn parse_with(args: &[&str], code: i32) -> Value {
    let mut all = vec!["challenge"];
    all.extend_from_slice(args);
    let run = uma(&all);
    assert_eq!(run.code, code, "{}", run.all());
    run.json()
}

/// A usable UMA challenge: exit 0.
fn parse(args: &[&str]) -> Value {
    parse_with(args, 0)
}

/// The `uma` member as (as_uri, ticket), or None when null.
fn uma_of(doc: &Value) -> Option<(Value, String)> {
    let u = &doc["uma"];
    if u.is_null() {
        return None;
    }
    Some((
        u["as_uri"].clone(),
        u["ticket"].as_str().unwrap().to_owned(),
    ))
}

fn expect_uma(args: &[&str], as_uri: &str, ticket: &str) -> Value {
    let doc = parse(args);
    assert_eq!(
        uma_of(&doc),
        Some((json!(as_uri), ticket.to_owned())),
        "{args:?} -> {doc}"
    );
    doc
}

fn expect_not_uma(args: &[&str]) -> Value {
    // Nothing usable: the JSON is still printed, and the exit status says so.
    let doc = parse_with(args, 1);
    assert!(doc["uma"].is_null(), "{args:?} -> {doc}");
    doc
}

#[test]
fn v01_spec_example_full_shape() {
    let doc = expect_uma(
        &[
            r#"UMA realm="example", as_uri="https://as.example.com", ticket="016f84e8-f9b9-11e0-bd6f-0021cc6004de""#,
        ],
        "https://as.example.com",
        "016f84e8-f9b9-11e0-bd6f-0021cc6004de",
    );
    assert_eq!(
        doc,
        json!({
            "challenges": [{"scheme": "uma", "params": {
                "realm": "example", "as_uri": "https://as.example.com",
                "ticket": "016f84e8-f9b9-11e0-bd6f-0021cc6004de"}}],
            "uma": {"as_uri": "https://as.example.com",
                    "ticket": "016f84e8-f9b9-11e0-bd6f-0021cc6004de", "realm": "example"}
        })
    );
}

#[test]
fn v01_folded_over_lines() {
    expect_uma(
        &["UMA realm=\"example\",\r\n  as_uri=\"https://as.example.com\",\r\n  ticket=\"t1\""],
        "https://as.example.com",
        "t1",
    );
}

#[test]
fn v02_keycloak_no_spaces() {
    expect_uma(
        &[r#"UMA realm="r",as_uri="https://kc/realms/r",ticket="a.b.c""#],
        "https://kc/realms/r",
        "a.b.c",
    );
}

#[test]
fn v03_case_insensitive_names() {
    let doc = expect_uma(
        &[r#"uma REALM="r", AS_URI="https://a", Ticket="t""#],
        "https://a",
        "t",
    );
    assert_eq!(doc["challenges"][0]["params"]["realm"], "r");
}

#[test]
fn v04_unquoted_eoepca_is_accepted_leniently() {
    expect_uma(
        &["UMA realm=eoepca,as_uri=https://auth.example,ticket=6b2c-1"],
        "https://auth.example",
        "6b2c-1",
    );
}

#[test]
fn v05_comma_inside_quotes() {
    let doc = expect_uma(
        &[r#"UMA realm="a, b", as_uri="https://a", ticket="t""#],
        "https://a",
        "t",
    );
    assert_eq!(doc["uma"]["realm"], "a, b");
}

#[test]
fn v06_quoted_pairs() {
    let doc = expect_uma(
        &[r#"UMA realm="say \"hi\"", as_uri="https://a", ticket="t\\x""#],
        "https://a",
        r"t\x",
    );
    assert_eq!(doc["uma"]["realm"], r#"say "hi""#);
}

#[test]
fn v07_bws_around_equals() {
    expect_uma(
        &[r#"UMA as_uri = "https://a" , ticket = t"#],
        "https://a",
        "t",
    );
}

#[test]
fn v08_second_challenge_in_one_line() {
    let doc = expect_uma(
        &[r#"Bearer realm="api", UMA realm="api", as_uri="https://a", ticket="t""#],
        "https://a",
        "t",
    );
    assert_eq!(doc["challenges"][0]["scheme"], "bearer");
    assert_eq!(doc["challenges"][1]["scheme"], "uma");
}

#[test]
fn v09_two_field_lines() {
    let doc = expect_uma(
        &[
            r#"Bearer realm="api""#,
            r#"UMA realm="api", as_uri="https://a", ticket="t""#,
        ],
        "https://a",
        "t",
    );
    assert_eq!(doc["challenges"].as_array().unwrap().len(), 2);
}

#[test]
fn v10_uma1_body_ticket_on_403() {
    expect_uma(
        &[
            "--status",
            "403",
            "--body",
            r#"{"ticket":"t"}"#,
            r#"UMA realm="OpenIG""#,
            r#"as_uri="https://a""#,
        ],
        "https://a",
        "t",
    );
    // Without the body there is no ticket.
    expect_not_uma(&[
        "--status",
        "403",
        r#"UMA realm="OpenIG""#,
        r#"as_uri="https://a""#,
    ]);
}

#[test]
fn v11_padding_kept() {
    expect_uma(
        &[r#"UMA realm="x", as_uri="https://a", ticket="ZXJyb3JfZGV0YWlscw==""#],
        "https://a",
        "ZXJyb3JfZGV0YWlscw==",
    );
}

#[test]
fn v12_duplicate_as_uri_rejected() {
    let run = uma(&[
        "challenge",
        r#"UMA realm="x", as_uri="https://a", as_uri="https://b", ticket="t""#,
    ]);
    assert_eq!(run.code, 1);
    assert!(run.json()["uma"].is_null());
    assert!(
        run.stderr.contains("repeats the `as_uri`"),
        "{}",
        run.stderr
    );
}

#[test]
fn v13_no_as_uri_not_usable() {
    expect_not_uma(&[r#"UMA realm="x", ticket="t""#]);
}

#[test]
fn v14_bearer_without_ticket_not_uma() {
    let doc = expect_not_uma(&[r#"Bearer realm="https://portal.example/oidc/authenticate/""#]);
    assert_eq!(
        doc["challenges"][0]["params"]["realm"],
        "https://portal.example/oidc/authenticate/"
    );
}

#[test]
fn v15_free_text_not_uma() {
    expect_not_uma(&["Please login to access the resource"]);
}

#[test]
fn v16_empty_elements_ignored() {
    expect_uma(
        &[r#"UMA realm="x",, ,as_uri="https://a",ticket="t""#],
        "https://a",
        "t",
    );
}

#[test]
fn v17_rfc9110_example_two_challenges() {
    let doc = expect_not_uma(&[
        r#"Basic realm="simple", Newauth realm="apps", type=1, title="Login to \"apps\"""#,
    ]);
    assert_eq!(
        doc["challenges"],
        json!([
            {"scheme": "basic", "params": {"realm": "simple"}},
            {"scheme": "newauth", "params": {"realm": "apps", "type": "1", "title": "Login to \"apps\""}}
        ])
    );
}

#[test]
fn v18_missing_comma_lax() {
    let doc = parse_with(
        &[r#"UMA realm="x", as_uri="https://a"  error="insufficient_scope""#],
        1,
    );
    assert_eq!(doc["challenges"][0]["params"]["as_uri"], "https://a");
    assert_eq!(
        doc["challenges"][0]["params"]["error"],
        "insufficient_scope"
    );
    assert!(doc["uma"].is_null(), "no ticket: {doc}");
}

#[test]
fn v19_http_as_uri_parses() {
    // The https policy belongs to `fetch`; the parser reports what was sent.
    expect_uma(
        &[r#"UMA realm="x", as_uri="http://a", ticket="t""#],
        "http://a",
        "t",
    );
}

#[test]
fn v20_underscore_typo_not_uma() {
    let doc = expect_not_uma(&[r#"UMA_realm="example",as_uri="https://a",ticket="t""#]);
    assert!(
        doc["challenges"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["scheme"] != "uma")
    );
}

#[test]
fn token68_and_bearer_ticket_without_as_uri() {
    let doc = parse(&["Basic dXNlcjpwdw==", r#"Bearer realm="api", ticket="t9""#]);
    assert_eq!(
        doc["challenges"][0],
        json!({"scheme": "basic", "token68": "dXNlcjpwdw=="})
    );
    assert_eq!(
        doc["uma"],
        json!({"as_uri": null, "ticket": "t9", "realm": "api"})
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(uma(&["challenge"]).code, 2);
    assert_eq!(uma(&["challenge", "--status", "99", "UMA x=y"]).code, 2);
    assert_eq!(uma(&["challenge", "bad\u{1}value"]).code, 2);
}

#[test]
fn no_usable_challenge_exits_1_with_the_json_and_a_reason() {
    let run = uma(&["challenge", r#"Bearer realm="api""#]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.json()["uma"].is_null());
    assert_eq!(run.json()["challenges"][0]["scheme"], "bearer");
    assert!(
        run.stderr.starts_with("uma: no usable UMA challenge"),
        "{}",
        run.stderr
    );
}

#[test]
fn pasted_field_name_is_not_taken_for_the_scheme() {
    for pasted in [
        r#"WWW-Authenticate: UMA realm="r", as_uri="https://as.example", ticket="t1""#,
        r#"www-authenticate:UMA realm="r", as_uri="https://as.example", ticket="t1""#,
    ] {
        let doc = expect_uma(&[pasted], "https://as.example", "t1");
        assert_eq!(doc["challenges"][0]["scheme"], "uma", "{doc}");
    }
}

#[test]
fn dash_reads_field_values_or_a_response_head_from_stdin() {
    let value = br#"UMA realm="r", as_uri="https://as.example", ticket="t2""#;
    let run = common::uma_stdin(&["challenge", "-"], value, &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.json()["uma"]["ticket"], "t2");

    // What `curl -si URL` prints: the status line counts, other fields are skipped, folding is undone.
    let head = b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nWWW-Authenticate: UMA realm=\"r\",\r\n as_uri=\"https://as.example\"\r\n\r\n";
    let run = common::uma_stdin(
        &["challenge", "--body", r#"{"ticket":"t3"}"#, "-"],
        head,
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        run.json()["uma"]["ticket"],
        "t3",
        "UMA 1.0 body ticket on the 403"
    );
    assert_eq!(run.json()["challenges"].as_array().unwrap().len(), 1);

    let run = common::uma_stdin(&["challenge", "-"], b"Bearer realm=\"x\"\n", &[]);
    assert_eq!(run.code, 1, "{}", run.all());
}
