//! A second-level RPT cache shared by the replicas of an application (Redis, a file, anything with
//! get / put-with-TTL / try-lock / unlock / compare-and-delete), and the protocol that uses it, written
//! once for every adapter.
//!
//! The in-process cache stays the first level: the warm path never leaves the process. The store is
//! consulted only by the one local leader of a cold exchange (the flow holding the
//! [`ExchangeKey::Rpt`](crate::ExchangeKey) claim), right before it would send the ticket grant:
//!
//! ```text
//! get ── hit ──────────────────────────────────────────────► adopt the stored RPT (no exchange)
//!  │ miss
//!  ▼
//! try-lock ── won ──► get again ── hit ──► adopt, unlock
//!  │                   │ miss
//!  │                   ▼
//!  │                 exchange ──► put (TTL from TtlPolicy) ──► unlock
//!  │ lost
//!  ▼
//! sleep (WaitPolicy) ──► get ──► try-lock … ── wait over ──► exchange alone (and put)
//! ```
//!
//! The lock is an efficiency lock: a lost or expired lock costs one extra exchange, never a wrong
//! token. Every store failure counts towards a circuit breaker; while it is open the store is skipped
//! and the replica behaves as it would without one (or, with [`OnStoreFailure::FailClosed`], the
//! request fails). Bad bytes from the store are a [`Lookup::Bad`]: a miss, counted.
//!
//! [`SharedFlight`] is plain data: the adapters perform the store calls it asks for, sleep where it says,
//! and feed the results back. [`RptStore`] (blocking) and [`AsyncRptStore`] (boxed `Send` futures, so
//! it is dyn-compatible) are what a store implements; `uma-redis` implements both.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use uma_core::discovery::Issuer;
//! use uma_core::store::{Lookup, SharedAsk, SharedFlight, SharedKey, StoreOptions, StoreStep};
//! use uma_core::{Client, Config, Party};
//!
//! let mut client = Client::new(Config::new());
//! let key = SharedKey {
//!     issuer: Issuer::parse("https://as.example.org")?,
//!     origin: "https://rs.example.org:443".into(),
//!     party: Party::default(),
//! };
//! let options = StoreOptions::default();
//! let now = Instant::now();
//! let (mut flight, step) = SharedFlight::start(&mut client, SharedAsk { key, sent: None }, &options, now);
//! assert!(matches!(step, StoreStep::Get));
//! // The store had nothing: take the lock.
//! let step = flight.on_get(&mut client, Ok(Lookup::Miss), now, 1_700_000_000);
//! assert!(matches!(step, StoreStep::TryLock { .. }));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use crate::cache::{ExchangeKey, Party};
use crate::client::Client;
use crate::discovery::Issuer;
use crate::record::{Lease, RecordError, RptRecord, TtlPolicy, WaitPolicy};
use crate::secret::AccessToken;

/// What a shared RPT is filed under: the authorization server, the resource-server origin and the
/// requesting party. Stores must not use it in the clear (party names are often e-mail addresses):
/// `uma-redis` files it under a keyed hash of [`SharedKey::canonical_bytes`]. `Debug` hides the party.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SharedKey {
    /// The authorization server.
    pub issuer: Issuer,
    /// The resource server, `scheme://host:port`.
    pub origin: String,
    /// The requesting party.
    pub party: Party,
}

impl fmt::Debug for SharedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedKey")
            .field("issuer", &self.issuer.as_str())
            .field("origin", &self.origin)
            .field("party", &"[redacted]")
            .finish()
    }
}

impl SharedKey {
    /// The key of an [`ExchangeKey::Rpt`]; `None` for other keys.
    pub fn of(key: &ExchangeKey) -> Option<Self> {
        match key {
            ExchangeKey::Rpt {
                issuer,
                origin,
                party,
            } => Some(Self {
                issuer: issuer.clone(),
                origin: origin.clone(),
                party: party.clone(),
            }),
            _ => None,
        }
    }

