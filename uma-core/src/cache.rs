//! The client's memory: RPTs per resource-server origin, metadata per issuer, the requesting parties'
//! tokens, and the exchanges in flight that other requests wait on.

use std::collections::HashMap;
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

    /// Old enough that a rejection may be expiry rather than missing permissions.
    pub fn past_half_life(&self, now: Instant) -> bool {
        match self.lifetime() {
            Some(lifetime) => now >= self.obtained_at + lifetime / 2,
            None => true,
        }
    }
}

/// The RPTs held for one resource-server origin and party, newest last, with a memory of which one last
/// worked for which path so that RPTs that were not upgraded do not ping-pong (UMAG §3.3.5; the Python
/// peer's B10).
#[derive(Debug, Default)]
pub(crate) struct RptSet {
    pub entries: Vec<RptEntry>,
    path_hint: HashMap<String, u64>,
}

const MAX_PATH_HINTS: usize = 1024;

impl RptSet {
    pub fn choose(&self, path: &str) -> Option<&RptEntry> {
        self.path_hint
            .get(path)
            .and_then(|id| self.entries.iter().find(|e| e.id == *id))
            .or_else(|| self.entries.last())
    }

    pub fn get(&self, id: u64) -> Option<&RptEntry> {
        self.entries.iter().find(|e| e.id == id)
    }

    pub fn get_mut(&mut self, id: u64) -> Option<&mut RptEntry> {
        self.entries.iter_mut().find(|e| e.id == id)
    }

    /// Whether entry `id` was the last one to serve `path`.
    pub fn served(&self, path: &str, id: u64) -> bool {
        self.path_hint.get(path) == Some(&id)
    }

    pub fn remember_path(&mut self, path: &str, id: u64) {
        if self.path_hint.get(path) == Some(&id) {
            return; // the warm path: nothing to allocate
        }
        if self.path_hint.len() >= MAX_PATH_HINTS && !self.path_hint.contains_key(path) {
            self.path_hint.clear();
        }
        self.path_hint.insert(path.to_owned(), id);
    }

    pub fn remove(&mut self, id: u64) {
        self.entries.retain(|e| e.id != id);
        self.path_hint.retain(|_, v| *v != id);
    }

    /// Adds an entry, replacing `replaces` when given, and evicts the oldest beyond `max`.
    pub fn insert(&mut self, entry: RptEntry, replaces: Option<u64>, max: usize) {
        if let Some(old) = replaces {
            for hint in self.path_hint.values_mut() {
                if *hint == old {
                    *hint = entry.id;
                }
            }
            self.entries.retain(|e| e.id != old);
        }
        self.entries.push(entry);
        while self.entries.len() > max.max(1) {
            let oldest = self.entries.remove(0);
            self.path_hint.retain(|_, v| *v != oldest.id);
        }
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
}

impl Stats {
    /// Every HTTP exchange the client emitted.
    pub fn http_exchanges(&self) -> u64 {
        self.resource_requests + self.discovery_requests + self.token_requests
    }
}

/// Everything cached for `Pct`s: one per issuer and party (UMAG §3.3.1: reusable across resource servers
/// of the same authorization server, never across parties).
pub(crate) type PctStore = HashMap<(Issuer, Party), Pct>;

#[cfg(test)]
mod tests {
    use super::*;

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
