//! The client's memory: RPTs per resource-server origin, metadata per issuer, the requesting parties'
//! tokens, and the exchanges in flight that other requests wait on.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::{Duration, Instant};

use crate::discovery::{AsMetadata, Issuer};
use crate::secret::{AccessToken, ClaimToken, Pct, RefreshToken};

/// Who the requesting party is. One client can act for several parties; their RPTs and PCTs never mix
/// (`docs/protocol.md` §5.4, §11.4). The default party is the empty name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Party(pub String);

impl Party {
    /// A named requesting party.
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }
}

/// What other requests may wait on: one exchange per key at a time, so a herd costs one exchange.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExchangeKey {
    /// Discovery of one issuer's metadata.
    Discovery(Issuer),
    /// An RPT (ticket grant or refresh) for one issuer, resource-server origin and party.
    Rpt {
        /// The authorization server.
        issuer: Issuer,
        /// The resource server, `scheme://host:port`.
        origin: String,
        /// The requesting party.
        party: Party,
    },
    /// A requesting party's own access token (login or refresh).
    Identity(Party),
    /// The permissions one request (`METHOD path`) needs from one issuer, at one resource-server origin,
    /// for one party. Requests for the same resource wait on the one exchange for it; requests for other
    /// resources neither wait on it nor are woken by it. The exchange itself still takes the
    /// [`ExchangeKey::Rpt`] of its origin, since it upgrades that RPT.
    Permission {
        /// The authorization server.
        issuer: Issuer,
        /// The resource server, `scheme://host:port`.
        origin: String,
        /// The requesting party.
        party: Party,
        /// `METHOD path` of the request.
        request: String,
    },
    /// A resource server's PAT at one issuer, for one client id (the protection machines).
    Pat {
        /// The authorization server.
        issuer: Issuer,
        /// The resource server's client id.
        client_id: String,
    },
}

/// Refresh this long before expiry: a tenth of the lifetime, at most a minute. A 2-second RPT is
/// refreshed 200 ms before it dies, not on every request.
pub fn refresh_skew(lifetime: Duration) -> Duration {
    (lifetime / 10).min(Duration::from_secs(60))
}

/// `now + expires_in`, with absurd lifetimes (from a hostile or broken server) capped at ten years so the
/// addition cannot overflow.
pub(crate) fn expiry(now: Instant, expires_in: Option<u64>) -> Option<Instant> {
    const TEN_YEARS: u64 = 10 * 365 * 24 * 3600;
    expires_in.and_then(|s| now.checked_add(Duration::from_secs(s.min(TEN_YEARS))))
}

/// A map that is a short vector while it holds few entries (most origins have one party, most RPT sets
/// a handful of paths): a vector of one costs one small allocation and a comparison, a hash map a table
/// of four buckets and a SipHash per lookup.
#[derive(Debug)]
pub(crate) enum SmallMap<K, V> {
    Few(Vec<(K, V)>),
    /// Boxed: the map is rare, and the enum stays the size of a vector (24 bytes, not 48: the cache
    /// index holds one per origin).
    #[allow(clippy::box_collection)]
    Many(Box<HashMap<K, V>>),
}

/// Entries a [`SmallMap`] holds in its vector.
const FEW: usize = 8;

impl<K, V> Default for SmallMap<K, V> {
    fn default() -> Self {
        SmallMap::Few(Vec::new())
    }
}

