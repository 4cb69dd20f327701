//! One HTTP exchange over ureq: sent as it is (no redirects, statuses are not errors), under a time
//! budget, with the response body read up to a limit.

use std::io::Read;
use std::time::{Duration, Instant};

use http::Method;
use uma_core::trace::ExchangeEvent;
use uma_core::{Outgoing, RequestKind};
use ureq::RequestExt;

use crate::body::{AppBody, Counted};
use uma_core::driver::{BodyKind, Deadline, RequestDeadline};

use crate::error::Error;
use crate::options::Options;

/// The time budget of one exchange: the per-exchange timeout, clipped to what is left of the request's
/// ([`RequestDeadline::exchange_budget`]), and the agent's own global timeout.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Budget {
    pub after: Duration,
    pub kind: Deadline,
}

impl Budget {
    /// `None` when no timeout is set. `agent_global` is the wrapped agent's own `timeout_global`, which a
    /// per-request setting would otherwise replace: the shortest budget wins.
    pub fn new(
        options: &Options,
        deadline: &RequestDeadline,
        agent_global: Option<Duration>,
        now: Instant,
    ) -> Option<Budget> {
        let ours = deadline
            .exchange_budget(options.exchange_timeout, now)
            .map(|(after, kind)| Budget { after, kind }.capped());
        match (ours, agent_global) {
            (Some(b), Some(global)) if global < b.after => Some(Budget {
                after: global,
                kind: Deadline::Exchange,
            }),
            (None, Some(global)) => Some(Budget {
                after: global,
                kind: Deadline::Exchange,
            }),
            (ours, _) => ours,
        }
    }

    /// ureq adds the timeout to `Instant::now()` and panics on overflow: a year is "no limit" enough.
    fn capped(self) -> Budget {
        const A_YEAR: Duration = Duration::from_secs(365 * 24 * 3600);
        Budget {
            after: self.after.min(A_YEAR),
            ..self
        }
    }
}

/// A response as the run loop hands it to the core.
pub(crate) enum Answer {
    /// An authorization-server answer, or a resource answer whose body the core needs: read whole.
    Read(http::Response<Vec<u8>>),
    /// A resource answer: its head (with an empty body) for the core, its body unread.
    Head(http::Response<Vec<u8>>, ureq::Body),
}

impl Answer {
    pub fn status(&self) -> http::StatusCode {
        match self {
            Answer::Read(r) | Answer::Head(r, _) => r.status(),
        }
    }
}

/// Sends `out` (with the application's body when the core says so) and reads as much of the answer as
/// the core needs. Reports the exchange to the observer, whatever the outcome.
pub(crate) fn exchange(
    agent: &ureq::Agent,
    options: &Options,
    out: Outgoing,
    body: &mut AppBody,
    budget: Option<Budget>,
    deadline: &RequestDeadline,
) -> Result<Answer, Error> {
    let event = options
        .observer
        .as_ref()
        .map(|_| ExchangeEvent::for_request(&out));
    let started = Instant::now();
    let kind = out.kind;
    // Formatted only for an error: the warm path sends without an allocation for it.
    let uri = out.request.uri().clone();
    let url = || uma_core::trace::redacted_url(&uri);
    let limit = options.max_authorization_server_body;
    let read_limit = u64::try_from(limit).unwrap_or(u64::MAX);
    let result = send(agent, out, body, budget, read_limit).map_err(|failure| match failure {
        Failed::Transport(ureq::Error::Timeout(_)) => timeout(budget, deadline, kind, &url()),
        Failed::Transport(ureq::Error::Io(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
            timeout(budget, deadline, kind, &url())
        }
        Failed::Transport(ureq::Error::BodyExceedsLimit(_)) | Failed::TooLarge => {
            Error::BodyTooLarge {
                body: BodyKind::AuthorizationServer,
                url: Some(url()),
                limit,
            }
        }
        Failed::Transport(source) => Error::Transport {
            kind,
            url: Some(url()),
            source: Box::new(source),
        },
        Failed::Open(source) => Error::RequestBody(Box::new(source)),
        Failed::Spent => Error::BodyNotReplayable { response: None },
    });
    if let (Some(observer), Some(event)) = (&options.observer, event) {
        let elapsed = started.elapsed();
        let event = match &result {
            Ok(Answer::Read(response)) => {
                event.finished(response.status().as_u16(), response.body().len(), elapsed)
            }
            Ok(Answer::Head(response, body)) => {
                let announced = body.content_length().unwrap_or(0);
                let announced = usize::try_from(announced).unwrap_or(usize::MAX);
                event.finished(response.status().as_u16(), announced, elapsed)
            }
            Err(error) => event.failed(short(error), elapsed),
        };
        observer(&event);
    }
    result
}

/// A short, secret-free reason for traces.
fn short(error: &Error) -> String {
    match error {
        Error::Timeout {
            deadline, after, ..
        } => format!("{deadline} timeout after {after:?}"),
        Error::BodyTooLarge { limit, .. } => format!("body over {limit} bytes"),
        Error::Transport { source, .. } => source.to_string(),
        other => other.to_string(),
    }
}

fn timeout(
    budget: Option<Budget>,
    deadline: &RequestDeadline,
    during: RequestKind,
    url: &str,
) -> Error {
    // A timeout without a budget of ours comes from the user's agent configuration.
    let (kind, after) = match budget {
        Some(Budget {
            kind: Deadline::Request,
            ..
        }) => (Deadline::Request, deadline.after().unwrap_or_default()),
        Some(b) => (b.kind, b.after),
        None => (Deadline::Exchange, Duration::ZERO),
    };
    Error::Timeout {
        deadline: kind,
        after,
        during,
        url: Some(url.to_owned()),
    }
}

pub(crate) enum Failed {
    Transport(ureq::Error),
    TooLarge,
    /// The application's body source could not be opened again.
    Open(std::io::Error),
    /// The application's body was read already.
    Spent,
}

impl From<ureq::Error> for Failed {
    fn from(e: ureq::Error) -> Self {
        Failed::Transport(e)
    }
}

/// What the exchange budget bounds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phases {
    /// Everything, both bodies included (authorization-server calls).
    Whole,
    /// Up to the answer's head, the request body included (a resource request with bytes).
    UpToHead,
    /// Up to the answer's head, the request body excepted (a streamed upload may take longer than any
    /// exchange budget; the agent's own `timeout_send_body` applies).
    HeadOnly,
}

