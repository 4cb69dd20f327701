//! The loop that drives one [`Machine`] over an HTTP [`Service`], on the shared core of
//! [`crate::herd`].

use std::future::poll_fn;
use std::time::Duration;

use http_body_util::{BodyExt, Limited};
use hyper::body::{Body, Buf, Bytes};
use tower_service::Service;
use uma_core::trace::ExchangeEvent;
use uma_core::{Machine, Outgoing, RequestKind, Step};

use crate::body::{Application, RequestBody};

use uma_core::driver::RequestDeadline;

use crate::error::{BodyKind, BoxError, Error};
pub(crate) use crate::herd::Engine;
use crate::herd::Running;
use crate::options::Options;
use crate::spans::Trace;
use crate::timing;

/// Drives `machine` to its end, sending every request through `service`, under the request timeout.
/// Machines that never send the application's request (logins, Keycloak's permission grant).
pub(crate) async fn drive<M, S, RB>(
    engine: &Engine,
    options: &Options,
    machine: M,
    service: &mut S,
) -> Result<M::Output, Error>
where
    M: Machine,
    S: Service<http::Request<RequestBody>, Response = http::Response<RB>>,
    S::Error: Into<BoxError>,
    RB: Body,
    RB::Error: Into<BoxError>,
{
    let (output, _) =
        drive_with_body(engine, options, machine, service, &mut Application::none()).await?;
    Ok(output)
}

/// Drives a [`uma_core::Flow`] made with `Flow::for_head`: the application's body and extensions go with
/// each resource request, and the body of the resource answer the flow ends on is returned untouched.
pub(crate) async fn drive_flow<S, RB>(
    engine: &Engine,
    options: &Options,
    flow: uma_core::Flow,
    service: &mut S,
    app: &mut Application,
) -> Result<http::Response<RB>, Error>
where
    S: Service<http::Request<RequestBody>, Response = http::Response<RB>>,
    S::Error: Into<BoxError>,
    RB: Body,
    RB::Error: Into<BoxError>,
{
    match drive_with_body(engine, options, flow, service, app).await? {
        (head, Some(kept)) => Ok(head.map(|_| kept)),
        // The core never ends on an answer whose body it read (`uma_core::resource_body_limit`).
        (head, None) => Err(Error::Transport {
            kind: RequestKind::Resource,
            url: None,
            source: format!(
                "the flow ended on a resource answer ({}) whose body it had read",
                head.status()
            )
            .into(),
        }),
    }
}

async fn drive_with_body<M, S, RB>(
    engine: &Engine,
    options: &Options,
    machine: M,
    service: &mut S,
    app: &mut Application,
) -> Result<(M::Output, Option<RB>), Error>
where
    M: Machine,
    S: Service<http::Request<RequestBody>, Response = http::Response<RB>>,
    S::Error: Into<BoxError>,
    RB: Body,
    RB::Error: Into<BoxError>,
{
    // One deadline for the whole request, folded into each wait and exchange (one timer per await
    // instead of two nested ones: the warm path is measured in microseconds, BENCHMARKS.md).
    let deadline = timing::start(options);
    let trace = Trace::new();
    trace
        .request(run(
            engine, options, machine, service, app, &deadline, &trace,
        ))
        .await
}

