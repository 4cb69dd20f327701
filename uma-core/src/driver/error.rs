//! The one error a request through an adapter ends in. No variant's `Display` or `Debug` shows a
//! secret: URLs are shown without userinfo, query or fragment, the core's errors are secret-free by
//! construction, and transport errors never carry bodies or headers.

use std::time::Duration;

use crate::store::StoreError;
use crate::{Failure, RequestKind};

/// A boxed error from the transport, the request body or a TLS configuration.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Which body went over its limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyKind {
    /// The application's request body.
    Request,
    /// An authorization-server answer (discovery, token or protection endpoint).
    AuthorizationServer,
    /// A resource-server answer.
    Resource,
}

impl std::fmt::Display for BodyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BodyKind::Request => "request body",
            BodyKind::AuthorizationServer => "authorization-server response",
            BodyKind::Resource => "resource response",
        })
    }
}

/// Which time budget ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Deadline {
    /// One HTTP exchange took longer than [`Options::exchange_timeout`](super::Options::exchange_timeout)
    /// (or the transport's own timeout).
    Exchange,
    /// The whole request, UMA dance included, would take longer than
    /// [`Options::request_timeout`](super::Options::request_timeout).
    Request,
}

impl std::fmt::Display for Deadline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Deadline::Exchange => "exchange",
            Deadline::Request => "request",
        })
    }
}

/// `error: its source: …`, each cause once (a message that already quotes the next one's is not
/// repeated): hyper's own message, `client error (Connect)`, says nothing by itself.
pub(crate) fn causes(error: &(dyn std::error::Error + 'static)) -> String {
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

fn in_parens(url: &Option<String>) -> String {
    url.as_deref()
        .map(|u| format!(" ({u})"))
        .unwrap_or_default()
}

fn to_url(url: &Option<String>) -> String {
    url.as_deref()
        .map(|u| format!(" to {u}"))
        .unwrap_or_default()
}

fn from_url(url: &Option<String>) -> String {
    url.as_deref()
        .map(|u| format!(" from {u}"))
        .unwrap_or_default()
}

/// Why a request (or a login) through an adapter gave no response.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The UMA flow failed (untrusted or failing authorization server, denial, `need_info` without a
    /// claim to push, max flows reached…). The last resource-server response, when there was one, is
    /// kept: see [`Error::response`]. Boxed: a failure carries a whole response.
    #[error("{0}")]
    Uma(Box<Failure>),
    /// The HTTP exchange failed below HTTP (DNS, connect, TLS, I/O, protocol). `Display` shows the
    /// whole chain of causes. The source is the transport's own error (`ureq::Error`,
    /// `hyper_util::client::legacy::Error`…): downcast it to inspect it.
    #[error("{kind} request{} failed: {}", to_url(.url), causes(&**.source))]
    Transport {
        /// What the request was for.
        kind: RequestKind,
        /// `scheme://host[:port]/path`, without userinfo or query (none when the service below a
        /// tower layer failed before a request).
        url: Option<String>,
        /// The transport's error.
        #[source]
        source: BoxError,
    },
    /// A time budget ran out. The exchanges this request was running for others are released, so
    /// they stop waiting.
    #[error("{deadline} timeout after {after:?} during the {during} step{}", in_parens(.url))]
    Timeout {
        /// Which budget.
        deadline: Deadline,
        /// The budget.
        after: Duration,
        /// What the request that was running (or about to run, or waited on) was for.
        during: RequestKind,
        /// `scheme://host[:port]/path` of that request, without query, when one was running.
        url: Option<String>,
    },
    /// A body was larger than its limit; it was not buffered.
    #[error("the {body}{} exceeds the {limit}-byte limit", from_url(.url))]
    BodyTooLarge {
        /// Which body.
        body: BodyKind,
        /// `scheme://host[:port]/path` of the answer's request, for answers.
        url: Option<String>,
        /// The limit in bytes.
        limit: usize,
    },
    /// The resource server asked for authorization after the application's request body was sent,
    /// and that body could be sent only once (a stream longer than
    /// [`Options::max_replay_body`](super::Options::max_replay_body)). Nothing was asked of an
    /// authorization server. Send bytes, or a body that can be opened again (a file, a factory). The
    /// challenge's head is in [`Error::response`].
    #[error(
        "the resource server asked for authorization{} after the request body was sent, and that body can be sent only once; send bytes or a body that can be opened again",
        .response.as_ref().map(|r| format!(" ({})", r.status())).unwrap_or_default()
    )]
    BodyNotReplayable {
        /// The answer to the one send (head only).
        response: Option<Box<http::Response<Vec<u8>>>>,
    },
    /// The application's request body could not be opened or read.
    #[error("reading the request body failed: {}", causes(&**.0))]
    RequestBody(#[source] BoxError),
    /// The request (or an argument such as an issuer URL or a header) is invalid; nothing was sent.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The TLS configuration could not be built (e.g. a CA file without a certificate).
    #[error("TLS configuration: {}", causes(&**.0))]
    Tls(#[source] BoxError),
    /// The shared store failed and the client is set to fail closed
    /// ([`OnStoreFailure::FailClosed`](crate::store::OnStoreFailure::FailClosed)).
    #[error("{0}")]
    Store(#[source] StoreError),
}

// By hand: a derived `Debug` would print the kept challenge's headers, its ticket among them.
impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Uma(failure) => f.debug_tuple("Uma").field(failure).finish(),
            Error::Transport { kind, url, source } => f
                .debug_struct("Transport")
                .field("kind", kind)
                .field("url", url)
                .field("source", source)
                .finish(),
            Error::Timeout {
                deadline,
                after,
                during,
                url,
            } => f
                .debug_struct("Timeout")
                .field("deadline", deadline)
                .field("after", after)
                .field("during", during)
                .field("url", url)
                .finish(),
            Error::BodyTooLarge { body, url, limit } => f
                .debug_struct("BodyTooLarge")
                .field("body", body)
                .field("url", url)
                .field("limit", limit)
                .finish(),
            Error::BodyNotReplayable { response } => f
                .debug_struct("BodyNotReplayable")
                .field("status", &response.as_ref().map(|r| r.status()))
                .finish_non_exhaustive(),
            Error::RequestBody(source) => f.debug_tuple("RequestBody").field(source).finish(),
            Error::InvalidRequest(message) => {
                f.debug_tuple("InvalidRequest").field(message).finish()
            }
            Error::Tls(source) => f.debug_tuple("Tls").field(source).finish(),
            Error::Store(error) => f.debug_tuple("Store").field(error).finish(),
        }
    }
}

