//! Parser details beyond the §8.5 vectors: token68, limits, malformed input, Debug redaction,
//! rendering.

use uma_core::challenge::{
    ChallengeError, MAX_CHALLENGES, MAX_FIELD_BYTES, MAX_PARAMS, parse_field_values, render,
};
use uma_core::secret::Ticket;

fn parse(line: &[u8]) -> Vec<uma_core::challenge::Challenge> {
    parse_field_values([line])
}

#[test]
fn token68_and_params_after_it() {
    let c = parse(b"Basic dXNlcjpwYXNz==, Foo abc/+=");
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].token68.as_deref(), Some("dXNlcjpwYXNz=="));
    assert_eq!(c[1].token68.as_deref(), Some("abc/+="));
    assert!(!c[0].lax && c[0].params.is_empty());
    let mixed = parse(b"Foo abc=, realm=\"x\"");
    assert_eq!(mixed.len(), 1);
    assert!(mixed[0].lax, "token68 and params together");
    assert_eq!(mixed[0].param("realm"), Some("x"));
}

#[test]
fn scheme_alone_and_empty_input() {
    assert!(parse(b"").is_empty());
    assert!(parse(b" , ,, ").is_empty());
    let c = parse(b"Negotiate, NTLM");
    assert_eq!(
        c.iter().map(|c| c.scheme.as_str()).collect::<Vec<_>>(),
        ["negotiate", "ntlm"]
    );
    assert!(c.iter().all(|c| !c.lax));
}

#[test]
fn unterminated_quote_takes_rest_of_line_only() {
    let c = parse_field_values([
        &b"UMA realm=\"abc, ticket=\"t"[..],
        &b"Bearer realm=\"b\""[..],
    ]);
    assert_eq!(c.len(), 2);
    assert!(c[0].lax);
    assert_eq!(c[0].param("realm"), Some("abc, ticket="));
    assert_eq!(c[0].param("ticket"), None);
    assert_eq!(c[1].param("realm"), Some("b"));
}

