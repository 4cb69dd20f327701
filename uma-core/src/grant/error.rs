//! Token-endpoint errors: one typed shape for the spec, UMA 1.0, Keycloak and Gluu dialects
//! (`docs/protocol.md` §4.1–§4.4, §12).

use std::fmt;

use serde_json::{Map, Value};

use crate::secret::Ticket;

/// Longest redacted body excerpt kept in a [`UmaError`], in bytes.
const EXCERPT_BYTES: usize = 512;
/// Longest `error` / `error_description` / `error_uri` kept, in characters.
const FIELD_CHARS: usize = 512;
/// JSON members whose values are credentials and never leave the parser unredacted.
const SECRET_MEMBERS: &[&str] = &[
    "ticket",
    "access_token",
    "refresh_token",
    "pct",
    "id_token",
    "rpt",
    "claim_token",
    "client_secret",
    "password",
];

/// What the client should do about a token-endpoint error (`docs/protocol.md` §4.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// `need_info` (UMA 2, and UMA 1 with `error_details`); Gluu's `invalid_claim_token*` too (fix the pushed
    /// claim). Use the new ticket, push claims or redirect the user (§5).
    NeedInfo,
    /// `request_submitted`, and Keycloak's `access_denied` with description `request_submitted` (no ticket).
    /// Poll later.
    RequestSubmitted,
    /// `request_denied`, `not_authorized`, `access_denied`, `forbidden_by_policy`,
    /// `not_authorized_permission`. Stop.
    Denied,
    /// `invalid_grant` (except Keycloak's "Invalid bearer token"), `invalid_ticket`, `expired_ticket`.
    /// Get a fresh ticket from the RS once. For a refresh grant: the refresh token is dead.
    DeadTicket,
    /// `invalid_grant` answering a login (the password or client-credentials grant): the user name or
    /// password is wrong, or the account may not log in. Set by [`crate::Login`], which knows the grant;
    /// [`Outcome::classify`] alone never returns it. Stop: retrying the same login cannot help.
    LoginRefused,
    /// `invalid_rpt`: retry once without `rpt`.
    InvalidRpt,
    /// `invalid_pct`: forget the PCT, retry once without it.
    InvalidPct,
    /// `invalid_scope`: retry once without `scope`, then fail.
    InvalidScope,
    /// `invalid_client`, `unauthorized_client`, `disabled_client`, `invalid_token`, and `invalid_grant` with
    /// status 401 or Keycloak's description "Invalid bearer token" (401 up to 26.5, 400 since 26.6).
    /// Credentials are wrong for this AS: stop.
    ClientAuthFailed,
    /// `invalid_request`, `unsupported_grant_type`, `invalid_resource`, `invalid_resource_id`,
    /// `invalid_claims_redirect_uri` and similar configuration errors. No automatic retry.
    InvalidRequest,
    /// `server_error`, `temporarily_unavailable`, or an unknown code with a 5xx status. Back off.
    ServerError,
    /// An unknown code with a non-5xx status.
    Other,
}

impl Outcome {
    /// Classifies an error code (matched ASCII-case-insensitively) with its status and description.
    pub fn classify(status: u16, code: &str, description: Option<&str>) -> Outcome {
        let code = code.to_ascii_lowercase();
        let desc = description.map(|d| d.trim().to_ascii_lowercase());
        match code.as_str() {
            "need_info" | "invalid_claim_token" | "invalid_claim_token_format" => Outcome::NeedInfo,
            "request_submitted" => Outcome::RequestSubmitted,
            // Keycloak reports "owner asked" as access_denied (docs/protocol.md §4.2; description is a
            // de-facto code, §11.11).
            "access_denied" if desc.as_deref() == Some("request_submitted") => {
                Outcome::RequestSubmitted
            }
            "request_denied"
            | "not_authorized"
            | "access_denied"
            | "forbidden_by_policy"
            | "not_authorized_permission" => Outcome::Denied,
            // RFC 6749 uses 400 for invalid_grant; Keycloak's 401 (up to 26.5) or its description "Invalid
            // bearer token" (400 from 26.6 on) means the Bearer token was refused.
            "invalid_grant" if status == 401 || desc.as_deref() == Some("invalid bearer token") => {
                Outcome::ClientAuthFailed
            }
            "invalid_grant" | "invalid_ticket" | "expired_ticket" => Outcome::DeadTicket,
            "invalid_rpt" => Outcome::InvalidRpt,
            "invalid_pct" => Outcome::InvalidPct,
            "invalid_scope" => Outcome::InvalidScope,
            "invalid_client" | "unauthorized_client" | "disabled_client" | "invalid_token" => {
                Outcome::ClientAuthFailed
            }
            "invalid_request"
            | "unsupported_grant_type"
            | "unsupported_response_type"
            | "unsupported_token_type"
            | "invalid_resource"
            | "invalid_resource_id"
            | "invalid_claims_redirect_uri"
            | "invalid_target" => Outcome::InvalidRequest,
            "server_error" | "temporarily_unavailable" => Outcome::ServerError,
            _ if (500..600).contains(&status) => Outcome::ServerError,
            _ => Outcome::Other,
        }
    }
}