impl<K: std::hash::Hash + Eq, V> SmallMap<K, V> {
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        match self {
            SmallMap::Few(v) => v.iter().find(|(k, _)| k.borrow() == key).map(|(_, v)| v),
            SmallMap::Many(m) => m.get(key),
        }
    }

    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        match self {
            SmallMap::Few(v) => v
                .iter_mut()
                .find(|(k, _)| k.borrow() == key)
                .map(|(_, v)| v),
            SmallMap::Many(m) => m.get_mut(key),
        }
    }

    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.get(key).is_some()
    }

    pub fn insert(&mut self, key: K, value: V) {
        match self {
            SmallMap::Few(v) => {
                if let Some(slot) = v.iter_mut().find(|(k, _)| *k == key) {
                    slot.1 = value;
                } else if v.len() < FEW {
                    if v.capacity() == 0 {
                        v.reserve_exact(1);
                    }
                    v.push((key, value));
                } else {
                    let mut m: HashMap<K, V> = std::mem::take(v).into_iter().collect();
                    m.insert(key, value);
                    *self = SmallMap::Many(Box::new(m));
                }
            }
            SmallMap::Many(m) => {
                m.insert(key, value);
            }
        }
    }

    pub fn remove<Q>(&mut self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        match self {
            SmallMap::Few(v) => v.retain(|(k, _)| k.borrow() != key),
            SmallMap::Many(m) => {
                m.remove(key);
            }
        }
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        match self {
            SmallMap::Few(v) => v.retain_mut(|(k, v)| keep(k, v)),
            SmallMap::Many(m) => m.retain(|k, v| keep(k, v)),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            SmallMap::Few(v) => v.len(),
            SmallMap::Many(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn clear(&mut self) {
        *self = SmallMap::default();
    }

    pub fn keys(&self) -> Box<dyn Iterator<Item = &K> + '_> {
        match self {
            SmallMap::Few(v) => Box::new(v.iter().map(|(k, _)| k)),
            SmallMap::Many(m) => Box::new(m.keys()),
        }
    }

    pub fn values_mut(&mut self) -> Box<dyn Iterator<Item = &mut V> + '_> {
        match self {
            SmallMap::Few(v) => Box::new(v.iter_mut().map(|(_, v)| v)),
            SmallMap::Many(m) => Box::new(m.values_mut()),
        }
    }
}

/// One cached RPT.
#[derive(Clone, Debug)]
pub(crate) struct RptEntry {
    pub id: u64,
    pub issuer: Issuer,
    pub token: AccessToken,
    pub refresh_token: Option<RefreshToken>,
    pub obtained_at: Instant,
    pub expires_at: Option<Instant>,
    /// Renewed with its refresh token at least once (the resource server has not seen it yet).
    pub refreshed: bool,
}

impl RptEntry {
    pub fn lifetime(&self) -> Option<Duration> {
        self.expires_at
            .map(|e| e.saturating_duration_since(self.obtained_at))
    }

    /// Past its expiry, or inside the refresh skew.
    pub fn due_for_refresh(&self, now: Instant) -> bool {
        match (self.expires_at, self.lifetime()) {
            (Some(expires), Some(lifetime)) => now + refresh_skew(lifetime) >= expires,
            _ => false,
        }
    }

    pub fn expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|e| now >= e)
    }

    /// Expired and of no more use: without a refresh token, or expired for longer than its own
    /// lifetime (at least [`REFRESH_GRACE`]) so that its refresh token has probably died too.
    pub fn stale(&self, now: Instant) -> bool {
        let Some(expires) = self.expires_at else {
            return false;
        };
        if self.refresh_token.is_none() {
            return now >= expires;
        }
        let grace = self.lifetime().unwrap_or_default().max(REFRESH_GRACE);
        expires.checked_add(grace).is_some_and(|end| now >= end)
    }

    /// Bytes of its tokens.
    pub fn token_bytes(&self) -> usize {
        self.token.len() + self.refresh_token.as_ref().map_or(0, RefreshToken::len)
    }

    /// Old enough that a rejection may be expiry rather than missing permissions.
    pub fn past_half_life(&self, now: Instant) -> bool {
        match self.lifetime() {
            Some(lifetime) => now >= self.obtained_at + lifetime / 2,
            None => true,
        }
    }
}

/// The RPTs held for one resource-server origin and party, newest last, with a memory of which one covers
/// which path (obtained for it, or last worked for it) so that RPTs that were not upgraded do not
/// ping-pong (UMAG §3.3.5; the Python peer's B10).
#[derive(Debug, Default)]
pub(crate) struct RptSet {
    pub entries: Vec<RptEntry>,
    path_hint: SmallMap<String, Hint>,
    /// Its key, for eviction.
    origin: String,
    party: Party,
    /// Distinguishes this set from a later one in the same slot of the [`RptCache`].
    generation: u64,
    /// The [`RptCache`] tick of its last use.
    last_used: u64,
    /// Entries and token bytes as last counted into the [`RptCache`]'s totals.
    counted: (usize, usize),
}

