//! Target `challenge`: `WWW-Authenticate` field lines (docs/protocol.md §8).
//!
//! Input: field-line values separated by `\n`, then optionally an empty line and a response body
//! (the UMA 1.0 body ticket, §8.3 step 4). A line starting with SP or HTAB continues the previous
//! one as an obsolete fold (`CRLF SP`, §8.2 rule 7).

use http::{HeaderMap, HeaderValue, StatusCode, header::WWW_AUTHENTICATE};
use uma_core::challenge::{
    Challenge, ChallengeError, MAX_CHALLENGES, MAX_PARAMS, Strictness, UmaChallenge,
    parse_field_values, parse_headers, render, uma_candidates, validate_as_uri, validate_ticket,
};
use uma_core::secret::Ticket;

use super::support::{assert_printable, canary};

/// Decodes the input into field-line values and a body.
fn decode(data: &[u8]) -> (Vec<Vec<u8>>, &[u8]) {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &[][..]),
    };
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for line in head.split(|&b| b == b'\n') {
        match (line.first(), lines.last_mut()) {
            (Some(b' ' | b'\t'), Some(previous)) => {
                previous.extend_from_slice(b"\r\n");
                previous.extend_from_slice(line);
            }
            _ => lines.push(line.to_vec()),
        }
    }
    (lines, body)
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let (lines, body) = decode(data);
    let parsed = parse_field_values(lines.iter().map(Vec::as_slice));
    check_parsed(&parsed);

    // What an HTTP stack can carry: lines `http` accepts as header values.
    let mut headers = HeaderMap::new();
    let mut valid = Vec::new();
    for line in &lines {
        if let Ok(value) = HeaderValue::from_bytes(line) {
            headers.append(WWW_AUTHENTICATE, value);
            valid.push(line.as_slice());
        }
    }
    assert_eq!(
        parse_headers(&headers),
        parse_field_values(valid),
        "parse_headers differs from parse_field_values over the same lines"
    );

    // §8.2 rule 9: only 401 and 403 carry UMA challenges.
    for status in [
        StatusCode::OK,
        StatusCode::NOT_FOUND,
        StatusCode::BAD_REQUEST,
    ] {
        for strictness in [Strictness::Strict, Strictness::Lax] {
            let found = uma_candidates(status, &headers, body, strictness);
            assert!(
                matches!(&found, Ok(v) if v.is_empty()),
                "status {status} produced {found:?}"
            );
        }
    }
    for status in [StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN] {
        let strict = uma_candidates(status, &headers, body, Strictness::Strict);
        let lax = uma_candidates(status, &headers, body, Strictness::Lax);
        check_candidates(&strict);
        check_candidates(&lax);
        // Lax accepts every candidate strict accepts (strict finding nothing says nothing: lax
        // may then fail on a fallback form strict never looks at).
        if let Some(strict) = strict.as_ref().ok().filter(|l| !l.is_empty()) {
            let Ok(lax) = &lax else {
                panic!("strict found {strict:?} but lax failed: {lax:?}");
            };
            for s in strict {
                assert!(
                    lax.iter()
                        .any(|l| l.as_uri == s.as_uri && l.ticket.same_as(&s.ticket)),
                    "strict candidate {s:?} missing from lax {lax:?}"
                );
            }
        }
        if let Ok(lax) = &lax {
            lax.iter().for_each(check_render_round_trip);
        }
    }
}

/// Structural promises of the parser, and `Debug` redaction of tickets and token68.
fn check_parsed(parsed: &[Challenge]) {
    assert!(
        parsed.len() <= MAX_CHALLENGES,
        "{} challenges",
        parsed.len()
    );
    for c in parsed {
        assert!(!c.scheme.is_empty(), "empty scheme in {c:?}");
        assert!(
            !c.scheme.chars().any(|ch| ch.is_ascii_uppercase()),
            "scheme not lower-cased: {c:?}"
        );
        assert!(c.params.len() <= MAX_PARAMS, "{} params", c.params.len());
        for (name, _) in &c.params {
            assert!(!name.is_empty(), "empty parameter name in {c:?}");
            assert!(
                !name.chars().any(|ch| ch.is_ascii_uppercase()),
                "parameter name not lower-cased: {c:?}"
            );
        }
        // `Debug` must not depend on ticket values or token68.
        let mut other = c.clone();
        other.token68 = other.token68.as_deref().map(|t| format!("{}x", canary(t)));
        for (name, value) in &mut other.params {
            if name == "ticket" {
                *value = format!("{}x", canary(value));
            }
        }
        assert_eq!(
            format!("{c:?}"),
            format!("{other:?}"),
            "Challenge Debug shows a ticket or token68"
        );
    }
}

/// Every candidate is valid as documented; `Debug` and errors hide the ticket.
fn check_candidates(found: &Result<Vec<UmaChallenge>, ChallengeError>) {
    match found {
        Ok(list) => {
            for c in list {
                if let Err(e) = validate_ticket(c.ticket.secret()) {
                    panic!("candidate ticket fails validation: {e}");
                }
                if let Some(Err(e)) = c.as_uri.as_deref().map(validate_as_uri) {
                    panic!("candidate as_uri {:?} fails validation: {e}", c.as_uri);
                }
                let mut other = c.clone();
                other.ticket = Ticket::new(format!("{}x", canary(c.ticket.secret())));
                assert_eq!(
                    format!("{c:?}"),
                    format!("{other:?}"),
                    "UmaChallenge Debug shows the ticket"
                );
            }
        }
        Err(e) => {
            assert_printable("ChallengeError Display", &e.to_string());
            assert_printable("ChallengeError Debug", &format!("{e:?}"));
        }
    }
}

/// A candidate rendered by the RS side parses back, strictly, to the same challenge.
fn check_render_round_trip(c: &UmaChallenge) {
    let Some(as_uri) = c.as_uri.as_deref() else {
        return;
    };
    let Ok(value) = render(c.realm.as_deref(), as_uri, &c.ticket) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.append(WWW_AUTHENTICATE, value.clone());
    let back = uma_candidates(StatusCode::UNAUTHORIZED, &headers, b"", Strictness::Strict);
    let ok = matches!(&back, Ok(list) if list.len() == 1
        && list[0].as_uri.as_deref() == Some(as_uri)
        && list[0].ticket.same_as(&c.ticket)
        && list[0].realm == c.realm);
    assert!(ok, "rendered {value:?} parses back as {back:?}, not {c:?}");
}
