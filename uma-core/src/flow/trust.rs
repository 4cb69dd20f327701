//! Choosing the authorization server a challenge names: only one the user trusts for this origin
//! (`docs/protocol.md` §8.3 step 5, §11.1). Nothing is sent anywhere before this passes.

use super::Flow;
use crate::challenge::UmaChallenge;
use crate::client::Client;
use crate::discovery::Issuer;
use crate::error::Error;
use crate::secret::Ticket;

impl Flow {
    /// Picks the first challenge whose authorization server the user trusts for this origin
    /// (docs/protocol.md §8.3 step 5, §11.1). Nothing is sent anywhere before this passes.
    pub(crate) fn choose_server(
        &self,
        client: &Client,
        candidates: &[UmaChallenge],
    ) -> Result<(Issuer, Ticket), Error> {
        let config = &client.config;
        let mut refusal = None;
        for candidate in candidates {
            let issuer = match &candidate.as_uri {
                Some(as_uri) => match Issuer::parse(as_uri) {
                    Ok(issuer) => issuer,
                    Err(_) => {
                        refusal.get_or_insert(Error::UntrustedAuthorizationServer {
                            as_uri: as_uri.clone(),
                        });
                        continue;
                    }
                },
                None => {
                    let configured = config
                        .issuer_for_origin
                        .iter()
                        .find(|(origin, _)| origin.trim_end_matches('/') == self.origin)
                        .map(|(_, issuer)| issuer.clone())
                        .or_else(|| {
                            config
                                .authorization_servers
                                .first()
                                .map(|s| s.issuer.clone())
                        });
                    match configured {
                        Some(issuer) => issuer,
                        None => {
                            refusal.get_or_insert(Error::NoAuthorizationServer);
                            continue;
                        }
                    }
                }
            };
            // After a cross-origin redirect the target is not an origin the program asked for: only an
            // authorization server that lists it explicitly may be used.
            let trusted = config.server(&issuer).is_some_and(|s| {
                s.serves_origin(&self.origin)
                    && (!self.counters.crossed_origin || s.resource_origins.is_some())
            });
            if !trusted {
                refusal.get_or_insert(Error::UntrustedAuthorizationServer {
                    as_uri: issuer.as_str().to_owned(),
                });
                continue;
            }
            if !issuer.is_https() && !config.endpoint_policy.allow_insecure_http {
                refusal.get_or_insert(Error::InsecureAuthorizationServer {
                    as_uri: issuer.as_str().to_owned(),
                });
                continue;
            }
            return Ok((issuer, candidate.ticket.clone()));
        }
        Err(refusal.unwrap_or(Error::NoAuthorizationServer))
    }
}