async fn run<M, S, RB>(
    engine: &Engine,
    options: &Options,
    machine: M,
    service: &mut S,
    app: &mut Application,
    deadline: &RequestDeadline,
    trace: &Trace,
) -> Result<(M::Output, Option<RB>), Error>
where
    M: Machine,
    S: Service<http::Request<RequestBody>, Response = http::Response<RB>>,
    S::Error: Into<BoxError>,
    RB: Body,
    RB::Error: Into<BoxError>,
{
    let mut running = Running::new(engine, machine);
    // The body of the last resource answer handed to the core as a head: returned if the flow ends on it.
    let mut kept: Option<RB> = None;
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
                if let Some(unread) = kept.take() {
                    drain(unread, options, deadline).await;
                }
                let id = out.id;
                if let (1.., Some(shared)) = (store_flights, &options.shared_store) {
                    if let Some(ask) = running.machine().shared_exchange(id) {
                        store_flights -= 1;
                        next = crate::store::shared_exchange(
                            engine,
                            shared,
                            options
                                .exchange_timeout
                                .unwrap_or(crate::DEFAULT_EXCHANGE_TIMEOUT),
                            &mut running,
                            ask,
                            out,
                            deadline,
                            |out| {
                                let service = &mut *service;
                                async move {
                                    // A token request: always read whole.
                                    match exchange(options, service, out, None, deadline).await? {
                                        Answer::Read(response) | Answer::Head(response, _) => {
                                            Ok::<_, Error>(response)
                                        }
                                    }
                                }
                            },
                        )
                        .await?;
                        continue;
                    }
                }
                let application = if out.attach_body {
                    match app.body.next() {
                        Some(body) => Some((body, app.extensions.clone())),
                        None => {
                            running.abort();
                            return Err(not_replayable(None));
                        }
                    }
                } else {
                    None
                };
                // Only an answer to the send that spent the body can call for it again (not one to a
                // redirect turned GET).
                let attached = application.is_some();
                let span = trace.exchange(&out);
                let answer = exchange(options, service, out, application, deadline);
                match span.run_with(answer, Answer::status).await {
                    Ok(answer) => {
                        // The core gets a read answer whole, or a head whose body stays unread (kept).
                        let (response, unread) = match answer {
                            Answer::Read(response) => (response, None),
                            Answer::Head(head, unread) => (head, Some(unread)),
                        };
                        let copy = (attached && app.body.spent())
                            .then(|| uma_core::response_head(&response));
                        let step =
                            running.step(|m, core, now| m.handle_response(core, id, response, now));
                        kept = unread;
                        if let (Some(shared), false) =
                            (&options.shared_store, matches!(step.0, Step::Done(_)))
                        {
                            crate::store::drain_refused(engine, shared).await;
                        }
                        if let Some(head) = copy.filter(|_| step.0.needs_application_body()) {
                            // The body went with this request and cannot go again: stop before asking
                            // an authorization server for anything.
                            running.abort();
                            return Err(not_replayable(Some(head)));
                        }
                        step
                    }
                    Err(error) => {
                        running.abort();
                        return Err(error);
                    }
                }
            }
            (Step::Wait { until }, _) => {
                // Dropping `running` on an early return aborts the machine.
                timing::wait(deadline, until).await?;
                running.step(|m, core, now| m.resume(core, now))
            }
            (Step::Park { key, until }, parked) => {
                // Woken when the exchange lands, or at its deadline: the core decides what next.
                timing::park(deadline, until, parked, key.request_kind()).await?;
                running.step(|m, core, now| m.resume(core, now))
            }
            (Step::Done(output), _) => return Ok((output, kept)),
            (Step::Failed(failure), _) => return Err(Error::from(failure)),
        };
    }
}

fn not_replayable(response: Option<http::Response<Vec<u8>>>) -> Error {
    Error::BodyNotReplayable {
        response: response.map(Box::new),
    }
}

/// Bytes of an unread answer the adapter reads to the end before dropping it, so that its connection goes
/// back to the pool; a longer (or unannounced) body is dropped unread and its connection closed.
const DRAIN_LIMIT: u64 = 16 * 1024;

/// Drops a resource answer the flow went past (a challenge, a redirect) without reading more than
/// [`DRAIN_LIMIT`] of it.
async fn drain<RB>(body: RB, options: &Options, request: &RequestDeadline)
where
    RB: Body,
    RB::Error: Into<BoxError>,
{
    if body.size_hint().exact().is_none_or(|len| len > DRAIN_LIMIT) {
        return;
    }
    let bound = options
        .exchange_timeout
        .map_or(Duration::from_secs(1), |t| t.min(Duration::from_secs(1)));
    let mut deadline = tokio::time::Instant::now() + bound;
    if let Some(at) = request.at() {
        deadline = deadline.min(at.into());
    }
    let _ =
        tokio::time::timeout_at(deadline, Limited::new(body, DRAIN_LIMIT as usize).collect()).await;
}

/// A response as the drive loop hands it to the core.
enum Answer<RB> {
    /// An authorization-server answer, or a resource answer whose body the core needs: read whole.
    Read(http::Response<Vec<u8>>),
    /// A resource answer: its head (with an empty body) for the core, its body unread.
    Head(http::Response<Vec<u8>>, RB),
}

impl<RB> Answer<RB> {
    fn status(&self) -> u16 {
        match self {
            Answer::Read(r) | Answer::Head(r, _) => r.status().as_u16(),
        }
    }
}

