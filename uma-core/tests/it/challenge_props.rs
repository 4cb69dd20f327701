//! Property tests: the parser never panics, and `render` → `parse` round-trips.

use http::{HeaderMap, HeaderValue, StatusCode, header::WWW_AUTHENTICATE};
use proptest::prelude::*;
use uma_core::challenge::{
    ChallengeForm, MAX_CHALLENGES, MAX_PARAMS, Strictness, parse_field_values, render,
    uma_candidates,
};
use uma_core::secret::Ticket;

/// Bytes biased towards the grammar's delimiters so that interesting paths are hit often.
fn byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => any::<u8>(),
        5 => prop::sample::select(b" \t,=\"\\\r\nUMAaBearticket_/+~.-:".to_vec()),
    ]
}

fn lines() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(byte(), 0..200), 0..4)
}

fn as_uri() -> impl Strategy<Value = String> {
    (
        prop::bool::ANY,
        "[a-z][a-z0-9]{0,8}(\\.[a-z][a-z0-9-]{0,8}[a-z0-9]){0,2}",
        prop::option::of(1u16..=65535),
        "(/[A-Za-z0-9._~!$&'()*+,;=:@-]{0,10}){0,3}",
    )
        .prop_map(|(tls, host, port, path)| {
            let scheme = if tls { "https" } else { "http" };
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            format!("{scheme}://{host}{port}{path}")
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parser_never_panics(values in lines()) {
        let parsed = parse_field_values(values.iter().map(Vec::as_slice));
        prop_assert!(parsed.len() <= MAX_CHALLENGES);
        for c in &parsed {
            prop_assert!(!c.scheme.is_empty());
            prop_assert!(!c.scheme.bytes().any(|b| b.is_ascii_uppercase()));
            prop_assert!(c.params.len() <= MAX_PARAMS);
            let dbg = format!("{:?}", c);
            prop_assert!(!dbg.is_empty());
        }
    }

    #[test]
    fn candidates_never_panic(values in lines(), body in prop::collection::vec(byte(), 0..64)) {
        let mut headers = HeaderMap::new();
        for v in &values {
            if let Ok(v) = HeaderValue::from_bytes(v) {
                headers.append(WWW_AUTHENTICATE, v);
            }
        }
        for s in [Strictness::Lax, Strictness::Strict] {
            let _ = uma_candidates(StatusCode::FORBIDDEN, &headers, &body, s);
        }
    }

    #[test]
    fn render_parse_round_trip(
        realm in prop::option::of(prop_oneof!["[ -~\t]{0,40}", "\\PC{0,10}"]),
        uri in as_uri(),
        ticket in "[!-~]{1,200}",
        before in prop::option::of(Just(r#"Bearer realm="api", error="invalid_token""#)),
    ) {
        let value = render(realm.as_deref(), &uri, &Ticket::new(ticket.clone())).unwrap();
        let mut headers = HeaderMap::new();
        if let Some(b) = before {
            headers.append(WWW_AUTHENTICATE, HeaderValue::from_static(b));
        }
        headers.append(WWW_AUTHENTICATE, value);
        let found = uma_candidates(StatusCode::UNAUTHORIZED, &headers, b"", Strictness::Strict).unwrap();
        prop_assert_eq!(found.len(), 1);
        let c = &found[0];
        prop_assert_eq!(c.as_uri.as_deref(), Some(uri.as_str()));
        prop_assert_eq!(c.ticket.secret(), ticket.as_str());
        prop_assert_eq!(c.realm.as_deref(), realm.as_deref());
        prop_assert_eq!(c.form, ChallengeForm::Uma);
        prop_assert!(!c.lax);
    }
}
