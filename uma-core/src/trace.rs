//! What an adapter reports about each HTTP exchange it runs for a flow, for `-v` traces and logs.
//!
//! Events carry no secret: no header values, no bodies, and URLs without their query (a query may carry
//! a ticket or token on a badly built server; the path is enough to follow a flow).

use std::time::Duration;

use crate::flow::{Outgoing, RequestKind};

/// One finished (or failed) HTTP exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExchangeEvent {
    /// What the request was for.
    pub kind: RequestKind,
    /// HTTP method.
    pub method: String,
    /// `scheme://host[:port]/path`, without query or fragment.
    pub url: String,
    /// Whether the request carried an `Authorization` header, and of which scheme (`Basic`, `Bearer`).
    pub authorization: Option<String>,
    /// Request body length in bytes.
    pub request_bytes: usize,
    /// Response status, or `None` when the exchange failed.
    pub status: Option<u16>,
    /// Response body length in bytes, when there was one.
    pub response_bytes: Option<usize>,
    /// How long it took.
    pub elapsed: Duration,
    /// Why it failed, when it did (transport errors only; never a body).
    pub error: Option<String>,
}

impl ExchangeEvent {
    /// Describes `out` before it is sent; fill in the outcome with [`ExchangeEvent::finished`] or
    /// [`ExchangeEvent::failed`].
    pub fn for_request(out: &Outgoing) -> Self {
        let request = &out.request;
        let uri = request.uri();
        // Host and port only: the authority may carry `user:password@`.
        let port = uri.port().map(|p| format!(":{p}")).unwrap_or_default();
        let url = format!(
            "{}://{}{port}{}",
            uri.scheme_str().unwrap_or("http"),
            uri.host().unwrap_or(""),
            uri.path()
        );
        let authorization = request
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            // Only the scheme word; a value without one is all credential.
            .map(|v| {
                v.split_once(' ')
                    .map_or("credential", |(scheme, _)| scheme)
                    .to_owned()
            });
        Self {
            kind: out.kind,
            method: request.method().to_string(),
            url,
            authorization,
            request_bytes: request.body().len(),
            status: None,
            response_bytes: None,
            elapsed: Duration::ZERO,
            error: None,
        }
    }

    /// The exchange answered.
    pub fn finished(mut self, status: u16, response_bytes: usize, elapsed: Duration) -> Self {
        self.status = Some(status);
        self.response_bytes = Some(response_bytes);
        self.elapsed = elapsed;
        self
    }

    /// The exchange failed before an answer.
    pub fn failed(mut self, error: impl Into<String>, elapsed: Duration) -> Self {
        self.error = Some(error.into());
        self.elapsed = elapsed;
        self
    }

    /// A one-line human description, e.g. `token   POST https://as/token [Basic] -> 200 (412 B, 3 ms)`.
    pub fn line(&self) -> String {
        let kind = match self.kind {
            RequestKind::Resource => "resource",
            RequestKind::Discovery => "discovery",
            RequestKind::Token => "token",
            RequestKind::Protection(operation) => operation,
        };
        let auth = self
            .authorization
            .as_deref()
            .map(|a| format!(" [{a} ***]"))
            .unwrap_or_default();
        let outcome = match (self.status, &self.error) {
            (Some(status), _) => format!("{status} ({} B)", self.response_bytes.unwrap_or(0)),
            (None, Some(error)) => format!("error: {error}"),
            (None, None) => "no answer".to_owned(),
        };
        format!(
            "{kind:<9} {} {}{auth} -> {outcome}, {} ms",
            self.method,
            self.url,
            self.elapsed.as_millis()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::RequestId;

    #[test]
    fn events_hide_secrets() {
        let request = http::Request::post("https://as.example.org/token?ticket=secret-t")
            .header("authorization", "Basic c2VjcmV0")
            .body(b"ticket=secret-t".to_vec())
            .unwrap();
        let out = Outgoing {
            id: RequestId(1),
            kind: RequestKind::Token,
            request,
        };
        let event = ExchangeEvent::for_request(&out).finished(200, 10, Duration::from_millis(3));
        let shown = format!("{} {:?}", event.line(), event);
        assert!(!shown.contains("secret"), "{shown}");
        assert!(!shown.contains("c2VjcmV0"), "{shown}");
        assert_eq!(
            event.line(),
            "token     POST https://as.example.org/token [Basic ***] -> 200 (10 B), 3 ms"
        );
    }
}
