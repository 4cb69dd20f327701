//! What an adapter reports about each HTTP exchange it runs for a flow, for `-v` traces, logs and
//! `tracing` spans.
//!
//! Events carry no secret: no header values, no bodies, and URLs without their query (a query may carry
//! a ticket or token on a badly built server; the path is enough to follow a flow).
//!
//! [`UmaStep`] and [`StepCounter`] name the UMA step of each exchange from what the core built, so the
//! adapters do not re-decide it. With the `tracing` feature, `spans` builds the spans the adapters
//! open: `uma.request` per application request and `uma.exchange` per HTTP exchange.

use std::time::Duration;

use crate::flow::{Outgoing, RequestKind};

/// `scheme://host[:port]/path` of `uri`: no userinfo (the authority may carry `user:password@`), no
/// query (it may carry a ticket or token on a badly built server), no fragment.
///
/// ```
/// let uri: http::Uri = "https://user:pw@rs.example.org:8443/a/b?ticket=t".parse().unwrap();
/// assert_eq!(uma_core::trace::redacted_url(&uri), "https://rs.example.org:8443/a/b");
/// ```
pub fn redacted_url(uri: &http::Uri) -> String {
    let port = uri.port().map(|p| format!(":{p}")).unwrap_or_default();
    format!(
        "{}://{}{port}{}",
        uri.scheme_str().unwrap_or("http"),
        uri.host().unwrap_or(""),
        uri.path()
    )
}

/// A short secret-free name of an error: the `error.type` of an exchange span, the `uma.outcome` of a
/// request span. One trait for every adapter's tracing (`uma_hyper::spans` re-exports it).
pub trait ErrorKind {
    /// `denied`, `need_info`, `timeout`, `transport`…
    fn kind_name(&self) -> &'static str;
}

impl ErrorKind for crate::driver::Error {
    fn kind_name(&self) -> &'static str {
        crate::driver::Error::kind_name(self)
    }
}

impl ErrorKind for crate::driver::ProtectionCallError {
    fn kind_name(&self) -> &'static str {
        crate::driver::ProtectionCallError::kind_name(self)
    }
}

/// An answer whose status an exchange span records (`uma_hyper::spans` re-exports it).
pub trait Answer {
    /// The response status.
    fn status_code(&self) -> u16;
}

impl<B> Answer for http::Response<B> {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

/// Writes an adapter's request builder for `Debug`: method, URL without userinfo or query, header names
/// (never their values), the body's description and the party. Never a credential.
pub fn debug_request_builder(
    f: &mut std::fmt::Formatter<'_>,
    builder: &http::request::Builder,
    body: &dyn std::fmt::Debug,
    party: &crate::Party,
) -> std::fmt::Result {
    let headers: Vec<&str> = builder
        .headers_ref()
        .map(|h| h.keys().map(|k| k.as_str()).collect())
        .unwrap_or_default();
    f.debug_struct("RequestBuilder")
        .field("method", &builder.method_ref())
        .field("url", &builder.uri_ref().map(redacted_url))
        .field("headers", &headers)
        .field("body", body)
        .field("party", party)
        .finish()
}

/// The port `uri` connects to: its explicit port, else the scheme's default (80 for `http`, 443 for
/// `https`).
pub fn server_port(uri: &http::Uri) -> Option<u16> {
    uri.port_u16().or(match uri.scheme_str() {
        Some("https") => Some(443),
        Some("http") => Some(80),
        _ => None,
    })
}

/// The UMA step an HTTP exchange belongs to (the `uma.step` field of the adapters' spans).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UmaStep {
    /// The application's request as first sent: with a cached RPT or none, it may be challenged.
    Challenge,
    /// A resend of the application's request (with a new RPT after a challenge, or after a redirect).
    Retry,
    /// `GET {issuer}/.well-known/uma2-configuration`.
    Discovery,
    /// An uma-ticket grant (ticket for RPT, or RPT upgrade).
    Token,
    /// A `refresh_token` grant.
    Refresh,
    /// A login: `password` or `client_credentials` grant (also the PAT of the protection API).
    Login,
    /// A protection-API call, named by its endpoint ([`RequestKind::Protection`]).
    Protection(&'static str),
}

impl UmaStep {
    /// The step of `out`, whose request is the `resends`-th resend of the application's request when it
    /// is a resource request ([`StepCounter`] counts them).
    pub fn of(out: &Outgoing, resends: u32) -> Self {
        match out.kind {
            RequestKind::Resource if resends == 0 => UmaStep::Challenge,
            RequestKind::Resource => UmaStep::Retry,
            RequestKind::Discovery => UmaStep::Discovery,
            RequestKind::Protection(name) => UmaStep::Protection(name),
            // The core built this body; its `grant_type` says which grant it is (only the name of the
            // grant is read, never another parameter).
            RequestKind::Token => match grant_type(out.request.body()) {
                Some(b"refresh_token") => UmaStep::Refresh,
                Some(b"password" | b"client_credentials") => UmaStep::Login,
                _ => UmaStep::Token,
            },
        }
    }

