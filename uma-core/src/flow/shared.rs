//! A flow's side of the shared store (`crate::store`): which exchange a store may answer, adopting a
//! stored RPT instead of sending the ticket grant, and reading back the RPT an exchange produced.

use std::time::Instant;

use super::{Flow, RequestId, State, Step};
use crate::cache::RptEntry;
use crate::client::Client;
use crate::discovery::Issuer;
use crate::record::{MetadataRecord, RptRecord, instant_at, unix_at};
use crate::store::{SharedAsk, SharedKey};

type Out = Step<http::Response<Vec<u8>>>;

impl Flow {
    /// The ticket grant `id` is, as a question for a shared store.
    pub(crate) fn shared_ask(&self, id: RequestId) -> Option<SharedAsk> {
        let State::Token { id: sent, grant } = &self.state else {
            return None;
        };
        if *sent != id.0 || self.counters.crossed_origin {
            return None;
        }
        let refused = self
            .sent_rpt
            .as_ref()
            .filter(|s| s.issuer == grant.issuer)
            .or(grant.rpt.as_ref());
        Some(SharedAsk {
            key: SharedKey {
                issuer: grant.issuer.clone(),
                origin: self.origin.clone(),
                party: self.party.clone(),
            },
            sent: refused.map(|s| s.token.clone()),
        })
    }

    /// Answers the ticket grant `id` with a stored RPT: cached as if the token endpoint had returned
    /// it, then the resource request is resent with it. `None` if `id` is not the pending grant or the
    /// record is for another key.
    pub(crate) fn adopt_shared(
        &mut self,
        client: &mut Client,
        id: RequestId,
        record: RptRecord,
        now: Instant,
        now_unix: u64,
    ) -> Option<Out> {
        let ask = self.shared_ask(id)?;
        record
            .check_key(&ask.key.issuer, &ask.key.origin, &ask.key.party)
            .ok()?;
        let State::Token { grant, .. } = std::mem::replace(&mut self.state, State::Idle) else {
            return None;
        };
        // The grant was counted when it was built, and as one of this request's flows; it was never
        // sent, and if the stored RPT is refused the request may still exchange (the adapter asks the
        // store twice per request at most).
        client.stats.token_requests = client.stats.token_requests.saturating_sub(1);
        self.counters.flows = self.counters.flows.saturating_sub(1);
        client.mark_upgrade(&grant.key, self.id, None);
        let rpt_id = client.new_rpt_id();
        let entry = RptEntry {
            id: rpt_id,
            issuer: grant.issuer.clone(),
            token: record.token,
            refresh_token: record.refresh_token,
            obtained_at: instant_at(record.obtained_at, now, now_unix).min(now),
            expires_at: record.expires_at.map(|e| instant_at(e, now, now_unix)),
            refreshed: record.refreshed,
        };
        let origin = self.origin.clone();
        let replaces = grant.rpt.as_ref().map(|r| r.entry);
        client.insert_rpt(&origin, &self.party, entry, replaces);
        if let Some(set) = client.rpt_set_mut(&origin, &self.party) {
            set.grant_path(self.request.uri.path(), rpt_id);
        }
        self.release_grant(client, &grant);
        Some(self.send_resource(client, now, Some(rpt_id)))
    }
}

impl Client {
    /// The newest RPT held for `key` (obtained at or after `since`, if given), as a record to share
    /// (`None` if there is none). `now` and `now_unix` are one reading of both clocks.
    pub fn shared_record(
        &self,
        key: &SharedKey,
        since: Option<Instant>,
        now: Instant,
        now_unix: u64,
    ) -> Option<RptRecord> {
        let entry = self
            .rpt_set(&key.origin, &key.party)?
            .newest_of(&key.issuer)
            .filter(|e| since.is_none_or(|s| e.obtained_at >= s))?;
        Some(RptRecord {
            issuer: key.issuer.clone(),
            origin: key.origin.clone(),
            party: key.party.clone(),
            token: entry.token.clone(),
            refresh_token: entry.refresh_token.clone(),
            obtained_at: unix_at(entry.obtained_at, now, now_unix),
            expires_at: entry.expires_at.map(|e| unix_at(e, now, now_unix)),
            refreshed: entry.refreshed,
        })
    }

    /// Adopts an RPT read from a persistent cache (e.g. the CLI's cache file) into the in-process cache;
    /// `false` if it is expired at `now_unix`.
    pub fn import_rpt(&mut self, record: RptRecord, now: Instant, now_unix: u64) -> bool {
        if !record.is_live(now_unix) {
            return false;
        }
        let id = self.new_rpt_id();
        let entry = RptEntry {
            id,
            issuer: record.issuer,
            token: record.token,
            refresh_token: record.refresh_token,
            obtained_at: instant_at(record.obtained_at, now, now_unix).min(now),
            expires_at: record.expires_at.map(|e| instant_at(e, now, now_unix)),
            refreshed: record.refreshed,
        };
        self.insert_rpt(&record.origin, &record.party, entry, None);
        true
    }

    /// The metadata cached for `issuer` as a record to keep between runs, if it is still trusted.
    pub fn export_metadata(
        &self,
        issuer: &Issuer,
        now: Instant,
        now_unix: u64,
    ) -> Option<MetadataRecord> {
        let expires = self.metadata_expiry(issuer).filter(|e| *e > now)?;
        let metadata = self.metadata(issuer)?;
        let expires_at = unix_at(expires, now, now_unix);
        let fetched_at = expires_at
            .saturating_sub(self.config.metadata_ttl.as_secs())
            .min(now_unix);
        Some(MetadataRecord::new(
            issuer.clone(),
            metadata,
            fetched_at,
            expires_at,
        ))
    }

    /// Adopts metadata kept between runs: validated again as a discovery response for a configured
    /// issuer under the configured endpoint policy, and trusted only until the record's expiry.
    /// `false` if it was not adopted (expired, unknown issuer, or refused by validation).
    pub fn import_metadata(
        &mut self,
        record: &MetadataRecord,
        now: Instant,
        now_unix: u64,
    ) -> bool {
        let issuer = record.issuer.clone();
        if !record.is_live(now_unix) || self.config.server(&issuer).is_none() {
            return false;
        }
        let Ok(metadata) = record.metadata(&issuer, &issuer, &self.config.endpoint_policy) else {
            return false;
        };
        // Trusted until the record's expiry: as if fetched that long before now.
        let left = instant_at(record.expires_at, now, now_unix).saturating_duration_since(now);
        let ttl = self.config.metadata_ttl;
        let fetched = now.checked_sub(ttl.saturating_sub(left)).unwrap_or(now);
        self.store_metadata(&issuer, metadata, fetched);
        true
    }
}
