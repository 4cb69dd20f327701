//! The refresh state: refreshing an RPT or the requesting party's own token with its refresh token, and
//! reading the answer (a failed refresh is not fatal).

use std::time::Instant;

use super::resource::pick_rpt;
use super::{
    AfterDiscovery, Flow, Grant, Outgoing, RefreshTarget, RequestId, RequestKind, State, Step,
};
use crate::cache::{ExchangeKey, expiry};
use crate::client::Client;
use crate::discovery::Issuer;
use crate::error::Error;
use crate::grant;

type Out = Step<http::Response<Vec<u8>>>;

impl Flow {
    /// Refreshes the requesting party's own token when it is about to expire, once per request.
    pub(crate) fn maybe_refresh_identity(
        &mut self,
        client: &mut Client,
        now: Instant,
    ) -> Option<Out> {
        self.refresh_identity(client, now, false)
    }

    /// Refreshes the requesting party's own token, once per request: when due, or at once with `force`
    /// (the authorization server refused it). `None` when it cannot be refreshed.
    pub(crate) fn refresh_identity(
        &mut self,
        client: &mut Client,
        now: Instant,
        force: bool,
    ) -> Option<Out> {
        if self.counters.refreshed_identity {
            return None;
        }
        let identity = client.identities.get(&self.party)?;
        if identity.refresh_token.is_none() || !(force || identity.due_for_refresh(now)) {
            return None;
        }
        let issuer = identity.issuer.clone()?;
        client.config.server(&issuer)?;
        self.counters.refreshed_identity = true;
        let key = ExchangeKey::Identity(self.party.clone());
        let then = AfterDiscovery::Refresh {
            key,
            target: RefreshTarget::Identity {
                issuer: issuer.clone(),
            },
        };
        Some(self.ensure_metadata_then(client, issuer, then, now, true))
    }

    pub(crate) fn send_refresh(
        &mut self,
        client: &mut Client,
        key: ExchangeKey,
        target: RefreshTarget,
        now: Instant,
    ) -> Out {
        let (issuer, refresh_token) = match &target {
            RefreshTarget::Rpt { entry, issuer } => (
                issuer.clone(),
                client
                    .rpt_set(&self.origin, &self.party)
                    .and_then(|s| s.get(*entry))
                    .and_then(|e| e.refresh_token.clone()),
            ),
            RefreshTarget::Identity { issuer } => (
                issuer.clone(),
                client
                    .identities
                    .get(&self.party)
                    .and_then(|i| i.refresh_token.clone()),
            ),
        };
        let server = client.config.server(&issuer).cloned();
        let endpoint = client.metadata(&issuer).map(|m| m.token_endpoint.clone());
        let (Some(refresh_token), Some(server), Some(endpoint)) = (refresh_token, server, endpoint)
        else {
            self.release(client, &key);
            return self.send_resource(client, now, None);
        };
        let request =
            match grant::refresh_request(&endpoint, &server.credentials, &refresh_token, None) {
                Ok(request) => request,
                Err(e) => return self.fail(client, Error::Build(e)),
            };
        let id = self.next_id();
        self.state = State::Refresh { id, key, target };
        client.stats.token_requests += 1;
        Step::Send(Outgoing {
            id: RequestId(id),
            kind: RequestKind::Token,
            attach_body: false,
            request,
        })
    }

    /// A refresh that fails is not fatal: the RPT is dropped and the resource server's next challenge
    /// starts a new ticket flow (docs/protocol.md §7.1).
    pub(crate) fn on_refresh(
        &mut self,
        client: &mut Client,
        key: ExchangeKey,
        target: RefreshTarget,
        response: http::Response<Vec<u8>>,
        now: Instant,
    ) -> Out {
        let parsed = grant::parse_token_response(&response).ok();
        let mut prefer = None;
        match target {
            RefreshTarget::Rpt { entry, .. } => {
                let origin = self.origin.clone();
                if let Some(set) = client.rpt_set_mut(&origin, &self.party) {
                    match parsed {
                        Some(token) => {
                            if let Some(e) = set.get_mut(entry) {
                                e.token = token.access_token;
                                e.refresh_token = token.refresh_token.or(e.refresh_token.take());
                                e.obtained_at = now;
                                e.expires_at = expiry(now, token.expires_in);
                                e.refreshed = true;
                                prefer = Some(entry);
                            }
                        }
                        None => set.remove(entry),
                    }
                }
            }
            RefreshTarget::Identity { .. } => {
                if let Some(identity) = client.identities.get_mut(&self.party) {
                    match parsed {
                        Some(token) => {
                            identity.access_token = token.access_token;
                            identity.refresh_token =
                                token.refresh_token.or(identity.refresh_token.take());
                            identity.obtained_at = now;
                            identity.expires_at = expiry(now, token.expires_in);
                            if token.id_token.is_some() {
                                identity.id_token = token.id_token;
                            }
                        }
                        None => identity.refresh_token = None,
                    }
                }
            }
        }
        self.release(client, &key);
        self.send_resource(client, now, prefer)
    }

