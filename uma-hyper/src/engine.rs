//! The shared core client, the per-key wake-ups of parked requests, and the loop that drives one
//! [`Machine`] over an HTTP [`Service`].
//!
//! The core is behind a `std::sync::Mutex` that is only held for a synchronous call into it, never
//! across an `.await`. A poisoned lock is recovered: the core is plain data updated by short calls, and a
//! panic in one request must not take every other request down.

use std::collections::HashMap;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body, Bytes};
use tokio::sync::Notify;
use tokio::sync::futures::OwnedNotified;
use tower_service::Service;
use uma_core::trace::ExchangeEvent;
use uma_core::{Client, ExchangeKey, Machine, Outgoing, Step};

use crate::error::{BodyKind, BoxError, Deadline, Error};
use crate::options::Options;

/// The core client plus, per exchange key, the [`Notify`] that the requests parked on it wait for.
struct State {
    core: Client,
    waiters: HashMap<ExchangeKey, Arc<Notify>>,
}

/// What every clone of a client or layer shares.
pub(crate) struct Engine {
    state: Mutex<State>,
}

impl Engine {
    pub(crate) fn new(core: Client) -> Self {
        Self {
            state: Mutex::new(State {
                core,
                waiters: HashMap::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the core, then wakes the requests parked on every exchange that ended meanwhile.
    pub(crate) fn with_core<R>(&self, f: impl FnOnce(&mut Client) -> R) -> R {
        let mut state = self.lock();
        let result = f(&mut state.core);
        wake_finished(&mut state);
        result
    }

    /// Like [`Engine::with_core`] for a machine step; when the step parks, the wake-up is registered
    /// before the lock is released, so a release by another request cannot slip in between.
    fn step<T>(
        &self,
        f: impl FnOnce(&mut Client, Instant) -> Step<T>,
    ) -> (Step<T>, Option<OwnedNotified>) {
        let mut state = self.lock();
        let step = f(&mut state.core, now());
        wake_finished(&mut state);
        let parked = match &step {
            Step::Park { key, .. } => Some(
                state
                    .waiters
                    .entry(key.clone())
                    .or_insert_with(|| Arc::new(Notify::new()))
                    .clone()
                    .notified_owned(),
            ),
            _ => None,
        };
        (step, parked)
    }
}

/// Drains the keys whose exchange ended and wakes whoever parked on them. `notify_waiters` reaches every
/// `Notified` created before it, polled or not.
fn wake_finished(state: &mut State) {
    while let Some(key) = state.core.poll_finished_exchange() {
        if let Some(notify) = state.waiters.remove(&key) {
            notify.notify_waiters();
        }
    }
}

/// The clock handed to the core: tokio's, so that paused test time and the core agree.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Owns the machine while it runs; if the request future is dropped half-way (cancellation, overall
/// timeout) or fails in the adapter, the machine is aborted so that no exchange stays claimed and the
/// requests parked on it wake up.
struct Running<'a, M: Machine> {
    engine: &'a Engine,
    machine: M,
    finished: bool,
}

impl<M: Machine> Running<'_, M> {
    fn step(
        &mut self,
        f: impl FnOnce(&mut M, &mut Client, Instant) -> Step<M::Output>,
    ) -> (Step<M::Output>, Option<OwnedNotified>) {
        let machine = &mut self.machine;
        self.engine.step(|core, now| f(machine, core, now))
    }

    fn abort(&mut self) {
        if !self.finished {
            self.finished = true;
            let machine = &mut self.machine;
            self.engine.with_core(|core| machine.abort(core));
        }
    }
}

impl<M: Machine> Drop for Running<'_, M> {
    fn drop(&mut self) {
        self.abort();
    }
}

/// Drives `machine` to its end, sending every request through `service`, under the overall timeout.
pub(crate) async fn drive<M, S, RB>(
    engine: &Engine,
    options: &Options,
    machine: M,
    service: &mut S,
) -> Result<M::Output, Error>
where
    M: Machine,
    S: Service<http::Request<Full<Bytes>>, Response = http::Response<RB>>,
    S::Error: Into<BoxError>,
    RB: Body,
    RB::Error: Into<BoxError>,
{
    // One deadline for the whole request, folded into each wait and exchange (one timer per await
    // instead of two nested ones: the warm path is measured in microseconds, BENCHMARKS.md).
    let overall = options
        .overall_timeout
        // A deadline past what the clock can represent (`Duration::MAX` for "no limit") is no deadline.
        .and_then(|after| Some((tokio::time::Instant::now().checked_add(after)?, after)));
    run(engine, options, machine, service, overall).await
}

/// The overall timeout error.
fn overall_timeout(after: Duration) -> Error {
    Error::Timeout {
        what: Deadline::Overall,
        after,
    }
}

async fn run<M, S, RB>(
    engine: &Engine,
    options: &Options,
    machine: M,
    service: &mut S,
    overall: Option<(tokio::time::Instant, Duration)>,
) -> Result<M::Output, Error>
where
    M: Machine,
    S: Service<http::Request<Full<Bytes>>, Response = http::Response<RB>>,
    S::Error: Into<BoxError>,
    RB: Body,
    RB::Error: Into<BoxError>,
{
    let mut running = Running {
        engine,
        machine,
        finished: false,
    };
    let mut next = running.step(|m, core, now| m.start(core, now));
    loop {
        next = match next {
            (Step::Send(out), _) => {
                let id = out.id;
                match exchange(options, service, out, overall).await {
                    Ok(response) => {
                        running.step(|m, core, now| m.handle_response(core, id, response, now))
                    }
                    Err(error) => {
                        running.abort();
                        return Err(error);
                    }
                }
            }
            (Step::Wait { until }, _) => {
                let until = tokio::time::Instant::from(until);
                if let Some((deadline, after)) = overall.filter(|(d, _)| *d < until) {
                    tokio::time::sleep_until(deadline).await;
                    return Err(overall_timeout(after));
                }
                tokio::time::sleep_until(until).await;
                running.step(|m, core, now| m.resume(core, now))
            }
            (Step::Park { until, .. }, parked) => {
                let mut until = tokio::time::Instant::from(until);
                if let Some((deadline, _)) = overall {
                    until = until.min(deadline);
                }
                if let Some(parked) = parked {
                    // Woken when the exchange lands, or at its deadline: the core decides what next.
                    let _ = tokio::time::timeout_at(until, parked).await;
                }
                if let Some((deadline, after)) = overall {
                    if tokio::time::Instant::now() >= deadline {
                        return Err(overall_timeout(after));
                    }
                }
                running.step(|m, core, now| m.resume(core, now))
            }
            (Step::Done(output), _) => {
                running.finished = true;
                return Ok(output);
            }
            (Step::Failed(failure), _) => {
                running.finished = true;
                return Err(Error::from(failure));
            }
        };
    }
}

/// One HTTP exchange under the per-exchange timeout, its answer read with the limit for its kind, and
/// reported to the observer.
async fn exchange<S, RB>(
    options: &Options,
    service: &mut S,
    out: Outgoing,
    overall: Option<(tokio::time::Instant, Duration)>,
) -> Result<http::Response<Vec<u8>>, Error>
where
    S: Service<http::Request<Full<Bytes>>, Response = http::Response<RB>>,
    S::Error: Into<BoxError>,
    RB: Body,
    RB::Error: Into<BoxError>,
{
    let event = options
        .observer
        .as_ref()
        .map(|_| ExchangeEvent::for_request(&out));
    let started = tokio::time::Instant::now();
    let kind = out.kind;
    let (limit, body_kind) = if kind.is_authorization_server() {
        (
            options.max_authorization_server_body,
            BodyKind::AuthorizationServer,
        )
    } else {
        (options.max_response_body, BodyKind::Resource)
    };
    let request = out.request.map(|body| Full::new(Bytes::from(body)));
    let attempt = async {
        poll_fn(|cx| service.poll_ready(cx))
            .await
            .map_err(|e| Error::Transport {
                kind,
                source: e.into(),
            })?;
        let response = service.call(request).await.map_err(|e| Error::Transport {
            kind,
            source: e.into(),
        })?;
        let (parts, body) = response.into_parts();
        let body = collect(body, limit, body_kind, kind).await?;
        Ok(http::Response::from_parts(parts, Vec::from(body)))
    };
    // Whichever comes first: this exchange's timeout or the request's. A deadline the clock cannot
    // represent (`Duration::MAX` for "no limit") is no deadline.
    let exchange = started
        .checked_add(options.exchange_timeout)
        .map(|deadline| {
            let expired = Error::Timeout {
                what: Deadline::Exchange(kind),
                after: options.exchange_timeout,
            };
            (deadline, expired)
        });
    let request = overall.map(|(deadline, after)| (deadline, overall_timeout(after)));
    let first = match (exchange, request) {
        (Some(e), Some(r)) => Some(if r.0 < e.0 { r } else { e }),
        (e, r) => e.or(r),
    };
    let result = match first {
        Some((deadline, expired)) => tokio::time::timeout_at(deadline, attempt)
            .await
            .unwrap_or(Err(expired)),
        None => attempt.await,
    };
    if let (Some(observer), Some(event)) = (&options.observer, event) {
        let elapsed = started.elapsed();
        let event = match &result {
            Ok(r) => event.finished(r.status().as_u16(), r.body().len(), elapsed),
            Err(e) => event.failed(e.to_string(), elapsed),
        };
        observer(&event);
    }
    result
}

/// Reads a whole body, refusing it as soon as it goes over `limit`.
async fn collect<B>(
    body: B,
    limit: usize,
    body_kind: BodyKind,
    kind: uma_core::RequestKind,
) -> Result<Bytes, Error>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(Error::BodyTooLarge {
            kind: body_kind,
            limit,
        }),
        Err(source) => Err(Error::Transport { kind, source }),
    }
}

/// Buffers the application's request body once (it is replayed on every retry), up to `limit` bytes.
pub(crate) async fn buffer_request<B>(
    request: http::Request<B>,
    limit: usize,
) -> Result<http::Request<Vec<u8>>, Error>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let (parts, body) = request.into_parts();
    // A declared length over the limit is refused before a byte is read.
    if body.size_hint().lower() > limit as u64 {
        return Err(Error::BodyTooLarge {
            kind: BodyKind::Request,
            limit,
        });
    }
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(Error::BodyTooLarge {
                kind: BodyKind::Request,
                limit,
            });
        }
        Err(e) => return Err(Error::Body(e)),
    };
    Ok(http::Request::from_parts(parts, Vec::from(bytes)))
}