    /// An unambiguous byte string of the key, for hashing: `uma-rpt/v1`, then issuer, origin and party,
    /// each preceded by its length (so no choice of names can collide with another).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let parts = [
            self.issuer.as_str().as_bytes(),
            self.origin.as_bytes(),
            self.party.0.as_bytes(),
        ];
        let mut out = b"uma-rpt/v1".to_vec();
        for part in parts {
            out.extend_from_slice(&(part.len() as u64).to_be_bytes());
            out.extend_from_slice(part);
        }
        out
    }
}

/// A cold exchange a shared store may answer: its key, and the RPT the request presented and the
/// resource server refused (never adopted back; deleted from the store if it still holds it).
#[derive(Clone, Debug)]
pub struct SharedAsk {
    /// The key.
    pub key: SharedKey,
    /// The RPT refused by the resource server, if the request presented one.
    pub sent: Option<AccessToken>,
}

/// Why a store bytes could not be used: each is a miss.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BadEntry {
    /// No configured key opens it (corrupted, tampered with, sealed under a key no longer held, or
    /// under another application's key).
    Unsealed,
    /// It opened, but the record inside is malformed.
    Record(RecordError),
}

/// What a store found under a key.
#[derive(Clone, Debug)]
pub enum Lookup {
    /// Nothing.
    Miss,
    /// A record that opened and decoded, not yet checked against the key or the clock.
    Hit(Box<RptRecord>),
    /// Bytes that could not be used (a miss, counted).
    Bad(BadEntry),
}

/// A store call that failed. The message never holds a token, a key or a store key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store did not answer in time.
    #[error("shared store timed out after {0:?}")]
    Timeout(Duration),
    /// The store is unreachable or answered with an error.
    #[error("shared store unavailable: {0}")]
    Unavailable(String),
    /// The store was skipped: its circuit breaker is open after repeated failures.
    #[error("shared store skipped: circuit breaker open")]
    CircuitOpen,
}

/// The token of a lock held in a store: only its holder can release it. `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct LockToken(pub String);

impl fmt::Debug for LockToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LockToken([redacted])")
    }
}

/// A blocking shared RPT store. Implementations seal what they write and treat what they read as
/// hostile; every call is short and bounded by a timeout.
pub trait RptStore: Send + Sync {
    /// What is stored under `key`.
    fn get(&self, key: &SharedKey) -> Result<Lookup, StoreError>;
    /// Stores `record` under `key` for `ttl`, replacing what was there.
    fn put(&self, key: &SharedKey, record: &RptRecord, ttl: Duration) -> Result<(), StoreError>;
    /// Takes the lock of `key` for `ttl` if nobody holds it (`SET NX PX`); `None` if somebody does.
    fn try_lock(&self, key: &SharedKey, ttl: Duration) -> Result<Option<LockToken>, StoreError>;
    /// Releases the lock of `key` if `token` still holds it (compare-and-delete).
    fn unlock(&self, key: &SharedKey, token: &LockToken) -> Result<(), StoreError>;
    /// Deletes the entry of `key` if it still holds the RPT `token` (compare-and-delete); whether it did.
    fn delete_if(&self, key: &SharedKey, token: &AccessToken) -> Result<bool, StoreError>;
}

/// The future of an [`AsyncRptStore`] call.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// An async shared RPT store: [`RptStore`] with boxed `Send` futures, so it works as
/// `Arc<dyn AsyncRptStore>`.
pub trait AsyncRptStore: Send + Sync {
    /// What is stored under `key`.
    fn get<'a>(&'a self, key: &'a SharedKey) -> StoreFuture<'a, Lookup>;
    /// Stores `record` under `key` for `ttl`, replacing what was there.
    fn put<'a>(
        &'a self,
        key: &'a SharedKey,
        record: &'a RptRecord,
        ttl: Duration,
    ) -> StoreFuture<'a, ()>;
    /// Takes the lock of `key` for `ttl` if nobody holds it; `None` if somebody does.
    fn try_lock<'a>(
        &'a self,
        key: &'a SharedKey,
        ttl: Duration,
    ) -> StoreFuture<'a, Option<LockToken>>;
    /// Releases the lock of `key` if `token` still holds it.
    fn unlock<'a>(&'a self, key: &'a SharedKey, token: &'a LockToken) -> StoreFuture<'a, ()>;
    /// Deletes the entry of `key` if it still holds the RPT `token`; whether it did.
    fn delete_if<'a>(&'a self, key: &'a SharedKey, token: &'a AccessToken)
    -> StoreFuture<'a, bool>;
}

