//! Target `protection`: the resource server's protection-API answers (docs/protocol.md §9): PAT,
//! resource registration, permission ticket, introspection, client registration.
//!
//! Input: a first line naming the parser (`pat`, `create`, `read`, `update`, `delete`, `list`,
//! `permission`, `introspection`, `registration`; anything else runs them all), then a response
//! as `support::decode_response` reads it (status line, header lines, body).

use uma_core::protection::{
    ProtectionError, parse_create_resource_response, parse_delete_resource_response,
    parse_introspection_response, parse_list_resources_response, parse_pat_response,
    parse_permission_response, parse_read_resource_response, parse_registration_response,
    parse_update_resource_response,
};

use super::support::{
    SECRET_MEMBERS, assert_printable, check_json_leaks_to_depth, decode_response, split_line,
};

const PARSERS: &[&str] = &[
    "pat",
    "create",
    "read",
    "update",
    "delete",
    "list",
    "permission",
    "introspection",
    "registration",
];

/// Runs one input.
pub fn run(data: &[u8]) {
    let (selector, rest) = split_line(data);
    let selected: Vec<&str> = match PARSERS.iter().find(|p| p.as_bytes() == selector) {
        Some(p) => vec![p],
        None => PARSERS.to_vec(),
    };
    let response = decode_response(rest, 200);
    for parser in &selected {
        observe(parser, &response);
    }
    // The body alone, with the same status and headers, under the differential leak check: error
    // answers must hide every credential member, successes the ones their parser knows as
    // credentials (resource descriptions and introspection results keep unknown members as data).
    // Success bodies: only the top-level members the parser extracts (`RegisteredClient::metadata`
    // keeps every other member, nested ones included, as data).
    for parser in &selected {
        let (names, depth) = if response.status().is_success() {
            (credentials_of(parser), 1)
        } else {
            (SECRET_MEMBERS, usize::MAX)
        };
        check_json_leaks_to_depth(response.body(), names, depth, |body| {
            let mut r = http::Response::new(body.to_vec());
            *r.status_mut() = response.status();
            *r.headers_mut() = response.headers().clone();
            observe(parser, &r)
        });
    }
}

/// The credential members a success answer of `parser` carries.
fn credentials_of(parser: &str) -> &'static [&'static str] {
    match parser {
        "pat" => &["access_token", "refresh_token"],
        "permission" => &["ticket"],
        "registration" => &["client_secret", "registration_access_token"],
        _ => &[],
    }
}

/// Parses with one parser, checks what can be checked, and returns what a user could see.
fn observe(parser: &str, r: &http::Response<Vec<u8>>) -> String {
    let status = r.status();
    let ok = |seen: String| {
        assert!(status.is_success(), "{parser} accepted status {status}");
        seen
    };
    let result = match parser {
        "pat" => parse_pat_response(r).map(|p| {
            assert!(!p.access_token.is_empty(), "empty PAT accepted");
            format!("{p:?}")
        }),
        "create" => parse_create_resource_response(r).map(|c| format!("{c:?}")),
        "read" => parse_read_resource_response(r).map(|d| format!("{d:?}")),
        "update" => parse_update_resource_response(r).map(|u| format!("{u:?}")),
        "delete" => parse_delete_resource_response(r).map(|()| String::new()),
        "list" => parse_list_resources_response(r).map(|l| format!("{l:?}")),
        "permission" => parse_permission_response(r).map(|t| {
            assert!(!t.is_empty(), "empty ticket accepted");
            format!("{t:?}")
        }),
        "introspection" => parse_introspection_response(r).map(|i| {
            // Any question about any resource at any time is answered without panicking.
            for now in [i64::MIN, -1, 0, 1_700_000_000, i64::MAX] {
                let _ = i.allows("", "", now);
                let _ = i.allows_all("r", &["view", "edit"], now);
                let _ = i.allows_all("r", &[], now);
            }
            if !i.active {
                assert!(
                    !i.allows_all("r", &[], 0),
                    "an inactive token grants something"
                );
            }
            format!("{i:?}")
        }),
        "registration" => parse_registration_response(r).map(|c| {
            let _ = c.credentials();
            format!("{c:?}")
        }),
        _ => return String::new(),
    };
    match result {
        Ok(seen) => ok(seen),
        Err(e) => check_error(&e),
    }
}

fn check_error(e: &ProtectionError) -> String {
    let display = e.to_string();
    assert_printable("ProtectionError Display", &display);
    format!("{display} {e:?}")
}