/// The RPT for one path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Hint {
    id: u64,
    /// The resource server accepted it for this path (rather than it merely being obtained for it): a
    /// later refusal means it was retired or revoked, not that it lacks the permission.
    served: bool,
}

/// Expired RPTs with a refresh token stay at least this long past their expiry before a sweep drops
/// them (the refresh token may still work).
pub(crate) const REFRESH_GRACE: Duration = Duration::from_secs(300);

const MAX_PATH_HINTS: usize = 1024;

impl RptSet {
    pub fn choose(&self, path: &str) -> Option<&RptEntry> {
        self.path_hint
            .get(path)
            .and_then(|h| self.entries.iter().find(|e| e.id == h.id))
            .or_else(|| self.entries.last())
    }

    /// The newest RPT of `issuer`: the one an exchange upgrades.
    pub fn newest_of(&self, issuer: &Issuer) -> Option<&RptEntry> {
        self.entries.iter().rev().find(|e| &e.issuer == issuer)
    }

    /// Whether entry `id` was obtained for `path` (or served it, or is the upgrade of one that did).
    pub fn covers(&self, path: &str, id: u64) -> bool {
        self.path_hint.get(path).is_some_and(|h| h.id == id)
    }

    pub fn get(&self, id: u64) -> Option<&RptEntry> {
        self.entries.iter().find(|e| e.id == id)
    }

    pub fn get_mut(&mut self, id: u64) -> Option<&mut RptEntry> {
        self.entries.iter_mut().find(|e| e.id == id)
    }

    /// Whether entry `id` was the last one to serve `path`.
    pub fn served(&self, path: &str, id: u64) -> bool {
        self.path_hint.get(path) == Some(&Hint { id, served: true })
    }

    /// Entry `id` served `path`.
    pub fn remember_path(&mut self, path: &str, id: u64) {
        // An answer that arrives after its RPT was replaced (upgraded meanwhile) must not point the path
        // back at a token that is gone: the hint already moved to the successor.
        let hint = Hint { id, served: true };
        if let Some(h) = self.path_hint.get_mut(path).filter(|h| h.id == id) {
            *h = hint; // the warm path: nothing to allocate
        } else if self.get(id).is_some() {
            self.set_hint(path, hint);
        }
    }

    /// Entry `id` was obtained for `path`: requests for it use it (and wait for no other exchange).
    pub fn grant_path(&mut self, path: &str, id: u64) {
        if !self.covers(path, id) {
            self.set_hint(path, Hint { id, served: false });
        }
    }

    fn set_hint(&mut self, path: &str, hint: Hint) {
        if self.path_hint.get(path) == Some(&hint) {
            return; // the warm path: nothing to allocate
        }
        if self.path_hint.len() >= MAX_PATH_HINTS && !self.path_hint.contains_key(path) {
            self.path_hint.clear();
        }
        self.path_hint.insert(path.to_owned(), hint);
    }

    pub fn remove(&mut self, id: u64) {
        self.entries.retain(|e| e.id != id);
        self.path_hint.retain(|_, h| h.id != id);
    }

    /// Drops the stale entries but `keep`; returns how many went.
    fn sweep(&mut self, now: Instant, keep: Option<u64>) -> usize {
        let before = self.entries.len();
        self.entries.retain(|e| Some(e.id) == keep || !e.stale(now));
        let swept = before - self.entries.len();
        if swept > 0 {
            let entries = &self.entries;
            self.path_hint
                .retain(|_, h| entries.iter().any(|e| e.id == h.id));
        }
        swept
    }

    fn token_bytes(&self) -> usize {
        self.entries.iter().map(RptEntry::token_bytes).sum()
    }

