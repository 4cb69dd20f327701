//! The PEP resource API's refusals as types. The PEP puts its reason in an `Error` header (sometimes a
//! JSON body); the text is kept shortened, without control characters and with anything shaped like a
//! token cut out, so that no message can carry the ID token.

use http::StatusCode;

use super::MAX_BODY_BYTES;
use super::error::sanitize;

/// Why a PEP resource API call failed. `Display` and `Debug` never show the ID token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PepResourceError {
    /// 401: no ID token, one the PEP could not read, or (on create) a path below another user's
    /// resource.
    #[error("the PEP resource API answered 401: the ID token was refused{}", reason(.message))]
    Unauthorized {
        /// The PEP's reason.
        message: Option<String>,
    },
    /// 403: the caller neither owns the resource nor is an operator.
    #[error("the PEP resource API answered 403: not the owner{}", reason(.message))]
    Forbidden {
        /// The PEP's reason.
        message: Option<String>,
    },
    /// 404: no such resource (or none at the `?path=` asked for).
    #[error("the PEP resource API answered 404: no such resource{}", reason(.message))]
    NotFound {
        /// The PEP's reason.
        message: Option<String>,
    },
    /// 405: this PEP does not serve the method (current PEPs refuse `GET /resources/{id}`).
    #[error("the PEP resource API answered 405: method not allowed")]
    MethodNotAllowed,
    /// 422: a resource is already registered at this path.
    #[error("the PEP resource API answered 422: already registered{}", reason(.message))]
    AlreadyExists {
        /// The PEP's reason.
        message: Option<String>,
    },
    /// Any other error status (415 not JSON, 500 missing name…).
    #[error("the PEP resource API answered {status}{}", reason(.message))]
    Server {
        /// The status.
        status: StatusCode,
        /// The PEP's reason.
        message: Option<String>,
    },
    /// A status this operation does not expect (a redirect, another success code).
    #[error("unexpected HTTP status {0} from the PEP resource API")]
    UnexpectedStatus(StatusCode),
    /// The success body could not be understood.
    #[error("invalid response body from the PEP resource API: {0}")]
    InvalidBody(String),
    /// The body is longer than [`MAX_BODY_BYTES`](super::MAX_BODY_BYTES).
    #[error("response body of {0} bytes from the PEP resource API exceeds the limit")]
    BodyTooLarge(usize),
    /// The request could not be built from the arguments given.
    #[error("cannot build the PEP resource API request: {0}")]
    InvalidInput(&'static str),
}

impl PepResourceError {
    /// The HTTP status, when the error came from the PEP's answer.
    pub fn status(&self) -> Option<StatusCode> {
        Some(match self {
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::AlreadyExists { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Server { status, .. } | Self::UnexpectedStatus(status) => *status,
            _ => return None,
        })
    }
}

fn reason(message: &Option<String>) -> String {
    message
        .as_ref()
        .map(|m| format!(" ({m})"))
        .unwrap_or_default()
}

pub(super) fn invalid_body(reason: &str) -> PepResourceError {
    PepResourceError::InvalidBody(reason.to_owned())
}

/// Checks the size and status; an error status becomes its variant.
pub(super) fn check(
    response: &http::Response<Vec<u8>>,
    expected: &[StatusCode],
) -> Result<(), PepResourceError> {
    if response.body().len() > MAX_BODY_BYTES {
        return Err(PepResourceError::BodyTooLarge(response.body().len()));
    }
    let status = response.status();
    if expected.contains(&status) {
        return Ok(());
    }
    if !status.is_client_error() && !status.is_server_error() {
        return Err(PepResourceError::UnexpectedStatus(status));
    }
    let message = message(response);
    Err(match status {
        StatusCode::UNAUTHORIZED => PepResourceError::Unauthorized { message },
        StatusCode::FORBIDDEN => PepResourceError::Forbidden { message },
        StatusCode::NOT_FOUND => PepResourceError::NotFound { message },
        StatusCode::METHOD_NOT_ALLOWED => PepResourceError::MethodNotAllowed,
        StatusCode::UNPROCESSABLE_ENTITY => PepResourceError::AlreadyExists { message },
        _ => PepResourceError::Server { status, message },
    })
}

/// The `Error` header, else a JSON body's `error_description`, `error` or `message`.
fn message(response: &http::Response<Vec<u8>>) -> Option<String> {
    let header = response
        .headers()
        .get("error")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = || {
        let value: serde_json::Value = serde_json::from_slice(response.body()).ok()?;
        ["error_description", "error", "message"]
            .iter()
            .find_map(|k| value.get(k)?.as_str().map(str::to_owned))
    };
    let text = header.or_else(body)?;
    let text = sanitize(&without_tokens(&text), 200);
    (!text.trim().is_empty()).then_some(text)
}

/// `text` with every run of 32 or more token characters (base64url, dots and `=`) replaced by
/// `[redacted]`: a PEP that quotes the token it refused must not put it in a log.
pub(super) fn without_tokens(text: &str) -> String {
    let token_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '=');
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        out.push_str(if run.len() >= 32 { "[redacted]" } else { run });
        run.clear();
    };
    for c in text.chars() {
        if token_char(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_cut_from_messages() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";
        assert_eq!(
            without_tokens(&format!("Invalid token '{jwt}' for /alice")),
            "Invalid token '[redacted]' for /alice"
        );
        assert_eq!(
            without_tokens("Resource already exists for URI /alice"),
            "Resource already exists for URI /alice"
        );
    }
}