/// What to do when the store fails.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnStoreFailure {
    /// Carry on without it, as a single replica would (the default).
    #[default]
    Degrade,
    /// Fail the request rather than exchange without the store's coordination.
    FailClosed,
}

/// How a client uses a shared store.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct StoreOptions {
    /// The lock's TTL; default [`Lease::ttl_for`] the exchange timeout.
    pub lock_ttl: Option<Duration>,
    /// How a replica that lost the lock waits; default: polls 20 ms apart at first, then every 100 ms
    /// at most (a `GET` on a small key: cheap for the store, and the waiter learns of the record soon
    /// after it lands), for as long as the lock can be held.
    pub wait: Option<WaitPolicy>,
    /// How long records are kept.
    pub ttl: TtlPolicy,
    /// Share refresh tokens too (off by default: they live longer, and rotation makes them racy).
    pub share_refresh_tokens: bool,
    /// What a store failure does.
    pub on_failure: OnStoreFailure,
    /// Consecutive failures that open the circuit breaker (default 3).
    pub breaker_failures: u32,
    /// How long an open breaker skips the store (default 30 s).
    pub breaker_open_for: Duration,
    /// Bound on one store call (default 200 ms); stores apply it themselves.
    pub call_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            lock_ttl: None,
            wait: None,
            ttl: TtlPolicy::default(),
            share_refresh_tokens: false,
            on_failure: OnStoreFailure::Degrade,
            breaker_failures: 3,
            breaker_open_for: Duration::from_secs(30),
            call_timeout: Duration::from_millis(200),
        }
    }
}

impl StoreOptions {
    /// Sets the lock TTL.
    pub fn with_lock_ttl(mut self, ttl: Duration) -> Self {
        self.lock_ttl = Some(ttl);
        self
    }

    /// Sets the wait policy of replicas that lost the lock.
    pub fn with_wait(mut self, wait: WaitPolicy) -> Self {
        self.wait = Some(wait);
        self
    }

    /// Sets the TTL policy.
    pub fn with_ttl(mut self, ttl: TtlPolicy) -> Self {
        self.ttl = ttl;
        self
    }

    /// Shares refresh tokens too.
    pub fn with_refresh_tokens(mut self, share: bool) -> Self {
        self.share_refresh_tokens = share;
        self
    }

    /// Sets what a store failure does.
    pub fn with_on_failure(mut self, on_failure: OnStoreFailure) -> Self {
        self.on_failure = on_failure;
        self
    }

    /// Sets the circuit breaker: open after `failures` consecutive failures, for `open_for`.
    pub fn with_breaker(mut self, failures: u32, open_for: Duration) -> Self {
        self.breaker_failures = failures.max(1);
        self.breaker_open_for = open_for;
        self
    }

    /// Sets the bound on one store call.
    pub fn with_call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    fn lock_ttl_for(&self, exchange_timeout: Duration) -> Duration {
        self.lock_ttl
            .unwrap_or_else(|| Lease::ttl_for(exchange_timeout))
    }
}

/// Counters of the shared store, in [`Stats::store`](crate::Stats::store).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreStats {
    /// Exchanges answered from the store (no request to the authorization server).
    pub hits: u64,
    /// Lookups that found nothing usable.
    pub misses: u64,
    /// Entries that did not open, did not decode, or belonged to another key (each also a miss).
    pub bad_entries: u64,
    /// Locks taken.
    pub locks_won: u64,
    /// Lock attempts that found the lock held by another replica.
    pub locks_lost: u64,
    /// Polls while waiting for another replica's record.
    pub polls: u64,
    /// Waits that ended without a record (the replica then exchanged alone).
    pub waits_expired: u64,
    /// Records written.
    pub puts: u64,
    /// Refused RPTs deleted from the store.
    pub deletes: u64,
    /// Failed store calls (timeouts, connection errors).
    pub errors: u64,
    /// Exchanges that skipped the store because its breaker was open.
    pub skipped: u64,
    /// Times the breaker opened.
    pub breaker_opened: u64,
}

