//! `WWW-Authenticate` parsing, UMA challenge extraction and rendering (docs/protocol.md §2.3, §8).
//!
//! Three layers, each usable on its own:
//!
//! 1. [`parse_field_values`] / [`parse_headers`]: an RFC 9110 §11.6.1 parser that turns every
//!    `WWW-Authenticate` field line into [`Challenge`]s. It never fails and never panics; input
//!    that breaks the grammar is salvaged where that is unambiguous and the challenge is marked
//!    [`Challenge::lax`].
//! 2. [`uma_candidates`]: picks the usable UMA challenges (scheme `UMA` with `as_uri` and
//!    `ticket`, plus the UMA 1.0 body-ticket and `Bearer …, ticket=…` fallbacks) and validates
//!    them (§8.3 steps 4–6). Whether an `as_uri` is *trusted* (and https) is the caller's policy.
//! 3. [`render`]: the resource-server side, producing the spec form
//!    `UMA realm="…", as_uri="…", ticket="…"`.
//!
//! Parsing is linear in the input. Work is bounded: field values beyond [`MAX_FIELD_BYTES`] in
//! total are ignored (the line that crosses the limit and every later one), as are challenges
//! after the first [`MAX_CHALLENGES`] and parameters after the first [`MAX_PARAMS`] of a
//! challenge (which also marks that challenge lax).
//!
//! ```
//! use http::{HeaderMap, HeaderValue, StatusCode, header::WWW_AUTHENTICATE};
//! use uma_core::challenge::{self, ChallengeForm, Strictness};
//! use uma_core::secret::Ticket;
//!
//! let value = challenge::render(Some("api"), "https://as.example.org", &Ticket::new("t-1"))?;
//! assert_eq!(value, r#"UMA realm="api", as_uri="https://as.example.org", ticket="t-1""#);
//!
//! let mut headers = HeaderMap::new();
//! headers.append(WWW_AUTHENTICATE, HeaderValue::from_static(r#"Bearer realm="api""#));
//! headers.append(WWW_AUTHENTICATE, value);
//! let found = challenge::uma_candidates(StatusCode::UNAUTHORIZED, &headers, b"", Strictness::Strict)?;
//! assert_eq!(found.len(), 1);
//! assert_eq!(found[0].as_uri.as_deref(), Some("https://as.example.org"));
//! assert_eq!(found[0].ticket.secret(), "t-1");
//! assert_eq!(found[0].form, ChallengeForm::Uma);
//!
//! // Free text and ticket-less Bearer challenges are simply "not UMA".
//! let plain = challenge::parse_field_values([&b"Please login to access the resource"[..]]);
//! assert_eq!(plain[0].scheme, "please");
//! # Ok::<(), challenge::ChallengeError>(())
//! ```

use std::fmt;

mod parse;
#[cfg(test)]
mod reference;
mod render;
mod uma;

pub use render::render;
pub use uma::{
    ChallengeForm, Strictness, UmaChallenge, uma_candidates, validate_as_uri, validate_ticket,
};

/// Field values beyond this many bytes in total (over all lines) are ignored.
pub const MAX_FIELD_BYTES: usize = 64 * 1024;
/// Challenges after this many are ignored.
pub const MAX_CHALLENGES: usize = 64;
/// Parameters of one challenge after this many are ignored (and the challenge is marked lax).
pub const MAX_PARAMS: usize = 64;
/// A UMA 1.0 body ticket is looked for only in bodies of at most this many bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest accepted ticket, in bytes (Keycloak tickets are JWTs; docs/protocol.md §8.3 step 6).
pub const MAX_TICKET_BYTES: usize = 8 * 1024;
/// Longest accepted `as_uri`, in bytes.
pub const MAX_AS_URI_BYTES: usize = 4 * 1024;

