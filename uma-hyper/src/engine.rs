//! The loop that drives one [`Machine`] over an HTTP [`Service`], on the shared core of
//! [`crate::herd`].

use std::future::poll_fn;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body, Bytes};
use tower_service::Service;
use uma_core::trace::ExchangeEvent;
use uma_core::{Machine, Outgoing, Step};

use crate::error::{BodyKind, BoxError, Deadline, Error};
pub(crate) use crate::herd::Engine;
use crate::herd::Running;
use crate::options::Options;

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
pub(crate) fn overall_timeout(after: Duration) -> Error {
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
    let mut running = Running::new(engine, machine);
    let mut next = running.step(|m, core, now| m.start(core, now));
    // The shared store answers (or coordinates) two cold exchanges per request at most: the first, and
    // the one after the resource server refused what the first produced (which it then deletes).
    let mut store_flights = if options.shared_store.is_some() {
        2u8
    } else {
        0
    };
    loop {
        next = match next {
            (Step::Send(out), _) => {
                let id = out.id;
                if let (1.., Some(shared)) = (store_flights, &options.shared_store) {
                    if let Some(ask) = running.machine().shared_exchange(id) {
                        store_flights -= 1;
                        next = crate::store::shared_exchange(
                            engine,
                            shared,
                            options.exchange_timeout,
                            &mut running,
                            ask,
                            out,
                            overall,
                            |out| exchange(options, &mut *service, out, overall),
                        )
                        .await?;
                        continue;
                    }
                }
                match exchange(options, service, out, overall).await {
                    Ok(response) => {
                        let next =
                            running.step(|m, core, now| m.handle_response(core, id, response, now));
                        if let (Some(shared), false) =
                            (&options.shared_store, matches!(next.0, Step::Done(_)))
                        {
                            crate::store::drain_refused(engine, shared).await;
                        }
                        next
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
            (Step::Done(output), _) => return Ok(output),
            (Step::Failed(failure), _) => return Err(Error::from(failure)),
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
