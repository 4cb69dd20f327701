//! The error a protection-API call through an adapter's `Protection` handle ends in.

use std::time::Duration;

use super::error::{BoxError, causes};
use crate::discovery::DiscoveryError;
use crate::protection::{CallError, PepError, PepResourceError, ProtectionError};

/// Why a protection-API call failed. No variant's `Display` or `Debug` shows a token, ticket or
/// secret: the core's errors are secret-free and URLs are shown without their query.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtectionCallError {
    /// The issuer's metadata could not be fetched or validated, or it lacks the endpoint needed.
    #[error("authorization-server metadata: {0}")]
    Discovery(#[from] DiscoveryError),
    /// The authorization server refused the call (see [`ProtectionError::status`] and
    /// [`ProtectionError::code`]) or answered something unusable.
    #[error(transparent)]
    Protection(#[from] ProtectionError),
    /// The EOEPCA PEP resource API refused the call (see [`PepResourceError::status`]) or answered
    /// something unusable.
    #[error(transparent)]
    PepResource(#[from] PepResourceError),
    /// The challenge could not be rendered (an unusable issuer or realm).
    #[error(transparent)]
    Pep(#[from] PepError),
    /// The exchange failed below HTTP (DNS, connect, TLS, I/O).
    #[error("the {operation} request to {url} failed: {}", causes(&**.source))]
    Transport {
        /// Which endpoint.
        operation: &'static str,
        /// `scheme://host[:port]/path`, without query.
        url: String,
        /// The transport's error.
        #[source]
        source: BoxError,
    },
    /// The exchange took longer than [`Options::exchange_timeout`](super::Options::exchange_timeout)
    /// (or the transport's own timeout).
    #[error("the {operation} request to {url} timed out after {after:?}")]
    Timeout {
        /// Which endpoint.
        operation: &'static str,
        /// `scheme://host[:port]/path`, without query.
        url: String,
        /// The budget.
        after: Duration,
    },
    /// The answer was larger than allowed; it was not buffered.
    #[error("the {operation} response from {url} exceeds the {limit}-byte limit")]
    BodyTooLarge {
        /// Which endpoint.
        operation: &'static str,
        /// `scheme://host[:port]/path`, without query.
        url: String,
        /// The limit in bytes.
        limit: usize,
    },
}

impl ProtectionCallError {
    /// The core's error, when the authorization server answered.
    pub fn protection(&self) -> Option<&ProtectionError> {
        match self {
            ProtectionCallError::Protection(e)
            | ProtectionCallError::Pep(PepError::Protection(e)) => Some(e),
            _ => None,
        }
    }

    /// The HTTP status of the server's answer, when it refused.
    pub fn status(&self) -> Option<http::StatusCode> {
        match self {
            ProtectionCallError::PepResource(e) => e.status(),
            _ => self.protection().and_then(ProtectionError::status),
        }
    }

    /// Whether the PAT (or the client credentials) was refused, even after one renewal.
    pub fn is_unauthorized(&self) -> bool {
        self.protection()
            .is_some_and(ProtectionError::is_unauthorized)
    }

    /// A short secret-free name of the error: the `error.type` of the spans.
    pub fn kind_name(&self) -> &'static str {
        match self {
            ProtectionCallError::Discovery(_) => "discovery",
            ProtectionCallError::Protection(_) => "protection",
            ProtectionCallError::PepResource(_) => "pep_resource",
            ProtectionCallError::Pep(_) => "pep",
            ProtectionCallError::Transport { .. } => "transport",
            ProtectionCallError::Timeout { .. } => "timeout",
            ProtectionCallError::BodyTooLarge { .. } => "body_too_large",
        }
    }
}

impl From<CallError> for ProtectionCallError {
    fn from(error: CallError) -> Self {
        match error {
            CallError::Discovery(e) => ProtectionCallError::Discovery(e),
            CallError::Protection(e) => ProtectionCallError::Protection(e),
            CallError::Pep(e) => ProtectionCallError::Pep(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_endpoint_not_the_query() {
        let url = crate::trace::redacted_url(&"http://as/t?x=secret".parse().unwrap());
        let error = ProtectionCallError::Timeout {
            operation: "token endpoint",
            url,
            after: Duration::ZERO,
        };
        assert_eq!(
            error.to_string(),
            "the token endpoint request to http://as/t timed out after 0ns"
        );
        assert_eq!(error.kind_name(), "timeout");
    }
}
