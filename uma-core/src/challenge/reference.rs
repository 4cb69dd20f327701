//! The parser and UMA extraction as they were before they borrowed from the field values, kept as the
//! reference the property tests compare the borrowing ones with (test builds only).

use std::borrow::Cow;

use http::{HeaderMap, StatusCode};

use super::{
    Challenge, ChallengeError, ChallengeForm, MAX_BODY_BYTES, MAX_CHALLENGES, MAX_PARAMS,
    Strictness, UmaChallenge, validate_as_uri, validate_ticket,
};
use crate::secret::Ticket;

fn new_challenge(scheme: String) -> Challenge {
    Challenge {
        scheme,
        token68: None,
        params: Vec::new(),
        lax: false,
        duplicate_params: false,
    }
}

/// The old `parse_field_values`.
pub(super) fn parse_field_values<'a, I: IntoIterator<Item = &'a [u8]>>(
    values: I,
) -> Vec<Challenge> {
    let mut parser = Parser::default();
    let mut total = 0usize;
    for value in values {
        total = total.saturating_add(value.len());
        if total > super::MAX_FIELD_BYTES {
            break;
        }
        parser.line(value);
    }
    parser.finish()
}

fn parse_headers(headers: &HeaderMap) -> Vec<Challenge> {
    parse_field_values(
        headers
            .get_all(http::header::WWW_AUTHENTICATE)
            .iter()
            .map(|v| v.as_bytes()),
    )
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// RFC 9110 §11.2 `token68` characters before the `=` padding.
fn is_token68_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
}

fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// A control character that `qdtext` does not allow (HTAB is allowed).
fn is_ctl(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f
}

fn skip_ows(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && is_ows(s[i]) {
        i += 1;
    }
    i
}

fn scan_token(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && is_tchar(s[i]) {
        i += 1;
    }
    i
}

/// End of `1*token68char *"="` starting at `i`, or `i` when there is none.
fn scan_token68(s: &[u8], start: usize) -> usize {
    let mut i = start;
    while i < s.len() && is_token68_char(s[i]) {
        i += 1;
    }
    if i == start {
        return start;
    }
    while i < s.len() && s[i] == b'=' {
        i += 1;
    }
    i
}

/// Whether the element ends at `i` (after optional whitespace): end of line or a comma.
fn at_element_end(s: &[u8], i: usize) -> bool {
    let j = skip_ows(s, i);
    j >= s.len() || s[j] == b','
}

/// Whether `token BWS "="` starts at `i` (a parameter, RFC 9110 §11.2).
fn starts_param(s: &[u8], i: usize) -> bool {
    let end = scan_token(s, i);
    if end == i {
        return false;
    }
    let j = skip_ows(s, end);
    j < s.len() && s[j] == b'='
}

/// Index of the next comma outside a quoted-string, or the end of the line (an unterminated
/// quote swallows the rest of the line, docs/protocol.md §8.3 step 2).
fn skip_element(s: &[u8], mut i: usize) -> usize {
    let mut quoted = false;
    while i < s.len() {
        match s[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b',' if !quoted => return i,
            _ => {}
        }
        i += 1;
    }
    s.len()
}

/// Token bytes (ASCII by construction) lower-cased.
fn lower(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    out.extend(b.iter().map(|c| char::from(c.to_ascii_lowercase())));
    out
}

