//! The request deadline ([`RequestDeadline`], the core's arithmetic) on tokio's clock: the waits,
//! parks and exchange timeouts of every tokio-based run loop ([`crate::UmaClient`], the layer,
//! `uma-reqwest`).

use std::future::Future;
use std::time::Instant;

use tokio::sync::futures::OwnedNotified;
use uma_core::RequestKind;
use uma_core::driver::{Deadline, RequestDeadline};

use crate::{Error, Options};

/// The deadline of a request starting now ([`Options::request_timeout`]), on tokio's clock (so
/// paused-time tests see it move).
pub fn start(options: &Options) -> RequestDeadline {
    RequestDeadline::start(options.request_timeout, crate::herd::now())
}

/// Sleeps until `until`, as a [`Step::Wait`](uma_core::Step::Wait) asks; fails at once when the
/// wait would end past the deadline (no sleeping into a timeout already known).
pub async fn wait(deadline: &RequestDeadline, until: Instant) -> Result<(), Error> {
    if !deadline.allows_wait_until(until) {
        return Err(deadline.timeout(RequestKind::Token, None));
    }
    tokio::time::sleep_until(until.into()).await;
    Ok(())
}

/// Waits as a [`Step::Park`](uma_core::Step::Park) asks: until `parked` fires (the exchange landed),
/// `until`, or the deadline, whichever comes first; fails when the deadline has passed.
pub async fn park(
    deadline: &RequestDeadline,
    until: Instant,
    parked: Option<OwnedNotified>,
    during: RequestKind,
) -> Result<(), Error> {
    if let Some(parked) = parked {
        let until = deadline.park_until(until);
        let _ = tokio::time::timeout_at(until.into(), parked).await;
    }
    if deadline.is_past(crate::herd::now()) {
        return Err(deadline.timeout(during, None));
    }
    Ok(())
}

/// Runs `attempt`, one exchange of `kind` to `uri` started at `started`, under whichever comes first:
/// [`Options::exchange_timeout`] (unless `streamed`: a streamed upload may take longer than any
/// exchange) or the request's deadline.
pub async fn within<T, E: From<Error>>(
    options: &Options,
    deadline: &RequestDeadline,
    kind: RequestKind,
    uri: &http::Uri,
    streamed: bool,
    started: Instant,
    attempt: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let exchange_timeout = options.exchange_timeout.filter(|_| !streamed);
    let Some((after, which)) = deadline.exchange_budget(exchange_timeout, started) else {
        return attempt.await;
    };
    // A deadline past what the clock can represent is no deadline.
    let Some(at) = started.checked_add(after) else {
        return attempt.await;
    };
    match tokio::time::timeout_at(at.into(), attempt).await {
        Ok(result) => result,
        Err(_) => {
            let url = Some(uma_core::trace::redacted_url(uri));
            Err(E::from(match which {
                Deadline::Request => deadline.timeout(kind, url),
                _ => Error::Timeout {
                    deadline: which,
                    after,
                    during: kind,
                    url,
                },
            }))
        }
    }
}
