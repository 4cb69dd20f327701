//! The drive loop of the protection machines: the core decides, this sends, parks and wakes. The
//! blocking twin of uma-hyper's: a `Condvar` instead of a `Notify`, the thread blocks where the task
//! awaited.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use uma_core::protection::{CallError, ProtectionClient, ProtectionError};
use uma_core::{Machine, Outgoing, RequestKind, Step};

use super::io::send;
use super::{DISCOVERY, Error, TOKEN};
use crate::driver::Tracer;
use crate::options::Options;

/// The core's protection state, and the bell parked calls wait on.
#[derive(Debug)]
pub(super) struct Shared {
    client: Mutex<ProtectionClient>,
    landed: Condvar,
}

impl Shared {
    pub(super) fn new(client: ProtectionClient) -> Self {
        Self {
            client: Mutex::new(client),
            landed: Condvar::new(),
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, ProtectionClient> {
        // Plain data updated by short machine calls: a panic elsewhere leaves it usable.
        self.client.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Blocks until the generation moves on from `seen` (a discovery or PAT landed or was given up)
    /// or `until` passes. `seen` was read under the lock as the machine parked, so a landing after the
    /// park cannot be missed.
    fn park(&self, seen: u64, until: Instant) {
        let mut client = self.lock();
        while client.generation() == seen {
            let left = until.saturating_duration_since(now());
            if left.is_zero() {
                return;
            }
            client = self
                .landed
                .wait_timeout(client, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// The only clock the protection machines see.
pub(super) fn now() -> Instant {
    Instant::now()
}

/// Aborts the machine if the call unwinds or fails mid-way, so parked calls stop waiting.
struct Running<'a, M: Machine<ProtectionClient>> {
    shared: &'a Shared,
    machine: M,
    live: bool,
}

impl<M: Machine<ProtectionClient>> Running<'_, M> {
    /// One machine call under the lock; rings the bell when a discovery or PAT landed or was given up.
    /// Also returns the generation as of the step, for a park.
    fn call(
        &mut self,
        f: impl FnOnce(&mut M, &mut ProtectionClient) -> Step<M::Output>,
    ) -> (Step<M::Output>, u64) {
        let mut client = self.shared.lock();
        let before = client.generation();
        let step = f(&mut self.machine, &mut client);
        let after = client.generation();
        drop(client);
        if after != before {
            self.shared.landed.notify_all();
        }
        (step, after)
    }
}

impl<M: Machine<ProtectionClient>> Drop for Running<'_, M> {
    fn drop(&mut self) {
        if self.live {
            self.machine.abort(&mut self.shared.lock());
            self.shared.landed.notify_all();
        }
    }
}

/// Runs `machine` to its end over `agent`.
pub(super) fn drive<M, T>(
    agent: &ureq::Agent,
    options: &Options,
    shared: &Shared,
    machine: M,
) -> Result<T, Error>
where
    M: Machine<ProtectionClient, Output = Result<T, CallError>>,
{
    let mut tracer = Tracer::request(None);
    let _entered = tracer.enter();
    let result = run(agent, options, shared, machine, &mut tracer);
    tracer.finish(result.as_ref().err());
    result
}

fn run<M, T>(
    agent: &ureq::Agent,
    options: &Options,
    shared: &Shared,
    machine: M,
    tracer: &mut Tracer,
) -> Result<T, Error>
where
    M: Machine<ProtectionClient, Output = Result<T, CallError>>,
{
    let mut run = Running {
        shared,
        machine,
        live: true,
    };
    let (mut step, mut seen) = run.call(|m, c| m.start(c, now()));
    loop {
        (step, seen) = match step {
            Step::Send(out) => {
                let id = out.id;
                let send = |out: Outgoing| send(agent, options, operation(out.kind), out.request);
                let response = tracer.exchange(out, send)?;
                run.call(|m, c| m.handle_response(c, id, response, now()))
            }
            Step::Park { until, .. } => {
                shared.park(seen, until);
                run.call(|m, c| m.resume(c, now()))
            }
            Step::Wait { until } => {
                std::thread::sleep(until.saturating_duration_since(now()));
                run.call(|m, c| m.resume(c, now()))
            }
            Step::Done(result) => {
                run.live = false;
                return result.map_err(Error::from);
            }
            Step::Failed(_) => {
                // The protection machines end in `Done`; a `Failed` would be a core bug.
                return Err(ProtectionError::InvalidInput("the protection machine failed").into());
            }
        };
    }
}

fn operation(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::Discovery => DISCOVERY,
        RequestKind::Token => TOKEN,
        RequestKind::Protection(name) => name,
        _ => "protection",
    }
}