/// One entry of `required_claims` (UMAG §3.3.6); every member is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequiredClaim {
    /// Acceptable claim-token formats.
    pub claim_token_format: Vec<String>,
    /// The claim type, e.g. an OID URN.
    pub claim_type: Option<String>,
    /// A human-readable name, e.g. `email`.
    pub friendly_name: Option<String>,
    /// Acceptable issuers of the claim.
    pub issuer: Vec<String>,
    /// The claim name.
    pub name: Option<String>,
}

/// A typed token-endpoint error (RFC 6749 §5.2 body with UMA extensions).
///
/// `Display` is `token endpoint answered <status> <code>: <description>`. No credential shows in `Display`
/// or `Debug`: the ticket is a [`Ticket`]; `body_excerpt` has credential members replaced by `[redacted]` and
/// their values scrubbed from every other string; `Debug` prints `redirect_user` with its ticket redacted
/// (Gluu puts the new ticket in that URL). The `redirect_user` field itself is the URL as sent: it is meant
/// for the browser.
#[derive(Clone)]
pub struct UmaError {
    /// What to do about it.
    pub outcome: Outcome,
    /// The HTTP status.
    pub status: u16,
    /// The `error` code as sent (control characters replaced, truncated).
    pub code: String,
    /// `error_description`.
    pub description: Option<String>,
    /// `error_uri`.
    pub error_uri: Option<String>,
    /// The new permission ticket (`need_info`, `request_submitted`).
    pub ticket: Option<Ticket>,
    /// What claims the AS wants (`need_info`).
    pub required_claims: Vec<RequiredClaim>,
    /// Where to send the requesting party to gather claims (`need_info`, §5.2). Untrusted: check its origin.
    pub redirect_user: Option<String>,
    /// Minimum seconds between polls (`request_submitted`).
    pub interval: Option<u64>,
    /// The body, credentials redacted, at most 512 bytes.
    pub body_excerpt: String,
}

impl UmaError {
    /// Keycloak refused the `Authorization: Bearer` user token sent with the grant: `invalid_grant`
    /// "Invalid bearer token", with status 401 up to Keycloak 26.5 and 400 from 26.6 on (both seen on
    /// real servers). The token expired or is not one of this realm's.
    pub fn rejects_bearer_token(&self) -> bool {
        // `Outcome::classify` holds the rule (401, or that description): one place decides.
        self.outcome == Outcome::ClientAuthFailed && self.code.eq_ignore_ascii_case("invalid_grant")
    }

    /// `redirect_user` with any ticket in it redacted, for messages and logs (Gluu puts the new ticket in
    /// the URL, `docs/protocol.md` §5.2). Use [`UmaError::redirect_user`] itself only to send the user there.
    pub fn redirect_user_redacted(&self) -> Option<String> {
        self.redirect_user.as_deref().map(|url| {
            let secrets: Vec<String> = self.ticket.iter().map(|t| t.secret().to_owned()).collect();
            redact_ticket_param(&scrub(url, &secrets))
        })
    }
}

impl fmt::Debug for UmaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redirect_user = self.redirect_user_redacted();
        f.debug_struct("UmaError")
            .field("outcome", &self.outcome)
            .field("status", &self.status)
            .field("code", &self.code)
            .field("description", &self.description)
            .field("error_uri", &self.error_uri)
            .field("ticket", &self.ticket)
            .field("required_claims", &self.required_claims)
            .field("redirect_user", &redirect_user)
            .field("interval", &self.interval)
            .field("body_excerpt", &self.body_excerpt)
            .finish()
    }
}

/// Replaces the value of every `ticket=` query parameter in a URL-ish string.
fn redact_ticket_param(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(pos) = rest.find("ticket=") {
        let boundary = pos == 0 || matches!(rest.as_bytes()[pos - 1], b'?' | b'&');
        let (head, tail) = rest.split_at(pos + "ticket=".len());
        out.push_str(head);
        if boundary {
            let end = tail.find(['&', '#']).unwrap_or(tail.len());
            out.push_str("[redacted]");
            rest = &tail[end..];
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

impl fmt::Display for UmaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "token endpoint answered {} {}", self.status, self.code)?;
        if let Some(description) = &self.description {
            write!(f, ": {description}")?;
        }
        Ok(())
    }
}

impl std::error::Error for UmaError {}

/// Why a token-endpoint answer is not a usable success.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The AS refused with an RFC 6749 §5.2 error body.
    #[error(transparent)]
    Rejected(UmaError),
    /// Anything else: HTML, garbage, an empty body, a success without `access_token`, a success status other
    /// than 200.
    #[error("token endpoint answered {status} with an unusable response: {reason}")]
    Malformed {
        /// The HTTP status.
        status: u16,
        /// What was wrong (fixed text, never body content).
        reason: String,
    },
}