/// Runs one request with the adapter's per-request configuration on top of the user's agent. A resource
/// answer's body is the caller's to read, under the agent's own timeouts.
fn run(
    agent: &ureq::Agent,
    request: http::Request<impl ureq::AsSendBody>,
    timeout: Option<Duration>,
    phases: Phases,
) -> Result<http::Response<ureq::Body>, ureq::Error> {
    // Statuses are answers, not errors, and redirects are the core's business (`docs/protocol.md` §11.3).
    let mut config = request
        .with_agent(agent)
        .configure()
        .http_status_as_error(false)
        .max_redirects(0);
    // Without a budget of ours, the agent's own timeouts stay in force. With one, every phase gets it
    // rather than `timeout_global`: in ureq 3 a global (or resolve) timeout runs the name lookup on a new
    // thread for every request, pooled connection or not, which costs more than the request itself on a
    // LAN (BENCHMARKS.md). The request deadline is still checked between exchanges.
    if timeout.is_some() {
        config = config
            .timeout_connect(timeout)
            .timeout_send_request(timeout)
            .timeout_recv_response(timeout);
        if phases != Phases::HeadOnly {
            config = config.timeout_send_body(timeout);
        }
        if phases == Phases::Whole {
            config = config.timeout_recv_body(timeout);
        } else {
            // A resource answer's body streams to the caller for as long as it takes, but never stalls
            // longer than the budget between bytes: a UMA 1.0 challenge whose JSON ticket stops
            // half-way, or a download that stops, fails instead of hanging.
            config = config.timeout_per_read(timeout);
        }
    }
    config.build().run()
}

/// Bodies opened again per send go with `Expect: 100-continue` above this size (or of unknown size).
const EXPECT_ABOVE: u64 = 1024 * 1024;

/// Whether an empty body on this method goes out without `Content-Length: 0`.
fn bodiless(method: &Method, body: &[u8]) -> bool {
    body.is_empty()
        && matches!(
            *method,
            Method::GET | Method::HEAD | Method::DELETE | Method::OPTIONS | Method::TRACE
        )
}

fn send_bytes(
    agent: &ureq::Agent,
    parts: http::request::Parts,
    body: &[u8],
    timeout: Option<Duration>,
    phases: Phases,
) -> Result<http::Response<ureq::Body>, ureq::Error> {
    if bodiless(&parts.method, body) {
        run(agent, http::Request::from_parts(parts, ()), timeout, phases)
    } else {
        run(
            agent,
            http::Request::from_parts(parts, body),
            timeout,
            phases,
        )
    }
}

