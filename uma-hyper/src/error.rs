//! The one error type of the adapter. No variant's `Display` shows a secret: UMA failures come from
//! `uma_core` (whose errors are secret-free by design) and transport errors never carry bodies or headers.

use std::time::Duration;

use uma_core::{Failure, RequestKind};

/// A boxed error from the transport, the inner service or the request body.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Which body went over its limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyKind {
    /// The application's request body.
    Request,
    /// An authorization-server answer (discovery or token endpoint).
    AuthorizationServer,
    /// A resource-server answer.
    Resource,
}

impl std::fmt::Display for BodyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BodyKind::Request => "request body",
            BodyKind::AuthorizationServer => "authorization-server response body",
            BodyKind::Resource => "resource response body",
        })
    }
}

/// Which bound a timeout hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Deadline {
    /// One HTTP exchange (send and answer; an authorization server's whole body), of this kind.
    Exchange(RequestKind),
    /// The whole request, every exchange and wait included ([`crate::Options::request_timeout`]).
    Request,
}

impl std::fmt::Display for Deadline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Deadline::Exchange(kind) => write!(f, "{} exchange", kind_name(*kind)),
            Deadline::Request => f.write_str("request"),
        }
    }
}

pub(crate) fn kind_name(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::Resource => "resource",
        RequestKind::Discovery => "discovery",
        RequestKind::Token => "token",
        _ => "other",
    }
}

/// `error: its source: …`, each cause once (a message that already quotes the next one's is not repeated).
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let message = cause.to_string();
        if !message.is_empty() && !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        next = cause.source();
    }
    text
}

/// Why a request (or a login) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The UMA flow failed (untrusted server, denial, `need_info`, max flows…). The last resource-server
    /// response, when there was one, is in [`Error::response`]. Boxed: a failure carries a whole response.
    #[error("{0}")]
    Uma(Box<Failure>),
    /// The HTTP exchange failed before an answer (connection, TLS, protocol error). `Display` shows the
    /// whole chain of causes (hyper's own message, `client error (Connect)`, says nothing by itself).
    #[error("{} exchange failed: {}", kind_name(*.kind), causes(&**.source))]
    Transport {
        /// What the failed request was for.
        kind: RequestKind,
        /// The transport's error.
        #[source]
        source: BoxError,
    },
    /// A timeout elapsed.
    #[error("{what} timed out after {after:?}")]
    Timeout {
        /// Which bound.
        what: Deadline,
        /// The configured bound.
        after: Duration,
    },
    /// A body was larger than its configured limit.
    #[error("{kind} larger than the limit of {limit} bytes")]
    BodyTooLarge {
        /// Which body.
        kind: BodyKind,
        /// The limit in bytes.
        limit: usize,
    },
    /// The resource server asked for authorization after the application's request body was sent, and
    /// that body could be sent only once (a stream longer than [`crate::Options::max_replay_body`]).
    /// Nothing was asked of an authorization server. Send the body as bytes, or with a factory that
    /// re-creates it ([`crate::UmaClient::send_with_body`]). The challenge's head is in
    /// [`Error::response`].
    #[error(
        "the resource server asked for authorization{} after the request body was sent, and that body can be sent only once; send it as bytes or with a body factory",
        .response.as_ref().map(|r| format!(" ({})", r.status())).unwrap_or_default()
    )]
    BodyNotReplayable {
        /// The answer to the one send (head only).
        response: Option<Box<http::Response<Vec<u8>>>>,
    },
    /// The application's request body failed while it was being read.
    #[error("reading the request body failed: {0}")]
    Body(#[source] BoxError),
    /// The request (or an argument such as an issuer URL) is invalid; nothing was sent.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The TLS configuration could not be built.
    #[error("TLS configuration: {0}")]
    Tls(#[source] rustls::Error),
    /// The shared store failed and the client is set to fail closed
    /// ([`OnStoreFailure::FailClosed`](uma_core::store::OnStoreFailure::FailClosed)).
    #[error("{0}")]
    Store(#[source] uma_core::store::StoreError),
}

impl Error {
    /// The last resource-server response of a failed UMA flow (for max flows reached, denials, untrusted
    /// servers…), with its body.
    pub fn response(&self) -> Option<&http::Response<Vec<u8>>> {
        match self {
            Error::Uma(failure) => failure.response.as_ref(),
            Error::BodyNotReplayable { response } => response.as_deref(),
            _ => None,
        }
    }

    /// Takes the last resource-server response out of the error.
    pub fn into_response(self) -> Option<http::Response<Vec<u8>>> {
        match self {
            Error::Uma(failure) => failure.response,
            Error::BodyNotReplayable { response } => response.map(|r| *r),
            _ => None,
        }
    }

    /// The core's error, for UMA failures.
    pub fn uma(&self) -> Option<&uma_core::Error> {
        match self {
            Error::Uma(failure) => Some(&failure.error),
            _ => None,
        }
    }

    /// Whether the authorization server refused access.
    pub fn is_denied(&self) -> bool {
        self.uma().is_some_and(uma_core::Error::is_denied)
    }

    /// Whether a timeout elapsed.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }
}

impl From<Failure> for Error {
    fn from(failure: Failure) -> Self {
        Error::Uma(Box::new(failure))
    }
}
