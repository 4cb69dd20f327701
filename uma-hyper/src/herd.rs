//! The shared core client of an async adapter, the per-key wake-ups of the requests parked on another
//! request's exchange (the herd), and the guard that aborts a machine whose request future is dropped
//! half-way. [`UmaClient`](crate::UmaClient), [`UmaLayer`](crate::UmaLayer) and `uma-reqwest` all run
//! their machines on it; a new tokio-based adapter can too.
//!
//! The core is behind a `std::sync::Mutex` that is only held for a synchronous call into it, never
//! across an `.await`. A poisoned lock is recovered: the core is plain data updated by short calls, and
//! a panic in one request must not take every other request down.
//!
//! ```
//! use uma_hyper::herd::{Engine, Running};
//! use uma_hyper::uma_core::{Client, Config, Login, LoginGrant, Step};
//! use uma_hyper::uma_core::discovery::Issuer;
//!
//! let engine = Engine::new(Client::new(Config::new()));
//! let issuer = Issuer::parse("https://as.example.org")?;
//! let login = Login::new(issuer, LoginGrant::ClientCredentials { scope: None });
//! let mut running = Running::new(&engine, login);
//! // No authorization server is configured for that issuer: the machine fails at once.
//! let (step, parked) = running.step(|login, core, now| uma_hyper::uma_core::Machine::start(login, core, now));
//! assert!(matches!(step, Step::Failed(_)) && parked.is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::Notify;
use tokio::sync::futures::OwnedNotified;
use uma_core::{Client, ExchangeKey, Machine, Step};

/// The core client plus, per exchange key, the [`Notify`] that the requests parked on it wait for.
struct State {
    core: Client,
    waiters: HashMap<ExchangeKey, Arc<Notify>>,
}

/// What every clone of a client, layer or middleware shares: the core [`Client`] and the wake-ups of
/// parked requests.
pub struct Engine {
    state: Mutex<State>,
}

impl Engine {
    /// An engine around `core`.
    pub fn new(core: Client) -> Self {
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
    pub fn with_core<R>(&self, f: impl FnOnce(&mut Client) -> R) -> R {
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
pub fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Owns the machine while it runs; if the request future is dropped half-way (cancellation, a timeout,
/// an error in the adapter), the machine is aborted so that no exchange stays claimed and the requests
/// parked on it wake up.
pub struct Running<'a, M: Machine> {
    engine: &'a Engine,
    machine: M,
    finished: bool,
}

impl<'a, M: Machine> Running<'a, M> {
    /// Starts owning `machine`, which runs on `engine`'s core.
    pub fn new(engine: &'a Engine, machine: M) -> Self {
        Self {
            engine,
            machine,
            finished: false,
        }
    }

    /// Calls into the machine under the lock; a `Done` or `Failed` step marks it finished. When the
    /// step parks, the wake-up to await comes with it.
    pub fn step(
        &mut self,
        f: impl FnOnce(&mut M, &mut Client, Instant) -> Step<M::Output>,
    ) -> (Step<M::Output>, Option<OwnedNotified>) {
        let machine = &mut self.machine;
        let (step, parked) = self.engine.step(|core, now| f(machine, core, now));
        if matches!(step, Step::Done(_) | Step::Failed(_)) {
            self.finished = true;
        }
        (step, parked)
    }

    /// The machine.
    pub fn machine(&self) -> &M {
        &self.machine
    }

    /// Runs `f` on the machine and the core under the lock (no step comes out of it).
    pub fn with_machine<R>(&mut self, f: impl FnOnce(&mut M, &mut Client) -> R) -> R {
        let machine = &mut self.machine;
        self.engine.with_core(|core| f(machine, core))
    }

    /// [`Running::step`] for a call that may decline (`None`: nothing happened).
    pub fn try_step(
        &mut self,
        f: impl FnOnce(&mut M, &mut Client, Instant) -> Option<Step<M::Output>>,
    ) -> Option<(Step<M::Output>, Option<OwnedNotified>)> {
        let machine = &mut self.machine;
        let mut declined = false;
        let (step, parked) = self.engine.step(|core, now| match f(machine, core, now) {
            Some(step) => step,
            None => {
                declined = true;
                Step::Wait { until: now }
            }
        });
        if declined {
            return None;
        }
        if matches!(step, Step::Done(_) | Step::Failed(_)) {
            self.finished = true;
        }
        Some((step, parked))
    }

    /// Gives up: releases what the machine holds. Idempotent.
    pub fn abort(&mut self) {
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
