//! The loop that drives one [`Flow`] for the middleware: resource requests go through the rest of the
//! chain, authorization-server requests on the plain inner client.

use http::StatusCode;
use reqwest_middleware::Next;
use uma_core::{Flow, Machine, RequestKind, Step};
use uma_hyper::{Error, Options};

use crate::NotReplayed;
use crate::send::{self, Application, Stop};
use uma_hyper::herd::{Engine, Running};
use uma_hyper::spans::Trace;
use uma_hyper::timing;

/// What one call of the middleware works with.
pub(crate) struct Call<'a, 'n> {
    pub engine: &'a Engine,
    pub options: &'a Options,
    pub http: &'a reqwest::Client,
    pub next: Next<'n>,
    pub extensions: &'a mut http::Extensions,
}

/// Drives `flow` to its end under the request timeout, in its `uma.request` span.
pub(crate) async fn drive(
    call: Call<'_, '_>,
    app: Application,
    flow: Flow,
) -> Result<reqwest::Response, Stop> {
    let trace = Trace::new();
    trace.request(run(call, app, flow, &trace)).await
}

async fn run(
    call: Call<'_, '_>,
    mut app: Application,
    flow: Flow,
    trace: &Trace,
) -> Result<reqwest::Response, Stop> {
    let Call {
        engine,
        options,
        http,
        next,
        extensions,
    } = call;
    let deadline = &timing::start(options);
    let mut running = Running::new(engine, flow);
    // The last resource answer passed on to the core unread, returned as it is if the flow ends on it.
    let mut kept: Option<reqwest::Response> = None;
    // The last resource answer the core read, kept for a streaming request that cannot be replayed.
    let mut last_read: Option<http::Response<Vec<u8>>> = None;
    let mut next_step = running.step(|m, core, now| m.start(core, now));
    // The shared store coordinates two cold exchanges per request at most (uma_hyper::store).
    let mut store_flights = if options.shared_store.is_some() {
        2u8
    } else {
        0
    };
    loop {
        next_step = match next_step {
            (Step::Send(out), _) if out.kind == RequestKind::Resource => {
                kept = None;
                if out.attach_body && app.body_gone() {
                    running.abort();
                    return Ok(not_replayed(last_read, extensions));
                }
                let id = out.id;
                // Only an answer to the send that spent the stream can call for it again (not one to
                // a redirect turned GET).
                let attached = out.attach_body;
                let span = trace.exchange(&out);
                let sent = send::resource(&next, extensions, &mut app, out, options, deadline);
                let response = span.run_with(sent, |r| r.status().as_u16()).await?;
                match uma_core::resource_body_limit(response.status(), response.headers()) {
                    None => {
                        let head = send::head_of(&response);
                        let url = response.url().clone();
                        let copy = (attached && app.body_gone()).then(|| copy(&head, url));
                        kept = Some(response);
                        let step =
                            running.step(|m, core, now| m.handle_response(core, id, head, now));
                        if let (Some(shared), false) =
                            (&options.shared_store, matches!(step.0, Step::Done(_)))
                        {
                            uma_hyper::store::drain_refused(engine, shared).await;
                        }
                        if let Some(head) = copy {
                            if step.0.needs_application_body() {
                                // The stream went with this request and cannot go again: stop before
                                // asking an authorization server for anything.
                                running.abort();
                                return Ok(not_replayed(Some(head), extensions));
                            }
                        }
                        step
                    }
                    Some(limit) => {
                        // A UMA 1.0 challenge: its ticket is in a small JSON body.
                        let url = response.url().clone();
                        // The body's few KiB under an exchange budget of their own, like a head.
                        let uri: http::Uri = url.as_str().parse().unwrap_or_default();
                        let prefix = send::read_prefix(response, limit.saturating_add(1));
                        let read = timing::within(
                            options,
                            deadline,
                            RequestKind::Resource,
                            &uri,
                            false,
                            uma_hyper::herd::now(),
                            prefix,
                        )
                        .await?;
                        let read_copy = copy(&read, url);
                        let step =
                            running.step(|m, core, now| m.handle_response(core, id, read, now));
                        if let Some(shared) = &options.shared_store {
                            uma_hyper::store::drain_refused(engine, shared).await;
                        }
                        if attached && app.body_gone() && step.0.needs_application_body() {
                            // As above: the stream is spent, so no authorization server is asked.
                            running.abort();
                            return Ok(not_replayed(Some(read_copy), extensions));
                        }
                        last_read = Some(read_copy);
                        step
                    }
                }
            }
            (Step::Send(out), _) => {
                let id = out.id;
                if let (1.., Some(shared)) = (store_flights, &options.shared_store) {
                    if let Some(ask) = running.machine().shared_exchange(id) {
                        store_flights -= 1;
                        next_step = uma_hyper::store::shared_exchange(
                            engine,
                            shared,
                            options
                                .exchange_timeout
                                .unwrap_or(uma_hyper::DEFAULT_EXCHANGE_TIMEOUT),
                            &mut running,
                            ask,
                            out,
                            deadline,
                            |out| {
                                let span = trace.exchange(&out);
                                span.run(send::authorization_server(http, out, options, deadline))
                            },
                        )
                        .await?;
                        continue;
                    }
                }
                let span = trace.exchange(&out);
                let sent = send::authorization_server(http, out, options, deadline);
                let response = span.run(sent).await?;
                running.step(|m, core, now| m.handle_response(core, id, response, now))
            }
            (Step::Wait { until }, _) => {
                timing::wait(deadline, until).await?;
                running.step(|m, core, now| m.resume(core, now))
            }
            (Step::Park { key, until }, parked) => {
                // Woken when the exchange lands, or at its deadline: the core decides what next.
                timing::park(deadline, until, parked, key.request_kind()).await?;
                running.step(|m, core, now| m.resume(core, now))
            }
            (Step::Done(response), _) => {
                return Ok(kept.unwrap_or_else(|| reqwest::Response::from(response)));
            }
            (Step::Failed(failure), _) => return Err(Error::from(failure).into()),
        };
    }
}

/// A copy of a read answer from `url` (the rest of its extensions stay with the original).
fn copy(response: &http::Response<Vec<u8>>, url: reqwest::Url) -> http::Response<Vec<u8>> {
    use reqwest::ResponseBuilderExt;
    let mut copy = http::Response::builder()
        .status(response.status())
        .version(response.version())
        .url(url)
        .body(response.body().clone())
        .expect("status and version come from a response");
    *copy.headers_mut() = response.headers().clone();
    copy
}

/// The answer returned when the request would have to be replayed and its body cannot be: the last
/// resource answer, tagged with [`NotReplayed`] in its extensions and the middleware's.
fn not_replayed(
    last: Option<http::Response<Vec<u8>>>,
    extensions: &mut http::Extensions,
) -> reqwest::Response {
    let reason = NotReplayed::BodyNotCloneable;
    extensions.insert(reason);
    let last = last.unwrap_or_else(|| {
        let mut empty = http::Response::new(Vec::new());
        *empty.status_mut() = StatusCode::UNAUTHORIZED;
        empty
    });
    let mut response = reqwest::Response::from(last);
    response.extensions_mut().insert(reason);
    response
}