impl Error {
    /// A short secret-free name of the error (`denied`, `need_info`, `timeout`, `transport`…): the
    /// `uma.outcome` and `error.type` of the spans, the CLI's labels.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Error::Uma(failure) => failure.error.kind_name(),
            Error::Transport { .. } => "transport",
            Error::Timeout { .. } => "timeout",
            Error::BodyTooLarge { .. } => "body_too_large",
            Error::BodyNotReplayable { .. } => "body_not_replayable",
            Error::RequestBody(_) => "request_body",
            Error::InvalidRequest(_) => "invalid_request",
            Error::Tls(_) => "tls",
            Error::Store(_) => "store",
        }
    }

    /// The last resource-server response, when the UMA flow failed after receiving one (e.g. the final
    /// `401` after [`crate::Error::MaxFlowsReached`], or the `403` that led to a denial), or the
    /// challenge to a body that could not be replayed.
    pub fn response(&self) -> Option<&http::Response<Vec<u8>>> {
        match self {
            Error::Uma(failure) => failure.response.as_ref(),
            Error::BodyNotReplayable { response } => response.as_deref(),
            _ => None,
        }
    }

    /// Takes the last resource-server response out of the error (see [`Error::response`]).
    pub fn into_response(self) -> Option<http::Response<Vec<u8>>> {
        match self {
            Error::Uma(failure) => failure.response,
            Error::BodyNotReplayable { response } => response.map(|r| *r),
            _ => None,
        }
    }

    /// The core's error, when the UMA flow failed.
    pub fn uma(&self) -> Option<&crate::Error> {
        match self {
            Error::Uma(failure) => Some(&failure.error),
            _ => None,
        }
    }

    /// Whether the authorization server refused access (a final answer, not a fault).
    pub fn is_denied(&self) -> bool {
        self.uma().is_some_and(crate::Error::is_denied)
    }

    /// Whether a time budget ran out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }
}

impl From<http::Error> for Error {
    /// A request that could not be built (bad URL, header name or value): nothing was sent.
    fn from(error: http::Error) -> Self {
        Error::InvalidRequest(error.to_string())
    }
}

impl From<Failure> for Error {
    fn from(failure: Failure) -> Self {
        Error::Uma(Box::new(failure))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors_and_display() {
        let response = http::Response::builder()
            .status(401)
            .body(b"no".to_vec())
            .unwrap();
        let error = Error::from(Failure {
            error: crate::Error::MaxFlowsReached { flows: 1 },
            response: Some(response),
        });
        assert_eq!(error.response().map(|r| r.status().as_u16()), Some(401));
        assert!(!error.is_denied() && !error.is_timeout());
        assert!(error.to_string().contains("after 1 UMA flow"), "{error}");
        assert_eq!(
            error.into_response().map(|r| r.into_body()),
            Some(b"no".to_vec())
        );

        let error = Error::BodyTooLarge {
            body: BodyKind::AuthorizationServer,
            url: Some("https://as/token".into()),
            limit: 10,
        };
        assert_eq!(
            error.to_string(),
            "the authorization-server response from https://as/token exceeds the 10-byte limit"
        );
        assert!(error.response().is_none() && error.uma().is_none());

        let error = Error::Timeout {
            deadline: Deadline::Request,
            after: Duration::from_secs(2),
            during: RequestKind::Token,
            url: None,
        };
        assert_eq!(
            error.to_string(),
            "request timeout after 2s during the token step"
        );
        assert_eq!(error.kind_name(), "timeout");
    }

    #[test]
    fn debug_never_shows_the_kept_challenge() {
        let challenge = http::Response::builder()
            .status(401)
            .header(
                "www-authenticate",
                r#"UMA as_uri="https://as", ticket="secret-ticket""#,
            )
            .body(Vec::new())
            .unwrap();
        let error = Error::BodyNotReplayable {
            response: Some(Box::new(challenge)),
        };
        let shown = format!("{error:?} {error}");
        assert!(!shown.contains("secret-ticket"), "{shown}");
        assert!(shown.contains("401"), "{shown}");
    }

    #[test]
    fn transport_display_names_every_cause_once() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("client error (Connect)")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let error = Error::Transport {
            kind: RequestKind::Discovery,
            url: Some("https://as/.well-known/uma2-configuration".into()),
            source: Box::new(Outer(std::io::Error::other("connection refused"))),
        };
        assert_eq!(
            error.to_string(),
            "discovery request to https://as/.well-known/uma2-configuration failed: client error (Connect): connection refused"
        );
    }
}