impl TokenError {
    /// The outcome of a rejection; `None` for a malformed response.
    pub fn outcome(&self) -> Option<Outcome> {
        match self {
            TokenError::Rejected(e) => Some(e.outcome),
            TokenError::Malformed { .. } => None,
        }
    }
}

/// Builds the error from a JSON object that has a string `error` member; `None` otherwise.
pub(super) fn from_error_object(status: u16, object: &Map<String, Value>) -> Option<UmaError> {
    let raw_code = object.get("error")?.as_str()?;
    let secrets = collect_secrets(object);
    // Scrub before sanitizing: truncation or control-character replacement would hide a credential from
    // the scrub and leave part of it visible.
    let clean = |s: &str| sanitize(&scrub(s, &secrets), FIELD_CHARS);
    let code = clean(raw_code);
    let text = |name: &str| object.get(name).and_then(Value::as_str).map(clean);
    let description = text("error_description");
    let error_uri = text("error_uri");

    // UMA 1.0 need_info nests its hints in error_details.requesting_party_claims (docs/protocol.md §4.1).
    let uma1 = object
        .get("error_details")
        .and_then(|d| d.get("requesting_party_claims"))
        .and_then(Value::as_object);
    let member = |name: &str| object.get(name).or_else(|| uma1.and_then(|o| o.get(name)));

    let ticket = member("ticket")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(Ticket::new);
    let required_claims = member("required_claims")
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(required_claim).collect())
        .unwrap_or_default();
    // UMA 1.0's boolean `redirect_user: true` means "use the static endpoint": no URL here.
    let redirect_user = member("redirect_user")
        .and_then(Value::as_str)
        .map(|s| sanitize(s, 4096));
    let interval = object.get("interval").and_then(number);

    Some(UmaError {
        outcome: Outcome::classify(status, &code, description.as_deref()),
        status,
        code,
        description,
        error_uri,
        ticket,
        required_claims,
        redirect_user,
        interval,
        body_excerpt: redacted_json_excerpt(object, &secrets),
    })
}

fn required_claim(value: &Value) -> Option<RequiredClaim> {
    let object = value.as_object()?;
    let text = |name: &str| {
        object
            .get(name)
            .and_then(Value::as_str)
            .map(|s| sanitize(s, FIELD_CHARS))
    };
    // Arrays by spec; a lone string is accepted too.
    let list = |name: &str| match object.get(name) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|s| sanitize(s, FIELD_CHARS))
            .collect(),
        Some(Value::String(s)) => vec![sanitize(s, FIELD_CHARS)],
        _ => Vec::new(),
    };
    Some(RequiredClaim {
        claim_token_format: list("claim_token_format"),
        claim_type: text("claim_type"),
        friendly_name: text("friendly_name"),
        issuer: list("issuer"),
        name: text("name"),
    })
}

/// A non-negative integer given as a JSON number (integral) or a numeric string.
pub(super) fn number(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0 && f.fract() == 0.0 && *f < 1e15)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Every string value of a credential member, at any depth, so it can be scrubbed from free text too.
fn collect_secrets(object: &Map<String, Value>) -> Vec<String> {
    fn walk(value: &Value, out: &mut Vec<String>, depth: usize) {
        if depth > 16 {
            return;
        }
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    match v {
                        Value::String(s)
                            if SECRET_MEMBERS.contains(&k.as_str()) && !s.is_empty() =>
                        {
                            out.push(s.clone())
                        }
                        _ => walk(v, out, depth + 1),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out, depth + 1)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (k, v) in object {
        match v {
            Value::String(s) if SECRET_MEMBERS.contains(&k.as_str()) && !s.is_empty() => {
                out.push(s.clone())
            }
            _ => walk(v, &mut out, 1),
        }
    }
    out
}

/// Replaces occurrences of the body's credential values. Values shorter than 6 bytes are left alone: they
/// are not real credentials and would mangle ordinary words.
fn scrub(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for secret in secrets {
        if secret.len() >= 6 && out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "[redacted]");
        }
    }
    out
}

/// The JSON body with credential members replaced and their values scrubbed from every other string,
/// compact, truncated on a char boundary.
pub(super) fn redacted_json_excerpt(object: &Map<String, Value>, secrets: &[String]) -> String {
    fn redact(value: &Value, depth: usize, secrets: &[String]) -> Value {
        match value {
            _ if depth > 16 => Value::String("[…]".into()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let v = if SECRET_MEMBERS.contains(&k.as_str()) {
                            Value::String("[redacted]".into())
                        } else {
                            redact(v, depth + 1, secrets)
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            ),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| redact(v, depth + 1, secrets))
                    .collect(),
            ),
            Value::String(s) => Value::String(redact_ticket_param(&scrub(s, secrets))),
            other => other.clone(),
        }
    }
    let redacted = redact(&Value::Object(object.clone()), 0, secrets);
    truncate(redacted.to_string(), EXCERPT_BYTES)
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// Control characters replaced, at most `max` characters.
fn sanitize(s: &str, max: usize) -> String {
    s.chars()
        .take(max)
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}