    /// `challenge`, `retry`, `discovery`, `token`, `refresh`, `login`, or the protection endpoint's name.
    pub fn as_str(self) -> &'static str {
        match self {
            UmaStep::Challenge => "challenge",
            UmaStep::Retry => "retry",
            UmaStep::Discovery => "discovery",
            UmaStep::Token => "token",
            UmaStep::Refresh => "refresh",
            UmaStep::Login => "login",
            UmaStep::Protection(name) => name,
        }
    }
}

/// The raw `grant_type` value of a form body.
fn grant_type(body: &[u8]) -> Option<&[u8]> {
    body.split(|b| *b == b'&')
        .find_map(|pair| pair.strip_prefix(b"grant_type="))
}

/// Counts the resource requests of one application request, so that each exchange gets its
/// [`UmaStep`] and its `http.request.resend_count`. One per driven machine.
#[derive(Clone, Copy, Debug, Default)]
pub struct StepCounter {
    resource_sends: u32,
}

impl StepCounter {
    /// The step of `out` and, for a resource request, how many times the application's request was
    /// sent before (`0` on the first send). Call once per sent request, in order.
    pub fn next(&mut self, out: &Outgoing) -> (UmaStep, Option<u32>) {
        if out.kind != RequestKind::Resource {
            return (UmaStep::of(out, 0), None);
        }
        let resends = self.resource_sends;
        self.resource_sends = self.resource_sends.saturating_add(1);
        (UmaStep::of(out, resends), Some(resends))
    }
}

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
        let url = redacted_url(request.uri());
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

/// The `tracing` spans of the adapters (feature `tracing`), with OpenTelemetry HTTP client field names.
///
/// - `uma.request`, one per application request (or login): `http.request.method`, `url.full`,
///   `server.address`, `server.port`, then `http.response.status_code` and `uma.outcome` (`ok`,
///   `denied`, or the error kind, also in `error.type`) when it ends.
/// - `uma.exchange`, one per HTTP exchange, inside it: `otel.kind` = `client`, the same request fields,
///   `uma.step` ([`UmaStep::as_str`]), `http.request.resend_count` on resends of the application's
///   request, then `http.response.status_code`, or `error.type` when the exchange failed.
///
/// URLs go through [`redacted_url`]; no header value, body, token, ticket, secret or claim is recorded.
#[cfg(feature = "tracing")]
pub mod spans {
    use tracing::Span;
    use tracing::field::Empty;

    use super::{StepCounter, UmaStep, redacted_url, server_port};
    use crate::flow::Outgoing;

    /// The span of one application request (target `uma`, level INFO); `None` for a machine without
    /// one (a login, a ticketless request).
    pub fn request(target: Option<(&http::Method, &http::Uri)>) -> Span {
        let uri = target.map(|(_, uri)| uri);
        tracing::info_span!(
            target: "uma",
            "uma.request",
            http.request.method = target.map(|(method, _)| method.as_str()),
            url.full = uri.map(redacted_url),
            server.address = uri.and_then(http::Uri::host),
            server.port = uri.and_then(server_port),
            http.response.status_code = Empty,
            uma.outcome = Empty,
            error.type = Empty,
        )
    }

