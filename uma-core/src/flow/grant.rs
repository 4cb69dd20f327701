//! The token state of a ticket exchange: sending the uma-ticket grant, reading its answer
//! (`need_info`, `request_submitted` polling, denials, retries) and storing the RPT it yields.

use std::time::{Duration, Instant};

use super::{AfterDiscovery, Flow, Grant, Outgoing, RequestId, RequestKind, State, Step};
use crate::cache::{RptEntry, expiry};
use crate::client::Client;
use crate::discovery::Issuer;
use crate::error::Error;
use crate::grant::{self, Outcome, TokenError, TokenResponse, UmaError, UmaGrant};
use crate::secret::AccessToken;

type Out = Step<http::Response<Vec<u8>>>;

impl Flow {
    /// The requesting party's token for `issuer`: never hand one authorization server's token to another.
    fn bearer_for(&self, client: &Client, issuer: &Issuer) -> Option<AccessToken> {
        client
            .identities
            .get(&self.party)
            .filter(|i| i.issuer.as_ref().is_none_or(|own| own == issuer))
            .map(|i| i.access_token.clone())
    }

    /// POSTs the uma-ticket grant (UMAG §3.3.1).
    pub(crate) fn send_grant(&mut self, client: &mut Client, grant: Grant, now: Instant) -> Out {
        let issuer = grant.issuer.clone();
        let Some(server) = client.config.server(&issuer).cloned() else {
            return self.fail(
                client,
                Error::UntrustedAuthorizationServer {
                    as_uri: issuer.as_str().to_owned(),
                },
            );
        };
        let Some(token_endpoint) = client.metadata(&issuer).map(|m| m.token_endpoint.clone())
        else {
            return self.ensure_metadata_then(
                client,
                issuer,
                AfterDiscovery::Grant(grant),
                now,
                false,
            );
        };
        let pct = grant
            .use_pct
            .then(|| {
                client
                    .pcts
                    .get(&(issuer.clone(), self.party.clone()))
                    .cloned()
            })
            .flatten();
        let claim = if grant.push_claim {
            server.claim.clone()
        } else {
            None
        };
        let scope = if grant.use_scope {
            server.scope.clone()
        } else {
            None
        };
        let mut extra = client.config.rpt_params.clone();
        extra.extend(server.rpt_params.iter().cloned());
        let bearer = self.bearer_for(client, &issuer);
        let request = grant::uma_grant_request(
            &token_endpoint,
            &server.credentials,
            bearer.as_ref(),
            &UmaGrant {
                ticket: Some(&grant.ticket),
                rpt: grant.rpt.as_ref().map(|r| &r.token),
                pct: pct.as_ref(),
                claim: claim.as_ref(),
                scope: scope.as_deref(),
                extra: &extra,
            },
        );
        let request = match request {
            Ok(request) => request,
            Err(e) => return self.fail(client, Error::Build(e)),
        };
        self.extend_held(client, now + client.config.claim_timeout);
        client.mark_upgrade(&grant.key, self.id, grant.rpt.as_ref().map(|r| r.entry));
        let id = self.next_id();
        self.state = State::Token { id, grant };
        client.stats.token_requests += 1;
        Step::Send(Outgoing {
            id: RequestId(id),
            kind: RequestKind::Token,
            attach_body: false,
            request,
        })
    }

    /// Reads the token endpoint's answer to a ticket grant (docs/protocol.md §4.4).
    pub(crate) fn on_token(
        &mut self,
        client: &mut Client,
        grant: Grant,
        response: http::Response<Vec<u8>>,
        now: Instant,
    ) -> Out {
        // Answered: whatever the authorization server revokes is revoked now.
        client.mark_upgrade(&grant.key, self.id, None);
        match grant::parse_token_response(&response) {
            Ok(token) => self.store_rpt(client, grant, token, now),
            Err(TokenError::Malformed { status, reason }) => {
                let issuer = grant.issuer.as_str().to_owned();
                let error = Error::MalformedTokenResponse {
                    issuer,
                    status,
                    reason,
                };
                self.fail(client, error)
            }
            Err(TokenError::Rejected(error)) => {
                self.on_grant_error(client, grant, Box::new(error), now)
            }
        }
    }

