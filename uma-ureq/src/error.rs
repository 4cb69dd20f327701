//! The one error type of the adapter. No variant's `Display` or `Debug` shows a secret: URLs are shown
//! without their query, and the core's errors are secret-free by construction.

use std::time::Duration;

use uma_core::RequestKind;

/// Which time budget ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// One HTTP exchange (connect, send, receive headers and body) took longer than
    /// [`Options::exchange_timeout`](crate::Options::exchange_timeout).
    Exchange,
    /// The whole request, UMA dance included, would take longer than
    /// [`Options::request_timeout`](crate::Options::request_timeout).
    Request,
}

impl std::fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TimeoutKind::Exchange => "exchange",
            TimeoutKind::Request => "request",
        })
    }
}

/// Why a request through [`UmaAgent`](crate::UmaAgent) gave no response.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The UMA flow failed (untrusted or failing authorization server, denial, need_info without a
    /// claim to push, max flows reached…). The last resource-server response, when there was one, is
    /// kept: see [`Error::response`].
    #[error("{0}")]
    Uma(Box<uma_core::Failure>),
    /// The HTTP exchange failed below HTTP (DNS, connect, TLS, I/O, protocol).
    #[error("{kind} request to {url} failed: {source}")]
    Transport {
        /// What the request was for.
        kind: Kind,
        /// `scheme://host[:port]/path`, without query.
        url: String,
        /// The transport error.
        #[source]
        source: ureq::Error,
    },
    /// A time budget ran out. When it runs out in the middle of the UMA dance, the exchanges this request
    /// was running for others are released so they stop waiting.
    #[error("{kind} timeout after {after:?} during the {during} step{}", .url.as_deref().map(|u| format!(" ({u})")).unwrap_or_default())]
    Timeout {
        /// Which budget.
        kind: TimeoutKind,
        /// The budget.
        after: Duration,
        /// What the request that was running (or about to run, or waited on) was for.
        during: Kind,
        /// `scheme://host[:port]/path` of that request, without query, when one was running.
        url: Option<String>,
    },
    /// A response body was larger than allowed; it was not buffered.
    #[error("the {kind} response from {url} exceeds the {limit}-byte limit")]
    BodyTooLarge {
        /// What the request was for.
        kind: Kind,
        /// `scheme://host[:port]/path`, without query.
        url: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The request could not be built (bad URL, header name or value).
    #[error("invalid request: {0}")]
    Request(#[from] http::Error),
    /// The resource server asked for authorization after the application's request body was read, and
    /// that body could be read only once (a reader longer than
    /// [`Options::max_replay_body`](crate::Options::max_replay_body), sent with
    /// `Expect: 100-continue` to a server that asked for the body before answering). Nothing was asked
    /// of an authorization server. Send bytes, or a body opened again per send
    /// ([`RequestBuilder::body_file`](crate::RequestBuilder::body_file),
    /// [`UmaAgent::send_with_body`](crate::UmaAgent::send_with_body)). The challenge's head is in
    /// [`Error::response`].
    #[error(
        "the resource server asked for authorization{} after the request body was sent, and that body can be sent only once; send bytes or a body that can be opened again",
        .response.as_ref().map(|r| format!(" ({})", r.status())).unwrap_or_default()
    )]
    BodyNotReplayable {
        /// The answer to the one send (head only).
        response: Option<Box<http::Response<Vec<u8>>>>,
    },
    /// The application's request body could not be read or opened.
    #[error("reading the request body failed: {0}")]
    RequestBody(#[source] std::io::Error),
    /// The shared store failed and the agent is set to fail closed
    /// ([`OnStoreFailure::FailClosed`](uma_core::store::OnStoreFailure::FailClosed)).
    #[error("{0}")]
    Store(#[source] uma_core::store::StoreError),
}

/// What an exchange was for, printable ([`RequestKind`] with a `Display`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kind(pub RequestKind);

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            RequestKind::Resource => "resource",
            RequestKind::Discovery => "discovery",
            RequestKind::Token => "token",
            _ => "other",
        })
    }
}

impl Error {
    /// A short secret-free name of the error (`denied`, `need_info`, `timeout`, `transport`…): the
    /// `uma.outcome` and `error.type` of the spans.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) fn kind_name(&self) -> &'static str {
        match self {
            Error::Uma(failure) => failure.error.kind_name(),
            Error::Transport { .. } => "transport",
            Error::Timeout { .. } => "timeout",
            Error::BodyTooLarge { .. } => "body_too_large",
            Error::Request(_) => "invalid_request",
            Error::BodyNotReplayable { .. } => "body_not_replayable",
            Error::RequestBody(_) => "request_body",
            Error::Store(_) => "store",
        }
    }

    /// The last resource-server response, when the UMA flow failed after receiving one (e.g. the final
    /// `401` after [`uma_core::Error::MaxFlowsReached`], or the `403` that led to a denial).
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
    pub fn uma(&self) -> Option<&uma_core::Error> {
        match self {
            Error::Uma(failure) => Some(&failure.error),
            _ => None,
        }
    }

    /// Whether the authorization server refused access (a final answer, not a fault).
    pub fn is_denied(&self) -> bool {
        self.uma().is_some_and(uma_core::Error::is_denied)
    }

    /// Whether a time budget ran out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }
}

impl From<uma_core::Failure> for Error {
    fn from(failure: uma_core::Failure) -> Self {
        Error::Uma(Box::new(failure))
    }
}

/// `scheme://host[:port]/path` of a URI: the query may carry credentials on a badly built server.
pub(crate) fn display_url(uri: &http::Uri) -> String {
    uma_core::trace::redacted_url(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_userinfo_query_and_fragment() {
        let uri: http::Uri = "https://user:pw@rs.example.org:8443/a/b?ticket=t1"
            .parse()
            .unwrap();
        assert_eq!(display_url(&uri), "https://rs.example.org:8443/a/b");
        let uri: http::Uri = "http://rs.example.org/".parse().unwrap();
        assert_eq!(display_url(&uri), "http://rs.example.org/");
    }

    #[test]
    fn accessors_and_display() {
        let response = http::Response::builder()
            .status(401)
            .body(b"no".to_vec())
            .unwrap();
        let error = Error::from(uma_core::Failure {
            error: uma_core::Error::MaxFlowsReached { flows: 1 },
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
            kind: Kind(RequestKind::Token),
            url: "https://as/token".into(),
            limit: 10,
        };
        assert_eq!(
            error.to_string(),
            "the token response from https://as/token exceeds the 10-byte limit"
        );
        assert!(error.response().is_none() && error.uma().is_none());
    }
}