    /// Adds an entry, replacing `replaces` when given, and evicts the oldest beyond `max`.
    pub fn insert(&mut self, entry: RptEntry, replaces: Option<u64>, max: usize) {
        if let Some(old) = replaces {
            // The upgrade covers what its predecessor covered; the resource server has not seen it yet.
            for hint in self.path_hint.values_mut() {
                if hint.id == old {
                    *hint = Hint {
                        id: entry.id,
                        served: false,
                    };
                }
            }
            self.entries.retain(|e| e.id != old);
        }
        self.entries.push(entry);
        while self.entries.len() > max.max(1) {
            let oldest = self.entries.remove(0);
            self.path_hint.retain(|_, h| h.id != oldest.id);
        }
    }
}

/// Where an [`RptSet`] lives in the [`RptCache`], and when it was last used, for least-recently-used
/// eviction. Ordered by tick first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct LruMark {
    tick: u64,
    slot: usize,
    generation: u64,
}

/// Global limits of the [`RptCache`] (from [`Config`](crate::Config)).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub per_set: usize,
    pub entries: usize,
    pub token_bytes: usize,
}

/// Every cached RPT: [`RptSet`]s by origin then party (looked up with borrowed keys, no allocation on
/// the warm path), bounded globally in entries and token bytes with least-recently-used eviction over
/// all sets, and swept of stale entries on inserts.
///
/// The sets live in slots so that the eviction queue and the one set handed out mutably
/// ([`get_mut`](Self::get_mut)) are named by index. The totals are brought up to date with that set's
/// changes at the next call that needs them, so callers may change the set freely (remove entries,
/// renew tokens) without telling the cache.
#[derive(Debug, Default)]
pub(crate) struct RptCache {
    index: HashMap<String, SmallMap<Party, usize>>,
    slots: Vec<Option<RptSet>>,
    free: Vec<usize>,
    /// One mark per live set (plus outdated ones, skipped when popped): a min-heap on the tick at
    /// which the mark was pushed. A set used since is pushed back with its newer tick when popped,
    /// so the first mark that is current names the least recently used set.
    lru: BinaryHeap<Reverse<LruMark>>,
    tick: u64,
    next_generation: u64,
    sets: usize,
    entries: usize,
    token_bytes: usize,
    /// The slot handed out by the last `get_mut`, whose changes are not counted yet.
    unreconciled: Option<usize>,
    inserts_since_sweep: usize,
    /// Inserts between sweeps: the sets held after the last sweep, at least [`SWEEP_EVERY`].
    sweep_every: usize,
}

/// A full sweep runs once per this many inserts at least, or once per as many inserts as sets were
/// left by the last sweep, whichever is more: its cost per insert stays constant.
const SWEEP_EVERY: usize = 256;

/// What a sweep or an insert removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Removed {
    pub evicted: usize,
    pub swept: usize,
}

impl RptCache {
    /// The slot of `(origin, party)`.
    fn slot_of(&self, origin: &str, party: &Party) -> Option<usize> {
        self.index.get(origin)?.get(party).copied()
    }

    pub fn get(&self, origin: &str, party: &Party) -> Option<&RptSet> {
        let slot = self.slot_of(origin, party)?;
        self.slots.get(slot)?.as_ref()
    }

    /// The set for `(origin, party)`, marked used now. Its changes are counted at the next call.
    pub fn get_mut(&mut self, origin: &str, party: &Party) -> Option<&mut RptSet> {
        self.reconcile();
        let slot = self.slot_of(origin, party)?;
        self.tick += 1;
        let set = self.slots.get_mut(slot)?.as_mut()?;
        set.last_used = self.tick;
        self.unreconciled = Some(slot);
        Some(set)
    }

    /// RPTs held, and bytes of their tokens.
    pub fn usage(&self) -> (usize, usize) {
        let (mut entries, mut bytes) = (self.entries, self.token_bytes);
        if let Some(set) = self
            .unreconciled
            .and_then(|slot| self.slots.get(slot)?.as_ref())
        {
            entries = entries - set.counted.0 + set.entries.len();
            bytes = bytes - set.counted.1 + set.token_bytes();
        }
        (entries, bytes)
    }

    /// (origin, party) sets held.
    pub fn sets(&self) -> usize {
        self.sets
    }

    /// Parties with at least one set.
    pub fn parties(&self) -> impl Iterator<Item = &Party> {
        self.index.values().flat_map(|parties| parties.keys())
    }