    /// A ticket grant refused with an error: go on where the outcome allows it (each retry at most once
    /// per request), else fail with the error it means.
    fn on_grant_error(
        &mut self,
        client: &mut Client,
        grant: Grant,
        error: Box<UmaError>,
        now: Instant,
    ) -> Out {
        let issuer = grant.issuer.as_str().to_owned();
        match error.outcome {
            Outcome::NeedInfo => self.on_need_info(client, grant, error, now),
            Outcome::RequestSubmitted => self.on_request_submitted(client, grant, error, now),
            Outcome::Denied => self.fail(client, Error::Denied { issuer, error }),
            Outcome::DeadTicket if !self.counters.fresh_challenge_used => {
                // One fresh challenge within the same flow; the exchange stays ours (docs/protocol.md §4.1).
                self.counters.fresh_challenge_used = true;
                self.send_resource_with(client, now, None, Some(grant))
            }
            Outcome::DeadTicket => self.fail(client, Error::DeadTicket { issuer, error }),
            Outcome::InvalidRpt if grant.rpt.is_some() && !self.counters.retried_without_rpt => {
                self.retry_without_rpt(client, grant, now)
            }
            Outcome::InvalidPct if self.may_retry_without_pct(client, &grant) => {
                self.retry_without_pct(client, grant, now)
            }
            Outcome::InvalidScope if self.may_retry_without_scope(client, &grant) => {
                self.retry_without_scope(client, grant, now)
            }
            Outcome::ClientAuthFailed => self.on_client_auth_failed(client, grant, error, now),
            _ => self.fail(client, Error::TokenEndpoint { issuer, error }),
        }
    }

    /// `need_info`: push the configured claim once, with the rotated ticket, if the server has one to push.
    fn on_need_info(
        &mut self,
        client: &mut Client,
        mut grant: Grant,
        error: Box<UmaError>,
        now: Instant,
    ) -> Out {
        let issuer = grant.issuer.as_str().to_owned();
        if error.ticket.is_none() {
            // Gluu's invalid_claim_token*, or a need_info without the ticket it must carry: the
            // pushed claim is the problem, and there is nothing to continue with.
            return self.fail(client, Error::NeedInfo { issuer, error });
        }
        let Some(ticket) = self.rotated_ticket(&grant, &error) else {
            return self.fail(client, Error::TicketNotRotated { issuer });
        };
        let can_push = !grant.push_claim
            && self.counters.need_info_rounds < client.config.max_need_info_rounds
            && client
                .config
                .server(&grant.issuer)
                .is_some_and(|s| s.claim.is_some());
        if !can_push {
            return self.fail(client, Error::NeedInfo { issuer, error });
        }
        self.counters.need_info_rounds += 1;
        grant.ticket = ticket;
        grant.push_claim = true;
        self.send_grant(client, grant, now)
    }

    /// `invalid_rpt` for the RPT the grant tried to upgrade: forget it and ask again without one.
    fn retry_without_rpt(&mut self, client: &mut Client, mut grant: Grant, now: Instant) -> Out {
        self.counters.retried_without_rpt = true;
        // The RPT refused is the one the grant tried to upgrade, not necessarily the one sent.
        if let Some(refused) = grant.rpt.take() {
            if self
                .sent_rpt
                .as_ref()
                .is_some_and(|s| s.entry == refused.entry)
            {
                self.sent_rpt = None;
            }
            if let Some(set) = client.rpt_set_mut(&self.origin, &self.party) {
                set.remove(refused.entry);
            }
        }
        self.send_grant(client, grant, now)
    }

    /// Whether an `invalid_pct` can be answered by asking again without the PCT: the grant sent one, and
    /// this request has not retried without it yet.
    fn may_retry_without_pct(&self, client: &Client, grant: &Grant) -> bool {
        grant.use_pct
            && !self.counters.retried_without_pct
            && client
                .pcts
                .contains_key(&(grant.issuer.clone(), self.party.clone()))
    }

    /// `invalid_pct`: forget the PCT and ask again without it.
    fn retry_without_pct(&mut self, client: &mut Client, mut grant: Grant, now: Instant) -> Out {
        self.counters.retried_without_pct = true;
        client
            .pcts
            .remove(&(grant.issuer.clone(), self.party.clone()));
        grant.use_pct = false;
        self.send_grant(client, grant, now)
    }

    /// Whether an `invalid_scope` can be answered by asking again without the configured scope: the grant
    /// sent one, and this request has not retried without it yet.
    fn may_retry_without_scope(&self, client: &Client, grant: &Grant) -> bool {
        grant.use_scope
            && !self.counters.retried_without_scope
            && client
                .config
                .server(&grant.issuer)
                .is_some_and(|s| s.scope.is_some())
    }

    /// `invalid_scope`: ask again without the configured scope.
    fn retry_without_scope(&mut self, client: &mut Client, mut grant: Grant, now: Instant) -> Out {
        self.counters.retried_without_scope = true;
        grant.use_scope = false;
        self.send_grant(client, grant, now)
    }