/// What happened in the store, for an observer. Holds no token and no key.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreEvent {
    /// A store call failed.
    Failed {
        /// The operation: `get`, `put`, `lock`, `unlock`, `delete`.
        op: &'static str,
        /// The error.
        error: StoreError,
    },
    /// An entry could not be used (a miss).
    BadEntry(BadEntry),
    /// The breaker opened: the store is skipped for a while.
    BreakerOpened {
        /// For how long.
        for_: Duration,
    },
    /// The breaker closed again after a successful call.
    BreakerClosed,
}

/// The circuit breaker and counters, kept in the [`Client`] so that every request of a replica shares
/// them.
#[derive(Debug, Default)]
pub(crate) struct SharedState {
    failures: u32,
    open_until: Option<Instant>,
    pub(crate) events: Vec<StoreEvent>,
}

const MAX_EVENTS: usize = 64;

impl Client {
    fn store_event(&mut self, event: StoreEvent) {
        if self.shared.events.len() < MAX_EVENTS {
            self.shared.events.push(event);
        }
    }

    /// Store events since the last call (failures, bad entries, the breaker opening and closing), for
    /// an observer; at most 64 are kept between calls.
    pub fn poll_store_event(&mut self) -> Option<StoreEvent> {
        if self.shared.events.is_empty() {
            None
        } else {
            Some(self.shared.events.remove(0))
        }
    }

    fn breaker_open(&mut self, now: Instant) -> bool {
        match self.shared.open_until {
            Some(until) if now < until => true,
            Some(_) => {
                // Half-open: the next call decides.
                self.shared.open_until = None;
                self.shared.failures = self.shared.failures.saturating_sub(1);
                false
            }
            None => false,
        }
    }

    fn store_ok(&mut self) {
        if self.shared.failures > 0 {
            self.shared.failures = 0;
            self.store_event(StoreEvent::BreakerClosed);
        }
    }

    fn store_failed(
        &mut self,
        op: &'static str,
        error: StoreError,
        options: &StoreOptions,
        now: Instant,
    ) {
        self.stats.store.errors += 1;
        self.store_event(StoreEvent::Failed { op, error });
        self.shared.failures += 1;
        if self.shared.failures >= options.breaker_failures && self.shared.open_until.is_none() {
            self.shared.open_until = now.checked_add(options.breaker_open_for);
            self.stats.store.breaker_opened += 1;
            self.store_event(StoreEvent::BreakerOpened {
                for_: options.breaker_open_for,
            });
        }
    }

    /// Counts the result of a store call made outside a [`SharedFlight`] (put, unlock, delete).
    pub fn store_result(
        &mut self,
        op: &'static str,
        result: Result<(), StoreError>,
        options: &StoreOptions,
        now: Instant,
    ) {
        match result {
            Ok(()) => {
                match op {
                    "put" => self.stats.store.puts += 1,
                    "delete" => self.stats.store.deletes += 1,
                    _ => {}
                }
                self.store_ok();
            }
            Err(e) => self.store_failed(op, e, options, now),
        }
    }

    /// Whether the store may be called now (its breaker is closed or half-open).
    pub fn store_available(&mut self, now: Instant) -> bool {
        !self.breaker_open(now)
    }
}