    pub fn clear(&mut self) {
        *self = Self {
            tick: self.tick,
            next_generation: self.next_generation,
            ..Self::default()
        };
    }

    /// Counts the changes of the set last handed out, and drops it if it is empty.
    fn reconcile(&mut self) {
        let Some(slot) = self.unreconciled.take() else {
            return;
        };
        self.recount(slot);
    }

    fn recount(&mut self, slot: usize) {
        let Some(set) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let now = (set.entries.len(), set.token_bytes());
        self.entries = self.entries - set.counted.0 + now.0;
        self.token_bytes = self.token_bytes - set.counted.1 + now.1;
        set.counted = now;
        if now.0 == 0 {
            self.remove_slot(slot);
        }
    }

    fn remove_slot(&mut self, slot: usize) {
        let Some(set) = self.slots.get_mut(slot).and_then(Option::take) else {
            return;
        };
        self.entries -= set.counted.0;
        self.token_bytes -= set.counted.1;
        self.sets -= 1;
        if let Some(parties) = self.index.get_mut(set.origin.as_str()) {
            parties.remove(&set.party);
            if parties.is_empty() {
                self.index.remove(set.origin.as_str());
            }
        }
        self.free.push(slot);
        if self.unreconciled == Some(slot) {
            self.unreconciled = None;
        }
    }

    /// Whether enough inserts happened since the last sweep to pay for a full one.
    pub fn sweep_due(&self) -> bool {
        self.inserts_since_sweep >= self.sweep_every.max(SWEEP_EVERY)
    }

    /// Caches `entry` for `(origin, party)` (replacing `replaces`), then evicts the least recently used
    /// RPTs beyond the limits. The new entry itself is never evicted.
    pub fn insert(
        &mut self,
        origin: &str,
        party: &Party,
        entry: RptEntry,
        replaces: Option<u64>,
        limits: Limits,
    ) -> Removed {
        self.reconcile();
        let keep = entry.id;
        let existing = self.slot_of(origin, party);
        self.tick += 1;
        let slot = match existing {
            Some(slot) => slot,
            None => {
                self.next_generation += 1;
                let set = RptSet {
                    // Most sets hold one RPT (an upgrade replaces it).
                    entries: Vec::with_capacity(1),
                    origin: origin.to_owned(),
                    party: party.clone(),
                    generation: self.next_generation,
                    ..RptSet::default()
                };
                let slot = match self.free.pop() {
                    Some(slot) => {
                        self.slots[slot] = Some(set);
                        slot
                    }
                    None => {
                        self.slots.push(Some(set));
                        self.slots.len() - 1
                    }
                };
                self.index
                    .entry(origin.to_owned())
                    .or_default()
                    .insert(party.clone(), slot);
                self.sets += 1;
                self.lru.push(Reverse(LruMark {
                    tick: self.tick,
                    slot,
                    generation: self.next_generation,
                }));
                slot
            }
        };
        if let Some(set) = self.slots[slot].as_mut() {
            set.last_used = self.tick;
            set.insert(entry, replaces, limits.per_set);
        }
        self.recount(slot);
        self.inserts_since_sweep += 1;
        let evicted = self.evict(limits, keep);
        if self.lru.len() > 2 * self.sets + 64 {
            self.rebuild_lru();
        }
        Removed { evicted, swept: 0 }
    }

    /// Evicts the oldest RPT of the least recently used set until the totals are within `limits`.
    fn evict(&mut self, limits: Limits, keep: u64) -> usize {
        let mut evicted = 0;
        while self.entries > limits.entries || self.token_bytes > limits.token_bytes {
            let Some(Reverse(mark)) = self.lru.pop() else {
                break;
            };
            let Some(set) = self
                .slots
                .get_mut(mark.slot)
                .and_then(Option::as_mut)
                .filter(|s| s.generation == mark.generation)
            else {
                continue; // a set removed since
            };
            if set.last_used != mark.tick {
                // Used since: back in the queue at its real place.
                self.lru.push(Reverse(LruMark {
                    tick: set.last_used,
                    ..mark
                }));
                continue;
            }
            let Some(victim) = set.entries.iter().map(|e| e.id).find(|id| *id != keep) else {
                // Only the new entry is left: nothing more may go.
                self.lru.push(Reverse(mark));
                break;
            };
            set.remove(victim);
            evicted += 1;
            let alive = !set.entries.is_empty();
            self.recount(mark.slot);
            if alive {
                self.lru.push(Reverse(mark));
            }
        }
        evicted
    }

