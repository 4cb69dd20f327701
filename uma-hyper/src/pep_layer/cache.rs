//! The RPT introspection cache: keyed by SHA-256 of the token (the token itself is never kept),
//! bounded in size and age, with one introspection at a time per key.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;
use tokio::time::Instant;
use uma_core::protection::Introspection;

/// The cache's bounds (see [`PepLayerBuilder`](super::PepLayerBuilder)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Limits {
    pub(super) max_ttl: Duration,
    pub(super) denial_ttl: Duration,
    pub(super) capacity: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_ttl: Duration::from_secs(60),
            denial_ttl: Duration::from_secs(5),
            capacity: 10_000,
        }
    }
}

/// An introspection's result: `None` when the AS could not be asked (not cached).
pub(super) type Outcome = Option<Arc<Introspection>>;
type Key = [u8; 32];

struct Entry {
    cell: Arc<OnceCell<Outcome>>,
    /// `None` while the introspection is in flight.
    expires: Option<Instant>,
}

pub(super) struct RptCache {
    entries: Mutex<HashMap<Key, Entry>>,
    limits: Limits,
}

impl std::fmt::Debug for RptCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RptCache")
            .field("len", &self.lock().len())
            .field("limits", &self.limits)
            .finish()
    }
}

impl RptCache {
    pub(super) fn new(limits: Limits) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            limits,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached introspection of `token`, or `introspect()`'s. Concurrent callers with the same
    /// token share one `introspect()`; if its caller is cancelled, a waiting one runs its own.
    pub(super) async fn get_or_introspect<F, Fut>(
        &self,
        token: &str,
        unix_now: i64,
        introspect: F,
    ) -> Outcome
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Outcome>,
    {
        let key: Key = Sha256::digest(token.as_bytes()).into();
        let cell = self.cell(key);
        let outcome = cell.get_or_init(introspect).await.clone();
        self.settle(key, &cell, &outcome, unix_now);
        outcome
    }

    /// The entry's cell if fresh or in flight; else a new in-flight entry (evicting if full).
    fn cell(&self, key: Key) -> Arc<OnceCell<Outcome>> {
        let now = Instant::now();
        let mut entries = self.lock();
        if let Some(entry) = entries.get(&key) {
            if entry.expires.is_none_or(|e| now < e) {
                return Arc::clone(&entry.cell);
            }
            entries.remove(&key);
        }
        if entries.len() >= self.limits.capacity.max(1) {
            evict(&mut entries, now);
        }
        let cell = Arc::new(OnceCell::new());
        entries.insert(
            key,
            Entry {
                cell: Arc::clone(&cell),
                expires: None,
            },
        );
        cell
    }

    /// Once an introspection landed: how long its answer is kept (none for a failure).
    fn settle(&self, key: Key, cell: &Arc<OnceCell<Outcome>>, outcome: &Outcome, unix_now: i64) {
        let mut entries = self.lock();
        let Some(entry) = entries.get_mut(&key) else {
            return;
        };
        if !Arc::ptr_eq(&entry.cell, cell) || entry.expires.is_some() {
            return;
        }
        match outcome.as_deref().map(|i| self.ttl(i, unix_now)) {
            Some(ttl) if !ttl.is_zero() => {
                // A configured TTL of `Duration::MAX` ("keep") must not overflow the clock.
                let now = Instant::now();
                let a_year = Duration::from_secs(365 * 24 * 3600);
                entry.expires = Some(now.checked_add(ttl).unwrap_or(now + a_year));
            }
            _ => {
                entries.remove(&key);
            }
        }
    }

    /// Active with permissions: until `exp`, at most `max_ttl`. Inactive or without permissions (a
    /// denial for every rule): at most `denial_ttl`.
    fn ttl(&self, introspection: &Introspection, unix_now: i64) -> Duration {
        let bound = if introspection.active && !introspection.permissions.is_empty() {
            self.limits.max_ttl
        } else {
            self.limits.denial_ttl
        };
        match introspection.exp {
            Some(exp) if introspection.active => {
                let left = u64::try_from(exp.saturating_sub(unix_now)).unwrap_or(0);
                bound.min(Duration::from_secs(left))
            }
            _ => bound,
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

/// Drops the expired entries; if none was, the settled one expiring first (or, all being in flight,
/// any one: its waiters still get their answer, it is just not kept).
fn evict(entries: &mut HashMap<Key, Entry>, now: Instant) {
    let before = entries.len();
    entries.retain(|_, e| e.expires.is_none_or(|x| now < x));
    if entries.len() < before {
        return;
    }
    let victim = entries
        .iter()
        .min_by_key(|(_, e)| e.expires.map_or((1, now), |x| (0, x)))
        .map(|(k, _)| *k);
    if let Some(key) = victim {
        entries.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn active(exp: Option<i64>) -> Outcome {
        Some(Arc::new(Introspection {
            active: true,
            exp,
            permissions: vec![Default::default()],
            ..Introspection::default()
        }))
    }

    fn limits(capacity: usize) -> Limits {
        Limits {
            capacity,
            ..Limits::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn kept_until_exp_never_past_the_maximum() {
        let cache = RptCache::new(limits(10));
        let calls = AtomicUsize::new(0);
        let ask = |outcome: Outcome| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move { outcome }
        };
        // exp in 10 s: kept 10 s.
        cache
            .get_or_introspect("a", 1000, || ask(active(Some(1010))))
            .await;
        tokio::time::advance(Duration::from_secs(9)).await;
        cache
            .get_or_introspect("a", 1009, || ask(active(None)))
            .await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        tokio::time::advance(Duration::from_secs(1)).await;
        cache
            .get_or_introspect("a", 1010, || ask(active(None)))
            .await;
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        // No exp: kept the maximum, 60 s.
        tokio::time::advance(Duration::from_secs(59)).await;
        cache.get_or_introspect("a", 0, || ask(active(None))).await;
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        tokio::time::advance(Duration::from_secs(1)).await;
        cache.get_or_introspect("a", 0, || ask(active(None))).await;
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn denials_briefly_failures_never() {
        let cache = RptCache::new(limits(10));
        let calls = AtomicUsize::new(0);
        let ask = |outcome: Outcome| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move { outcome }
        };
        let inactive = Some(Arc::new(Introspection::default()));
        cache
            .get_or_introspect("d", 0, || ask(inactive.clone()))
            .await;
        tokio::time::advance(Duration::from_secs(4)).await;
        cache
            .get_or_introspect("d", 0, || ask(inactive.clone()))
            .await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        tokio::time::advance(Duration::from_secs(1)).await;
        cache
            .get_or_introspect("d", 0, || ask(inactive.clone()))
            .await;
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        cache.get_or_introspect("f", 0, || ask(None)).await;
        cache.get_or_introspect("f", 0, || ask(None)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn capacity_is_bounded() {
        let cache = RptCache::new(limits(3));
        for (i, token) in ["a", "b", "c", "d", "e"].into_iter().enumerate() {
            let exp = Some(100 + i as i64);
            cache
                .get_or_introspect(token, 0, || async move { active(exp) })
                .await;
            assert!(cache.len() <= 3);
        }
        // The soonest-expiring ("a", "b") went first.
        let calls = AtomicUsize::new(0);
        cache
            .get_or_introspect("e", 0, || {
                calls.fetch_add(1, Ordering::SeqCst);
                async { None }
            })
            .await;
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }
}
