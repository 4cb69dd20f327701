//! Typed errors for the protection API, built so that no credential can reach a message.

use std::fmt;

use http::StatusCode;

use crate::auth::AuthError;

/// Why a protection-API request could not be built or its response not be used.
///
/// `Display` never contains a token, ticket or secret: server-supplied text is cut short and
/// stripped of control characters, and JSON parse errors have quoted values removed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtectionError {
    /// The server answered with an error status (4xx or 5xx).
    #[error("{0}")]
    Server(ErrorResponse),
    /// The server answered with a status this operation does not expect (a redirect, or an
    /// unexpected success code).
    #[error("unexpected HTTP status {status} from the {operation}")]
    UnexpectedStatus {
        /// The status received.
        status: StatusCode,
        /// The operation, for the message (e.g. "resource registration endpoint").
        operation: &'static str,
    },
    /// The success body could not be understood.
    #[error("invalid response body from the {operation}: {reason}")]
    InvalidBody {
        /// The operation, for the message.
        operation: &'static str,
        /// What was wrong, without any value from the body.
        reason: String,
    },
    /// The body is longer than [`MAX_BODY_BYTES`](super::MAX_BODY_BYTES).
    #[error("response body of {len} bytes exceeds the limit of {limit} bytes")]
    BodyTooLarge {
        /// Length of the body received.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The request could not be built from the arguments given.
    #[error("cannot build the request: {0}")]
    InvalidInput(&'static str),
    /// Client authentication could not be added.
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl ProtectionError {
    /// The HTTP status, when the error came from a server answer.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Server(e) => Some(e.status),
            Self::UnexpectedStatus { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The OAuth-style error code the server sent, if any.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Self::Server(e) => e.code.as_ref(),
            _ => None,
        }
    }

    /// Whether the server said the resource does not exist (404; Keycloak sends it with an empty body).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// Whether the server refused a duplicate (Keycloak: 409 on a resource name already in use).
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(StatusCode::CONFLICT)
    }

    /// Whether the PAT (or client credentials) was rejected, so a new PAT should be obtained before a
    /// retry: 401, or Gluu's 406 `invalid_client_scope` (`docs/protocol.md` §9.1).
    pub fn is_unauthorized(&self) -> bool {
        matches!(self.status(), Some(StatusCode::UNAUTHORIZED))
            || matches!(
                self.code(),
                Some(ErrorCode::InvalidToken | ErrorCode::InvalidClientScope)
            )
    }
}

/// An error answer from the authorization server: `{"error", "error_description"?, "error_uri"?}`
/// (UMAF §6, RFC 6749 §5.2, RFC 7591 §3.2.2), or just a status when the body held none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorResponse {
    /// The HTTP status.
    pub status: StatusCode,
    /// The `error` member, if the body was a JSON object carrying one.
    pub code: Option<ErrorCode>,
    /// The `error_description` member, shortened and without control characters.
    pub description: Option<String>,
    /// The `error_uri` member, shortened and without control characters.
    pub uri: Option<String>,
}

impl fmt::Display for ErrorResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "authorization server answered {}", self.status)?;
        if let Some(code) = &self.code {
            write!(f, ": {}", code.as_str())?;
        }
        if let Some(description) = &self.description {
            write!(f, " ({description})")?;
        }
        Ok(())
    }
}