    fn rebuild_lru(&mut self) {
        self.lru = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(slot, set)| {
                let set = set.as_ref()?;
                Some(Reverse(LruMark {
                    tick: set.last_used,
                    slot,
                    generation: set.generation,
                }))
            })
            .collect();
    }

    /// Drops every stale RPT ([`RptEntry::stale`]) but `keep`, and the sets left empty.
    pub fn sweep(&mut self, now: Instant, keep: Option<u64>) -> usize {
        self.reconcile();
        self.inserts_since_sweep = 0;
        let mut swept = 0;
        for slot in 0..self.slots.len() {
            let Some(set) = self.slots[slot].as_mut() else {
                continue;
            };
            let n = set.sweep(now, keep);
            if n > 0 || set.entries.is_empty() {
                swept += n;
                self.recount(slot);
            }
        }
        if self.lru.len() > 2 * self.sets + 64 {
            self.rebuild_lru();
        }
        self.sweep_every = self.sets;
        swept
    }

    /// Every set, for tests and counts.
    #[cfg(test)]
    fn check_totals(&self) {
        let sets: Vec<&RptSet> = self.slots.iter().flatten().collect();
        assert_eq!(sets.len(), self.sets);
        let entries: usize = sets.iter().map(|s| s.entries.len()).sum();
        let bytes: usize = sets.iter().map(|s| s.token_bytes()).sum();
        assert_eq!(self.usage(), (entries, bytes));
        let indexed: usize = self.index.values().map(SmallMap::len).sum();
        assert_eq!(indexed, self.sets);
    }
}

/// A requesting party's own OAuth access token (from a login grant, or handed over by the program).
#[derive(Clone, Debug)]
pub struct Identity {
    /// The access token.
    pub access_token: AccessToken,
    /// Its refresh token, if any.
    pub refresh_token: Option<RefreshToken>,
    /// When it expires, if known.
    pub expires_at: Option<Instant>,
    /// When it was obtained.
    pub obtained_at: Instant,
    /// The issuer it came from, if the client obtained it.
    pub issuer: Option<Issuer>,
    /// The ID token that came with it, if any (a candidate claim token).
    pub id_token: Option<ClaimToken>,
}

impl Identity {
    /// An access token the program obtained elsewhere.
    pub fn from_token(access_token: AccessToken, now: Instant) -> Self {
        Self {
            access_token,
            refresh_token: None,
            expires_at: None,
            obtained_at: now,
            issuer: None,
            id_token: None,
        }
    }

    /// Expired with no way to renew it: of no more use.
    pub(crate) fn stale(&self, now: Instant) -> bool {
        self.refresh_token.is_none() && self.expires_at.is_some_and(|e| now >= e)
    }

    pub(crate) fn due_for_refresh(&self, now: Instant) -> bool {
        match self.expires_at {
            Some(expires) => {
                now + refresh_skew(expires.saturating_duration_since(self.obtained_at)) >= expires
            }
            None => false,
        }
    }
}

/// Discovered metadata and when it stops being trusted.
#[derive(Clone, Debug)]
pub(crate) struct MetadataEntry {
    pub metadata: AsMetadata,
    pub expires_at: Instant,
}

/// An exchange some flow is running; others park until it lands or `until` passes.
#[derive(Clone, Debug)]
pub(crate) struct InFlight {
    pub flow: u64,
    pub until: Instant,
    /// The RPT entry its token request upgrades (and the authorization server may revoke).
    pub upgrading: Option<u64>,
    /// Another flow parked on it: its end must be recorded and reported.
    pub waited: bool,
}

