//! UMA challenge extraction and validation (docs/protocol.md §8.3 steps 4–6, §11.10).

use std::borrow::Cow;

use http::{HeaderMap, StatusCode};

use super::parse::{Parser, RawChallenge, text};
use super::{
    ChallengeError, MAX_AS_URI_BYTES, MAX_BODY_BYTES, MAX_TICKET_BYTES, field_values,
    parse_borrowed,
};
use crate::secret::Ticket;

/// How much of the RFC 9110 grammar a challenge may bend.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Strictness {
    /// Only the UMA 2.0 spec form (`UMA` scheme with `as_uri` and `ticket`) parsed without any
    /// lax rule.
    Strict,
    /// Also accept what real servers send: unquoted URLs, missing commas, parameter-only lines,
    /// the UMA 1.0 body ticket and `Bearer …, ticket=…` (docs/protocol.md §8.4).
    #[default]
    Lax,
}

/// Which shape the challenge had.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChallengeForm {
    /// `UMA realm=…, as_uri=…, ticket=…` (UMAG §3.2.1).
    Uma,
    /// `Bearer realm=…, ticket=…` (EOEPCA documentation; non-standard).
    Bearer,
    /// `UMA realm=…, as_uri=…` with the ticket in a JSON body (UMA 1.0 §3.1.2, OpenIG).
    Uma1BodyTicket,
}

/// A usable UMA challenge.
#[derive(Clone, Debug)]
pub struct UmaChallenge {
    /// The authorization server's issuer exactly as sent, structurally validated by
    /// [`validate_as_uri`] (https is *not* required here: that is policy). `None` only for the
    /// [`ChallengeForm::Bearer`] form.
    pub as_uri: Option<String>,
    /// The permission ticket, validated by [`validate_ticket`].
    pub ticket: Ticket,
    /// The `realm` parameter, informational.
    pub realm: Option<String>,
    /// Which shape the challenge had.
    pub form: ChallengeForm,
    /// The challenge needed a lax parsing rule.
    pub lax: bool,
}

