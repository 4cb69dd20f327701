//! Target `token`: token-endpoint answers, successes and RFC 6749 §5.2 / UMA error bodies with any
//! status (docs/protocol.md §2.5, §2.9, §3.3, §4).
//!
//! Input: an optional status line (`200\n`, the default) and the body. The same response goes
//! through `parse_token_response`, `parse_decision` and `parse_permissions`.

use uma_core::grant::{
    TokenError, TokenResponse, parse_decision, parse_permissions, parse_token_response,
};

use super::support::{SECRET_MEMBERS, assert_printable, check_json_leaks, response, split_status};

/// Runs one input.
pub fn run(data: &[u8]) {
    let (status, body) = split_status(data, 200);
    let response = response(status, body);
    let status = response.status().as_u16();

    let token = parse_token_response(&response);
    match &token {
        Ok(t) => check_success(status, t),
        Err(e) => check_error(status, e),
    }
    match parse_decision(&response) {
        Ok(_) => assert_eq!(status, 200, "decision accepted with status {status}"),
        Err(e) => check_error(status, &e),
    }
    match parse_permissions(&response) {
        Ok(_) => assert_eq!(status, 200, "permissions accepted with status {status}"),
        Err(e) => check_error(status, &e),
    }

    check_json_leaks(body, SECRET_MEMBERS, |body| {
        let r = super::support::response(status, body);
        let mut seen = match parse_token_response(&r) {
            Ok(t) => format!("{t:?}"),
            Err(e) => format!("{e} {e:?}"),
        };
        if let Err(e) = parse_decision(&r) {
            seen.push_str(&format!(" {e} {e:?}"));
        }
        if let Err(e) = parse_permissions(&r) {
            seen.push_str(&format!(" {e} {e:?}"));
        }
        seen
    });
}

/// Only a 200 with a bearer access token is a success (requests-oauthlib-uma B12).
fn check_success(status: u16, t: &TokenResponse) {
    assert_eq!(status, 200, "token accepted with status {status}");
    assert!(!t.access_token.is_empty(), "empty access token accepted");
    assert!(
        t.token_type.eq_ignore_ascii_case("bearer"),
        "token_type {:?} accepted",
        t.token_type
    );
}

fn check_error(status: u16, e: &TokenError) {
    assert_printable("TokenError Display", &e.to_string());
    if let TokenError::Rejected(u) = e {
        assert_eq!(u.status, status, "rejection reports another status");
        assert_ne!(status, 200, "a 200 reported as a rejection");
        assert!(
            u.body_excerpt.len() <= 512,
            "excerpt of {} bytes",
            u.body_excerpt.len()
        );
        assert_eq!(e.outcome(), Some(u.outcome));
        if let Some(t) = &u.ticket {
            assert!(!t.is_empty(), "empty ticket kept");
        }
    }
}
