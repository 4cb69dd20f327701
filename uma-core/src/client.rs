//! The long-lived [`Client`]: configuration plus every cache, shared by all requests.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use crate::cache::{
    CacheUsage, ExchangeKey, ExchangeResult, Identity, InFlight, Limits, MetadataEntry, Party,
    PctStore, RptCache, RptEntry, RptSet, SharedFailure, Stats,
};
use crate::config::Config;
use crate::discovery::{AsMetadata, Issuer};
use crate::error::Error;

/// One UMA client: configuration and caches (metadata per issuer, RPTs per resource-server origin and
/// requesting party, PCTs, the requesting parties' own tokens) and the bookkeeping that lets a herd of
/// requests share one exchange.
///
/// Plain data with no I/O and no clock: adapters keep it behind a lock that is never held across I/O,
/// and pass `now` into every call.
#[derive(Debug)]
pub struct Client {
    pub(crate) config: Config,
    metadata: HashMap<Issuer, MetadataEntry>,
    /// By origin, then party: looked up with borrowed keys, no allocation on the warm path; bounded.
    pub(crate) rpts: RptCache,
    pub(crate) pcts: PctStore,
    pub(crate) identities: HashMap<Party, Identity>,
    in_flight: HashMap<ExchangeKey, InFlight>,
    /// Flows waiting their turn to run the exchange for a key, first come first served: a release hands
    /// the key straight to the next one, so nobody slips in between.
    queued: HashMap<ExchangeKey, Vec<u64>>,
    /// RPT entries an exchange is upgrading right now: an authorization server that revokes upgraded RPTs
    /// (UMAG §3.3.5.1) is about to refuse them, so requests wait for the successor instead.
    upgrading: HashSet<u64>,
    results: HashMap<ExchangeKey, ExchangeResult>,
    generation: u64,
    finished: Vec<ExchangeKey>,
    next_flow: u64,
    next_rpt: u64,
    /// Issuers whose refreshed RPTs a resource server refused on a path the RPT had served.
    rpt_refresh_refused: HashSet<Issuer>,
    pub(crate) stats: Stats,
    /// Identities plus PCTs beyond which an insert sweeps.
    sweep_watermark: usize,
    /// The shared store's breaker and events (`store.rs`).
    pub(crate) shared: crate::store::SharedState,
    pub(crate) shared_in_use: bool,
    pub(crate) refused: Vec<crate::store::RefusedRpt>,
}

/// Outcomes of finished exchanges kept for the flows parked on them.
const MAX_RESULTS: usize = 4096;
/// Herd results kept for this many exchanges after they end (see `sweep_keeping`).
const RESULTS_KEPT: u64 = 4096;
/// Identities plus PCTs held before they alone trigger a sweep.
const SWEEP_MIN: usize = 1024;

/// The answer to "may I run the exchange for this key?".
pub(crate) enum Claim {
    Granted,
    Busy { until: Instant, seen: u64 },
}

/// How an exchange that a parked flow waited on has ended.
pub(crate) enum Landing {
    /// Still running; wait until `until` at most.
    Running(Instant),
    /// Finished well, or its runner vanished: try again.
    Settled,
    /// Finished with this error.
    Failed(Error),
}