    /// Records the application's request on a [`request`] span made without it: an adapter that only
    /// sees the request as the core sends it first fills the span from that first resource request.
    pub fn record_target(span: &Span, method: &http::Method, uri: &http::Uri) {
        // Nothing listens (no subscriber, or filtered out): spare the warm path the URL's allocation.
        if span.is_disabled() {
            return;
        }
        span.record("http.request.method", method.as_str());
        span.record("url.full", redacted_url(uri));
        if let Some(host) = uri.host() {
            span.record("server.address", host);
        }
        if let Some(port) = server_port(uri) {
            span.record("server.port", port);
        }
    }

    /// The span of one HTTP exchange of the current request (target `uma`, level INFO); `counter` is
    /// the request's own.
    pub fn exchange(out: &Outgoing, counter: &mut StepCounter) -> Span {
        let (step, resends) = counter.next(out);
        exchange_of(step, resends, &out.request)
    }

    /// The span of an exchange that no machine built (a protection handle's discovery at start-up):
    /// [`exchange`] with the step and resend count given.
    pub fn exchange_of<B>(step: UmaStep, resends: Option<u32>, request: &http::Request<B>) -> Span {
        let uri = request.uri();
        tracing::info_span!(
            target: "uma",
            "uma.exchange",
            otel.kind = "client",
            http.request.method = request.method().as_str(),
            url.full = redacted_url(uri),
            server.address = uri.host().unwrap_or(""),
            server.port = server_port(uri),
            uma.step = step.as_str(),
            http.request.resend_count = resends.filter(|n| *n > 0),
            http.response.status_code = Empty,
            error.type = Empty,
        )
    }

    /// Records the response status on a request or exchange span.
    pub fn record_status(span: &Span, status: u16) {
        span.record("http.response.status_code", status);
    }

    /// Records why an exchange failed (a short kind such as `timeout` or `transport`).
    pub fn record_error(span: &Span, kind: &'static str) {
        span.record("error.type", kind);
    }

    /// Records how the request ended: `ok`, or an error kind (`denied`, `need_info`, `timeout`…),
    /// which also goes into `error.type`.
    pub fn record_outcome(span: &Span, outcome: &'static str) {
        span.record("uma.outcome", outcome);
        if outcome != "ok" {
            span.record("error.type", outcome);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::RequestId;

    fn outgoing(kind: RequestKind, body: &[u8]) -> Outgoing {
        let request = http::Request::post("https://as.example.org/token")
            .body(body.to_vec())
            .unwrap();
        Outgoing {
            id: RequestId(1),
            kind,
            attach_body: false,
            request,
        }
    }

    #[test]
    fn steps_come_from_what_the_core_built() {
        let mut counter = StepCounter::default();
        let resource = outgoing(RequestKind::Resource, b"");
        assert_eq!(counter.next(&resource), (UmaStep::Challenge, Some(0)));
        let discovery = outgoing(RequestKind::Discovery, b"");
        assert_eq!(counter.next(&discovery), (UmaStep::Discovery, None));
        let grant = crate::grant::UMA_TICKET_GRANT.replace(':', "%3A");
        let token = outgoing(
            RequestKind::Token,
            format!("grant_type={grant}&ticket=t").as_bytes(),
        );
        assert_eq!(counter.next(&token), (UmaStep::Token, None));
        assert_eq!(counter.next(&resource), (UmaStep::Retry, Some(1)));
        let refresh = outgoing(
            RequestKind::Token,
            b"grant_type=refresh_token&refresh_token=r",
        );
        assert_eq!(counter.next(&refresh).0, UmaStep::Refresh);
        for login in [
            &b"grant_type=password&username=u"[..],
            b"client_id=c&grant_type=client_credentials",
        ] {
            assert_eq!(
                counter.next(&outgoing(RequestKind::Token, login)).0,
                UmaStep::Login
            );
        }
        let permission = outgoing(RequestKind::Protection("permission"), b"");
        assert_eq!(counter.next(&permission).0.as_str(), "permission");
        assert_eq!(server_port(&"http://h/".parse().unwrap()), Some(80));
        assert_eq!(server_port(&"https://h:8443/".parse().unwrap()), Some(8443));
    }

    #[test]
    fn events_hide_secrets() {
        let request = http::Request::post("https://as.example.org/token?ticket=secret-t")
            .header("authorization", "Basic c2VjcmV0")
            .body(b"ticket=secret-t".to_vec())
            .unwrap();
        let out = Outgoing {
            id: RequestId(1),
            kind: RequestKind::Token,
            attach_body: false,
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