    /// `invalid_client` (or its like): the client's credentials were refused, or, when the grant
    /// authenticated with the requesting party's token, that token was.
    fn on_client_auth_failed(
        &mut self,
        client: &mut Client,
        grant: Grant,
        error: Box<UmaError>,
        now: Instant,
    ) -> Out {
        let issuer_name = grant.issuer.as_str().to_owned();
        // A ticket grant that authenticated with the requesting party's token was answered 401, or with
        // Keycloak's "Invalid bearer token" (401 up to 26.5, 400 since 26.6): that token was refused, not
        // the client's credentials.
        let user_token_refused = (error.status == 401 || error.rejects_bearer_token())
            && client.config.server(&grant.issuer).is_some_and(|s| {
                s.credentials.method == crate::auth::ClientAuthMethod::RequestingPartyBearer
            });
        if !user_token_refused {
            let error = Error::ClientAuthentication {
                issuer: issuer_name,
                error,
            };
            return self.fail(client, error);
        }
        if self.counters.refreshed_identity {
            let error = Error::AccessTokenRejected {
                issuer: issuer_name,
                error,
            };
            return self.fail(client, error);
        }
        // The user's token expired under us. Refresh it once (if it can be) and fetch a fresh
        // challenge within the same flow.
        let issuer = grant.issuer.clone();
        self.pending_refetch = Some(Box::new(grant));
        match self.refresh_identity(client, now, true) {
            Some(step) => step,
            None => {
                self.pending_refetch = None;
                self.fail(
                    client,
                    Error::AccessTokenRejected {
                        issuer: issuer.as_str().to_owned(),
                        error,
                    },
                )
            }
        }
    }

    /// The new ticket of a `need_info` / `request_submitted`, which must differ from the one sent (UMAG §5.5).
    fn rotated_ticket(&self, grant: &Grant, error: &UmaError) -> Option<crate::secret::Ticket> {
        error
            .ticket
            .clone()
            .filter(|t| !t.same_as(&grant.ticket) && !t.is_empty())
    }

    fn on_request_submitted(
        &mut self,
        client: &mut Client,
        mut grant: Grant,
        error: Box<UmaError>,
        now: Instant,
    ) -> Out {
        let issuer = grant.issuer.as_str().to_owned();
        if error.ticket.is_none() {
            // Keycloak: `access_denied` / `request_submitted` without a ticket. The owner may have been asked,
            // but there is nothing to poll with: report it as a denial that says so (docs/protocol.md §4.2).
            return self.fail(client, Error::Denied { issuer, error });
        }
        let Some(ticket) = self.rotated_ticket(&grant, &error) else {
            return self.fail(client, Error::TicketNotRotated { issuer });
        };
        let policy = client.config.poll;
        let first = *self.counters.first_poll_at.get_or_insert(now);
        // Wait at least what the server asks (UMAG §3.3.6); if that is beyond our bounds, stop now rather
        // than poll early or overrun the deadline.
        let interval = error
            .interval
            .map(Duration::from_secs)
            .unwrap_or(policy.default_interval)
            .max(policy.min_interval);
        let waited = now.saturating_duration_since(first);
        if self.counters.polls >= policy.max_polls
            || interval > policy.max_interval
            || waited + interval > policy.max_wait
        {
            let polls = self.counters.polls;
            return self.fail(
                client,
                Error::ApprovalPending {
                    issuer,
                    polls,
                    error,
                },
            );
        }
        self.counters.polls += 1;
        let until = now + interval;
        self.extend_held(client, until + client.config.claim_timeout);
        grant.ticket = ticket;
        self.state = State::Sleeping { until, grant };
        Step::Wait { until }
    }

    /// Caches a new RPT, honouring `upgraded` (UMAG §3.3.5, docs/protocol.md §6), then retries with it.
    fn store_rpt(
        &mut self,
        client: &mut Client,
        grant: Grant,
        token: TokenResponse,
        now: Instant,
    ) -> Out {
        let replaces = grant
            .rpt
            .as_ref()
            .filter(|sent| token.upgraded || sent.token.same_as(&token.access_token))
            .map(|sent| sent.entry);
        let id = client.new_rpt_id();
        let entry = RptEntry {
            id,
            issuer: grant.issuer.clone(),
            token: token.access_token,
            refresh_token: token.refresh_token,
            obtained_at: now,
            expires_at: expiry(now, token.expires_in),
            refreshed: false,
        };
        let origin = self.origin.clone();
        client.insert_rpt(&origin, &self.party, entry, replaces);
        if let Some(set) = client.rpt_set_mut(&origin, &self.party) {
            // The requests for this resource that waited on this exchange use this RPT.
            set.grant_path(self.request.uri.path(), id);
        }
        if let Some(pct) = token.pct {
            client
                .pcts
                .insert((grant.issuer.clone(), self.party.clone()), pct);
        }
        self.release_grant(client, &grant);
        self.send_resource(client, now, Some(id))
    }
}
