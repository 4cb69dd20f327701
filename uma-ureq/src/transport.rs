//! One HTTP exchange over ureq: sent as it is (no redirects, statuses are not errors), under a time
//! budget, with the response body read up to a limit.

use std::time::{Duration, Instant};

use http::Method;
use uma_core::Outgoing;
use uma_core::trace::ExchangeEvent;
use ureq::RequestExt;

use crate::error::{Error, Kind, TimeoutKind, display_url};
use crate::options::Options;

/// The time budget of one exchange: the per-exchange timeout, clipped to what is left of the request's.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Budget {
    pub after: Duration,
    pub kind: TimeoutKind,
}

impl Budget {
    /// `None` when neither timeout is set.
    pub fn new(options: &Options, deadline: Option<Instant>, now: Instant) -> Option<Budget> {
        let left = deadline.map(|d| d.saturating_duration_since(now));
        match (options.exchange_timeout, left) {
            (Some(exchange), Some(left)) if left < exchange => Some(Budget {
                after: left,
                kind: TimeoutKind::Request,
            }),
            (Some(exchange), _) => Some(Budget {
                after: exchange,
                kind: TimeoutKind::Exchange,
            }),
            (None, Some(left)) => Some(Budget {
                after: left,
                kind: TimeoutKind::Request,
            }),
            (None, None) => None,
        }
    }
}

/// Sends `out` and reads its response. Reports the exchange to the observer, whatever the outcome.
pub(crate) fn exchange(
    agent: &ureq::Agent,
    options: &Options,
    out: Outgoing,
    budget: Option<Budget>,
    request_timeout: Option<Duration>,
) -> Result<http::Response<Vec<u8>>, Error> {
    let event = options
        .observer
        .as_ref()
        .map(|_| ExchangeEvent::for_request(&out));
    let started = Instant::now();
    let kind = Kind(out.kind);
    let url = display_url(out.request.uri());
    let limit = if out.kind.is_authorization_server() {
        options.max_as_body
    } else {
        options.max_resource_body
    };
    let result = send(agent, out.request, budget, limit).map_err(|failure| match failure {
        Failed::Transport(ureq::Error::Timeout(_)) => timeout(budget, request_timeout, kind, &url),
        Failed::Transport(ureq::Error::Io(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
            timeout(budget, request_timeout, kind, &url)
        }
        Failed::Transport(ureq::Error::BodyExceedsLimit(_)) | Failed::TooLarge => {
            Error::BodyTooLarge {
                kind,
                url: url.clone(),
                limit,
            }
        }
        Failed::Transport(source) => Error::Transport {
            kind,
            url: url.clone(),
            source,
        },
    });
    if let (Some(observer), Some(event)) = (&options.observer, event) {
        let elapsed = started.elapsed();
        let event = match &result {
            Ok(response) => {
                event.finished(response.status().as_u16(), response.body().len(), elapsed)
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
        Error::Timeout { kind, after, .. } => format!("{kind} timeout after {after:?}"),
        Error::BodyTooLarge { limit, .. } => format!("body over {limit} bytes"),
        Error::Transport { source, .. } => source.to_string(),
        other => other.to_string(),
    }
}

fn timeout(
    budget: Option<Budget>,
    request_timeout: Option<Duration>,
    during: Kind,
    url: &str,
) -> Error {
    // A timeout without a budget of ours comes from the user's agent configuration.
    let (kind, after) = match budget {
        Some(Budget {
            kind: TimeoutKind::Request,
            ..
        }) => (TimeoutKind::Request, request_timeout.unwrap_or_default()),
        Some(b) => (b.kind, b.after),
        None => (TimeoutKind::Exchange, Duration::ZERO),
    };
    Error::Timeout {
        kind,
        after,
        during,
        url: Some(url.to_owned()),
    }
}

enum Failed {
    Transport(ureq::Error),
    TooLarge,
}

impl From<ureq::Error> for Failed {
    fn from(e: ureq::Error) -> Self {
        Failed::Transport(e)
    }
}

fn send(
    agent: &ureq::Agent,
    request: http::Request<Vec<u8>>,
    budget: Option<Budget>,
    limit: u64,
) -> Result<http::Response<Vec<u8>>, Failed> {
    let timeout = budget.map(|b| b.after);
    let (parts, body) = request.into_parts();
    // An empty body on a method that normally has none goes out without `Content-Length: 0`.
    let bodiless = body.is_empty()
        && matches!(
            parts.method,
            Method::GET | Method::HEAD | Method::DELETE | Method::OPTIONS | Method::TRACE
        );
    // Per-request configuration on top of the user's agent: statuses are answers, not errors, and
    // redirects are the core's business (`uma-protocol.md` §11.3).
    let response = if bodiless {
        http::Request::from_parts(parts, ())
            .with_agent(agent)
            .configure()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(timeout)
            .build()
            .run()?
    } else {
        http::Request::from_parts(parts, body)
            .with_agent(agent)
            .configure()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(timeout)
            .build()
            .run()?
    };
    let (parts, body) = response.into_parts();
    // Refuse before reading when the server announces too much.
    if body.content_length().is_some_and(|len| len > limit) {
        return Err(Failed::TooLarge);
    }
    let bytes = body.into_with_config().limit(limit).read_to_vec()?;
    let mut out = http::Response::new(bytes);
    *out.status_mut() = parts.status;
    *out.version_mut() = parts.version;
    *out.headers_mut() = parts.headers;
    Ok(out)
}