/// Sends `request` as it is and reads the whole answer up to `limit` (the protection API's calls).
pub(crate) fn send_read(
    agent: &ureq::Agent,
    request: http::Request<Vec<u8>>,
    budget: Option<Budget>,
    limit: u64,
) -> Result<http::Response<Vec<u8>>, Failed> {
    let (parts, body) = request.into_parts();
    let response = send_bytes(agent, parts, &body, budget.map(|b| b.after), Phases::Whole)?;
    read_whole(response, limit)
}

fn read_whole(
    response: http::Response<ureq::Body>,
    limit: u64,
) -> Result<http::Response<Vec<u8>>, Failed> {
    let (parts, body) = response.into_parts();
    // Refuse before reading when the server announces too much.
    if body.content_length().is_some_and(|len| len > limit) {
        return Err(Failed::TooLarge);
    }
    let bytes = body.into_with_config().limit(limit).read_to_vec()?;
    Ok(http::Response::from_parts(parts, bytes))
}

fn send(
    agent: &ureq::Agent,
    out: Outgoing,
    app: &mut AppBody,
    budget: Option<Budget>,
    limit: u64,
) -> Result<Answer, Failed> {
    let timeout = budget.map(|b| b.after);
    let kind = out.kind;
    let (mut parts, bytes) = out.request.into_parts();
    let response = match app {
        _ if !out.attach_body => {
            let phases = if kind.is_authorization_server() {
                Phases::Whole
            } else {
                Phases::UpToHead
            };
            send_bytes(agent, parts, &bytes, timeout, phases)?
        }
        AppBody::Replay(body) => send_bytes(agent, parts, body, timeout, Phases::UpToHead)?,
        AppBody::Reopen(open) => {
            // As curl does for large uploads: a server that challenges first spares the bytes.
            let announced = parts
                .headers
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            if announced.is_none_or(|len| len > EXPECT_ABOVE) {
                parts
                    .headers
                    .entry(http::header::EXPECT)
                    .or_insert(http::HeaderValue::from_static("100-continue"));
            }
            let mut reader = open().map_err(Failed::Open)?;
            let body = ureq::SendBody::from_reader(&mut reader);
            run(
                agent,
                http::Request::from_parts(parts, body),
                timeout,
                Phases::HeadOnly,
            )?
        }
        AppBody::Once(slot) => {
            let mut reader = slot.take().ok_or(Failed::Spent)?;
            // A server that answers a challenge before the body leaves it unread for the retry.
            parts.headers.insert(
                http::header::EXPECT,
                http::HeaderValue::from_static("100-continue"),
            );
            let mut counted = Counted {
                inner: &mut *reader,
                read: 0,
            };
            let body = ureq::SendBody::from_reader(&mut counted);
            let sent = run(
                agent,
                http::Request::from_parts(parts, body),
                timeout,
                Phases::HeadOnly,
            );
            if counted.read == 0 {
                *slot = Some(reader);
            }
            sent?
        }
    };
    if kind.is_authorization_server() {
        return read_whole(response, limit).map(Answer::Read);
    }
    let (parts, mut body) = response.into_parts();
    match uma_core::resource_body_limit(parts.status, &parts.headers) {
        None => Ok(Answer::Head(
            http::Response::from_parts(parts, Vec::new()),
            body,
        )),
        Some(limit) => {
            let mut prefix = Vec::new();
            let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
            body.as_reader()
                .take(cap)
                .read_to_end(&mut prefix)
                .map_err(unwrap_io)?;
            Ok(Answer::Read(http::Response::from_parts(parts, prefix)))
        }
    }
}

/// ureq's own error (a timeout) back out of the `io::Error` its body reader wraps it in.
fn unwrap_io(error: std::io::Error) -> ureq::Error {
    if error
        .get_ref()
        .is_some_and(|inner| inner.is::<ureq::Error>())
    {
        if let Some(Ok(inner)) = error.into_inner().map(|e| e.downcast::<ureq::Error>()) {
            return *inner;
        }
        return ureq::Error::Io(std::io::ErrorKind::Other.into());
    }
    ureq::Error::Io(error)
}

/// Bytes of an unread answer read to the end before dropping it, so that its connection is reused; a
/// longer (or unannounced) body is dropped unread and its connection closed.
const DRAIN_LIMIT: u64 = 16 * 1024;

