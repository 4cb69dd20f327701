//! The run loop of THE RUN LOOP CONTRACT (`uma_core` crate docs), for any [`Machine`]: one thread per
//! request, the core behind a mutex held only for the calls into it, herd waits on a condvar.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use uma_core::{Client, ExchangeKey, Machine, Step};

use crate::body::AppBody;
use uma_core::driver::RequestDeadline;

use uma_core::trace::{ErrorKind, redacted_url};

use crate::error::Error;
use crate::options::Options;
use crate::transport::{self, Answer, Budget};

/// Landing records kept before they are dropped (each is one key: issuer × origin × party).
const MAX_LANDINGS: usize = 4096;

/// The core client and what parked requests need to know about finished exchanges.
pub(crate) struct Core {
    pub client: Client,
    /// Bumped once per finished exchange.
    epoch: u64,
    /// The epoch at which each key last finished.
    landed: HashMap<ExchangeKey, u64>,
    /// The epoch at which `landed` was last cleared: waiters from before must re-check.
    pruned: u64,
}

impl Core {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            epoch: 0,
            landed: HashMap::new(),
            pruned: 0,
        }
    }

    /// Records the exchanges the last call finished. Returns whether any did (then wake the parked).
    pub fn drain(&mut self) -> bool {
        let mut any = false;
        while let Some(key) = self.client.poll_finished_exchange() {
            if self.landed.len() >= MAX_LANDINGS && !self.landed.contains_key(&key) {
                self.landed.clear();
                self.pruned = self.epoch + 1;
            }
            self.epoch += 1;
            self.landed.insert(key, self.epoch);
            any = true;
        }
        any
    }

    fn landed_since(&self, key: &ExchangeKey, epoch: u64) -> bool {
        self.pruned > epoch || self.landed.get(key).is_some_and(|e| *e > epoch)
    }
}

/// The core and the condvar its parked requests sleep on: shared by every handle of one client, even
/// handles with other options.
pub(crate) struct Herd {
    core: Mutex<Core>,
    landed: Condvar,
}

/// What the requests of one handle share: the transport, the options and the herd.
pub(crate) struct Shared {
    pub agent: ureq::Agent,
    pub options: Options,
    herd: Arc<Herd>,
}

impl Shared {
    pub fn new(agent: ureq::Agent, client: Client, options: Options) -> Self {
        Self {
            agent,
            options,
            herd: Arc::new(Herd {
                core: Mutex::new(Core::new(client)),
                landed: Condvar::new(),
            }),
        }
    }

    /// The same herd (core, caches, parked requests) with other options.
    pub fn with_options(&self, options: Options) -> Self {
        Self {
            agent: self.agent.clone(),
            options,
            herd: Arc::clone(&self.herd),
        }
    }

    /// Locks the core. A panic inside a core call poisons the lock; the caches stay usable, so carry on.
    pub fn lock(&self) -> MutexGuard<'_, Core> {
        self.herd
            .core
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the client under the lock, then wakes requests parked on exchanges that ended.
    /// Returns the epoch after the call, the reference point for a `Park` that `f` may have returned.
    pub fn with_client<R>(&self, f: impl FnOnce(&mut Client) -> R) -> (R, u64) {
        let mut core = self.lock();
        let result = f(&mut core.client);
        if core.drain() {
            self.herd.landed.notify_all();
        }
        (result, core.epoch)
    }