/// A failure handed to the flows that waited on an exchange. `request` limits it to waiters for the same
/// request (`METHOD path`): a denial of `/a` says nothing about `/b` under the same key.
#[derive(Clone, Debug)]
pub(crate) struct SharedFailure {
    pub error: crate::error::Error,
    pub request: Option<String>,
}

/// How the last exchange for a key ended, for the flows that waited on it.
#[derive(Clone, Debug)]
pub(crate) struct ExchangeResult {
    pub generation: u64,
    pub failure: Option<SharedFailure>,
}

/// Counters of what the client sent, by kind. Useful for round-trip budgets and `--stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests to resource servers.
    pub resource_requests: u64,
    /// Discovery requests.
    pub discovery_requests: u64,
    /// Token-endpoint requests (ticket grants, refreshes, logins).
    pub token_requests: u64,
    /// Flows that waited for another flow's exchange instead of running their own.
    pub parked: u64,
    /// Authorization servers whose refreshed RPTs a resource server refused (Keycloak's lose their
    /// `aud`): their RPTs are no longer refreshed, a new ticket flow replaces them.
    pub rpt_refresh_abandoned: u64,
    /// RPTs evicted, least recently used first, to keep the cache within
    /// [`Config::max_cached_rpts`](crate::Config::max_cached_rpts) and
    /// [`Config::max_cached_token_bytes`](crate::Config::max_cached_token_bytes).
    pub rpts_evicted: u64,
    /// Expired RPTs of no more use dropped by the cache's sweep.
    pub rpts_swept: u64,
    /// Expired identities without a refresh token dropped by the sweep.
    pub identities_swept: u64,
    /// PCTs dropped by the sweep (their party held no RPT and no identity any more, and there were more
    /// PCTs than [`Config::max_cached_rpts`](crate::Config::max_cached_rpts)).
    pub pcts_swept: u64,
    /// The shared store, if one is in use (`crate::store`).
    pub store: crate::store::StoreStats,
}

impl Stats {
    /// Every HTTP exchange the client emitted.
    pub fn http_exchanges(&self) -> u64 {
        self.resource_requests + self.discovery_requests + self.token_requests
    }
}

/// What the client's caches hold ([`Client::cache_usage`](crate::Client::cache_usage)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheUsage {
    /// RPTs, over all origins and parties.
    pub rpts: usize,
    /// Bytes of those RPTs and their refresh tokens.
    pub token_bytes: usize,
    /// (resource-server origin, party) pairs with at least one RPT.
    pub rpt_sets: usize,
    /// Requesting parties' own tokens.
    pub identities: usize,
    /// PCTs.
    pub pcts: usize,
}

