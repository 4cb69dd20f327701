//! The resource-server side of a flow: sending (and replaying) the application's request and reading its
//! answer. Choosing the authorization server is in `trust.rs`, waiting on other flows in `herd.rs`,
//! redirects in `redirect.rs`, refreshing an RPT before sending or after a refusal in `refresh.rs`.

use std::time::Instant;

use http::{StatusCode, header};

use super::{AfterPark, Flow, Grant, Outgoing, RequestId, RequestKind, SentRpt, State, Step};
use crate::auth::bearer_authorization;
use crate::cache::ExchangeKey;
use crate::challenge;
use crate::client::Client;
use crate::config::ClaimPushing;
use crate::discovery::Issuer;
use crate::error::Error;
use crate::secret::Ticket;

type Out = Step<http::Response<Vec<u8>>>;

/// How much of a resource-server response's body a [`Flow`] reads, if any (`docs/protocol.md` §8.2).
///
/// `None`, for every answer but one: hand the flow the head with an empty body and keep the body. If the
/// flow finishes with [`Step::Done`], the response it returns is that head: reattach the body untouched.
/// If it goes on (a challenge, a redirect), drop the body, draining at most a few kilobytes so that the
/// connection can be reused; a challenge is answered from its header, whatever its body's size.
///
/// `Some(limit)`: a `401`/`403` whose `UMA` challenge names an authorization server but no ticket, where a
/// UMA 1.0 server puts the ticket in a JSON body. Read at most `limit + 1` bytes (a longer body holds no
/// ticket the flow accepts) and pass them as the body. The flow never finishes with such a response: it
/// runs an exchange or fails, keeping the bytes read in [`Failure::response`](crate::Failure).
///
/// ```
/// use http::{HeaderMap, HeaderValue, StatusCode};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("www-authenticate", HeaderValue::from_static(
///     r#"UMA realm="r", as_uri="https://as.example", ticket="t-1""#));
/// assert_eq!(uma_core::resource_body_limit(StatusCode::UNAUTHORIZED, &headers), None);
///
/// headers.insert("www-authenticate", HeaderValue::from_static(r#"UMA as_uri="https://as.example""#));
/// assert_eq!(uma_core::resource_body_limit(StatusCode::FORBIDDEN, &headers), Some(64 * 1024));
/// assert_eq!(uma_core::resource_body_limit(StatusCode::OK, &headers), None);
/// ```
pub fn resource_body_limit(status: StatusCode, headers: &http::HeaderMap) -> Option<usize> {
    if status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN {
        return None;
    }
    if !headers.contains_key(header::WWW_AUTHENTICATE) {
        return None;
    }
    let challenges = challenge::parse_headers(headers);
    let uma = || challenges.iter().filter(|c| c.scheme == "uma");
    let ticketless = uma().any(|c| c.param("ticket").is_none() && c.param("as_uri").is_some());
    let ticketed = uma().any(|c| c.param("ticket").is_some());
    (ticketless && !ticketed).then_some(challenge::MAX_BODY_BYTES)
}

/// The RPT to present: `prefer` if it exists, else the one that last worked for `path` (never a cached
/// one after a cross-origin redirect).
pub(super) fn pick_rpt<'c>(
    client: &'c Client,
    origin: &str,
    party: &crate::cache::Party,
    path: &str,
    crossed: bool,
    prefer: Option<u64>,
) -> Option<&'c crate::cache::RptEntry> {
    let set = client.rpt_set(origin, party)?;
    let fresh = prefer.and_then(|id| set.get(id));
    if crossed {
        fresh
    } else {
        fresh.or_else(|| set.choose(path))
    }
}