/// The next store action of a [`SharedFlight`].
#[derive(Debug)]
#[must_use = "a store step must be acted on"]
pub enum StoreStep {
    /// Call [`RptStore::get`], then [`SharedFlight::on_get`].
    Get,
    /// Call [`RptStore::try_lock`] with `ttl`, then [`SharedFlight::on_lock`].
    TryLock {
        /// The lock's TTL.
        ttl: Duration,
    },
    /// Sleep until `until`, then [`SharedFlight::on_wake`]. The exchange's claim should be extended
    /// past `until` meanwhile (the local herd keeps waiting).
    Sleep {
        /// When to poll again.
        until: Instant,
    },
    /// Answer the exchange with this record (the machine's `answer_from_store`), then
    /// [`SharedFlight::finish`] with `None`.
    Adopt(Box<RptRecord>),
    /// Send the exchange to the authorization server, then [`SharedFlight::finish`] with what it
    /// produced.
    Exchange,
    /// Fail the request ([`OnStoreFailure::FailClosed`]).
    Fail(StoreError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The first lookup.
    First,
    /// Lock won: looking again before exchanging.
    Recheck,
    /// Lock lost: polling.
    Waiting,
    Done,
}

/// A store call to make after the exchange, in order.
#[derive(Debug)]
pub enum StoreOp {
    /// Delete the entry if it still holds this (refused) RPT; report with `store_result("delete")`.
    DeleteIf(AccessToken),
    /// Write the record for `ttl`; report with `store_result("put")`.
    Put(Box<RptRecord>, Duration),
    /// Release the lock; report with `store_result("unlock")`.
    Unlock(LockToken),
}

/// One leader's way through the shared store for one cold exchange (see the module docs). Plain data;
/// the adapter performs each [`StoreStep`] and feeds the result back.
#[derive(Debug)]
pub struct SharedFlight {
    ask: SharedAsk,
    options: StoreOptions,
    lock_ttl: Duration,
    wait: WaitPolicy,
    phase: Phase,
    lock: Option<LockToken>,
    wait_started: Option<Instant>,
    polls: u32,
    /// Set once the store was skipped or failed: nothing more is written.
    degraded: bool,
}

impl SharedFlight {
    /// Starts the flight for `ask`: a [`StoreStep::Get`], or [`StoreStep::Exchange`] if the breaker is
    /// open (or [`StoreStep::Fail`] when failing closed).
    pub fn start(
        client: &mut Client,
        ask: SharedAsk,
        options: &StoreOptions,
        now: Instant,
    ) -> (Self, StoreStep) {
        let lock_ttl = options.lock_ttl_for(client.config.claim_timeout);
        let mut flight = Self {
            ask,
            options: options.clone(),
            lock_ttl,
            wait: options.wait.unwrap_or(WaitPolicy {
                first_poll: Duration::from_millis(20),
                max_poll: Duration::from_millis(100),
                max_wait: lock_ttl,
            }),
            phase: Phase::First,
            lock: None,
            wait_started: None,
            polls: 0,
            degraded: false,
        };
        if client.breaker_open(now) {
            client.stats.store.skipped += 1;
            flight.degraded = true;
            return match options.on_failure {
                OnStoreFailure::Degrade => (flight, StoreStep::Exchange),
                OnStoreFailure::FailClosed => (flight, StoreStep::Fail(StoreError::CircuitOpen)),
            };
        }
        (flight, StoreStep::Get)
    }

    /// The key of this flight.
    pub fn key(&self) -> &SharedKey {
        &self.ask.key
    }

    /// The options it runs with.
    pub fn options(&self) -> &StoreOptions {
        &self.options
    }

    fn failed(
        &mut self,
        client: &mut Client,
        op: &'static str,
        error: StoreError,
        now: Instant,
    ) -> StoreStep {
        client.store_failed(op, error.clone(), &self.options, now);
        self.degraded = true;
        match self.options.on_failure {
            OnStoreFailure::Degrade => StoreStep::Exchange,
            OnStoreFailure::FailClosed => StoreStep::Fail(error),
        }
    }

    /// Feeds the answer to [`StoreStep::Get`].
    pub fn on_get(
        &mut self,
        client: &mut Client,
        result: Result<Lookup, StoreError>,
        now: Instant,
        now_unix: u64,
    ) -> StoreStep {
        let lookup = match result {
            Ok(lookup) => {
                client.store_ok();
                lookup
            }
            Err(e) => return self.failed(client, "get", e, now),
        };
        let record = match lookup {
            Lookup::Hit(record) => match record.check_key(
                &self.ask.key.issuer,
                &self.ask.key.origin,
                &self.ask.key.party,
            ) {
                Ok(()) => Some(record),
                Err(e) => {
                    client.stats.store.bad_entries += 1;
                    client.store_event(StoreEvent::BadEntry(BadEntry::Record(e)));
                    None
                }
            },
            Lookup::Bad(bad) => {
                client.stats.store.bad_entries += 1;
                client.store_event(StoreEvent::BadEntry(bad));
                None
            }
            Lookup::Miss => None,
        };
        // Usable: live for a while yet, and not the RPT the resource server just refused.
        let usable = record.filter(|r| {
            self.options.ttl.record_ttl(r, now_unix).is_some()
                && self.ask.sent.as_ref().is_none_or(|s| !s.same_as(&r.token))
        });
        if let Some(record) = usable {
            client.stats.store.hits += 1;
            self.phase = Phase::Done;
            return StoreStep::Adopt(record);
        }
        client.stats.store.misses += 1;
        match self.phase {
            Phase::First | Phase::Waiting => StoreStep::TryLock { ttl: self.lock_ttl },
            Phase::Recheck | Phase::Done => {
                self.phase = Phase::Done;
                StoreStep::Exchange
            }
        }
    }

