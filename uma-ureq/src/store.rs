//! A shared RPT store for a fleet of replicas ([`uma_core::store`]): the blocking driver of
//! [`SharedFlight`], run by the local leader of a cold exchange only. The warm path never calls it.
//!
//! ```
//! use uma_ureq::{Options, SharedStore};
//! use uma_ureq::uma_core::store::{RptStore, StoreOptions};
//!
//! fn options(store: impl RptStore + 'static) -> Options {
//!     let shared = SharedStore::new(store)
//!         .with_options(StoreOptions::default().with_refresh_tokens(false))
//!         .with_observer(|event| eprintln!("shared store: {event:?}"));
//!     Options::default().with_shared_store(shared)
//! }
//! ```

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use uma_core::driver::{RequestDeadline, claim_until};
use uma_core::record::RptRecord;
use uma_core::store::{RptStore, SharedAsk, SharedFlight, StoreOp, StoreStep};
use uma_core::{Machine, Outgoing, RequestKind, Step};

use crate::driver::Shared;
use crate::error::Error;

pub use uma_core::driver::StoreObserver;

/// A shared store and how to use it ([`uma_core::driver::SharedStore`] over a blocking
/// [`RptStore`]); set with [`Options::with_shared_store`](crate::Options::with_shared_store).
pub type SharedStore = uma_core::driver::SharedStore<dyn RptStore>;

/// Seconds since the epoch (a clock before 1970 reads as 0): the adapter's one wall-clock read, for
/// shared-store records and, as `i64`, introspection's `exp`.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn report(shared: &Shared, store: &SharedStore) {
    let (events, _) =
        shared.with_client(|c| std::iter::from_fn(|| c.poll_store_event()).collect::<Vec<_>>());
    store.report(&events);
}

/// Runs the cold exchange `out` through the shared store (see `uma_core::store`). `send` performs
/// the HTTP exchange. Returns the machine's next step and the epoch after it.
pub(crate) fn shared_exchange<M: Machine>(
    shared: &Shared,
    store: &SharedStore,
    machine: &mut M,
    ask: SharedAsk,
    out: Outgoing,
    deadline: &RequestDeadline,
    send: impl FnOnce(Outgoing) -> Result<http::Response<Vec<u8>>, Error>,
) -> Result<(Step<M::Output>, u64), Error> {
    let id = out.id;
    let backend = store.store();
    let ((mut flight, mut step), _) = shared.with_client(|c| {
        c.use_shared_store();
        SharedFlight::start(c, ask, store.options(), Instant::now())
    });
    let exchange_timeout = shared
        .options
        .exchange_timeout
        .unwrap_or(crate::DEFAULT_EXCHANGE_TIMEOUT);
    loop {
        step = match step {
            StoreStep::Get => {
                let found = backend.get(flight.key());
                shared
                    .with_client(|c| flight.on_get(c, found, Instant::now(), unix_now()))
                    .0
            }
            StoreStep::TryLock { ttl } => {
                let taken = backend.try_lock(flight.key(), ttl);
                shared
                    .with_client(|c| flight.on_lock(c, taken, Instant::now()))
                    .0
            }
            StoreStep::Sleep { until } => {
                let hold = claim_until(until, exchange_timeout);
                shared.with_client(|c| machine.hold_exchange(c, hold));
                if !deadline.allows_wait_until(until) {
                    // Fail now rather than sleep into a timeout already known (as every adapter).
                    report(shared, store);
                    finish(shared, store, flight, None);
                    return Err(deadline.timeout(RequestKind::Token, None));
                }
                std::thread::sleep(until.saturating_duration_since(Instant::now()));
                shared.with_client(|c| flight.on_wake(c, Instant::now())).0
            }
            StoreStep::Adopt(record) => {
                report(shared, store);
                let (answered, epoch) = shared.with_client(|c| {
                    machine.answer_from_store(c, id, *record, Instant::now(), unix_now())
                });
                finish(shared, store, flight, None);
                return match answered {
                    Some(step) => Ok((step, epoch)),
                    None => deliver(shared, machine, id, send(out)),
                };
            }
            StoreStep::Exchange => {
                report(shared, store);
                let until = claim_until(Instant::now(), exchange_timeout);
                shared.with_client(|c| machine.hold_exchange(c, until));
                let sent_at = Instant::now();
                let next = deliver(shared, machine, id, send(out));
                let record = match &next {
                    Ok(_) => {
                        shared
                            .with_client(|c| {
                                c.shared_record(
                                    flight.key(),
                                    Some(sent_at),
                                    Instant::now(),
                                    unix_now(),
                                )
                            })
                            .0
                    }
                    Err(_) => None,
                };
                finish(shared, store, flight, record);
                return next;
            }
            StoreStep::Fail(error) => {
                report(shared, store);
                finish(shared, store, flight, None);
                return Err(Error::Store(error));
            }
        };
    }
}

fn deliver<M: Machine>(
    shared: &Shared,
    machine: &mut M,
    id: uma_core::RequestId,
    response: Result<http::Response<Vec<u8>>, Error>,
) -> Result<(Step<M::Output>, u64), Error> {
    let response = response?;
    Ok(shared.with_client(|c| machine.handle_response(c, id, response, Instant::now())))
}

fn finish(shared: &Shared, store: &SharedStore, flight: SharedFlight, record: Option<RptRecord>) {
    let key = flight.key().clone();
    let backend = store.store();
    for op in flight.finish(record, unix_now()) {
        let (name, result) = match &op {
            StoreOp::Put(record, ttl) => ("put", backend.put(&key, record, *ttl)),
            StoreOp::DeleteIf(token) => ("delete", backend.delete_if(&key, token).map(drop)),
            StoreOp::Unlock(lock) => ("unlock", backend.unlock(&key, lock)),
        };
        shared.with_client(|c| c.store_result(name, result, store.options(), Instant::now()));
    }
    report(shared, store);
}

/// Deletes from the store the RPTs resource servers refused since the last call (compare-and-delete).
pub(crate) fn drain_refused(shared: &Shared, store: &SharedStore) {
    for _ in 0..32 {
        let (refused, _) = shared.with_client(|c| {
            if c.has_refused_rpt() && c.store_available(Instant::now()) {
                c.poll_refused_rpt()
            } else {
                None
            }
        });
        let Some(refused) = refused else { break };
        let result = store
            .store()
            .delete_if(&refused.key, &refused.token)
            .map(drop);
        shared.with_client(|c| c.store_result("delete", result, store.options(), Instant::now()));
    }
    report(shared, store);
}