    /// Sleeps until `key` finishes after `epoch`, or until `until`.
    fn park(&self, key: &ExchangeKey, epoch: u64, until: Instant) {
        let mut core = self.lock();
        loop {
            if core.landed_since(key, epoch) {
                return;
            }
            let now = Instant::now();
            if now >= until {
                return;
            }
            core = match self.herd.landed.wait_timeout(core, until - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    /// Drives `machine` to its end. On any early exit (error, timeout, panic) the machine is aborted so
    /// requests parked on its exchanges stop waiting.
    pub fn drive<M: Machine>(&self, machine: &mut M) -> Result<M::Output, Error> {
        let mut none = AppBody::Replay(Vec::new());
        let tracer = &mut Tracer::request(None);
        Ok(self.drive_traced(machine, &mut none, tracer)?.0)
    }

    /// Drives a flow made with `Flow::for_head`: `body` goes with each resource request, and the answer
    /// the flow ends on comes back with its body unread.
    pub fn drive_flow(
        &self,
        flow: &mut uma_core::Flow,
        body: &mut AppBody,
        tracer: &mut Tracer,
    ) -> Result<http::Response<ureq::Body>, Error> {
        match self.drive_traced(flow, body, tracer)? {
            (head, Some(kept)) => Ok(head.map(|_| kept)),
            // The core never ends on an answer whose body it read (`uma_core::resource_body_limit`).
            (head, None) => Ok(head.map(|read| ureq::Body::builder().data(read))),
        }
    }

    /// [`Shared::drive`] inside the request span of `tracer`, each exchange in its own span.
    fn drive_traced<M: Machine>(
        &self,
        machine: &mut M,
        body: &mut AppBody,
        tracer: &mut Tracer,
    ) -> Result<(M::Output, Option<ureq::Body>), Error> {
        let _entered = tracer.enter();
        let result = self.run(machine, body, tracer);
        tracer.finish(result.as_ref().err());
        result
    }

    fn run<M: Machine>(
        &self,
        machine: &mut M,
        body: &mut AppBody,
        tracer: &mut Tracer,
    ) -> Result<(M::Output, Option<ureq::Body>), Error> {
        let deadline = RequestDeadline::start(self.options.request_timeout, Instant::now());
        let mut guard = AbortOnDrop {
            shared: self,
            machine,
            armed: true,
        };
        // The body of the last resource answer handed to the core as a head: returned if the flow ends on it.
        let mut kept: Option<ureq::Body> = None;
        let (mut step, mut epoch) = self.with_client(|c| guard.machine.start(c, Instant::now()));
        // The shared store coordinates two cold exchanges per request at most (crate::store).
        let mut store_flights = if self.options.shared_store.is_some() {
            2u8
        } else {
            0
        };
        loop {
            let next = match step {
                Step::Send(out) => {
                    if let Some(unread) = kept.take() {
                        transport::drain(unread);
                    }
                    let now = Instant::now();
                    if deadline.is_past(now) {
                        return Err(
                            deadline.timeout(out.kind, Some(redacted_url(out.request.uri())))
                        );
                    }
                    if out.attach_body && body.spent() {
                        return Err(Error::BodyNotReplayable { response: None });
                    }
                    let id = out.id;
                    // Whether this send carries the application's body (not a redirect turned GET).
                    let attached = out.attach_body;
                    let agent_global = self.agent.config().timeouts().global;
                    if let (1.., Some(store)) = (store_flights, &self.options.shared_store) {
                        if let Some(ask) = guard.machine.shared_exchange(id) {
                            store_flights -= 1;
                            let next = crate::store::shared_exchange(
                                self,
                                store,
                                &mut *guard.machine,
                                ask,
                                out,
                                &deadline,
                                |out| {
                                    let budget = Budget::new(
                                        &self.options,
                                        &deadline,
                                        agent_global,
                                        Instant::now(),
                                    );
                                    // A token request: always read whole.
                                    tracer
                                        .exchange(out, |out| {
                                            transport::exchange(
                                                &self.agent,
                                                &self.options,
                                                out,
                                                &mut *body,
                                                budget,
                                                &deadline,
                                            )
                                        })
                                        .map(|answer| match answer {
                                            transport::Answer::Read(r)
                                            | transport::Answer::Head(r, _) => r,
                                        })
                                },
                            )?;
                            (step, epoch) = next;
                            continue;
                        }
                    }
                    let budget = Budget::new(&self.options, &deadline, agent_global, now);
                    let answer = tracer.exchange(out, |out| {
                        transport::exchange(
                            &self.agent,
                            &self.options,
                            out,
                            body,
                            budget,
                            &deadline,
                        )
                    })?;
                    let head = match answer {
                        Answer::Read(response) => response,
                        Answer::Head(head, unread) => {
                            kept = Some(unread);
                            head
                        }
                    };
                    // Only an answer to the send that spent the body can call for it again.
                    let copy = (attached && body.spent()).then(|| uma_core::response_head(&head));
                    let next = self.with_client(|c| {
                        guard.machine.handle_response(c, id, head, Instant::now())
                    });
                    if let (Some(store), false) =
                        (&self.options.shared_store, matches!(next.0, Step::Done(_)))
                    {
                        crate::store::drain_refused(self, store);
                    }
                    if let Some(head) = copy.filter(|_| next.0.needs_application_body()) {
                        // The body went with this request and cannot go again: stop before asking an
                        // authorization server for anything.
                        return Err(Error::BodyNotReplayable {
                            response: Some(Box::new(head)),
                        });
                    }
                    next
                }
                Step::Wait { until } => {
                    // Fail now rather than sleep into a deadline that falls before the next poll.
                    if !deadline.allows_wait_until(until) {
                        return Err(deadline.timeout(uma_core::RequestKind::Token, None));
                    }
                    std::thread::sleep(until.saturating_duration_since(Instant::now()));
                    self.with_client(|c| guard.machine.resume(c, Instant::now()))
                }
                Step::Park { key, until } => {
                    self.park(&key, epoch, deadline.park_until(until));
                    if deadline.is_past(Instant::now()) {
                        return Err(deadline.timeout(key.request_kind(), None));
                    }
                    self.with_client(|c| guard.machine.resume(c, Instant::now()))
                }
                Step::Done(value) => {
                    guard.armed = false;
                    return Ok((value, kept));
                }
                Step::Failed(failure) => {
                    guard.armed = false;
                    return Err(failure.into());
                }
            };
            (step, epoch) = next;
        }
    }
}

/// What [`Tracer::enter`] returns without the `tracing` feature.
#[cfg(not(feature = "tracing"))]
pub(crate) struct NoSpan;

/// The `tracing` spans of one driven machine (feature `tracing`; without it, nothing).
pub(crate) struct Tracer {
    #[cfg(feature = "tracing")]
    span: tracing::Span,
    #[cfg(feature = "tracing")]
    counter: uma_core::trace::StepCounter,
}

impl Tracer {
    /// The `uma.request` span of `request` (none for a machine without an application request).
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    pub fn request(request: Option<(&http::Method, &http::Uri)>) -> Self {
        Self {
            #[cfg(feature = "tracing")]
            span: uma_core::trace::spans::request(request),
            #[cfg(feature = "tracing")]
            counter: Default::default(),
        }
    }

    /// Enters the request span for as long as the guard lives.
    #[cfg(feature = "tracing")]
    pub fn enter(&self) -> tracing::span::EnteredSpan {
        self.span.clone().entered()
    }

    #[cfg(not(feature = "tracing"))]
    pub fn enter(&self) -> NoSpan {
        NoSpan
    }

    /// Runs one exchange inside its span and records its status or failure.
    #[cfg(feature = "tracing")]
    pub fn exchange<R: uma_core::trace::Answer, E: ErrorKind>(
        &mut self,
        out: uma_core::Outgoing,
        send: impl FnOnce(uma_core::Outgoing) -> Result<R, E>,
    ) -> Result<R, E> {
        let span = uma_core::trace::spans::exchange(&out, &mut self.counter);
        record(&span, span.in_scope(|| send(out)))
    }

    /// Runs an exchange no machine built (a protection handle's discovery at start-up) in its span.
    #[cfg(feature = "tracing")]
    pub fn standalone<E: ErrorKind>(
        &mut self,
        step: uma_core::trace::UmaStep,
        request: http::Request<Vec<u8>>,
        send: impl FnOnce(http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, E>,
    ) -> Result<http::Response<Vec<u8>>, E> {
        let span = uma_core::trace::spans::exchange_of(step, None, &request);
        record(&span, span.in_scope(|| send(request)))
    }

    #[cfg(not(feature = "tracing"))]
    pub fn standalone<E: ErrorKind>(
        &mut self,
        _: uma_core::trace::UmaStep,
        request: http::Request<Vec<u8>>,
        send: impl FnOnce(http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, E>,
    ) -> Result<http::Response<Vec<u8>>, E> {
        send(request)
    }

    #[cfg(not(feature = "tracing"))]
    pub fn exchange<R: uma_core::trace::Answer, E: ErrorKind>(
        &mut self,
        out: uma_core::Outgoing,
        send: impl FnOnce(uma_core::Outgoing) -> Result<R, E>,
    ) -> Result<R, E> {
        send(out)
    }

    /// Records the final status of the application's response on the request span.
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    pub fn record_status(&self, status: http::StatusCode) {
        #[cfg(feature = "tracing")]
        uma_core::trace::spans::record_status(&self.span, status.as_u16());
    }

    /// Records `uma.outcome`: `ok`, or the kind of `error`.
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    pub fn finish<E: ErrorKind>(&self, error: Option<&E>) {
        #[cfg(feature = "tracing")]
        uma_core::trace::spans::record_outcome(&self.span, error.map_or("ok", E::kind_name));
    }
}

/// Records an exchange's status, or why it failed, on its span.
#[cfg(feature = "tracing")]
fn record<R: uma_core::trace::Answer, E: ErrorKind>(
    span: &tracing::Span,
    result: Result<R, E>,
) -> Result<R, E> {
    use uma_core::trace::spans;
    match &result {
        Ok(response) => spans::record_status(span, response.status_code()),
        Err(error) => spans::record_error(span, error.kind_name()),
    }
    result
}

impl uma_core::trace::Answer for Answer {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

/// Calls [`Machine::abort`] unless disarmed: the early-exit path of the run loop contract.
struct AbortOnDrop<'a, M: Machine> {
    shared: &'a Shared,
    machine: &'a mut M,
    armed: bool,
}

impl<M: Machine> Drop for AbortOnDrop<'_, M> {
    fn drop(&mut self) {
        if self.armed {
            let machine = &mut *self.machine;
            self.shared.with_client(|c| machine.abort(c));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use uma_core::{Config, Party};

    fn shared() -> Arc<Shared> {
        Arc::new(Shared::new(
            ureq::Agent::new_with_defaults(),
            Client::new(Config::new()),
            Options::default(),
        ))
    }

    fn key(name: &str) -> ExchangeKey {
        ExchangeKey::Identity(Party::new(name))
    }

    #[test]
    fn landing_is_per_key_and_after_the_epoch() {
        let mut core = Core::new(Client::new(Config::new()));
        core.epoch = 5;
        core.landed.insert(key("a"), 5);
        assert!(!core.landed_since(&key("a"), 5));
        assert!(core.landed_since(&key("a"), 4));
        assert!(!core.landed_since(&key("b"), 0));
        // After a prune every older waiter re-checks.
        core.pruned = 6;
        assert!(core.landed_since(&key("b"), 5));
        assert!(!core.landed_since(&key("b"), 6));
    }

    #[test]
    fn park_wakes_on_its_key_and_times_out_otherwise() {
        let shared = shared();
        // Nothing lands: the wait ends at `until`.
        let started = Instant::now();
        shared.park(&key("a"), 0, started + Duration::from_millis(50));
        assert!(started.elapsed() >= Duration::from_millis(50));

        // Another key landing does not end the wait; ours does, long before `until`.
        let waker = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                for name in ["other", "a"] {
                    std::thread::sleep(Duration::from_millis(30));
                    let mut core = shared.lock();
                    core.epoch += 1;
                    let epoch = core.epoch;
                    core.landed.insert(key(name), epoch);
                    shared.herd.landed.notify_all();
                }
            })
        };
        let started = Instant::now();
        shared.park(&key("a"), 0, started + Duration::from_secs(10));
        let waited = started.elapsed();
        waker.join().unwrap();
        assert!(waited >= Duration::from_millis(55), "{waited:?}");
        assert!(waited < Duration::from_secs(5), "{waited:?}");
    }

    #[test]
    fn an_invalid_request_fails_without_io() {
        let shared = shared();
        let request = http::Request::get("/relative").body(Vec::new()).unwrap();
        let mut flow = uma_core::Flow::new(request);
        let error = shared.drive(&mut flow).unwrap_err();
        assert!(
            matches!(error.uma(), Some(uma_core::Error::InvalidRequest(_))),
            "{error:?}"
        );
        assert!(error.response().is_none());
    }
}