    /// Feeds the answer to [`StoreStep::TryLock`].
    pub fn on_lock(
        &mut self,
        client: &mut Client,
        result: Result<Option<LockToken>, StoreError>,
        now: Instant,
    ) -> StoreStep {
        match result {
            Ok(Some(token)) => {
                client.store_ok();
                client.stats.store.locks_won += 1;
                self.lock = Some(token);
                self.phase = Phase::Recheck;
                StoreStep::Get
            }
            Ok(None) => {
                client.store_ok();
                client.stats.store.locks_lost += 1;
                self.phase = Phase::Waiting;
                let started = *self.wait_started.get_or_insert(now);
                match self.wait.next_poll(started, self.polls, now) {
                    Some(until) => StoreStep::Sleep { until },
                    None => {
                        client.stats.store.waits_expired += 1;
                        self.phase = Phase::Done;
                        StoreStep::Exchange
                    }
                }
            }
            Err(e) => self.failed(client, "lock", e, now),
        }
    }

    /// Continues after a [`StoreStep::Sleep`].
    pub fn on_wake(&mut self, client: &mut Client, _now: Instant) -> StoreStep {
        self.polls += 1;
        client.stats.store.polls += 1;
        StoreStep::Get
    }

    /// The store calls that follow the exchange: delete the refused RPT if nothing replaced it, write
    /// `obtained` (the record of the RPT the exchange produced, if it produced one), release the lock.
    pub fn finish(self, obtained: Option<RptRecord>, now_unix: u64) -> Vec<StoreOp> {
        let mut ops = Vec::new();
        let put = obtained.and_then(|mut record| {
            let ttl = self.options.ttl.record_ttl(&record, now_unix)?;
            if !self.options.share_refresh_tokens {
                record.refresh_token = None;
            }
            Some((record, ttl))
        });
        if !self.degraded {
            match (put, &self.ask.sent) {
                (Some((record, ttl)), _) => ops.push(StoreOp::Put(Box::new(record), ttl)),
                (None, Some(sent)) => ops.push(StoreOp::DeleteIf(sent.clone())),
                (None, None) => {}
            }
        }
        if let Some(lock) = self.lock {
            ops.push(StoreOp::Unlock(lock));
        }
        ops
    }
}

/// An RPT the resource server refused, to delete from the shared store if it still holds it
/// ([`Client::poll_refused_rpt`]).
#[derive(Clone, Debug)]
pub struct RefusedRpt {
    /// Its key.
    pub key: SharedKey,
    /// The refused RPT.
    pub token: AccessToken,
}

/// Refused RPTs kept between two drains.
const MAX_REFUSED: usize = 32;

impl Client {
    /// Notes that the resource server refused `token` (kept only while a store is in use).
    pub(crate) fn note_refused(
        &mut self,
        issuer: &Issuer,
        origin: &str,
        party: &Party,
        token: &AccessToken,
    ) {
        if self.shared_in_use && self.refused.len() < MAX_REFUSED {
            self.refused.push(RefusedRpt {
                key: SharedKey {
                    issuer: issuer.clone(),
                    origin: origin.to_owned(),
                    party: party.clone(),
                },
                token: token.clone(),
            });
        }
    }

    /// Tells the client a shared store is in use, so that it keeps the RPTs resource servers refuse for
    /// [`Client::poll_refused_rpt`]. Adapters call it when configured with a store.
    pub fn use_shared_store(&mut self) {
        self.shared_in_use = true;
    }