/// `Bearer <token>` as a sensitive header value, built with one allocation of the exact size (the
/// warm path sends one per request); `None` for a token that cannot be sent (what
/// [`bearer_authorization`] refuses).
fn bearer_value(token: &str) -> Option<http::HeaderValue> {
    if token.is_empty() || !crate::scan::all_visible_ascii(token.as_bytes()) {
        return None;
    }
    let mut bytes = Vec::with_capacity(7 + token.len());
    bytes.extend_from_slice(b"Bearer ");
    bytes.extend_from_slice(token.as_bytes());
    let mut value = http::HeaderValue::try_from(bytes).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// Resends with a newer cached RPT allowed per request when one landed or replaced ours meanwhile.
const MAX_SUPERSEDED_RESENDS: u32 = 32;

/// Exchanges allowed per request beyond `max_flows` because the RPT refused had served its path before.
const MAX_RETIRED_RPTS: u32 = 4;

impl Flow {
    /// Sends (or replays) the application's request with the best credential for its origin.
    /// `prefer` names the RPT entry just obtained, so the retry uses it whatever the path hints say.
    pub(crate) fn send_resource(
        &mut self,
        client: &mut Client,
        now: Instant,
        prefer: Option<u64>,
    ) -> Out {
        self.send_resource_with(client, now, prefer, None)
    }

    pub(crate) fn send_resource_with(
        &mut self,
        client: &mut Client,
        now: Instant,
        prefer: Option<u64>,
        refetch: Option<Grant>,
    ) -> Out {
        // The requesting party's own token first: it may be needed to present at the resource server.
        // A fresh challenge being fetched after a dead ticket waits out the refresh and stays this flow's.
        let refetch = refetch.or_else(|| self.pending_refetch.take().map(|g| *g));
        if let Some(step) = self.maybe_refresh_identity(client, now) {
            self.pending_refetch = refetch.map(Box::new);
            return step;
        }
        if let Some(step) = self.choose_rpt(client, now, prefer, &refetch) {
            self.pending_refetch = refetch.map(Box::new);
            return step;
        }
        let headers = self.resource_headers(client);
        self.resource_request(client, headers, refetch)
    }

    /// Sets `sent_rpt` to the RPT to present (`prefer` if it exists). `Some` is the step to take instead
    /// of sending (a refresh of that RPT, or a park behind its upgrade), with `sent_rpt` left as it was.
    fn choose_rpt(
        &mut self,
        client: &mut Client,
        now: Instant,
        prefer: Option<u64>,
        refetch: &Option<Grant>,
    ) -> Option<Out> {
        // After a cross-origin redirect only an RPT obtained within this request may be sent.
        let crossed = self.counters.crossed_origin;
        // The warm path looks the RPT set up once and sends the entry picked, unless it is due for a
        // refresh or being upgraded by another request (the slow path below, which looks again).
        let picked = pick_rpt(
            client,
            &self.origin,
            &self.party,
            self.request.uri.path(),
            crossed,
            prefer,
        )
        .map(|e| {
            let sent = SentRpt {
                entry: e.id,
                issuer: e.issuer.clone(),
                token: e.token.clone(),
            };
            (sent, e.due_for_refresh(now))
        });
        self.sent_rpt = match picked {
            Some((sent, false)) if !client.is_upgrading(sent.entry) => Some(sent),
            Some((sent, _)) => {
                let mut chosen = Some(sent.entry);
                drop(sent);
                if let Some(step) = self.before_send_slow(client, now, &mut chosen, refetch) {
                    return Some(step);
                }
                chosen.and_then(|id| {
                    let e = client.rpt_set(&self.origin, &self.party)?.get(id)?;
                    Some(SentRpt {
                        entry: e.id,
                        issuer: e.issuer.clone(),
                        token: e.token.clone(),
                    })
                })
            }
            None => None,
        };
        None
    }

    /// The application's headers, the configured default headers, and `Authorization`: the RPT chosen,
    /// else the requesting party's own token where it may go. An RPT that cannot be a header value is
    /// dropped from the cache here.
    fn resource_headers(&mut self, client: &mut Client) -> http::HeaderMap {
        // After a cross-origin redirect no configured credential and no cached token follows.
        let crossed = self.counters.crossed_origin;
        let mut headers = self.request.headers.clone();
        for (name, value) in &client.config.default_headers {
            if crossed && super::redirect::CREDENTIAL_HEADERS.contains(name) {
                continue;
            }
            if !headers.contains_key(name) {
                headers.insert(name.clone(), value.clone());
            }
        }
        if let Some(sent) = &self.sent_rpt {
            match bearer_value(sent.token.secret()) {
                Some(value) => {
                    headers.insert(header::AUTHORIZATION, value);
                }
                None => {
                    // A token that cannot be a header value is useless: forget it and go without.
                    let id = sent.entry;
                    if let Some(set) = client.rpt_set_mut(&self.origin, &self.party) {
                        set.remove(id);
                    }
                    self.sent_rpt = None;
                }
            }
        }
        if self.sent_rpt.is_none() && !crossed && !headers.contains_key(header::AUTHORIZATION) {
            if let Some(identity) = client.identities.get(&self.party) {
                if client.config.access_token_goes_to(&self.origin) {
                    if let Ok(value) = bearer_authorization(identity.access_token.secret()) {
                        headers.insert(header::AUTHORIZATION, value);
                    }
                }
            }
        }
        headers
    }

    /// Emits the resource request with `headers`, and awaits its answer.
    fn resource_request(
        &mut self,
        client: &mut Client,
        headers: http::HeaderMap,
        refetch: Option<Grant>,
    ) -> Out {
        let mut request = http::Request::new(self.request.body.clone());
        *request.method_mut() = self.request.method.clone();
        *request.uri_mut() = self.request.uri.clone();
        *request.version_mut() = self.request.version;
        *request.headers_mut() = headers;
        let id = self.next_id();
        self.state = State::Resource { id, refetch };
        client.stats.resource_requests += 1;
        Step::Send(Outgoing {
            id: RequestId(id),
            kind: RequestKind::Resource,
            request,
            attach_body: self.request.driver_body,
        })
    }

    /// The RPT picked is due for a refresh or being upgraded by another request: refresh it first, drop
    /// it (and every other expired entry) when it expired and cannot be refreshed (`refresh.rs`), or wait
    /// for the upgrade. `chosen` is updated to the entry to send; `Some` is the step to take instead of sending.
    fn before_send_slow(
        &mut self,
        client: &mut Client,
        now: Instant,
        chosen: &mut Option<u64>,
        refetch: &Option<Grant>,
    ) -> Option<Out> {
        if let Some(step) = self.refresh_due_rpt(client, now, chosen, refetch) {
            return Some(step);
        }
        if let Some(id) = chosen.filter(|id| client.is_upgrading(*id)) {
            // Another request's exchange is upgrading this very RPT, and the authorization server may
            // revoke it on the spot (UMAG §3.3.5.1): wait for the successor instead of being refused.
            let issuer = client
                .rpt_set(&self.origin, &self.party)
                .and_then(|s| s.get(id))
                .map(|e| e.issuer.clone());
            if let Some(issuer) = issuer {
                let key = self.rpt_key(&issuer);
                if let Some(step) = self.park_if_busy(client, &key, now) {
                    return Some(step);
                }
            }
        }
        None
    }

    /// Reads the resource server's answer.
    pub(crate) fn on_resource(
        &mut self,
        client: &mut Client,
        response: http::Response<Vec<u8>>,
        refetch: Option<Grant>,
        now: Instant,
    ) -> Out {
        let status = response.status();
        if status.is_redirection() && client.config.max_redirects > 0 {
            if let Some(location) = response.headers().get(header::LOCATION).cloned() {
                self.last_response = Some(Box::new(response));
                return self.follow_redirect(client, status, &location, refetch, now);
            }
        }
        if status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN {
            return self.finish(client, response, refetch);
        }
        let candidates = challenge::uma_candidates(
            status,
            response.headers(),
            response.body(),
            client.config.strictness,
        );
        self.last_response = Some(Box::new(response));
        let candidates = match candidates {
            Ok(c) => c,
            Err(e) => return self.fail(client, Error::Challenge(e)),
        };
        if candidates.is_empty() {
            if self.rpt_rejected_without_challenge() {
                // RFC 6750 `invalid_token` without a UMA challenge: this RPT is not usable here. Drop it and
                // ask again without a token to get a challenge (docs/protocol.md §4.5).
                self.counters.dropped_rejected_rpt = true;
                self.drop_sent_rpt(client);
                return self.send_resource_with(client, now, None, refetch);
            }
            let response = *self.last_response.take().expect("kept just above");
            return self.finish(client, response, refetch);
        }
        let (issuer, ticket) = match self.choose_server(client, &candidates) {
            Ok(found) => found,
            Err(error) => return self.fail(client, error),
        };

        if let Some(mut grant) = refetch {
            // The fresh challenge after a dead ticket: same flow, same held exchange (docs/protocol.md §4.1).
            if grant.issuer == issuer {
                grant.ticket = ticket;
                grant.rpt = self.rpt_to_upgrade(client, &issuer);
                return self.send_grant(client, grant, now);
            }
            self.release_grant(client, &grant);
        }

        self.abandon_refused_refresh(client, &issuer, now);
        if let Some(step) = self.refresh_rejected_rpt(client, &issuer, now) {
            return step;
        }

        // An RPT obtained for this path landed after our request left (a concurrent request's exchange for
        // the same resource: our 401 simply arrived late), or the RPT we sent was superseded meanwhile
        // (upgraded by another request and revoked, UMAG §3.3.5; the upgrade covers what it covered): try
        // it before running an exchange of our own. An RPT obtained for other resources would be refused
        // again, so it is no reason to resend.
        if !self.counters.crossed_origin
            && self.counters.superseded_resends < MAX_SUPERSEDED_RESENDS
            && self.newer_rpt_for_path(client)
        {
            self.counters.superseded_resends += 1;
            return self.send_resource(client, now, None);
        }
        self.exchange_for_challenge(client, issuer, ticket, now)
    }

    /// The challenge needs a ticket exchange: wait for one running that would answer it, give up once
    /// this request ran `max_flows` of its own, else lead the exchange for its resource.
    fn exchange_for_challenge(
        &mut self,
        client: &mut Client,
        issuer: Issuer,
        ticket: Ticket,
        now: Instant,
    ) -> Out {
        let key = self.rpt_key(&issuer);
        let (had_it, served) = self.sent_rpt_standing(client, &issuer);
        // The RPT we sent was obtained for this path (or served it): refused, it was revoked — an upgrade
        // running now replaces it and keeps its permissions — or retired. Wait for a running upgrade and
        // resend with its RPT rather than exchange again for a permission we had.
        if had_it {
            if let Some(step) = self.park_if_busy(client, &key, now) {
                return step;
            }
        }
        if self.counters.flows >= client.config.max_flows + self.counters.retired_rpts {
            // The resource server had accepted this very RPT for this path: it was retired (a use limit)
            // or revoked, not short of permissions. Replacing it is not this request's failure, whoever's
            // exchange obtained it (bounded).
            if served && self.counters.retired_rpts < MAX_RETIRED_RPTS {
                self.counters.retired_rpts += 1;
            } else {
                // Another request's exchange may be obtaining this resource, or upgrading (and so
                // revoking) the RPT we just sent: wait for it to land and try its RPT before giving up.
                let want = self.permission_key(&issuer);
                if let Some(step) = self.park_if_busy(client, &want, now) {
                    return step;
                }
                if let Some(step) = self.park_if_busy(client, &key, now) {
                    return step;
                }
                let flows = self.counters.flows;
                return self.fail(client, Error::MaxFlowsReached { flows });
            }
        }
        // Requests for the same resource share one exchange; requests for other resources neither wait on
        // it nor are woken by it.
        let want = self.permission_key(&issuer);
        if let Some(step) = self.claim_or_park(client, &want, AfterPark::Resend, now) {
            return step;
        }
        let push_claim = client.config.claim_pushing == ClaimPushing::Always
            && client
                .config
                .server(&issuer)
                .is_some_and(|s| s.claim.is_some());
        let grant = Grant {
            issuer,
            key,
            ticket,
            rpt: None, // chosen once the exchange may run
            push_claim,
            use_pct: true,
            use_scope: true,
        };
        self.run_exchange(client, grant, now)
    }

    /// Whether the RPT to use for this path now is newer than the one we sent, and obtained for this path
    /// (or the upgrade of one that was): entry ids only grow, so it landed after our request left.
    fn newer_rpt_for_path(&self, client: &Client) -> bool {
        let path = self.request.uri.path();
        let Some(set) = client.rpt_set(&self.origin, &self.party) else {
            return false;
        };
        set.choose(path).is_some_and(|c| {
            set.covers(path, c.id) && self.sent_rpt.as_ref().is_none_or(|sent| c.id > sent.entry)
        })
    }

    /// Whether the RPT we sent (from `issuer`) was obtained for this path, and whether it served it.
    fn sent_rpt_standing(&self, client: &Client, issuer: &Issuer) -> (bool, bool) {
        let path = self.request.uri.path();
        let set = client.rpt_set(&self.origin, &self.party);
        match (&self.sent_rpt, set) {
            (Some(sent), Some(set)) if &sent.issuer == issuer => {
                (set.covers(path, sent.entry), set.served(path, sent.entry))
            }
            _ => (false, false),
        }
    }

    /// The final answer: remember which RPT worked for this path.
    pub(crate) fn finish(
        &mut self,
        client: &mut Client,
        response: http::Response<Vec<u8>>,
        refetch: Option<Grant>,
    ) -> Out {
        if let Some(grant) = refetch {
            self.release_grant(client, &grant);
        }
        if let Some(sent) = &self.sent_rpt {
            if !matches!(
                response.status(),
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
            ) {
                if let Some(set) = client.rpt_set_mut(&self.origin, &self.party) {
                    set.remember_path(self.request.uri.path(), sent.entry);
                }
            }
        }
        for key in std::mem::take(&mut self.held) {
            client.release(&key, self.id, None);
        }
        self.state = State::Done;
        Step::Done(response)
    }

    fn rpt_rejected_without_challenge(&self) -> bool {
        let Some(response) = &self.last_response else {
            return false;
        };
        self.sent_rpt.is_some()
            && !self.counters.dropped_rejected_rpt
            && response.status() == StatusCode::UNAUTHORIZED
            && challenge::parse_headers(response.headers())
                .iter()
                .any(|c| c.scheme == "bearer" && c.param("error") == Some("invalid_token"))
    }

    pub(crate) fn drop_sent_rpt(&mut self, client: &mut Client) {
        if let Some(sent) = self.sent_rpt.take() {
            client.note_refused(&sent.issuer, &self.origin, &self.party, &sent.token);
            if let Some(set) = client.rpt_set_mut(&self.origin, &self.party) {
                set.remove(sent.entry);
            }
        }
    }

    /// What requests for the same resource as this one wait on.
    pub(crate) fn permission_key(&self, issuer: &Issuer) -> ExchangeKey {
        ExchangeKey::Permission {
            issuer: issuer.clone(),
            origin: self.origin.clone(),
            party: self.party.clone(),
            request: self.request_line(),
        }
    }

    pub(crate) fn rpt_key(&self, issuer: &Issuer) -> ExchangeKey {
        ExchangeKey::Rpt {
            issuer: issuer.clone(),
            origin: self.origin.clone(),
            party: self.party.clone(),
        }
    }
}
