//! [`Login`]: obtaining the requesting party's own access token with an initial OAuth grant, so the
//! first protected request is one call away.

use std::time::Instant;

use crate::cache::{Identity, Party};
use crate::client::Client;
use crate::discovery::{self, Issuer};
use crate::error::{Error, Failure};
use crate::flow::{Machine, Outgoing, RequestId, RequestKind, Step};
use crate::grant::{self, TokenError};
use crate::secret::Password;

/// The initial grant.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum LoginGrant {
    /// `client_credentials`: the client is the requesting party.
    ClientCredentials {
        /// Requested scope.
        scope: Option<String>,
    },
    /// The resource-owner password grant (Keycloak's direct access grants, the EOEPCA demo client).
    Password {
        /// User name.
        username: String,
        /// Password.
        password: Password,
        /// Requested scope (`openid` also returns an ID token, a candidate claim token).
        scope: Option<String>,
    },
}

#[derive(Debug)]
enum LoginState {
    Idle,
    Discovery(u64),
    Token(u64),
    Done,
}

/// Logs a requesting party in at a trusted authorization server and stores the token in the [`Client`]
/// (see [`Client::identity`]). Drive it like a [`crate::Flow`]; it yields `()`.
#[derive(Debug)]
pub struct Login {
    issuer: Issuer,
    party: Party,
    grant: LoginGrant,
    state: LoginState,
    next: u64,
}

impl Login {
    /// A login of the default party at `issuer`.
    pub fn new(issuer: Issuer, grant: LoginGrant) -> Self {
        Self::for_party(issuer, grant, Party::default())
    }

    /// A login of `party` at `issuer`.
    pub fn for_party(issuer: Issuer, grant: LoginGrant, party: Party) -> Self {
        Self {
            issuer,
            party,
            grant,
            state: LoginState::Idle,
            next: 0,
        }
    }

    fn fail(&mut self, error: Error) -> Step<()> {
        self.state = LoginState::Done;
        Step::Failed(Failure {
            error,
            response: None,
        })
    }

    fn send_token(&mut self, client: &mut Client) -> Step<()> {
        let Some(server) = client.config().server(&self.issuer).cloned() else {
            return self.fail(Error::UntrustedAuthorizationServer {
                as_uri: self.issuer.as_str().to_owned(),
            });
        };
        let Some(endpoint) = client
            .metadata(&self.issuer)
            .map(|m| m.token_endpoint.clone())
        else {
            return self.fail(Error::InvalidRequest("no metadata for the issuer".into()));
        };
        let request = match &self.grant {
            LoginGrant::ClientCredentials { scope } => grant::client_credentials_request(
                &endpoint,
                &server.credentials,
                scope.as_deref(),
                &[],
            ),
            LoginGrant::Password {
                username,
                password,
                scope,
            } => grant::password_request(
                &endpoint,
                &server.credentials,
                username,
                password,
                scope.as_deref(),
                &[],
            ),
        };
        match request {
            Ok(request) => {
                self.next += 1;
                self.state = LoginState::Token(self.next);
                client.stats.token_requests += 1;
                Step::Send(Outgoing {
                    id: RequestId(self.next),
                    kind: RequestKind::Token,
                    request,
                })
            }
            Err(e) => self.fail(Error::Build(e)),
        }
    }
}

impl Machine for Login {
    type Output = ();

    fn start(&mut self, client: &mut Client, now: Instant) -> Step<()> {
        let policy = client.config().endpoint_policy;
        if !self.issuer.is_https() && !policy.allow_insecure_http {
            return self.fail(Error::InsecureAuthorizationServer {
                as_uri: self.issuer.as_str().to_owned(),
            });
        }
        if client.config().server(&self.issuer).is_none() {
            return self.fail(Error::UntrustedAuthorizationServer {
                as_uri: self.issuer.as_str().to_owned(),
            });
        }
        if client.fresh_metadata(&self.issuer, now).is_some() {
            return self.send_token(client);
        }
        let request = match client.config().discovery_for(&self.issuer) {
            Ok((request, _)) => request,
            Err(error) => {
                return self.fail(Error::Discovery {
                    issuer: self.issuer.as_str().to_owned(),
                    error,
                });
            }
        };
        self.next += 1;
        self.state = LoginState::Discovery(self.next);
        client.stats.discovery_requests += 1;
        Step::Send(Outgoing {
            id: RequestId(self.next),
            kind: RequestKind::Discovery,
            request,
        })
    }

    fn handle_response(
        &mut self,
        client: &mut Client,
        id: RequestId,
        response: http::Response<Vec<u8>>,
        now: Instant,
    ) -> Step<()> {
        match std::mem::replace(&mut self.state, LoginState::Idle) {
            LoginState::Discovery(expected) if expected == id.0 => {
                let policy = client.config().endpoint_policy;
                let expected = match client.config().discovery_for(&self.issuer) {
                    Ok((_, expected)) => expected,
                    Err(error) => {
                        return self.fail(Error::Discovery {
                            issuer: self.issuer.as_str().to_owned(),
                            error,
                        });
                    }
                };
                match discovery::parse_metadata(&expected, &response, &policy) {
                    Ok(metadata) => {
                        client.store_metadata(&self.issuer, metadata, now);
                        self.send_token(client)
                    }
                    Err(error) => self.fail(Error::Discovery {
                        issuer: self.issuer.as_str().to_owned(),
                        error,
                    }),
                }
            }
            LoginState::Token(expected) if expected == id.0 => {
                let issuer = self.issuer.as_str().to_owned();
                match grant::parse_token_response(&response) {
                    Ok(token) => {
                        client.set_identity(
                            self.party.clone(),
                            Identity {
                                access_token: token.access_token,
                                refresh_token: token.refresh_token,
                                expires_at: crate::cache::expiry(now, token.expires_in),
                                obtained_at: now,
                                issuer: Some(self.issuer.clone()),
                                id_token: token.id_token,
                            },
                        );
                        self.state = LoginState::Done;
                        Step::Done(())
                    }
                    Err(TokenError::Rejected(error)) => {
                        let error = Box::new(error);
                        self.fail(match error.outcome {
                            grant::Outcome::ClientAuthFailed => {
                                Error::ClientAuthentication { issuer, error }
                            }
                            _ => Error::TokenEndpoint { issuer, error },
                        })
                    }
                    Err(TokenError::Malformed { status, reason }) => {
                        self.fail(Error::MalformedTokenResponse {
                            issuer,
                            status,
                            reason,
                        })
                    }
                }
            }
            _ => self.fail(Error::InvalidRequest(
                "a response arrived for a request the login is not awaiting".into(),
            )),
        }
    }

    fn resume(&mut self, _client: &mut Client, _now: Instant) -> Step<()> {
        self.fail(Error::InvalidRequest("a login never waits".into()))
    }

    fn abort(&mut self, _client: &mut Client) {
        self.state = LoginState::Done;
    }
}
