//! Input decoding and invariant helpers shared by the harnesses.

use serde_json::Value;

/// Splits an optional leading status line (`"401\n"`, three ASCII digits) off the input; without
/// one the status is `default`. Keeps the seed corpus readable: `403\n{"error":"…"}`.
pub fn split_status(data: &[u8], default: u16) -> (u16, &[u8]) {
    match data {
        [a, b, c, b'\n', rest @ ..] if [a, b, c].iter().all(|d| d.is_ascii_digit()) => {
            let status = u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0');
            (status, rest)
        }
        _ => (default, data),
    }
}

/// The first line (without its `\n`) and the rest.
pub fn split_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// An HTTP response; statuses `http` cannot represent (below 100) become 500.
pub fn response(status: u16, body: &[u8]) -> http::Response<Vec<u8>> {
    let mut response = http::Response::new(body.to_vec());
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response
}

/// Error and diagnostic text must not carry control characters: it ends up in logs and terminals
/// (docs/protocol.md §11.10), where a CR/LF or an escape sequence from a server could forge lines.
pub fn assert_printable(what: &str, text: &str) {
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        panic!("{what} contains the control character {c:?}: {text:?}");
    }
}

/// A value of the same length and character classes (ASCII letters rotated by 13, digits by 5,
/// everything else kept), so a parser treats it the same way but it is a different string.
pub fn canary(secret: &str) -> String {
    secret
        .chars()
        .map(|c| match c {
            'a'..='z' => char::from(b'a' + (c as u8 - b'a' + 13) % 26),
            'A'..='Z' => char::from(b'A' + (c as u8 - b'A' + 13) % 26),
            '0'..='9' => char::from(b'0' + (c as u8 - b'0' + 5) % 10),
            _ => c,
        })
        .collect()
}

/// One step of a path into a JSON document.
#[derive(Clone, Debug)]
pub enum Step {
    /// An object member.
    Key(String),
    /// An array element.
    Index(usize),
}

/// Every string value, at any depth (up to 32), of a member named in `names`, with its path.
pub fn secret_members(value: &Value, names: &[&str]) -> Vec<(Vec<Step>, String)> {
    fn walk(
        value: &Value,
        names: &[&str],
        path: &mut Vec<Step>,
        out: &mut Vec<(Vec<Step>, String)>,
    ) {
        if path.len() > 32 {
            return;
        }
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    path.push(Step::Key(k.clone()));
                    match v {
                        Value::String(s) if names.contains(&k.as_str()) => {
                            out.push((path.clone(), s.clone()))
                        }
                        _ => walk(v, names, path, out),
                    }
                    path.pop();
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    path.push(Step::Index(i));
                    walk(v, names, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, names, &mut Vec::new(), &mut out);
    out
}

/// `value` with the string at `path` replaced by `new`.
pub fn replaced(value: &Value, path: &[Step], new: &str) -> Value {
    let mut out = value.clone();
    let mut at = &mut out;
    for step in path {
        let next = match (step, at) {
            (Step::Key(k), Value::Object(map)) => map.get_mut(k),
            (Step::Index(i), Value::Array(items)) => items.get_mut(*i),
            _ => None,
        };
        match next {
            Some(v) => at = v,
            None => return out,
        }
    }
    *at = Value::String(new.to_owned());
    out
}

/// Credential members of JSON bodies (tokens, tickets, PCTs, secrets).
pub const SECRET_MEMBERS: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "pct",
    "rpt",
    "ticket",
    "claim_token",
    "client_secret",
    "password",
    "registration_access_token",
];

/// Secrets shorter than this are not checked: `"t"` occurs in any text by chance.
pub const MIN_SECRET_CHARS: usize = 8;

/// Differential leak check for a JSON body.
///
/// `observe` parses a body and returns everything a user could see of the result (`Debug` of
/// the value, `Display` and `Debug` of the error). For every credential member `S` of the body:
/// if the observation contains `S`, it must still contain `S` after that member alone is
/// replaced by a different value of the same shape. Otherwise the text came from the credential
/// member, which is a leak. (If `S` also occurs in a non-credential member, the parser may show
/// it there; that is not a leak of the credential.)
pub fn check_json_leaks(body: &[u8], names: &[&str], observe: impl Fn(&[u8]) -> String) {
    check_json_leaks_to_depth(body, names, usize::MAX, observe);
}

/// [`check_json_leaks`] for credential members at most `depth` levels deep (1: top-level members
/// only), for parsers that keep unknown members, nested credentials included, as opaque data.
pub fn check_json_leaks_to_depth(
    body: &[u8],
    names: &[&str],
    depth: usize,
    observe: impl Fn(&[u8]) -> String,
) {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let mut secrets = secret_members(&value, names);
    secrets.retain(|(path, _)| path.len() <= depth);
    if secrets.is_empty() {
        return;
    }
    // Re-serialised so both observations see the same key order and no duplicate members.
    let base = observe(value.to_string().as_bytes());
    for (path, secret) in secrets {
        if secret.chars().count() < MIN_SECRET_CHARS || !base.contains(secret.as_str()) {
            continue;
        }
        let other = canary(&secret);
        if other == secret {
            continue;
        }
        let changed = replaced(&value, &path, &other);
        let after = observe(changed.to_string().as_bytes());
        assert!(
            after.contains(secret.as_str()),
            "the credential member at {path:?} leaks into user-visible text: {base}"
        );
    }
}

/// Decodes `[NNN\n] *(Name: value\n) [\n] body` into a response: an optional status line
/// (default `default_status`), header lines while they parse as headers (an empty line ends them
/// and is dropped), then the body. `{"a": 1}` is not a header, so a JSON body may follow the status
/// line directly.
pub fn decode_response(data: &[u8], default_status: u16) -> http::Response<Vec<u8>> {
    let (status, mut rest) = split_status(data, default_status);
    let mut headers = http::HeaderMap::new();
    loop {
        let (line, after) = split_line(rest);
        if line.is_empty() {
            if rest.first() == Some(&b'\n') {
                rest = after;
            }
            break;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            break;
        };
        let name = http::HeaderName::from_bytes(&line[..colon]);
        let value = http::HeaderValue::from_bytes(line[colon + 1..].trim_ascii());
        match (name, value, after.is_empty() && !data.ends_with(b"\n")) {
            (Ok(name), Ok(value), false) => {
                headers.append(name, value);
                rest = after;
            }
            _ => break,
        }
    }
    let mut response = response(status, rest);
    *response.headers_mut() = headers;
    response
}