/// One challenge. Scheme and parameter names are lower-cased; values are literal (quoted-strings
/// unescaped, nothing else decoded, docs/protocol.md §8.2 rule 8).
///
/// `Debug` redacts `ticket` parameters and `token68` (tickets are credentials, §11.6).
#[derive(Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Auth scheme, lower-cased (`uma`, `bearer`, …).
    pub scheme: String,
    /// The token68 form (`Basic dXNlcg==`), when the challenge used it instead of parameters.
    pub token68: Option<String>,
    /// Parameters as `(lower-cased name, value)`, in the order received, duplicates kept.
    pub params: Vec<(String, String)>,
    /// The challenge needed a lax rule: an unquoted non-token value, a missing comma after a
    /// quoted value, a parameter-only field line, an unterminated quote, control characters,
    /// trailing text, or too many parameters.
    pub lax: bool,
    /// A parameter name appeared more than once (RFC 9110 §11.2 forbids it).
    pub duplicate_params: bool,
}

impl Challenge {
    /// The first value of the parameter `name` (give it lower-cased).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Prints `[redacted]` for ticket values and token68.
struct RedactedParams<'a>(&'a [(String, String)]);

impl fmt::Debug for RedactedParams<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.0
                    .iter()
                    .map(|(n, v)| (n, if n == "ticket" { "[redacted]" } else { v })),
            )
            .finish()
    }
}

impl fmt::Debug for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Challenge")
            .field("scheme", &self.scheme)
            .field("token68", &self.token68.as_ref().map(|_| "[redacted]"))
            .field("params", &RedactedParams(&self.params))
            .field("lax", &self.lax)
            .field("duplicate_params", &self.duplicate_params)
            .finish()
    }
}

/// All challenges of all field-line values, in order (§8.3 steps 1–3). Never fails: garbage
/// yields whatever can be salvaged, possibly nothing. Bytes that are not UTF-8 are replaced by
/// U+FFFD in values.
pub fn parse_field_values<'a, I: IntoIterator<Item = &'a [u8]>>(values: I) -> Vec<Challenge> {
    parse_borrowed(values).into_challenges()
}

/// The element stream of `values`, borrowed from them (what [`uma_candidates`] reads).
fn parse_borrowed<'a, I: IntoIterator<Item = &'a [u8]>>(values: I) -> parse::Parser<'a> {
    let mut parser = parse::Parser::default();
    let mut total = 0usize;
    for value in values {
        total = total.saturating_add(value.len());
        if total > MAX_FIELD_BYTES {
            break;
        }
        parser.line(value);
    }
    parser
}

/// The field values of every `WWW-Authenticate` line of `headers`, in order.
fn field_values(headers: &http::HeaderMap) -> impl Iterator<Item = &[u8]> {
    headers
        .get_all(http::header::WWW_AUTHENTICATE)
        .iter()
        .map(|v| v.as_bytes())
}

/// All challenges of every `WWW-Authenticate` field line of `headers`, in order.
pub fn parse_headers(headers: &http::HeaderMap) -> Vec<Challenge> {
    parse_field_values(field_values(headers))
}

/// Why a challenge that claims to be UMA cannot be used, or why one cannot be rendered.
/// Messages never contain the ticket.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChallengeError {
    /// A UMA parameter (`as_uri`, `ticket` or `realm`) appears more than once.
    #[error("UMA challenge repeats the `{0}` parameter")]
    DuplicateParameter(&'static str),
    /// The challenge has no `as_uri`, so there is no authorization server to ask.
    #[error("UMA challenge has no as_uri")]
    MissingAsUri,
    /// The challenge names an authorization server but no ticket was found (header or body).
    #[error("UMA challenge has no ticket (neither in the header nor in a UMA 1.0 JSON body)")]
    MissingTicket,
    /// `as_uri` is not an absolute http(s) URL without userinfo, query or fragment.
    #[error("UMA challenge as_uri is not usable: {reason}")]
    InvalidAsUri {
        /// What is wrong.
        reason: &'static str,
    },
    /// The ticket is empty, too long or not visible ASCII.
    #[error("UMA ticket is not usable: {reason}")]
    InvalidTicket {
        /// What is wrong.
        reason: &'static str,
    },
    /// The realm cannot be put in a quoted-string.
    #[error("realm cannot be rendered: {reason}")]
    InvalidRealm {
        /// What is wrong.
        reason: &'static str,
    },
    /// Strict mode: the UMA challenge breaks the RFC 9110 grammar or needs a UMA 1.0 /
    /// non-standard fallback, which only lax mode accepts.
    #[error("UMA challenge is not in the standard form and strict parsing is on")]
    NotStrict,
}
