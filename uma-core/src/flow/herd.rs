//! Herd control from a flow's side: claim an exchange or park behind the flow running it, and go on
//! when it lands.

use std::time::Instant;

use super::{AfterDiscovery, AfterPark, Flow, Grant, RefreshTarget, SentRpt, State, Step};
use crate::cache::ExchangeKey;
use crate::client::{Claim, Client, Landing};
use crate::discovery::Issuer;

type Out = Step<http::Response<Vec<u8>>>;

impl Flow {
    /// Claims `key`, or parks behind the flow that holds it. `None` means claimed.
    pub(crate) fn claim_or_park(
        &mut self,
        client: &mut Client,
        key: &ExchangeKey,
        then: AfterPark,
        now: Instant,
    ) -> Option<Out> {
        match client.claim(key, self.id, now) {
            Claim::Granted => {
                self.hold(key);
                None
            }
            Claim::Busy { until, seen } if self.counters.parks < client.config.max_parks => {
                self.counters.parks += 1;
                client.stats.parked += 1;
                self.state = State::Parked {
                    key: key.clone(),
                    seen,
                    then: Box::new(then),
                };
                Some(Step::Park {
                    key: key.clone(),
                    until,
                })
            }
            // Waited often enough: run our own exchange rather than starve (bounded by max_flows).
            Claim::Busy { .. } => None,
        }
    }

    /// Parks behind the exchange for `key` if another flow is running it (and parks are left); `None`
    /// when nobody is. Never claims the key.
    pub(crate) fn park_if_busy(
        &mut self,
        client: &mut Client,
        key: &ExchangeKey,
        now: Instant,
    ) -> Option<Out> {
        let (until, seen) = client.busy(key, self.id, now)?;
        if self.counters.parks >= client.config.max_parks {
            return None;
        }
        self.counters.parks += 1;
        client.stats.parked += 1;
        self.state = State::Parked {
            key: key.clone(),
            seen,
            then: Box::new(AfterPark::Resend),
        };
        Some(Step::Park {
            key: key.clone(),
            until,
        })
    }

    /// Runs the ticket exchange `grant` once this flow holds its origin's RPT key. One exchange upgrades
    /// that RPT at a time: two concurrent upgrades would each revoke the RPT the other extends, and one
    /// permission would be lost (UMAG §3.3.5). While another request's exchange holds the key, wait for it
    /// without resending: the ticket stays good, and the RPT that lands is the one to upgrade.
    pub(crate) fn run_exchange(
        &mut self,
        client: &mut Client,
        mut grant: Grant,
        now: Instant,
    ) -> Out {
        match client.claim(&grant.key, self.id, now) {
            Claim::Granted => {
                self.hold(&grant.key);
                grant.rpt = self.rpt_to_upgrade(client, &grant.issuer);
                client.mark_upgrade(&grant.key, self.id, grant.rpt.as_ref().map(|r| r.entry));
            }
            Claim::Busy { until, seen } if self.counters.parks < client.config.max_parks => {
                self.counters.parks += 1;
                client.stats.parked += 1;
                // In line: the key comes to us when its runner releases it.
                client.enqueue(&grant.key, self.id);
                self.hold(&grant.key);
                let key = grant.key.clone();
                self.state = State::Parked {
                    key: key.clone(),
                    seen,
                    then: Box::new(AfterPark::Exchange(grant)),
                };
                return Step::Park { key, until };
            }
            // Waited often enough: exchange for an RPT of our own rather than starve. Upgrading the shared
            // one now would race the upgrade running.
            Claim::Busy { .. } => {
                self.release(client, &grant.key); // our place in line, if any
                grant.rpt = None;
            }
        }
        self.counters.flows += 1;
        let issuer = grant.issuer.clone();
        self.ensure_metadata_then(client, issuer, AfterDiscovery::Grant(grant), now, false)
    }

    /// The RPT an exchange run now upgrades: the one this request sent, or whatever replaced it while the
    /// request waited (an upgrade by another request revoked it), or the newest one when it sent none.
    pub(crate) fn rpt_to_upgrade(&self, client: &Client, issuer: &Issuer) -> Option<SentRpt> {
        let sent = self.sent_rpt.as_ref().filter(|s| &s.issuer == issuer);
        let set = client.rpt_set(&self.origin, &self.party);
        let entry = match sent {
            Some(sent) => set.and_then(|s| s.get(sent.entry)),
            None => None,
        };
        // After a cross-origin redirect only an RPT obtained within this request may be presented.
        let entry = match entry {
            Some(e) => Some(e),
            None if self.counters.crossed_origin => return sent.cloned(),
            None => set.and_then(|s| s.newest_of(issuer)),
        };
        entry.map(|e| SentRpt {
            entry: e.id,
            issuer: e.issuer.clone(),
            token: e.token.clone(),
        })
    }

    pub(crate) fn on_unpark(
        &mut self,
        client: &mut Client,
        key: ExchangeKey,
        seen: u64,
        then: AfterPark,
        now: Instant,
    ) -> Out {
        let request = self.request_line();
        match client.landing(&key, seen, &request, now) {
            Landing::Running(deadline) => {
                self.state = State::Parked {
                    key: key.clone(),
                    seen,
                    then: Box::new(then),
                };
                Step::Park {
                    key,
                    until: deadline,
                }
            }
            Landing::Failed(error) => self.fail(client, error),
            Landing::Settled => match then {
                AfterPark::Resend => self.send_resource(client, now, None),
                AfterPark::Exchange(grant) => self.run_exchange(client, grant, now),
                AfterPark::Continue(after) => {
                    let issuer = match &after {
                        AfterDiscovery::Grant(g) => g.issuer.clone(),
                        AfterDiscovery::Refresh {
                            target: RefreshTarget::Rpt { issuer, .. },
                            ..
                        }
                        | AfterDiscovery::Refresh {
                            target: RefreshTarget::Identity { issuer },
                            ..
                        } => issuer.clone(),
                    };
                    self.ensure_metadata_then(client, issuer, after, now, false)
                }
            },
        }
    }
}
