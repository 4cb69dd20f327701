//! The typed errors of the protection handle.

use std::time::Duration;

use uma_core::discovery::DiscoveryError;
use uma_core::protection::{PepError, PepResourceError, ProtectionError};

/// Why a protection-API call failed. No variant's `Display` or `Debug` shows a token, ticket or
/// secret: the core's errors are secret-free and URLs are shown without their query.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
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
    #[error("the {operation} request to {url} failed: {source}")]
    Transport {
        /// Which endpoint.
        operation: &'static str,
        /// `scheme://host[:port]/path`, without query.
        url: String,
        /// The transport error.
        #[source]
        source: ureq::Error,
    },
    /// The exchange took longer than [`Options::exchange_timeout`](crate::Options::exchange_timeout) (or the agent's own timeout).
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
        limit: u64,
    },
}

impl Error {
    /// The core's error, when the authorization server answered.
    pub fn protection(&self) -> Option<&ProtectionError> {
        match self {
            Error::Protection(e) | Error::Pep(PepError::Protection(e)) => Some(e),
            _ => None,
        }
    }

    /// The HTTP status of the server's answer, when it refused.
    pub fn status(&self) -> Option<http::StatusCode> {
        match self {
            Error::PepResource(e) => e.status(),
            _ => self.protection().and_then(ProtectionError::status),
        }
    }

    /// Whether the PAT (or the client credentials) was refused, even after one renewal.
    pub fn is_unauthorized(&self) -> bool {
        self.protection()
            .is_some_and(ProtectionError::is_unauthorized)
    }
}

impl From<uma_core::protection::CallError> for Error {
    fn from(error: uma_core::protection::CallError) -> Self {
        use uma_core::protection::CallError;
        match error {
            CallError::Discovery(e) => Error::Discovery(e),
            CallError::Protection(e) => Error::Protection(e),
            CallError::Pep(e) => Error::Pep(e),
        }
    }
}

impl crate::driver::KindName for Error {
    fn kind_name(&self) -> &'static str {
        match self {
            Error::Discovery(_) => "discovery",
            Error::Protection(_) => "protection",
            Error::PepResource(_) => "pep_resource",
            Error::Pep(_) => "pep",
            Error::Transport { .. } => "transport",
            Error::Timeout { .. } => "timeout",
            Error::BodyTooLarge { .. } => "body_too_large",
        }
    }
}