    /// The RPT `chosen` for the next send, if it is due for a refresh: refresh it first (once per request,
    /// and not while a fresh challenge is being fetched), or, when it expired and cannot be refreshed, drop
    /// it (and every other expired entry) and choose again. `Some` is the step to take instead of sending.
    pub(crate) fn refresh_due_rpt(
        &mut self,
        client: &mut Client,
        now: Instant,
        chosen: &mut Option<u64>,
        refetch: &Option<Grant>,
    ) -> Option<Out> {
        let crossed = self.counters.crossed_origin;
        let due = chosen
            .and_then(|id| client.rpt_set(&self.origin, &self.party)?.get(id))
            .filter(|e| e.due_for_refresh(now));
        if let Some(entry) = due {
            let (id, issuer, can_refresh, expired) = (
                entry.id,
                entry.issuer.clone(),
                entry.refresh_token.is_some() && client.refreshes_rpts(&entry.issuer),
                entry.expired(now),
            );
            if can_refresh && refetch.is_none() && !self.counters.refreshed_before_send {
                self.counters.refreshed_before_send = true;
                let key = self.rpt_key(&issuer);
                return Some(self.ensure_metadata_then(
                    client,
                    issuer.clone(),
                    AfterDiscovery::Refresh {
                        key,
                        target: RefreshTarget::Rpt { entry: id, issuer },
                    },
                    now,
                    true,
                ));
            }
            if expired {
                // Expired and not refreshable: the resource server would only refuse it. So would any
                // other expired entry the next pick falls back on.
                if let Some(set) = client.rpt_set_mut(&self.origin, &self.party) {
                    set.remove(id);
                    set.entries.retain(|e| !e.expired(now));
                }
                *chosen = pick_rpt(
                    client,
                    &self.origin,
                    &self.party,
                    self.request.uri.path(),
                    crossed,
                    None,
                )
                .map(|e| e.id);
            }
        }
        None
    }

    /// The RPT sent (from `issuer`) was refused: if it was a refreshed one whose predecessor had been
    /// accepted for this path, stop refreshing this server's RPTs.
    pub(crate) fn abandon_refused_refresh(
        &self,
        client: &mut Client,
        issuer: &Issuer,
        now: Instant,
    ) {
        // A refreshed RPT refused where its predecessor was accepted: this server's refreshes produce
        // tokens resource servers do not take (Keycloak's lose their `aud`). Stop refreshing them.
        if let Some(sent) = &self.sent_rpt {
            let path = self.request.uri.path();
            let refused_refresh = &sent.issuer == issuer
                && client
                    .rpt_set(&self.origin, &self.party)
                    .is_some_and(|set| {
                        set.served(path, sent.entry)
                            && set
                                .get(sent.entry)
                                .is_some_and(|e| e.refreshed && !e.expired(now))
                    });
            if refused_refresh {
                client.abandon_rpt_refresh(issuer);
            }
        }
    }

    /// The RPT sent (from `issuer`) was refused with a challenge: if it may simply have expired and can be
    /// refreshed, refresh it before running a new exchange (once per request). `Some` is that step.
    pub(crate) fn refresh_rejected_rpt(
        &mut self,
        client: &mut Client,
        issuer: &Issuer,
        now: Instant,
    ) -> Option<Out> {
        // A rejected RPT that may simply have expired, and can be refreshed: refresh before a new flow.
        if let Some(sent) = self.sent_rpt.clone() {
            // An RPT obtained by this very request is fresh: refreshing it adds no permission (UMAG §3.6).
            if !self.counters.refreshed_after_rejection
                && self.counters.flows == 0
                && &sent.issuer == issuer
            {
                let refreshable = client
                    .rpt_set(&self.origin, &self.party)
                    .and_then(|s| s.get(sent.entry))
                    .is_some_and(|e| e.refresh_token.is_some() && e.past_half_life(now))
                    && client.refreshes_rpts(issuer);
                if refreshable {
                    self.counters.refreshed_after_rejection = true;
                    let key = self.rpt_key(issuer);
                    let target = RefreshTarget::Rpt {
                        entry: sent.entry,
                        issuer: issuer.clone(),
                    };
                    return Some(self.ensure_metadata_then(
                        client,
                        issuer.clone(),
                        AfterDiscovery::Refresh { key, target },
                        now,
                        true,
                    ));
                }
            }
        }
        None
    }
}