/// Checks that `as_uri` is an absolute http(s) URL with a host and no userinfo, query, fragment,
/// whitespace or control characters (RFC 8414 §2 issuer rules, minus the https requirement).
pub fn validate_as_uri(as_uri: &str) -> Result<(), ChallengeError> {
    let invalid = |reason| Err(ChallengeError::InvalidAsUri { reason });
    if as_uri.is_empty() {
        return invalid("empty");
    }
    if as_uri.len() > MAX_AS_URI_BYTES {
        return invalid("too long");
    }
    // RFC 3986 characters only: this rejects CTLs, spaces, quotes, backslashes and non-ASCII,
    // which `url` would otherwise silently trim, normalise or percent-encode.
    if !as_uri.bytes().all(|b| URI_CHAR[usize::from(b)]) {
        return invalid("contains characters not allowed in a URI");
    }
    if plainly_valid(as_uri) {
        return Ok(());
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

/// RFC 3986 characters: unreserved, gen-delims, sub-delims and `%`.
const URI_CHAR: [bool; 256] = byte_set(b"-._~:/?#[]@!$&'()*+,;=%");

/// What a plain path may hold: [`URI_CHAR`] without `?`, `#`, `[` and `]`.
const PATH_CHAR: [bool; 256] = byte_set(b"-._~:/@!$&'()*+,;=%");

/// ASCII letters and digits plus `extra`, as a lookup table.
const fn byte_set(extra: &[u8]) -> [bool; 256] {
    let mut set = [false; 256];
    let mut b = 0;
    while b < 256 {
        set[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        set[extra[i] as usize] = true;
        i += 1;
    }
    set
}

/// Whether `as_uri` is written so plainly that the URL parser is sure to accept it with everything
/// [`validate_as_uri`] requires: `http://` or `https://`, a host of letter/digit/hyphen labels whose
/// last starts with a letter (so not an IPv4 address, no IDNA `xn--` label), an optional port of at
/// most 65535, and a path without query or fragment. This skips the parser (and its allocation) for
/// the usual challenge; anything else goes through the parser.
fn plainly_valid(as_uri: &str) -> bool {
    let Some(rest) = as_uri
        .strip_prefix("https://")
        .or_else(|| as_uri.strip_prefix("http://"))
    else {
        return false;
    };
    let bytes = rest.as_bytes();
    // Host labels, up to a ':' or '/' or the end.
    let mut i = 0;
    let mut label = 0;
    loop {
        let b = bytes.get(i).copied();
        if matches!(b, None | Some(b'.' | b':' | b'/')) {
            let l = &bytes[label..i];
            if l.is_empty() || l.get(..4).is_some_and(|p| p.eq_ignore_ascii_case(b"xn--")) {
                return false;
            }
            if b != Some(b'.') {
                // The last label: starting with a letter, it is no IPv4 address.
                if !l[0].is_ascii_alphabetic() {
                    return false;
                }
                break;
            }
            label = i + 1;
        } else if !b.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return false;
        }
        i += 1;
    }
    if bytes.get(i) == Some(&b':') {
        let digits = bytes[i + 1..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let port = &rest[i + 1..i + 1 + digits];
        if digits == 0 || digits > 5 || port.parse::<u16>().is_err() {
            return false;
        }
        i += 1 + digits;
    }
    // Nothing or a path, without query or fragment.
    bytes.get(i).is_none_or(|b| *b == b'/') && bytes[i..].iter().all(|b| PATH_CHAR[usize::from(*b)])
}

/// Checks that a ticket is non-empty, at most [`MAX_TICKET_BYTES`] and visible ASCII only.
pub fn validate_ticket(ticket: &str) -> Result<(), ChallengeError> {
    let invalid = |reason| Err(ChallengeError::InvalidTicket { reason });
    if ticket.is_empty() {
        return invalid("empty");
    }
    if ticket.len() > MAX_TICKET_BYTES {
        return invalid("too long");
    }
    if !crate::scan::all_visible_ascii(ticket.as_bytes()) {
        return invalid("contains characters other than visible ASCII");
    }
    Ok(())
}

/// Rejects repeated UMA parameters: which copy is meant is ambiguous, so neither is used.
fn no_duplicates(parser: &Parser<'_>, ch: &RawChallenge<'_>) -> Result<(), ChallengeError> {
    if !ch.duplicate_params {
        return Ok(());
    }
    for name in ["as_uri", "ticket", "realm"] {
        let copies = parser
            .params_of(ch)
            .filter(|p| p.name.eq_ignore_ascii_case(name.as_bytes()))
            .count();
        if copies > 1 {
            return Err(ChallengeError::DuplicateParameter(name));
        }
    }
    Ok(())
}

/// The first value of parameter `name` of `ch`, as text.
fn param<'a>(parser: &Parser<'a>, ch: &RawChallenge<'a>, name: &str) -> Option<Cow<'a, str>> {
    parser.param(ch, name).map(text)
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
    parser: &Parser<'_>,
    ch: &RawChallenge<'_>,
    as_uri: Option<&str>,
    ticket: String,
    form: ChallengeForm,
) -> UmaChallenge {
    UmaChallenge {
        as_uri: as_uri.map(str::to_owned),
        ticket: Ticket::new(ticket),
        realm: param(parser, ch, "realm").map(Cow::into_owned),
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
pub fn uma_candidates(
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
    // Borrowed from the field values: only what is returned is allocated.
    let parser = parse_borrowed(field_values(headers));
    let is =
        |ch: &RawChallenge<'_>, scheme: &str| ch.scheme.eq_ignore_ascii_case(scheme.as_bytes());
    let mut first_err: Option<ChallengeError> = None;
    let mut found = Vec::new();
    // UMA challenges with a valid as_uri but no ticket: UMA 1.0 body-ticket candidates.
    let mut ticketless: Vec<(&RawChallenge<'_>, Cow<'_, str>)> = Vec::new();

    for ch in parser.challenges.iter().filter(|c| is(c, "uma")) {
        let checked = no_duplicates(&parser, ch).and_then(|()| {
            if strict && (ch.lax || ch.duplicate_params) {
                return Err(ChallengeError::NotStrict);
            }
            let as_uri = param(&parser, ch, "as_uri").ok_or(ChallengeError::MissingAsUri)?;
            validate_as_uri(&as_uri)?;
            let ticket = param(&parser, ch, "ticket");
            if let Some(t) = &ticket {
                validate_ticket(t)?;
            }
            Ok((as_uri, ticket))
        });
        match checked {
            Ok((as_uri, Some(t))) => found.push(candidate(
                &parser,
                ch,
                Some(&as_uri),
                t.into_owned(),
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
                            &parser,
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
        for ch in parser.challenges.iter().filter(|c| is(c, "bearer")) {
            // A Bearer challenge without a ticket means "authenticate", not UMA (EO-DG).
            let Some(ticket) = param(&parser, ch, "ticket") else {
                continue;
            };
            let checked = no_duplicates(&parser, ch).and_then(|()| {
                validate_ticket(&ticket)?;
                let as_uri = param(&parser, ch, "as_uri");
                if let Some(a) = &as_uri {
                    validate_as_uri(a)?;
                }
                Ok(as_uri)
            });
            match checked {
                Ok(as_uri) => found.push(candidate(
                    &parser,
                    ch,
                    as_uri.as_deref(),
                    ticket.into_owned(),
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