/// Drops a resource answer the flow went past (a challenge, a redirect) without reading more than
/// [`DRAIN_LIMIT`] of it.
pub(crate) fn drain(mut body: ureq::Body) {
    if body.content_length().is_some_and(|len| len <= DRAIN_LIMIT) {
        let _ = std::io::copy(
            &mut body.as_reader().take(DRAIN_LIMIT),
            &mut std::io::sink(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn options(exchange: Option<u64>, request: Option<u64>) -> Options {
        Options::default()
            .with_exchange_timeout(exchange.map(S))
            .with_request_timeout(request.map(S))
    }

    #[test]
    fn budget_is_the_shortest_of_exchange_request_and_agent() {
        let now = Instant::now();
        let o = options(Some(10), None);
        let b = Budget::new(&o, &RequestDeadline::start(Some(S(100)), now), None, now).unwrap();
        assert_eq!((b.after, b.kind), (S(10), Deadline::Exchange));
        let b = Budget::new(&o, &RequestDeadline::start(Some(S(3)), now), None, now).unwrap();
        assert_eq!((b.after, b.kind), (S(3), Deadline::Request));
        let b = Budget::new(
            &o,
            &RequestDeadline::start(Some(S(3)), now),
            Some(S(1)),
            now,
        )
        .unwrap();
        assert_eq!((b.after, b.kind), (S(1), Deadline::Exchange));
        let b = Budget::new(&o, &RequestDeadline::none(), Some(S(20)), now).unwrap();
        assert_eq!((b.after, b.kind), (S(10), Deadline::Exchange));
        // A deadline already passed leaves a zero budget, not a panic.
        let b = Budget::new(
            &o,
            &RequestDeadline::start(Some(S(0)), now),
            None,
            now + S(1),
        )
        .unwrap();
        assert_eq!((b.after, b.kind), (Duration::ZERO, Deadline::Request));
    }

    #[test]
    fn no_budget_keeps_the_agent_timeout() {
        let now = Instant::now();
        let o = options(None, None);
        assert!(Budget::new(&o, &RequestDeadline::none(), None, now).is_none());
        let b = Budget::new(&o, &RequestDeadline::none(), Some(S(7)), now).unwrap();
        assert_eq!((b.after, b.kind), (S(7), Deadline::Exchange));
        let b = Budget::new(
            &options(None, Some(5)),
            &RequestDeadline::start(Some(S(5)), now),
            None,
            now,
        )
        .unwrap();
        assert_eq!((b.after, b.kind), (S(5), Deadline::Request));
    }

    #[test]
    fn timeout_errors_name_the_budget() {
        let budget = Some(Budget {
            after: S(2),
            kind: Deadline::Request,
        });
        let kind = uma_core::RequestKind::Token;
        let e = timeout(
            budget,
            &RequestDeadline::start(Some(S(9)), Instant::now()),
            kind,
            "https://as/token",
        );
        assert!(matches!(
            e,
            Error::Timeout { deadline: Deadline::Request, after, .. } if after == S(9)
        ));
        let e = timeout(None, &RequestDeadline::none(), kind, "https://as/token");
        assert!(matches!(
            e,
            Error::Timeout {
                deadline: Deadline::Exchange,
                ..
            }
        ));
        assert_eq!(
            e.to_string(),
            "exchange timeout after 0ns during the token step (https://as/token)"
        );
    }

    /// A transport failure is reported to the observer and typed, on a port nothing listens on.
    #[test]
    fn refused_connection_is_a_transport_error_and_an_event() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = std::sync::Arc::clone(&seen);
        let options =
            Options::default().with_observer(move |e| sink.lock().unwrap().push(e.clone()));
        let out = Outgoing {
            id: test_id(),
            kind: uma_core::RequestKind::Discovery,
            request: http::Request::get(format!("http://127.0.0.1:{port}/x?ticket=secret"))
                .body(Vec::new())
                .unwrap(),
            attach_body: false,
        };
        let agent = ureq::Agent::new_with_defaults();
        let mut body = AppBody::Replay(Vec::new());
        let error = exchange(
            &agent,
            &options,
            out,
            &mut body,
            None,
            &RequestDeadline::none(),
        )
        .err()
        .expect("nothing listens");
        assert!(matches!(error, Error::Transport { .. }), "{error:?}");
        assert!(!format!("{error} {error:?}").contains("secret"));
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert!(seen[0].error.is_some() && seen[0].status.is_none());
    }

    /// A `RequestId` is only minted by the core: take one from a real flow.
    fn test_id() -> uma_core::RequestId {
        let mut client = uma_core::Client::new(uma_core::Config::new());
        let request = http::Request::get("http://127.0.0.1/")
            .body(Vec::new())
            .unwrap();
        let mut flow = uma_core::Flow::new(request);
        match uma_core::Machine::start(&mut flow, &mut client, Instant::now()) {
            uma_core::Step::Send(out) => out.id,
            other => panic!("unexpected {other:?}"),
        }
    }
}