/// Bytes as text; obs-text that is not UTF-8 becomes U+FFFD rather than an error.
fn text(b: Cow<'_, [u8]>) -> String {
    match b {
        Cow::Borrowed(b) => String::from_utf8_lossy(b).into_owned(),
        Cow::Owned(v) => String::from_utf8(v)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// Parses a quoted-string whose opening DQUOTE is at `open`. Returns the unescaped value, the
/// index just past the closing quote (or the end of line), and whether it was well-formed.
fn quoted_string(s: &[u8], open: usize) -> (Cow<'_, [u8]>, usize, bool) {
    let mut ok = true;
    let mut owned: Option<Vec<u8>> = None;
    let start = open + 1;
    let mut i = start;
    while i < s.len() {
        let b = s[i];
        match b {
            b'"' => {
                let value = match owned {
                    Some(v) => Cow::Owned(v),
                    None => Cow::Borrowed(&s[start..i]),
                };
                return (value, i + 1, ok);
            }
            b'\\' => {
                // RFC 9110 §5.6.4: a quoted-pair stands for the octet after the backslash.
                let buf = owned.get_or_insert_with(|| s[start..i].to_vec());
                match s.get(i + 1) {
                    Some(&next) => {
                        if is_ctl(next) {
                            ok = false;
                        }
                        buf.push(next);
                        i += 2;
                    }
                    None => {
                        ok = false;
                        i += 1;
                    }
                }
                continue;
            }
            _ => {
                if is_ctl(b) {
                    ok = false;
                }
                if let Some(buf) = owned.as_mut() {
                    buf.push(b);
                }
            }
        }
        i += 1;
    }
    // Unterminated: the rest of the line is the value (lax).
    let value = match owned {
        Some(v) => Cow::Owned(v),
        None => Cow::Borrowed(&s[start..]),
    };
    (value, s.len(), false)
}

/// Parser state carried across field lines: they form one element stream (§8.2 rule 6).
#[derive(Default)]
struct Parser {
    out: Vec<Challenge>,
    /// Set once the challenge cap is hit; everything after is ignored.
    full: bool,
}

impl Parser {
    fn finish(self) -> Vec<Challenge> {
        self.out
    }

    /// Feeds one field-line value.
    fn line(&mut self, raw: &[u8]) {
        // RFC 9112 §5.2: obs-fold becomes SP. Any CR/LF left in a value can only be a fold
        // (or garbage), so each one is replaced by SP; a copy is made only in that rare case.
        let s: Cow<'_, [u8]> = if raw.iter().any(|&b| b == b'\r' || b == b'\n') {
            Cow::Owned(
                raw.iter()
                    .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
                    .collect(),
            )
        } else {
            Cow::Borrowed(raw)
        };
        let s = &*s;
        let mut i = 0;
        let mut first = true;
        while !self.full {
            // Empty list elements are allowed (RFC 9110 §5.6.1).
            while i < s.len() && (is_ows(s[i]) || s[i] == b',') {
                i += 1;
            }
            if i >= s.len() {
                break;
            }
            i = self.element(s, i, first);
            first = false;
        }
    }

    /// Parses the element starting at `start` and returns where the next one may start.
    fn element(&mut self, s: &[u8], start: usize, first_in_line: bool) -> usize {
        let name_end = scan_token(s, start);
        if name_end == start {
            // Not a token: nothing to salvage in this element.
            if let Some(ch) = self.out.last_mut() {
                ch.lax = true;
            }
            return skip_element(s, start);
        }
        let eq = skip_ows(s, name_end);
        if eq < s.len() && s[eq] == b'=' {
            return match self.out.last_mut() {
                Some(ch) => {
                    // A field line holding only parameters (OpenIG, vector 10) continues the
                    // previous challenge, as joining lines with "," would (RFC 9110 §5.3).
                    if first_in_line {
                        ch.lax = true;
                    }
                    param(ch, s, start, name_end, eq + 1)
                }
                // A parameter before any challenge (vector 20): malformed, dropped.
                None => skip_element(s, start),
            };
        }
        self.challenge(s, start, name_end)
    }

    /// Starts a new challenge whose scheme token is `s[start..name_end]`.
    fn challenge(&mut self, s: &[u8], start: usize, name_end: usize) -> usize {
        if self.out.len() >= MAX_CHALLENGES {
            self.full = true;
            return s.len();
        }
        self.out.push(new_challenge(lower(&s[start..name_end])));
        let Some(ch) = self.out.last_mut() else {
            return s.len();
        };
        let mut i = name_end;
        if i >= s.len() || s[i] == b',' {
            return i;
        }
        if !is_ows(s[i]) {
            ch.lax = true;
            return skip_element(s, i);
        }
        i = skip_ows(s, i);
        if i >= s.len() || s[i] == b',' {
            return i;
        }
        let t68 = scan_token68(s, i);
        if t68 > i && at_element_end(s, t68) {
            ch.token68 = Some(text(Cow::Borrowed(&s[i..t68])));
            return t68;
        }
        let n_end = scan_token(s, i);
        if n_end > i {
            let eq = skip_ows(s, n_end);
            if eq < s.len() && s[eq] == b'=' {
                return param(ch, s, i, n_end, eq + 1);
            }
        }
        // Free text such as `Please login to access the resource` (vector 15).
        ch.lax = true;
        skip_element(s, i)
    }
}

/// Parses a parameter named `s[name_start..name_end]` whose value starts after `after_eq`
/// (BWS allowed), adds it to `ch`, and returns where the next element may start.
fn param(
    ch: &mut Challenge,
    s: &[u8],
    name_start: usize,
    name_end: usize,
    after_eq: usize,
) -> usize {
    let i = skip_ows(s, after_eq);
    let (value, next) = if i < s.len() && s[i] == b'"' {
        let (value, close, ok) = quoted_string(s, i);
        if !ok {
            ch.lax = true;
        }
        let k = skip_ows(s, close);
        if k >= s.len() || s[k] == b',' {
            (value, k)
        } else if starts_param(s, k) {
            // Missing comma after a closing quote (UMA 1.0 example, vector 18): the next
            // element starts here.
            ch.lax = true;
            (value, k)
        } else {
            ch.lax = true;
            (value, skip_element(s, k))
        }
    } else {
        let t_end = scan_token(s, i);
        if t_end > i && at_element_end(s, t_end) {
            (Cow::Borrowed(&s[i..t_end]), t_end)
        } else {
            // Lax: an unquoted non-token value (EOEPCA `as_uri=https://…`, vector 4) is the
            // raw rest of the element, up to the next comma outside quotes (§8.3 step 3a).
            ch.lax = true;
            let end = skip_element(s, i);
            let mut v_end = end;
            while v_end > i && is_ows(s[v_end - 1]) {
                v_end -= 1;
            }
            (Cow::Borrowed(&s[i..v_end]), end)
        }
    };
    if ch.params.len() >= MAX_PARAMS {
        ch.lax = true;
        return next;
    }
    if ch.token68.is_some() {
        // RFC 9110 §11.3: token68 or parameters, not both.
        ch.lax = true;
    }
    let name = lower(&s[name_start..name_end]);
    if ch.params.iter().any(|(n, _)| *n == name) {
        ch.duplicate_params = true;
    }
    ch.params.push((name, text(value)));
    next
}

/// Rejects repeated UMA parameters: which copy is meant is ambiguous, so neither is used.
fn no_duplicates(ch: &Challenge) -> Result<(), ChallengeError> {
    if !ch.duplicate_params {
        return Ok(());
    }
    for name in ["as_uri", "ticket", "realm"] {
        if ch.params.iter().filter(|(n, _)| n == name).count() > 1 {
            return Err(ChallengeError::DuplicateParameter(name));
        }
    }
    Ok(())
}

/// The `ticket` member of a UMA 1.0 403 body.
#[derive(serde::Deserialize)]
struct BodyTicket {
    ticket: Option<String>,
}

fn body_ticket(body: &[u8]) -> Option<String> {
    if body.len() > MAX_BODY_BYTES {
        return None;
    }
    serde_json::from_slice::<BodyTicket>(body).ok()?.ticket
}

fn candidate(
    ch: &Challenge,
    as_uri: Option<&str>,
    ticket: String,
    form: ChallengeForm,
) -> UmaChallenge {
    UmaChallenge {
        as_uri: as_uri.map(str::to_owned),
        ticket: Ticket::new(ticket),
        realm: ch.param("realm").map(str::to_owned),
        form,
        lax: ch.lax,
    }
}

/// The UMA challenges a response carries, best first (docs/protocol.md §8.3 steps 4–6).
///
/// * `Ok(empty)`: not UMA (status other than 401/403, plain Bearer, free text, no challenge).
/// * `Ok(list)`: spec-form `UMA` challenges in order; only if there are none, the lax fallbacks:
///   UMA 1.0 challenges completed by a `{"ticket": "…"}` JSON body of at most
///   [`MAX_BODY_BYTES`], then `Bearer` challenges carrying a `ticket`. The caller takes the first
///   whose `as_uri` it trusts (§8.3 step 5) and applies the https policy (vector 19 parses).
/// * `Err`: some challenge claims to be UMA but is unusable (duplicate parameter, invalid
///   ticket or as_uri, missing as_uri or ticket, or lax in [`Strictness::Strict`]) and no other
///   candidate exists. The first such problem is reported.
pub(super) fn uma_candidates(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    strictness: Strictness,
) -> Result<Vec<UmaChallenge>, ChallengeError> {
    // §8.2 rule 9: UMA 2.0 uses 401, UMA 1.0 servers 403.
    if status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN {
        return Ok(Vec::new());
    }
    let strict = strictness == Strictness::Strict;
    let challenges = parse_headers(headers);
    let mut first_err: Option<ChallengeError> = None;
    let mut found = Vec::new();
    // UMA challenges with a valid as_uri but no ticket: UMA 1.0 body-ticket candidates.
    let mut ticketless: Vec<(&Challenge, &str)> = Vec::new();

    for ch in challenges.iter().filter(|c| c.scheme == "uma") {
        let checked = no_duplicates(ch).and_then(|()| {
            if strict && (ch.lax || ch.duplicate_params) {
                return Err(ChallengeError::NotStrict);
            }
            let as_uri = ch.param("as_uri").ok_or(ChallengeError::MissingAsUri)?;
            validate_as_uri(as_uri)?;
            let ticket = ch.param("ticket");
            if let Some(t) = ticket {
                validate_ticket(t)?;
            }
            Ok((as_uri, ticket))
        });
        match checked {
            Ok((as_uri, Some(t))) => found.push(candidate(
                ch,
                Some(as_uri),
                t.to_owned(),
                ChallengeForm::Uma,
            )),
            Ok((as_uri, None)) => ticketless.push((ch, as_uri)),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    if !found.is_empty() {
        return Ok(found);
    }

    if !ticketless.is_empty() {
        match body_ticket(body) {
            // The body form is a fallback; strict mode reports it rather than using it.
            Some(_) if strict => {
                first_err.get_or_insert(ChallengeError::NotStrict);
            }
            Some(t) => match validate_ticket(&t) {
                Ok(()) => {
                    for (ch, as_uri) in &ticketless {
                        found.push(candidate(
                            ch,
                            Some(as_uri),
                            t.clone(),
                            ChallengeForm::Uma1BodyTicket,
                        ));
                    }
                }
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            },
            None => {
                first_err.get_or_insert(ChallengeError::MissingTicket);
            }
        }
    }

    if !strict {
        for ch in challenges.iter().filter(|c| c.scheme == "bearer") {
            // A Bearer challenge without a ticket means "authenticate", not UMA (EO-DG).
            let Some(ticket) = ch.param("ticket") else {
                continue;
            };
            let checked = no_duplicates(ch).and_then(|()| {
                validate_ticket(ticket)?;
                let as_uri = ch.param("as_uri");
                if let Some(a) = as_uri {
                    validate_as_uri(a)?;
                }
                Ok(as_uri)
            });
            match checked {
                Ok(as_uri) => found.push(candidate(
                    ch,
                    as_uri,
                    ticket.to_owned(),
                    ChallengeForm::Bearer,
                )),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
    }

    match first_err {
        Some(e) if found.is_empty() => Err(e),
        _ => Ok(found),
    }
}

/// The old `validate_as_uri`: the URL parser for every input.
fn reference_validate_as_uri(as_uri: &str) -> Result<(), ChallengeError> {
    let invalid = |reason| Err(ChallengeError::InvalidAsUri { reason });
    if as_uri.is_empty() {
        return invalid("empty");
    }
    if as_uri.len() > super::MAX_AS_URI_BYTES {
        return invalid("too long");
    }
    // RFC 3986 characters only: this rejects CTLs, spaces, quotes, backslashes and non-ASCII,
    // which `url` would otherwise silently trim, normalise or percent-encode.
    let uri_char = |b: u8| b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b);
    if !as_uri.bytes().all(uri_char) {
        return invalid("contains characters not allowed in a URI");
    }
    let Ok(url) = url::Url::parse(as_uri) else {
        return invalid("not an absolute URL");
    };
    if !matches!(url.scheme(), "https" | "http") {
        return invalid("scheme is not http or https");
    }
    if url.host().is_none() {
        return invalid("no host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return invalid("contains userinfo");
    }
    if url.query().is_some() {
        return invalid("contains a query");
    }
    if url.fragment().is_some() {
        return invalid("contains a fragment");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;
    use proptest::prelude::*;

    use super::*;

    const PIECES: &[&str] = &[
        "UMA",
        "uma",
        "Bearer",
        "Basic",
        " ",
        "  ",
        "\t",
        ",",
        ", ",
        "=",
        " = ",
        "\"",
        "\\",
        "realm",
        "as_uri",
        "AS_URI",
        "ticket",
        "Ticket",
        "error",
        "https://as.example.org",
        "http://127.0.0.1:8080",
        "/realms/demo",
        "abc",
        "t-1",
        "dXNlcg==",
        "a.b",
        ":",
        "/",
        "?x",
        "#f",
        "@",
        "\u{7f}",
        "\u{1}",
        "\u{e9}",
        "\r\n ",
        "\n",
        "invalid_token",
        "016f84e8-f9b9-11e0-bd6f-0021cc6004de",
    ];

    fn line() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(PIECES), 0..24).prop_map(|p| p.concat())
    }

    /// What the two implementations return, comparable.
    fn shown(r: &Result<Vec<UmaChallenge>, ChallengeError>) -> Result<Vec<String>, ChallengeError> {
        r.clone().map(|found| {
            found
                .iter()
                .map(|c| {
                    format!(
                        "{:?}|{}|{:?}|{:?}|{}",
                        c.as_uri,
                        c.ticket.secret(),
                        c.realm,
                        c.form,
                        c.lax
                    )
                })
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn borrowing_parser_matches_the_reference(lines in prop::collection::vec(line(), 1..4)) {
            let raw: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
            prop_assert_eq!(super::super::parse_field_values(raw.clone()), parse_field_values(raw));
            let mut headers = HeaderMap::new();
            for l in &lines {
                if let Ok(v) = HeaderValue::from_bytes(l.as_bytes()) {
                    headers.append(http::header::WWW_AUTHENTICATE, v);
                }
            }
            for body in [&b""[..], br#"{"ticket":"body-t"}"#] {
                for strictness in [Strictness::Lax, Strictness::Strict] {
                    for status in [StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN] {
                        prop_assert_eq!(
                            shown(&super::super::uma_candidates(status, &headers, body, strictness)),
                            shown(&uma_candidates(status, &headers, body, strictness))
                        );
                    }
                }
            }
        }

        #[test]
        fn as_uri_fast_path_matches_the_url_parser(
            parts in prop::collection::vec(prop::sample::select(&[
                "https://", "http://", "HTTPS://", "a", "B", "xn--", "XN--a", "0x", "1", "255", "999", ".", "..", ":",
                "8080", "65535", "65536", "00443", "/", "//", "?", "#", "@", "-", "%41", "%", "[", "]", "::1", "~",
                "as", "example", "org", "_",
            ][..]), 0..12)
        ) {
            let s = parts.concat();
            prop_assert_eq!(validate_as_uri(&s), reference_validate_as_uri(&s), "{}", s);
        }
    }
}
