//! A shared RPT store for a fleet of replicas ([`uma_core::store`]): the async driver of
//! [`SharedFlight`], run by the local leader of a cold exchange only. The warm path never calls it.
//!
//! ```
//! use std::time::Duration;
//! use uma_hyper::{Options, SharedStore};
//! use uma_hyper::uma_core::store::{AsyncRptStore, OnStoreFailure, StoreOptions};
//!
//! fn options(store: impl AsyncRptStore + 'static) -> Options {
//!     let shared = SharedStore::new(store)
//!         .with_options(StoreOptions::default().with_on_failure(OnStoreFailure::Degrade))
//!         .with_observer(|event| eprintln!("shared store: {event:?}"));
//!     Options::default().with_shared_store(shared)
//! }
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::future::Future;

use tokio::sync::futures::OwnedNotified;
use uma_core::store::{AsyncRptStore, SharedAsk, SharedFlight, StoreEvent, StoreOp, StoreStep};
use uma_core::{Machine, Outgoing, Step};

use crate::error::Error;
use crate::herd::{Engine, Running, now};
use uma_core::RequestKind;
use uma_core::driver::{RequestDeadline, claim_until};

pub use uma_core::driver::StoreObserver;

/// A shared store and how to use it ([`uma_core::driver::SharedStore`] over an
/// [`AsyncRptStore`]); set with [`Options::with_shared_store`](crate::Options::with_shared_store).
pub type SharedStore = uma_core::driver::SharedStore<dyn AsyncRptStore>;

/// Seconds since the epoch (a clock before 1970 reads as 0): the adapter's one wall-clock read, for
/// shared-store records and, as `i64`, introspection's `exp`.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Hands the store events the core collected to the observer, outside the lock.
fn report(engine: &Engine, shared: &SharedStore) {
    if !shared.is_observed() {
        engine.with_core(|c| while c.poll_store_event().is_some() {});
        return;
    }
    let events: Vec<StoreEvent> =
        engine.with_core(|c| std::iter::from_fn(|| c.poll_store_event()).collect());
    shared.report(&events);
}

/// A machine's next step and, when it parks, the wake-up to await ([`Running::step`]).
pub type Next<O> = (Step<O>, Option<OwnedNotified>);

/// Runs the cold exchange `out` (the ticket grant `ask` describes, from
/// [`Machine::shared_exchange`]) through the shared store: answered from it, or sent with `send`
/// after taking its lock (or after waiting for another replica), the result written back. For
/// adapters built on [`crate::herd`]; `uma-hyper` and `uma-reqwest` call it from their run loops.
#[allow(clippy::too_many_arguments)]
pub async fn shared_exchange<M, E, F, Fut>(
    engine: &Engine,
    shared: &SharedStore,
    exchange_timeout: Duration,
    running: &mut Running<'_, M>,
    ask: SharedAsk,
    out: Outgoing,
    deadline: &RequestDeadline,
    send: F,
) -> Result<Next<M::Output>, E>
where
    M: Machine,
    E: From<Error>,
    F: FnOnce(Outgoing) -> Fut,
    Fut: Future<Output = Result<http::Response<Vec<u8>>, E>>,
{
    let id = out.id;
    let store = shared.store();
    let (mut flight, mut step) = engine.with_core(|c| {
        c.use_shared_store();
        SharedFlight::start(c, ask, shared.options(), now())
    });
    loop {
        step = match step {
            StoreStep::Get => {
                let found = store.get(flight.key()).await;
                engine.with_core(|c| flight.on_get(c, found, now(), unix_now()))
            }
            StoreStep::TryLock { ttl } => {
                let taken = store.try_lock(flight.key(), ttl).await;
                engine.with_core(|c| flight.on_lock(c, taken, now()))
            }
            StoreStep::Sleep { until } => {
                running
                    .with_machine(|m, c| m.hold_exchange(c, claim_until(until, exchange_timeout)));
                if !deadline.allows_wait_until(until) {
                    // Fail now rather than sleep into a timeout already known.
                    report(engine, shared);
                    finish(engine, shared, flight, None).await;
                    running.abort();
                    return Err(deadline.timeout(RequestKind::Token, None).into());
                }
                tokio::time::sleep_until(until.into()).await;
                engine.with_core(|c| flight.on_wake(c, now()))
            }
            StoreStep::Adopt(record) => {
                report(engine, shared);
                let answered = running
                    .try_step(|m, c, now| m.answer_from_store(c, id, *record, now, unix_now()));
                finish(engine, shared, flight, None).await;
                match answered {
                    Some(next) => return Ok(next),
                    // Not taken (cannot happen for a flow): send the request after all.
                    None => return deliver(running, id, send(out).await),
                }
            }
            StoreStep::Exchange => {
                report(engine, shared);
                let until = claim_until(now(), exchange_timeout);
                running.with_machine(|m, c| m.hold_exchange(c, until));
                let sent_at = now();
                let next = deliver(running, id, send(out).await);
                let record = match &next {
                    Ok(_) => engine.with_core(|c| {
                        c.shared_record(flight.key(), Some(sent_at), now(), unix_now())
                    }),
                    Err(_) => None,
                };
                finish(engine, shared, flight, record).await;
                return next;
            }
            StoreStep::Fail(error) => {
                report(engine, shared);
                finish(engine, shared, flight, None).await;
                running.abort();
                return Err(Error::Store(error).into());
            }
        };
    }
}

/// Feeds the answer to the machine, or aborts it.
fn deliver<M: Machine, E>(
    running: &mut Running<'_, M>,
    id: uma_core::RequestId,
    response: Result<http::Response<Vec<u8>>, E>,
) -> Result<Next<M::Output>, E> {
    match response {
        Ok(response) => Ok(running.step(|m, core, now| m.handle_response(core, id, response, now))),
        Err(error) => {
            running.abort();
            Err(error)
        }
    }
}

/// The store calls after the exchange: write, delete, unlock. Their failures are counted, never the
/// request's.
async fn finish(
    engine: &Engine,
    shared: &SharedStore,
    flight: SharedFlight,
    record: Option<uma_core::record::RptRecord>,
) {
    let key = flight.key().clone();
    let store = shared.store();
    for op in flight.finish(record, unix_now()) {
        let (name, result) = match &op {
            StoreOp::Put(record, ttl) => ("put", store.put(&key, record, *ttl).await),
            StoreOp::DeleteIf(token) => ("delete", store.delete_if(&key, token).await.map(drop)),
            StoreOp::Unlock(lock) => ("unlock", store.unlock(&key, lock).await),
        };
        engine.with_core(|c| c.store_result(name, result, shared.options(), now()));
    }
    report(engine, shared);
}

/// Deletes from the store the RPTs resource servers refused since the last call (compare-and-delete:
/// only if the store still holds that very RPT).
pub async fn drain_refused(engine: &Engine, shared: &SharedStore) {
    for _ in 0..32 {
        let Some(refused) = engine.with_core(|c| {
            if c.has_refused_rpt() && c.store_available(now()) {
                c.poll_refused_rpt()
            } else {
                None
            }
        }) else {
            break;
        };
        let result = shared
            .store()
            .delete_if(&refused.key, &refused.token)
            .await
            .map(drop);
        engine.with_core(|c| c.store_result("delete", result, shared.options(), now()));
    }
    report(engine, shared);
}
