//! The resource-server side: rendering the spec-form challenge (UMAG §3.2.1).

use http::HeaderValue;

use super::{ChallengeError, validate_as_uri, validate_ticket};
use crate::secret::Ticket;

/// Appends `value` as an RFC 9110 §5.6.4 quoted-string.
fn push_quoted(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// Renders `UMA realm="…", as_uri="…", ticket="…"` (realm omitted when `None`), every value a
/// quoted-string with `"` and `\` escaped.
///
/// `as_uri` must pass [`validate_as_uri`] and the ticket [`validate_ticket`]; the realm may be
/// any text without control characters (HTAB allowed), so that the result is always a valid
/// header a strict parser accepts.
pub fn render(
    realm: Option<&str>,
    as_uri: &str,
    ticket: &Ticket,
) -> Result<HeaderValue, ChallengeError> {
    validate_as_uri(as_uri)?;
    validate_ticket(ticket.secret())?;
    if let Some(r) = realm {
        if r.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            return Err(ChallengeError::InvalidRealm {
                reason: "contains control characters",
            });
        }
    }
    let mut out = String::with_capacity(
        32 + realm.map_or(0, str::len) + as_uri.len() + ticket.secret().len(),
    );
    out.push_str("UMA ");
    if let Some(r) = realm {
        out.push_str("realm=");
        push_quoted(&mut out, r);
        out.push_str(", ");
    }
    out.push_str("as_uri=");
    push_quoted(&mut out, as_uri);
    out.push_str(", ticket=");
    push_quoted(&mut out, ticket.secret());
    // Unreachable after the checks above, but never panic on it.
    HeaderValue::from_bytes(out.as_bytes()).map_err(|_| ChallengeError::InvalidRealm {
        reason: "not a valid header value",
    })
}