/// One HTTP exchange under the per-exchange timeout, reported to the observer. Authorization-server
/// answers are read with their limit; resource answers only as far as the core needs.
async fn exchange<S, RB>(
    options: &Options,
    service: &mut S,
    out: Outgoing,
    application: Option<(RequestBody, http::Extensions)>,
    deadline: &RequestDeadline,
) -> Result<Answer<RB>, Error>
where
    S: Service<http::Request<RequestBody>, Response = http::Response<RB>>,
    S::Error: Into<BoxError>,
    RB: Body,
    RB::Error: Into<BoxError>,
{
    let event = options
        .observer
        .as_ref()
        .map(|_| ExchangeEvent::for_request(&out));
    let started = crate::herd::now();
    let kind = out.kind;
    let uri = out.request.uri().clone();
    // A streamed upload may take longer than any exchange: only the request's deadline bounds it.
    let streamed = application
        .as_ref()
        .is_some_and(|(body, _)| body.is_stream());
    let request = match application {
        Some((body, extensions)) => {
            let mut request = out.request.map(|_| body);
            *request.extensions_mut() = extensions;
            request
        }
        None => out.request.map(RequestBody::from),
    };
    let attempt = async {
        poll_fn(|cx| service.poll_ready(cx))
            .await
            .map_err(|e| transport(kind, &uri, e.into()))?;
        let response = service
            .call(request)
            .await
            .map_err(|e| transport(kind, &uri, e.into()))?;
        let (parts, body) = response.into_parts();
        if kind.is_authorization_server() {
            let limit = options.max_authorization_server_body;
            let body = collect(body, limit, BodyKind::AuthorizationServer, kind, &uri).await?;
            return Ok(Answer::Read(http::Response::from_parts(
                parts,
                Vec::from(body),
            )));
        }
        match uma_core::resource_body_limit(parts.status, &parts.headers) {
            None => Ok(Answer::Head(
                http::Response::from_parts(parts, Vec::new()),
                body,
            )),
            Some(limit) => {
                let prefix = read_prefix(body, limit.saturating_add(1), kind, &uri).await?;
                Ok(Answer::Read(http::Response::from_parts(parts, prefix)))
            }
        }
    };
    let result: Result<Answer<RB>, Error> =
        timing::within(options, deadline, kind, &uri, streamed, started, attempt).await;
    if let (Some(observer), Some(event)) = (&options.observer, event) {
        let elapsed = crate::herd::now().saturating_duration_since(started);
        let event = match &result {
            Ok(Answer::Read(r)) => event.finished(r.status().as_u16(), r.body().len(), elapsed),
            Ok(Answer::Head(r, body)) => {
                let announced = body.size_hint().exact().unwrap_or(0);
                let announced = usize::try_from(announced).unwrap_or(usize::MAX);
                event.finished(r.status().as_u16(), announced, elapsed)
            }
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
    uri: &http::Uri,
) -> Result<Bytes, Error>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(Error::BodyTooLarge {
            body: body_kind,
            url: Some(uma_core::trace::redacted_url(uri)),
            limit,
        }),
        Err(source) => Err(transport(kind, uri, source)),
    }
}

/// Reads at most `limit` bytes of a body (a UMA 1.0 challenge's JSON ticket): what a longer body holds
/// past them is never read.
async fn read_prefix<B>(
    body: B,
    limit: usize,
    kind: uma_core::RequestKind,
    uri: &http::Uri,
) -> Result<Vec<u8>, Error>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let mut body = std::pin::pin!(body);
    let mut read = Vec::new();
    while read.len() < limit {
        let Some(frame) = body.frame().await else {
            break;
        };
        let frame = frame.map_err(|e| transport(kind, uri, e.into()))?;
        if let Ok(data) = frame.into_data() {
            let mut data = data;
            while data.has_remaining() && read.len() < limit {
                let chunk = data.chunk();
                let n = chunk.len().min(limit - read.len());
                read.extend_from_slice(&chunk[..n]);
                data.advance(n);
            }
        }
    }
    Ok(read)
}

/// A transport failure of an exchange of `kind` to `uri` (shown without its query).
pub(crate) fn transport(kind: RequestKind, uri: &http::Uri, source: BoxError) -> Error {
    Error::Transport {
        kind,
        url: Some(uma_core::trace::redacted_url(uri)),
        source,
    }
}
