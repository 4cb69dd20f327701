//! Herd control from a flow's side: claim an exchange or park behind the flow running it, and go on
//! when it lands.

use std::time::Instant;

use super::{AfterDiscovery, AfterPark, Flow, RefreshTarget, State, Step};
use crate::cache::ExchangeKey;
use crate::client::{Claim, Client, Landing};

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
                    then,
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
            then: AfterPark::Resend,
        };
        Some(Step::Park {
            key: key.clone(),
            until,
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
                    then,
                };
                Step::Park {
                    key,
                    until: deadline,
                }
            }
            Landing::Failed(error) => self.fail(client, error),
            Landing::Settled => match then {
                AfterPark::Resend => self.send_resource(client, now, None),
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