/// Everything cached for `Pct`s: one per issuer and party (UMAG §3.3.1: reusable across resource servers
/// of the same authorization server, never across parties).
pub(crate) type PctStore = HashMap<(Issuer, Party), Pct>;

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: u64, len: usize, now: Instant, ttl: Option<u64>) -> RptEntry {
        RptEntry {
            id,
            issuer: Issuer::parse("https://as.example.org").unwrap(),
            token: AccessToken::new("t".repeat(len)),
            refresh_token: None,
            obtained_at: now,
            expires_at: expiry(now, ttl),
            refreshed: false,
        }
    }

    fn limits(entries: usize, token_bytes: usize) -> Limits {
        Limits {
            per_set: 4,
            entries,
            token_bytes,
        }
    }

    #[test]
    fn the_least_recently_used_set_goes_first() {
        let now = Instant::now();
        let mut cache = RptCache::default();
        let (a, b, c) = (Party::new("a"), Party::new("b"), Party::new("c"));
        let l = limits(2, usize::MAX);
        cache.insert("https://rs", &a, entry(1, 10, now, None), None, l);
        cache.insert("https://rs", &b, entry(2, 10, now, None), None, l);
        // `a` is used again: `b` is now the least recently used.
        assert!(cache.get_mut("https://rs", &a).is_some());
        let removed = cache.insert("https://rs", &c, entry(3, 10, now, None), None, l);
        assert_eq!(removed.evicted, 1);
        assert!(cache.get("https://rs", &b).is_none());
        assert!(cache.get("https://rs", &a).is_some() && cache.get("https://rs", &c).is_some());
        cache.check_totals();
        assert_eq!(cache.usage(), (2, 20));
    }

    #[test]
    fn the_byte_bound_evicts_and_the_new_entry_stays() {
        let now = Instant::now();
        let mut cache = RptCache::default();
        let l = limits(100, 100);
        for i in 0..10 {
            cache.insert(
                "https://rs",
                &Party::new(format!("p{i}")),
                entry(i, 30, now, None),
                None,
                l,
            );
            cache.check_totals();
            assert!(cache.usage().1 <= 100);
        }
        assert_eq!(cache.usage(), (3, 90));
        // One token larger than the bound is kept (alone): the flow that got it is about to use it.
        cache.insert(
            "https://rs",
            &Party::new("big"),
            entry(99, 500, now, None),
            None,
            l,
        );
        assert_eq!(cache.usage(), (1, 500));
        assert!(cache.get("https://rs", &Party::new("big")).is_some());
        cache.check_totals();
    }

    #[test]
    fn changes_through_get_mut_are_counted_and_empty_sets_dropped() {
        let now = Instant::now();
        let mut cache = RptCache::default();
        let a = Party::new("a");
        let l = limits(100, usize::MAX);
        cache.insert("https://rs", &a, entry(1, 10, now, None), None, l);
        cache.insert("https://rs", &a, entry(2, 10, now, None), None, l);
        if let Some(set) = cache.get_mut("https://rs", &a) {
            set.get_mut(2).unwrap().token = AccessToken::new("longer-token-now");
            set.remove(1);
        }
        assert_eq!(cache.usage(), (1, 16));
        if let Some(set) = cache.get_mut("https://rs", &a) {
            set.entries.clear();
        }
        cache.sweep(now, None);
        assert_eq!(cache.sets(), 0);
        assert!(cache.get("https://rs", &a).is_none());
        cache.check_totals();
    }

    #[test]
    fn the_sweep_drops_what_is_of_no_more_use() {
        let now = Instant::now();
        let mut cache = RptCache::default();
        let l = limits(100, usize::MAX);
        cache.insert(
            "https://rs",
            &Party::new("a"),
            entry(1, 10, now, Some(60)),
            None,
            l,
        );
        let mut refreshable = entry(2, 10, now, Some(60));
        refreshable.refresh_token = Some(RefreshToken::new("r"));
        cache.insert("https://rs", &Party::new("b"), refreshable, None, l);
        cache.insert(
            "https://rs",
            &Party::new("c"),
            entry(3, 10, now, None),
            None,
            l,
        );
        assert_eq!(cache.sweep(now + Duration::from_secs(59), None), 0);
        // Expired: the one without a refresh token goes, the refreshable one waits out its grace.
        assert_eq!(cache.sweep(now + Duration::from_secs(61), None), 1);
        assert_eq!(cache.sweep(now + Duration::from_secs(60 + 299), None), 0);
        assert_eq!(cache.sweep(now + Duration::from_secs(60 + 300), None), 1);
        assert_eq!(cache.usage(), (1, 10));
        cache.check_totals();
    }

    #[test]
    fn outdated_marks_do_not_pile_up() {
        let now = Instant::now();
        let mut cache = RptCache::default();
        let l = limits(8, usize::MAX);
        for i in 0..10_000u64 {
            let party = Party::new(format!("p{}", i % 50));
            cache.insert("https://rs", &party, entry(i, 8, now, None), None, l);
            if let Some(set) = cache.get_mut("https://rs", &party) {
                set.remove(i);
            }
        }
        cache.sweep(now, None);
        assert!(cache.lru.len() <= 2 * cache.sets() + 64 + 1);
        cache.check_totals();
    }

    #[test]
    fn skew_scales_with_lifetime() {
        assert_eq!(
            refresh_skew(Duration::from_secs(2)),
            Duration::from_millis(200)
        );
        assert_eq!(
            refresh_skew(Duration::from_secs(300)),
            Duration::from_secs(30)
        );
        assert_eq!(
            refresh_skew(Duration::from_secs(86_400)),
            Duration::from_secs(60)
        );
    }
}