    /// An RPT a resource server refused since the last call, to delete from the shared store with
    /// compare-and-delete.
    pub fn poll_refused_rpt(&mut self) -> Option<RefusedRpt> {
        self.refused.pop()
    }

    /// Whether any refused RPT awaits [`Client::poll_refused_rpt`] (free: no allocation).
    pub fn has_refused_rpt(&self) -> bool {
        !self.refused.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;
    use crate::secret::RefreshToken;

    fn key() -> SharedKey {
        SharedKey {
            issuer: Issuer::parse("https://as.example.org").unwrap(),
            origin: "https://rs.example.org:443".into(),
            party: Party::new("alice@example.org"),
        }
    }

    fn record(token: &str, now_unix: u64) -> RptRecord {
        let k = key();
        RptRecord {
            issuer: k.issuer,
            origin: k.origin,
            party: k.party,
            token: AccessToken::new(token),
            refresh_token: Some(RefreshToken::new("refresh")),
            obtained_at: now_unix,
            expires_at: Some(now_unix + 300),
            refreshed: false,
        }
    }

    const T: u64 = 1_700_000_000;

    #[test]
    fn keys_are_unambiguous_and_hide_the_party() {
        let a = key();
        let mut b = key();
        b.origin = "https://rs.example.org:44".into();
        b.party = Party::new("3alice@example.org");
        assert_ne!(a.canonical_bytes(), b.canonical_bytes());
        assert!(!format!("{a:?}").contains("alice"));
        assert!(!format!("{:?}", LockToken("s3cret".into())).contains("s3cret"));
    }

    #[test]
    fn a_hit_is_adopted() {
        let mut c = Client::new(Config::new());
        let now = Instant::now();
        let ask = SharedAsk {
            key: key(),
            sent: None,
        };
        let (mut f, step) = SharedFlight::start(&mut c, ask, &StoreOptions::default(), now);
        assert!(matches!(step, StoreStep::Get));
        let step = f.on_get(&mut c, Ok(Lookup::Hit(Box::new(record("rpt", T)))), now, T);
        assert!(matches!(step, StoreStep::Adopt(_)));
        assert!(f.finish(None, T).is_empty());
        assert_eq!(c.stats().store.hits, 1);
    }

    #[test]
    fn a_miss_locks_rechecks_exchanges_puts_and_unlocks() {
        let mut c = Client::new(Config::new());
        let now = Instant::now();
        let ask = SharedAsk {
            key: key(),
            sent: None,
        };
        let (mut f, _) = SharedFlight::start(&mut c, ask, &StoreOptions::default(), now);
        assert!(matches!(
            f.on_get(&mut c, Ok(Lookup::Miss), now, T),
            StoreStep::TryLock { .. }
        ));
        assert!(matches!(
            f.on_lock(&mut c, Ok(Some(LockToken("l".into()))), now),
            StoreStep::Get
        ));
        assert!(matches!(
            f.on_get(&mut c, Ok(Lookup::Miss), now, T),
            StoreStep::Exchange
        ));
        let ops = f.finish(Some(record("new", T)), T);
        assert!(
            matches!(&ops[..], [StoreOp::Put(r, ttl), StoreOp::Unlock(_)] if r.refresh_token.is_none() && ttl.as_secs() == 265)
        );
    }

    #[test]
    fn a_loser_polls_then_exchanges_alone() {
        let mut c = Client::new(Config::new());
        let t0 = Instant::now();
        let options = StoreOptions::default().with_wait(WaitPolicy {
            first_poll: Duration::from_millis(10),
            max_poll: Duration::from_millis(10),
            max_wait: Duration::from_millis(30),
        });
        let ask = SharedAsk {
            key: key(),
            sent: None,
        };
        let (mut f, _) = SharedFlight::start(&mut c, ask, &options, t0);
        let _ = f.on_get(&mut c, Ok(Lookup::Miss), t0, T);
        let mut now = t0;
        let mut rounds = 0;
        loop {
            match f.on_lock(&mut c, Ok(None), now) {
                StoreStep::Sleep { until } => {
                    now = until;
                    assert!(matches!(f.on_wake(&mut c, now), StoreStep::Get));
                    assert!(matches!(
                        f.on_get(&mut c, Ok(Lookup::Bad(BadEntry::Unsealed)), now, T),
                        StoreStep::TryLock { .. }
                    ));
                }
                StoreStep::Exchange => break,
                other => panic!("{other:?}"),
            }
            rounds += 1;
            assert!(rounds < 10);
        }
        assert_eq!(c.stats().store.waits_expired, 1);
        assert!(c.stats().store.bad_entries >= 2);
        // No lock held: only the put.
        assert!(matches!(
            &f.finish(Some(record("x", T)), T)[..],
            [StoreOp::Put(..)]
        ));
    }

    #[test]
    fn the_refused_rpt_is_not_adopted_but_deleted() {
        let mut c = Client::new(Config::new());
        let now = Instant::now();
        let ask = SharedAsk {
            key: key(),
            sent: Some(AccessToken::new("old")),
        };
        let (mut f, _) = SharedFlight::start(&mut c, ask, &StoreOptions::default(), now);
        assert!(matches!(
            f.on_get(&mut c, Ok(Lookup::Hit(Box::new(record("old", T)))), now, T),
            StoreStep::TryLock { .. }
        ));
        let _ = f.on_lock(&mut c, Ok(Some(LockToken("l".into()))), now);
        let _ = f.on_get(&mut c, Ok(Lookup::Miss), now, T);
        assert!(matches!(
            &f.finish(None, T)[..],
            [StoreOp::DeleteIf(_), StoreOp::Unlock(_)]
        ));
    }

    #[test]
    fn another_keys_record_is_a_bad_entry() {
        let mut c = Client::new(Config::new());
        let now = Instant::now();
        let ask = SharedAsk {
            key: key(),
            sent: None,
        };
        let (mut f, _) = SharedFlight::start(&mut c, ask, &StoreOptions::default(), now);
        let mut other = record("x", T);
        other.party = Party::new("mallory");
        assert!(matches!(
            f.on_get(&mut c, Ok(Lookup::Hit(Box::new(other))), now, T),
            StoreStep::TryLock { .. }
        ));
        assert_eq!(c.stats().store.bad_entries, 1);
        assert!(matches!(
            c.poll_store_event(),
            Some(StoreEvent::BadEntry(BadEntry::Record(
                RecordError::KeyMismatch { field: "party" }
            )))
        ));
    }

    #[test]
    fn failures_open_the_breaker_and_it_recovers() {
        let mut c = Client::new(Config::new());
        let t0 = Instant::now();
        let options = StoreOptions::default().with_breaker(2, Duration::from_secs(1));
        for _ in 0..2 {
            let ask = SharedAsk {
                key: key(),
                sent: None,
            };
            let (mut f, step) = SharedFlight::start(&mut c, ask, &options, t0);
            assert!(matches!(step, StoreStep::Get));
            let step = f.on_get(&mut c, Err(StoreError::Timeout(Duration::ZERO)), t0, T);
            assert!(matches!(step, StoreStep::Exchange));
            assert!(f.finish(Some(record("x", T)), T).is_empty());
        }
        assert_eq!(c.stats().store.breaker_opened, 1);
        let ask = SharedAsk {
            key: key(),
            sent: None,
        };
        let (_, step) = SharedFlight::start(&mut c, ask.clone(), &options, t0);
        assert!(matches!(step, StoreStep::Exchange));
        assert_eq!(c.stats().store.skipped, 1);
        // Failing closed instead.
        let closed = options.clone().with_on_failure(OnStoreFailure::FailClosed);
        let (_, step) = SharedFlight::start(&mut c, ask.clone(), &closed, t0);
        assert!(matches!(step, StoreStep::Fail(StoreError::CircuitOpen)));
        // After the open period: half-open, the next success closes it.
        let later = t0 + Duration::from_secs(2);
        let (mut f, step) = SharedFlight::start(&mut c, ask, &options, later);
        assert!(matches!(step, StoreStep::Get));
        let _ = f.on_get(&mut c, Ok(Lookup::Miss), later, T);
        assert!(c.store_available(later));
    }
}