impl Client {
    /// A client with this configuration and empty caches.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            metadata: HashMap::new(),
            rpts: RptCache::default(),
            pcts: HashMap::new(),
            identities: HashMap::new(),
            in_flight: HashMap::new(),
            queued: HashMap::new(),
            upgrading: HashSet::new(),
            results: HashMap::new(),
            generation: 0,
            finished: Vec::new(),
            next_flow: 1,
            next_rpt: 1,
            rpt_refresh_refused: HashSet::new(),
            stats: Stats::default(),
            sweep_watermark: SWEEP_MIN,
            shared: Default::default(),
            shared_in_use: false,
            refused: Vec::new(),
        }
    }

    /// Whether RPTs of `issuer` are renewed with their refresh tokens: configured so
    /// ([`AuthorizationServer::refresh_rpts`](crate::AuthorizationServer::refresh_rpts)), and not seen
    /// to produce RPTs that resource servers refuse.
    pub(crate) fn refreshes_rpts(&self, issuer: &Issuer) -> bool {
        !self.rpt_refresh_refused.contains(issuer)
            && self.config.server(issuer).is_none_or(|s| s.refresh_rpts)
    }

    /// A resource server refused a refreshed RPT of `issuer` where the RPT had been accepted before:
    /// stop refreshing that server's RPTs.
    pub(crate) fn abandon_rpt_refresh(&mut self, issuer: &Issuer) {
        if self.rpt_refresh_refused.insert(issuer.clone()) {
            self.stats.rpt_refresh_abandoned += 1;
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Counters of what the client has sent.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Sets (or replaces) a requesting party's own access token, e.g. one obtained with any OAuth2 library.
    pub fn set_identity(&mut self, party: Party, identity: Identity) {
        let now = identity.obtained_at;
        self.identities.insert(party, identity);
        self.sweep_if_due(now, None);
    }

    /// A requesting party's own access token, if held.
    pub fn identity(&self, party: &Party) -> Option<&Identity> {
        self.identities.get(party)
    }

    /// Forgets a requesting party's token.
    pub fn clear_identity(&mut self, party: &Party) {
        self.identities.remove(party);
    }

    /// Validated metadata cached for an issuer (expired entries included).
    pub fn metadata(&self, issuer: &Issuer) -> Option<&AsMetadata> {
        self.metadata.get(issuer).map(|e| &e.metadata)
    }

    /// When the cached metadata of `issuer` stops being trusted (`record.rs` exports it with this).
    pub(crate) fn metadata_expiry(&self, issuer: &Issuer) -> Option<Instant> {
        self.metadata.get(issuer).map(|e| e.expires_at)
    }

    /// Number of RPTs held, over all origins and parties.
    pub fn rpt_count(&self) -> usize {
        self.rpts.usage().0
    }

    /// What the caches hold: RPTs and their token bytes (bounded by
    /// [`Config::max_cached_rpts`] and [`Config::max_cached_token_bytes`]), identities and PCTs.
    pub fn cache_usage(&self) -> CacheUsage {
        let (rpts, token_bytes) = self.rpts.usage();
        CacheUsage {
            rpts,
            token_bytes,
            rpt_sets: self.rpts.sets(),
            identities: self.identities.len(),
            pcts: self.pcts.len(),
        }
    }

    /// Drops what the caches hold that is of no more use at `now`: expired RPTs (those with a refresh
    /// token some time after expiry), expired identities without a refresh token, PCTs of parties that
    /// hold nothing else once there are more PCTs than [`Config::max_cached_rpts`], and old herd
    /// results. The client also runs it by itself every so many inserts; call it when idle to return
    /// memory sooner. Counted in [`Stats`].
    pub fn sweep(&mut self, now: Instant) {
        self.sweep_keeping(now, None);
    }

    /// Drops every cached RPT and PCT (e.g. on logout).
    pub fn forget_tokens(&mut self) {
        self.rpts.clear();
        self.pcts.clear();
    }

    /// Keys whose exchange has just ended. Adapters drain this after each call into a flow and wake the
    /// requests parked on those keys.
    pub fn poll_finished_exchange(&mut self) -> Option<ExchangeKey> {
        self.finished.pop()
    }

    // ---- crate-internal bookkeeping -------------------------------------------------------------

    pub(crate) fn new_flow_id(&mut self) -> u64 {
        let id = self.next_flow;
        self.next_flow += 1;
        id
    }

    pub(crate) fn new_rpt_id(&mut self) -> u64 {
        let id = self.next_rpt;
        self.next_rpt += 1;
        id
    }

    pub(crate) fn fresh_metadata(&self, issuer: &Issuer, now: Instant) -> Option<&AsMetadata> {
        self.metadata
            .get(issuer)
            .filter(|e| now < e.expires_at)
            .map(|e| &e.metadata)
    }

    /// Caches `metadata` under the issuer the user configured (which differs from the document's own with
    /// a discovery override).
    pub(crate) fn store_metadata(&mut self, issuer: &Issuer, metadata: AsMetadata, now: Instant) {
        let expires_at = now + self.config.metadata_ttl;
        self.metadata.insert(
            issuer.clone(),
            MetadataEntry {
                metadata,
                expires_at,
            },
        );
    }

    /// Caches an RPT, evicting the least recently used beyond the configured bounds, and sweeps the
    /// caches every so many inserts (the entry's `obtained_at` is the time: it was obtained just now).
    pub(crate) fn insert_rpt(
        &mut self,
        origin: &str,
        party: &Party,
        mut entry: RptEntry,
        replaces: Option<u64>,
    ) {
        // The RPTs of one authorization server share its configured issuer (one allocation) rather
        // than each keeping the equal one parsed from its challenge.
        if let Some(server) = self.config.server(&entry.issuer) {
            entry.issuer = server.issuer.clone();
        }
        let limits = Limits {
            per_set: self.config.max_rpts_per_origin,
            entries: self.config.max_cached_rpts,
            token_bytes: self.config.max_cached_token_bytes,
        };
        let (now, id) = (entry.obtained_at, entry.id);
        let removed = self.rpts.insert(origin, party, entry, replaces, limits);
        self.stats.rpts_evicted += removed.evicted as u64;
        self.sweep_if_due(now, Some(id));
    }

    fn sweep_if_due(&mut self, now: Instant, keep: Option<u64>) {
        if self.rpts.sweep_due() || self.identities.len() + self.pcts.len() > self.sweep_watermark {
            self.sweep_keeping(now, keep);
        }
    }

    fn sweep_keeping(&mut self, now: Instant, keep: Option<u64>) {
        self.stats.rpts_swept += self.rpts.sweep(now, keep) as u64;
        let before = self.identities.len();
        self.identities.retain(|_, identity| !identity.stale(now));
        self.stats.identities_swept += (before - self.identities.len()) as u64;
        if self.pcts.len() > self.config.max_cached_rpts {
            let holding: HashSet<&Party> = self.rpts.parties().collect();
            let before = self.pcts.len();
            let identities = &self.identities;
            self.pcts
                .retain(|(_, party), _| holding.contains(party) || identities.contains_key(party));
            self.stats.pcts_swept += (before - self.pcts.len()) as u64;
        }
        // Herd results are read by the flows parked on a key soon after its exchange ends; one read
        // after thousands of other exchanges finds none and retries (an extra exchange at worst).
        let horizon = self.generation.saturating_sub(RESULTS_KEPT);
        let in_flight = &self.in_flight;
        self.results
            .retain(|key, r| r.generation > horizon || in_flight.contains_key(key));
        // The next sweep triggered by identities and PCTs comes once they have doubled.
        self.sweep_watermark = (2 * (self.identities.len() + self.pcts.len())).max(SWEEP_MIN);
    }

    pub(crate) fn rpt_set(&self, origin: &str, party: &Party) -> Option<&RptSet> {
        self.rpts.get(origin, party)
    }

    pub(crate) fn rpt_set_mut(&mut self, origin: &str, party: &Party) -> Option<&mut RptSet> {
        self.rpts.get_mut(origin, party)
    }

    /// Claims the exchange for `key` for `flow`, unless another flow is running it (or it was handed to
    /// `flow` when its last runner released it).
    pub(crate) fn claim(&mut self, key: &ExchangeKey, flow: u64, now: Instant) -> Claim {
        if let Some(running) = self.in_flight.get_mut(key) {
            if running.flow != flow && now < running.until {
                running.waited = true;
                let until = running.until;
                let seen = self.results.get(key).map_or(0, |r| r.generation);
                return Claim::Busy { until, seen };
            }
        }
        self.dequeue(key, flow);
        let until = now + self.config.claim_timeout;
        // Ours already (handed over), expired, or free. The claimant marks what it upgrades itself.
        self.drop_in_flight(key);
        self.in_flight.insert(
            key.clone(),
            InFlight {
                flow,
                until,
                upgrading: None,
                waited: false,
            },
        );
        Claim::Granted
    }

    /// Puts `flow` in line for `key` (once).
    pub(crate) fn enqueue(&mut self, key: &ExchangeKey, flow: u64) {
        let line = self.queued.entry(key.clone()).or_default();
        if !line.contains(&flow) {
            line.push(flow);
        }
    }

    fn dequeue(&mut self, key: &ExchangeKey, flow: u64) {
        if let Some(line) = self.queued.get_mut(key) {
            line.retain(|f| *f != flow);
            if line.is_empty() {
                self.queued.remove(key);
            }
        }
    }

    /// The deadline and result generation of another flow's live exchange for `key`, if there is one.
    pub(crate) fn busy(
        &mut self,
        key: &ExchangeKey,
        flow: u64,
        now: Instant,
    ) -> Option<(Instant, u64)> {
        let running = self
            .in_flight
            .get_mut(key)
            .filter(|r| r.flow != flow && now < r.until)?;
        running.waited = true;
        let until = running.until;
        let seen = self.results.get(key).map_or(0, |r| r.generation);
        Some((until, seen))
    }

    /// Pushes the deadline of a claim this flow holds (long polls).
    pub(crate) fn extend_claim(&mut self, key: &ExchangeKey, flow: u64, until: Instant) {
        if let Some(running) = self.in_flight.get_mut(key) {
            if running.flow == flow {
                running.until = until;
            }
        }
    }

    /// Records that the exchange `flow` runs for `key` is upgrading RPT entry `entry` right now (`None`:
    /// nothing is, e.g. the token endpoint has answered).
    pub(crate) fn mark_upgrade(&mut self, key: &ExchangeKey, flow: u64, entry: Option<u64>) {
        if let Some(running) = self.in_flight.get_mut(key).filter(|r| r.flow == flow) {
            if let Some(old) = std::mem::replace(&mut running.upgrading, entry) {
                self.upgrading.remove(&old);
            }
            if let Some(new) = entry {
                self.upgrading.insert(new);
            }
        }
    }

    /// Whether an exchange is upgrading RPT entry `entry` right now. Free when nothing is (the warm path).
    pub(crate) fn is_upgrading(&self, entry: u64) -> bool {
        !self.upgrading.is_empty() && self.upgrading.contains(&entry)
    }

    fn drop_in_flight(&mut self, key: &ExchangeKey) -> Option<InFlight> {
        let running = self.in_flight.remove(key)?;
        if let Some(entry) = running.upgrading {
            self.upgrading.remove(&entry);
        }
        Some(running)
    }

    /// Ends this flow's exchange for `key` (or its place in line); `failure` is handed to the flows that
    /// waited on it. The next flow in line gets the key at once.
    pub(crate) fn release(&mut self, key: &ExchangeKey, flow: u64, failure: Option<SharedFailure>) {
        self.dequeue(key, flow);
        if self.in_flight.get(key).is_some_and(|r| r.flow == flow) {
            let Some(ended) = self.drop_in_flight(key) else {
                return;
            };
            // Nobody waited on it (or was handed it): there is nobody to tell, and nothing to keep. Most
            // exchanges end so; keeping their outcome would cost a map slot per request line.
            if !ended.waited && !self.queued.contains_key(key) {
                self.results.remove(key);
                return;
            }
            if self.results.len() >= MAX_RESULTS && !self.results.contains_key(key) {
                // One key per request line: forget old outcomes. A flow still parked on a forgotten key
                // just resends (`Landing::Settled`), it does not hang.
                let in_flight = &self.in_flight;
                self.results.retain(|k, _| in_flight.contains_key(k));
            }
            self.generation += 1;
            self.results.insert(
                key.clone(),
                ExchangeResult {
                    generation: self.generation,
                    failure,
                },
            );
            self.finished.push(key.clone());
            self.hand_over(key, ended.until);
        }
    }

    /// Gives `key` to the first flow in line. For an RPT key, the RPT it will upgrade is marked at once:
    /// the requests woken by this release must not present it in the meantime.
    fn hand_over(&mut self, key: &ExchangeKey, until: Instant) {
        let Some(line) = self.queued.get_mut(key) else {
            return;
        };
        let next = line.remove(0);
        if line.is_empty() {
            self.queued.remove(key);
        }
        let upgrading = match key {
            ExchangeKey::Rpt {
                issuer,
                origin,
                party,
            } => self
                .rpt_set(origin, party)
                .and_then(|s| s.newest_of(issuer))
                .map(|e| e.id),
            _ => None,
        };
        if let Some(entry) = upgrading {
            self.upgrading.insert(entry);
        }
        self.in_flight.insert(
            key.clone(),
            InFlight {
                flow: next,
                until,
                upgrading,
                // The others in line, and whoever parked on the key meanwhile, wait on it.
                waited: true,
            },
        );
    }

    /// What became of the exchange a flow parked on after seeing generation `seen`, for a waiter running
    /// `request` (`METHOD path`).
    pub(crate) fn landing(
        &mut self,
        key: &ExchangeKey,
        seen: u64,
        request: &str,
        now: Instant,
    ) -> Landing {
        if let Some(result) = self.results.get(key).filter(|r| r.generation > seen) {
            return match &result.failure {
                Some(shared) if shared.request.as_deref().is_none_or(|r| r == request) => {
                    Landing::Failed(shared.error.clone())
                }
                _ => Landing::Settled,
            };
        }
        match self.in_flight.get(key) {
            Some(running) if now < running.until => Landing::Running(running.until),
            Some(_) => {
                // Its runner vanished without releasing (a dropped future): let the waiter take over.
                self.drop_in_flight(key);
                Landing::Settled
            }
            None => Landing::Settled,
        }
    }
}
