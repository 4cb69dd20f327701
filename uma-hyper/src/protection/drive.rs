//! The drive loop of the protection machines: the core decides, this sends, parks and wakes.

use crate::RequestBody;
use std::sync::{Mutex, MutexGuard, PoisonError};

use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::Connect;
use tokio::sync::Notify;
use uma_core::protection::{CallError, ProtectionClient, ProtectionError};
use uma_core::{Machine, RequestKind, Step};

use super::io::send;
use super::{DISCOVERY, Error, TOKEN};
use crate::options::Options;
use crate::spans::Trace;

/// The core's protection state, and the bell parked calls wait on.
#[derive(Debug)]
pub(super) struct Shared {
    client: Mutex<ProtectionClient>,
    landed: Notify,
}

impl Shared {
    pub(super) fn new(client: ProtectionClient) -> Self {
        Self {
            client: Mutex::new(client),
            landed: Notify::new(),
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, ProtectionClient> {
        // Plain data updated by short machine calls: a panic elsewhere leaves it usable.
        self.client.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// tokio's clock, so that paused test time and the core agree (as in the engine).
fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

/// Aborts the machine if the future is dropped or fails mid-way, so parked calls stop waiting.
struct Running<'a, M: Machine<ProtectionClient>> {
    shared: &'a Shared,
    machine: M,
    live: bool,
}

impl<M: Machine<ProtectionClient>> Running<'_, M> {
    /// One machine call under the lock; rings the bell when a discovery or PAT landed or was given up.
    fn call(
        &mut self,
        f: impl FnOnce(&mut M, &mut ProtectionClient) -> Step<M::Output>,
    ) -> Step<M::Output> {
        let mut client = self.shared.lock();
        let before = client.generation();
        let step = f(&mut self.machine, &mut client);
        let rang = client.generation() != before;
        drop(client);
        if rang {
            self.shared.landed.notify_waiters();
        }
        step
    }
}

impl<M: Machine<ProtectionClient>> Drop for Running<'_, M> {
    fn drop(&mut self) {
        if self.live {
            self.machine.abort(&mut self.shared.lock());
            self.shared.landed.notify_waiters();
        }
    }
}

/// Runs `machine` to its end over `http`.
pub(super) async fn drive<C, M, T>(
    http: &HyperClient<C, RequestBody>,
    options: &Options,
    shared: &Shared,
    machine: M,
) -> Result<T, Error>
where
    C: Connect + Clone + Send + Sync + 'static,
    M: Machine<ProtectionClient, Output = Result<T, CallError>>,
{
    let trace = Trace::new();
    trace
        .request(run(http, options, shared, machine, &trace))
        .await
}

async fn run<C, M, T>(
    http: &HyperClient<C, RequestBody>,
    options: &Options,
    shared: &Shared,
    machine: M,
    trace: &Trace,
) -> Result<T, Error>
where
    C: Connect + Clone + Send + Sync + 'static,
    M: Machine<ProtectionClient, Output = Result<T, CallError>>,
{
    let mut run = Running {
        shared,
        machine,
        live: true,
    };
    // Registered before each machine call, so a landing after it cannot be missed.
    let mut bell = Box::pin(shared.landed.notified());
    let mut step = run.call(|m, c| m.start(c, now()));
    loop {
        step = match step {
            Step::Send(out) => {
                let span = trace.exchange(&out);
                let sent = send(http, options, operation(out.kind), out.request);
                let response = span.run(sent).await?;
                bell = Box::pin(shared.landed.notified());
                run.call(|m, c| m.handle_response(c, out.id, response, now()))
            }
            Step::Park { until, .. } => {
                let until = tokio::time::Instant::from_std(until);
                let _ = tokio::time::timeout_at(until, bell.as_mut()).await;
                bell = Box::pin(shared.landed.notified());
                run.call(|m, c| m.resume(c, now()))
            }
            Step::Wait { until } => {
                tokio::time::sleep_until(tokio::time::Instant::from_std(until)).await;
                bell = Box::pin(shared.landed.notified());
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