#[test]
fn trailing_text_after_quote_is_lax_and_skipped() {
    let c = parse(br#"UMA realm="x" junk "y,z", ticket="t""#);
    assert!(c[0].lax);
    assert_eq!(c[0].param("realm"), Some("x"));
    assert_eq!(c[0].param("ticket"), Some("t"));
}

#[test]
fn garbage_elements_do_not_start_challenges() {
    let c = parse(br#"UMA ticket="t", "quoted", =x, /path"#);
    assert_eq!(c.len(), 1);
    assert!(c[0].lax);
    assert!(parse(br#""only", =, @"#).is_empty());
    let glued = parse(br#"UMA"x", Bearer"#);
    assert_eq!(glued.len(), 2);
    assert!(glued[0].lax);
}

#[test]
fn not_utf8_is_lossy_not_fatal() {
    let c = parse(b"UMA realm=\"caf\xe9\", ticket=\"\xff\xfe\", \xc3\x28=1");
    assert_eq!(c[0].param("realm"), Some("caf\u{fffd}"));
    assert_eq!(c[0].param("ticket"), Some("\u{fffd}\u{fffd}"));
    let utf8 = parse("UMA realm=\"café\"".as_bytes());
    assert_eq!(utf8[0].param("realm"), Some("café"));
    assert!(!utf8[0].lax);
}

#[test]
fn control_characters_make_it_lax() {
    let c = parse(b"UMA ticket=\"a\x01b\"");
    assert!(c[0].lax);
    assert_eq!(c[0].param("ticket"), Some("a\u{1}b"));
    let tab = parse(b"UMA realm=\"a\tb\"");
    assert!(!tab[0].lax, "HTAB is qdtext");
}

#[test]
fn unquoted_empty_value_is_lax() {
    // Right after the scheme, `realm=` alone is a token68 (RFC 9110 §11.3).
    assert_eq!(parse(b"UMA realm=")[0].token68.as_deref(), Some("realm="));
    let c = parse(b"UMA x=1, realm=, ticket=t");
    assert!(c[0].lax);
    assert_eq!(c[0].param("realm"), Some(""));
    assert_eq!(c[0].param("ticket"), Some("t"));
}

#[test]
fn lax_unquoted_value_respects_quotes() {
    let c = parse(br#"Foo title=Login "a,b" now, x=1"#);
    assert_eq!(c.len(), 1);
    assert!(c[0].lax);
    assert_eq!(c[0].param("title"), Some(r#"Login "a,b" now"#));
    assert_eq!(c[0].param("x"), Some("1"));
}

#[test]
fn param_only_first_line_is_dropped() {
    let c = parse_field_values([&b"as_uri=\"https://a\""[..], &b"UMA ticket=t"[..]]);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].param("as_uri"), None);
    assert!(!c[0].lax);
}

#[test]
fn limits() {
    let many: String = (0..MAX_CHALLENGES + 10)
        .map(|i| format!("S{i} a=1, "))
        .collect();
    let c = parse(many.as_bytes());
    assert_eq!(c.len(), MAX_CHALLENGES);
    assert_eq!(
        c[MAX_CHALLENGES - 1].scheme,
        format!("s{}", MAX_CHALLENGES - 1)
    );

    let params: String = (0..MAX_PARAMS + 5).map(|i| format!(", p{i}=v")).collect();
    let c = parse(format!("UMA x=1{params}").as_bytes());
    assert_eq!(c[0].params.len(), MAX_PARAMS);
    assert!(c[0].lax);

    let big = vec![b'a'; MAX_FIELD_BYTES];
    let c = parse_field_values([&b"UMA ticket=t"[..], &big[..], &b"Bearer"[..]]);
    assert_eq!(
        c.len(),
        1,
        "the line crossing the limit and later lines are ignored"
    );
    let exact = vec![b'a'; MAX_FIELD_BYTES];
    assert_eq!(parse(&exact).len(), 1);
}

#[test]
fn long_hostile_input_is_fast() {
    // Quadratic behaviour would show here: 60 KiB of every awkward construct.
    let unit = br#"a="\"\\, b=c d e,, ="#;
    let input: Vec<u8> = unit.iter().copied().cycle().take(60 * 1024).collect();
    let start = std::time::Instant::now();
    for _ in 0..10 {
        let _ = parse(&input);
    }
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn challenge_debug_redacts_ticket_and_token68() {
    let c = parse(br#"UMA realm="r", as_uri="https://a", TICKET="SECRET1", Foo SECRET2=="#);
    let dbg = format!("{c:?}");
    assert!(!dbg.contains("SECRET"), "{dbg}");
    assert!(dbg.contains("[redacted]") && dbg.contains("https://a") && dbg.contains("uma"));
}

#[test]
fn render_spec_form_and_escapes() {
    let t = Ticket::new(r#"a"b\c"#);
    let v = render(
        Some(r#"say "hi" \ there"#),
        "https://as.example.org/realms/x",
        &t,
    )
    .unwrap();
    assert_eq!(
        v,
        r#"UMA realm="say \"hi\" \\ there", as_uri="https://as.example.org/realms/x", ticket="a\"b\\c""#
    );
    let v = render(None, "https://a", &Ticket::new("t")).unwrap();
    assert_eq!(v, r#"UMA as_uri="https://a", ticket="t""#);
}

#[test]
fn render_rejects_what_cannot_be_a_header() {
    let t = Ticket::new("t");
    assert!(matches!(
        render(Some("a\r\nX: y"), "https://a", &t),
        Err(ChallengeError::InvalidRealm { .. })
    ));
    assert!(matches!(
        render(Some("a\u{7f}"), "https://a", &t),
        Err(ChallengeError::InvalidRealm { .. })
    ));
    assert!(matches!(
        render(None, "https://a\r\n", &t),
        Err(ChallengeError::InvalidAsUri { .. })
    ));
    assert!(matches!(
        render(None, "https://a?q", &t),
        Err(ChallengeError::InvalidAsUri { .. })
    ));
    assert!(matches!(
        render(None, "https://a", &Ticket::new("a\nb")),
        Err(ChallengeError::InvalidTicket { .. })
    ));
    assert!(matches!(
        render(None, "https://a", &Ticket::new("")),
        Err(ChallengeError::InvalidTicket { .. })
    ));
    assert!(render(Some("tab\there é"), "https://a", &t).is_ok());
}
