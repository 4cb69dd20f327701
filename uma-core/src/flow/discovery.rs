//! The discovery state: fetching an issuer's metadata (one discovery per herd) before a grant or a
//! refresh that needs its token endpoint.

use std::time::Instant;

use super::{AfterDiscovery, AfterPark, Flow, Outgoing, RequestId, RequestKind, State, Step};
use crate::cache::ExchangeKey;
use crate::client::Client;
use crate::discovery::{self, Issuer};
use crate::error::Error;

type Out = Step<http::Response<Vec<u8>>>;

impl Flow {
    /// Runs `then` once `issuer`'s metadata is known, discovering it first (one discovery per herd).
    /// With `claim_first`, the exchange key of `then` is claimed (or waited on) before anything else.
    pub(crate) fn ensure_metadata_then(
        &mut self,
        client: &mut Client,
        issuer: Issuer,
        then: AfterDiscovery,
        now: Instant,
        claim_first: bool,
    ) -> Out {
        if claim_first {
            let key = match &then {
                AfterDiscovery::Grant(g) => g.key.clone(),
                AfterDiscovery::Refresh { key, .. } => key.clone(),
            };
            if let Some(step) = self.claim_or_park(client, &key, AfterPark::Resend, now) {
                return step;
            }
        }
        if client.fresh_metadata(&issuer, now).is_some() {
            return self.proceed(client, then, now);
        }
        let key = ExchangeKey::Discovery(issuer.clone());
        if let Some(step) = self.claim_or_park(client, &key, AfterPark::Continue(then.clone()), now)
        {
            return step;
        }
        let request = match client.config.discovery_for(&issuer) {
            Ok((request, _)) => request,
            Err(error) => {
                let issuer = issuer.as_str().to_owned();
                return self.fail(client, Error::Discovery { issuer, error });
            }
        };
        let id = self.next_id();
        self.state = State::Discovery { id, issuer, then };
        client.stats.discovery_requests += 1;
        Step::Send(Outgoing {
            id: RequestId(id),
            kind: RequestKind::Discovery,
            attach_body: false,
            request,
        })
    }

    fn proceed(&mut self, client: &mut Client, then: AfterDiscovery, now: Instant) -> Out {
        match then {
            AfterDiscovery::Grant(grant) => self.send_grant(client, grant, now),
            AfterDiscovery::Refresh { key, target } => self.send_refresh(client, key, target, now),
        }
    }

    pub(crate) fn on_discovery(
        &mut self,
        client: &mut Client,
        issuer: Issuer,
        then: AfterDiscovery,
        response: http::Response<Vec<u8>>,
        now: Instant,
    ) -> Out {
        let expected = match client.config.discovery_for(&issuer) {
            Ok((_, expected)) => expected,
            Err(error) => {
                let issuer = issuer.as_str().to_owned();
                return self.fail(client, Error::Discovery { issuer, error });
            }
        };
        match discovery::parse_metadata(&expected, &response, &client.config.endpoint_policy) {
            Ok(metadata) => {
                client.store_metadata(&issuer, metadata, now);
                self.release(client, &ExchangeKey::Discovery(issuer));
                self.proceed(client, then, now)
            }
            Err(error) => self.fail(
                client,
                Error::Discovery {
                    issuer: issuer.as_str().to_owned(),
                    error,
                },
            ),
        }
    }
}
