//! [`ProtectionClient`]: what a resource server's protection calls share (metadata, the PAT, and who is
//! fetching either right now), so that a herd of calls costs one PAT request.

use std::time::{Duration, Instant};

use crate::auth::ClientCredentials;
use crate::cache::ExchangeKey;
use crate::discovery::{AsMetadata, EndpointPolicy, Issuer};
use crate::secret::AccessToken;

use super::{Dialect, PatCache};

/// Counters of what the protection machines sent and how often they waited, for tests and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProtectionStats {
    /// Discovery requests sent.
    pub discovery_requests: u64,
    /// PAT requests sent.
    pub pat_requests: u64,
    /// Times a call parked behind another call's discovery or PAT request.
    pub parked: u64,
}

/// The state shared by every protection call to one authorization server as one resource server: the
/// metadata (re-fetched after [`ProtectionClient::with_metadata_ttl`]), the PAT, and the claims that
/// let one call fetch either while the others park ([`Step::Park`](crate::Step::Park)).
///
/// Drivers keep it behind their lock and hand it to the machines
/// ([`ProtectionCall`](super::ProtectionCall), [`Challenge`](super::Challenge),
/// [`Enforce`](super::Enforce)). Park contract: a parked call may go on once
/// [`ProtectionClient::generation`] differs from its value at the park, or at `until`, whichever is
/// first; then call `resume`.
///
/// ```
/// use std::time::Instant;
/// use uma_core::discovery::EndpointPolicy;
/// use uma_core::{ClientCredentials, Issuer};
/// use uma_core::protection::{Dialect, ProtectionClient};
///
/// let issuer = Issuer::parse("https://as.example")?;
/// let answer = http::Response::builder()
///     .body(br#"{"issuer":"https://as.example","token_endpoint":"https://as.example/token"}"#.to_vec())?;
/// let metadata = uma_core::discovery::parse_metadata(&issuer, &answer, &EndpointPolicy::default())?;
/// let client = ProtectionClient::new(
///     issuer,
///     ClientCredentials::basic("rs", "secret"),
///     Dialect::Uma,
///     EndpointPolicy::default(),
///     metadata,
///     Instant::now(),
/// );
/// assert_eq!(client.stats().pat_requests, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ProtectionClient {
    pub(super) issuer: Issuer,
    pub(super) credentials: ClientCredentials,
    pub(super) dialect: Dialect,
    pub(super) policy: EndpointPolicy,
    pub(super) pat_scope: Option<String>,
    metadata_ttl: Duration,
    herd_wait: Duration,
    pub(super) metadata: AsMetadata,
    fetched: Instant,
    pub(super) pats: PatCache,
    /// At most one per key: (key, holder, until). Two keys exist, so a list is enough.
    claims: Vec<(ExchangeKey, u64, Instant)>,
    generation: u64,
    next_id: u64,
    pub(super) stats: ProtectionStats,
}

impl ProtectionClient {
    /// Shared state for `credentials` at `issuer`, starting from `metadata` fetched at `now`. The PAT
    /// scope is the dialect's default ([`Dialect::default_pat_scope`]); metadata is trusted for an
    /// hour; a call waits at most 60 s on another call's discovery or PAT request.
    pub fn new(
        issuer: Issuer,
        credentials: ClientCredentials,
        dialect: Dialect,
        policy: EndpointPolicy,
        metadata: AsMetadata,
        now: Instant,
    ) -> Self {
        Self {
            pat_scope: dialect.default_pat_scope().map(str::to_owned),
            issuer,
            credentials,
            dialect,
            policy,
            metadata_ttl: Duration::from_secs(3600),
            herd_wait: Duration::from_secs(60),
            metadata,
            fetched: now,
            pats: PatCache::new(),
            claims: Vec::new(),
            generation: 0,
            next_id: 0,
            stats: ProtectionStats::default(),
        }
    }

    /// The scope asked for with the PAT (`""`: none); see [`super::pat_request`]. Drops a held PAT,
    /// which was asked for with the old scope.
    pub fn set_pat_scope(&mut self, scope: Option<String>) {
        self.pat_scope = scope;
        self.pats.invalidate();
    }

    /// How long metadata is trusted before it is fetched again.
    pub fn with_metadata_ttl(mut self, ttl: Duration) -> Self {
        self.metadata_ttl = ttl;
        self
    }

    /// [`ProtectionClient::with_metadata_ttl`] on a client already in use.
    pub fn set_metadata_ttl(&mut self, ttl: Duration) {
        self.metadata_ttl = ttl;
    }

    /// How long a call waits on another call's discovery or PAT request before doing its own.
    pub fn with_herd_wait(mut self, wait: Duration) -> Self {
        self.herd_wait = wait;
        self
    }

    /// The authorization server.
    pub fn issuer(&self) -> &Issuer {
        &self.issuer
    }

    /// The wire conventions followed.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The resource server's credentials.
    pub fn credentials(&self) -> &ClientCredentials {
        &self.credentials
    }

    /// The metadata in use (possibly stale: the next call re-fetches it).
    pub fn metadata(&self) -> &AsMetadata {
        &self.metadata
    }

    /// The PAT held, unless it is due for renewal at `now`.
    pub fn pat(&self, now: Instant) -> Option<&AccessToken> {
        self.pats.token(now)
    }

    /// What was sent and waited so far.
    pub fn stats(&self) -> ProtectionStats {
        self.stats
    }

    /// Changes whenever a discovery or PAT request lands or is given up: parked calls may go on.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub(super) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub(super) fn metadata_fresh(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.fetched) < self.metadata_ttl
    }

    pub(super) fn store_metadata(&mut self, metadata: AsMetadata, now: Instant) {
        self.metadata = metadata;
        self.fetched = now;
    }

    pub(super) fn pat_key(&self) -> ExchangeKey {
        ExchangeKey::Pat {
            issuer: self.issuer.clone(),
            client_id: self.credentials.client_id.clone(),
        }
    }

    /// Claims `key` for `holder`, or says until when another holder has it. An expired claim (its holder
    /// vanished without `release`) is taken over.
    pub(super) fn claim(
        &mut self,
        key: &ExchangeKey,
        holder: u64,
        now: Instant,
    ) -> Result<(), Instant> {
        self.claims.retain(|(_, _, until)| now < *until);
        match self.claims.iter().find(|(k, _, _)| k == key) {
            Some((_, h, _)) if *h == holder => Ok(()),
            Some((_, _, until)) => {
                self.stats.parked += 1;
                Err(*until)
            }
            None => {
                self.claims
                    .push((key.clone(), holder, now + self.herd_wait));
                Ok(())
            }
        }
    }

    /// Ends `holder`'s claim on `key` and wakes the parked calls.
    pub(super) fn release(&mut self, key: &ExchangeKey, holder: u64) {
        self.claims.retain(|(k, h, _)| !(k == key && *h == holder));
        self.generation += 1;
    }

    /// Drops the PAT if it is still the one refused (another call may have renewed it already).
    pub(super) fn forget_pat(&mut self, refused: &AccessToken) {
        if self
            .pats
            .state()
            .is_some_and(|s| s.token().same_as(refused))
        {
            self.pats.invalidate();
        }
    }
}