/// The `error` codes the protection API, introspection and client registration define, plus the
/// server-specific ones that change what a caller should do.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `invalid_request` (UMAF §3.2; Keycloak also uses it for a duplicate resource name, with 409).
    InvalidRequest,
    /// `not_found` (UMAF §3.2).
    NotFound,
    /// `unsupported_method_type` (UMAF §3.2).
    UnsupportedMethodType,
    /// `invalid_resource_id` (UMAF §4.3).
    InvalidResourceId,
    /// `invalid_scope` (UMAF §4.3; Keycloak: PAT without the `uma_protection` role).
    InvalidScope,
    /// `invalid_permission_request` (Keycloak, Gluu: unparsable permission body).
    InvalidPermissionRequest,
    /// `invalid_redirect_uri` (RFC 7591 §3.2.2).
    InvalidRedirectUri,
    /// `invalid_client_metadata` (RFC 7591 §3.2.2).
    InvalidClientMetadata,
    /// `invalid_software_statement` (RFC 7591 §3.2.2).
    InvalidSoftwareStatement,
    /// `unapproved_software_statement` (RFC 7591 §3.2.2).
    UnapprovedSoftwareStatement,
    /// `invalid_token` (RFC 6750 §3.1).
    InvalidToken,
    /// `invalid_client` (RFC 6749 §5.2).
    InvalidClient,
    /// `invalid_grant` (RFC 6749 §5.2).
    InvalidGrant,
    /// `unauthorized_client` (RFC 6749 §5.2; Gluu: missing PAT).
    UnauthorizedClient,
    /// `access_denied` (Gluu: resource of another client).
    AccessDenied,
    /// `invalid_client_scope` (Gluu 406: PAT without `uma_protection`).
    InvalidClientScope,
    /// `not_supported` (Keycloak: remote resource management disabled).
    NotSupported,
    /// Any other code, as sent (shortened, control characters removed).
    Other(String),
}

impl ErrorCode {
    /// Reads an `error` member.
    pub fn parse(code: &str) -> Self {
        match code {
            "invalid_request" => Self::InvalidRequest,
            "not_found" => Self::NotFound,
            "unsupported_method_type" => Self::UnsupportedMethodType,
            "invalid_resource_id" => Self::InvalidResourceId,
            "invalid_scope" => Self::InvalidScope,
            "invalid_permission_request" => Self::InvalidPermissionRequest,
            "invalid_redirect_uri" => Self::InvalidRedirectUri,
            "invalid_client_metadata" => Self::InvalidClientMetadata,
            "invalid_software_statement" => Self::InvalidSoftwareStatement,
            "unapproved_software_statement" => Self::UnapprovedSoftwareStatement,
            "invalid_token" => Self::InvalidToken,
            "invalid_client" => Self::InvalidClient,
            "invalid_grant" => Self::InvalidGrant,
            "unauthorized_client" => Self::UnauthorizedClient,
            "access_denied" => Self::AccessDenied,
            "invalid_client_scope" => Self::InvalidClientScope,
            "not_supported" => Self::NotSupported,
            other => Self::Other(sanitize(other, 64)),
        }
    }

    /// The code as sent on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::NotFound => "not_found",
            Self::UnsupportedMethodType => "unsupported_method_type",
            Self::InvalidResourceId => "invalid_resource_id",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidPermissionRequest => "invalid_permission_request",
            Self::InvalidRedirectUri => "invalid_redirect_uri",
            Self::InvalidClientMetadata => "invalid_client_metadata",
            Self::InvalidSoftwareStatement => "invalid_software_statement",
            Self::UnapprovedSoftwareStatement => "unapproved_software_statement",
            Self::InvalidToken => "invalid_token",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::AccessDenied => "access_denied",
            Self::InvalidClientScope => "invalid_client_scope",
            Self::NotSupported => "not_supported",
            Self::Other(code) => code,
        }
    }
}

/// Server text for messages: control characters dropped, at most `max` characters.
pub(crate) fn sanitize(text: &str, max: usize) -> String {
    let mut out: String = text.chars().filter(|c| !c.is_control()).take(max).collect();
    if text.chars().filter(|c| !c.is_control()).nth(max).is_some() {
        out.push('…');
    }
    out
}

/// A serde_json error message with every quoted value removed: a body that puts a token where a
/// number belongs must not echo the token (`docs/protocol.md` §11).
pub(crate) fn redact_json_error(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let mut out = String::with_capacity(message.len());
    let mut in_quotes = false;
    for c in message.chars() {
        if c == '"' {
            if !in_quotes {
                out.push_str("\"…\"");
            }
            in_quotes = !in_quotes;
        } else if !in_quotes {
            out.push(c);
        }
    }
    sanitize(&out, 200)
}
