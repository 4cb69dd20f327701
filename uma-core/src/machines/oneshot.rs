//! One token-endpoint call at a trusted authorization server, after discovery if its metadata is not
//! cached: the engine under [`crate::Login`] and [`crate::KeycloakPermissions`].

use std::time::Instant;

use url::Url;

use crate::client::Client;
use crate::config::AuthorizationServer;
use crate::discovery::{self, Issuer};
use crate::error::{Error, Failure};
use crate::grant::{self, BuildError, TokenError, UmaError};
use crate::machine::{Outgoing, RequestId, RequestKind, Step};

#[derive(Debug)]
enum CallState {
    Idle,
    Discovery(u64),
    Token(u64),
    Done,
}

/// Builds the token-endpoint request once the endpoint is known.
pub(crate) type Build<'a> =
    &'a dyn Fn(&Client, &AuthorizationServer, &Url) -> Result<http::Request<Vec<u8>>, BuildError>;

/// Discovery (when needed), then one token-endpoint request whose raw answer is handed back in `Done`.
#[derive(Debug)]
pub(crate) struct TokenCall {
    pub issuer: Issuer,
    state: CallState,
    next: u64,
}

impl TokenCall {
    pub fn new(issuer: Issuer) -> Self {
        Self {
            issuer,
            state: CallState::Idle,
            next: 0,
        }
    }

    pub fn fail<T>(&mut self, error: Error) -> Step<T> {
        self.state = CallState::Done;
        Step::Failed(Failure {
            error,
            response: None,
        })
    }

    fn issuer_name(&self) -> String {
        self.issuer.as_str().to_owned()
    }

    fn send_token<T>(&mut self, client: &mut Client, build: Build<'_>) -> Step<T> {
        let Some(server) = client.config().server(&self.issuer).cloned() else {
            return self.fail(Error::UntrustedAuthorizationServer {
                as_uri: self.issuer_name(),
            });
        };
        let Some(endpoint) = client
            .metadata(&self.issuer)
            .map(|m| m.token_endpoint.clone())
        else {
            return self.fail(Error::InvalidRequest("no metadata for the issuer".into()));
        };
        match build(client, &server, &endpoint) {
            Ok(request) => {
                self.next += 1;
                self.state = CallState::Token(self.next);
                client.stats.token_requests += 1;
                Step::Send(Outgoing {
                    id: RequestId(self.next),
                    kind: RequestKind::Token,
                    attach_body: false,
                    request,
                })
            }
            Err(e) => self.fail(Error::Build(e)),
        }
    }

    pub fn start<T>(&mut self, client: &mut Client, now: Instant, build: Build<'_>) -> Step<T> {
        let policy = client.config().endpoint_policy;
        if !self.issuer.is_https() && !policy.allow_insecure_http {
            return self.fail(Error::InsecureAuthorizationServer {
                as_uri: self.issuer_name(),
            });
        }
        if client.config().server(&self.issuer).is_none() {
            return self.fail(Error::UntrustedAuthorizationServer {
                as_uri: self.issuer_name(),
            });
        }
        if client.fresh_metadata(&self.issuer, now).is_some() {
            return self.send_token(client, build);
        }
        let request = match client.config().discovery_for(&self.issuer) {
            Ok((request, _)) => request,
            Err(error) => {
                return self.fail(Error::Discovery {
                    issuer: self.issuer_name(),
                    error,
                });
            }
        };
        self.next += 1;
        self.state = CallState::Discovery(self.next);
        client.stats.discovery_requests += 1;
        Step::Send(Outgoing {
            id: RequestId(self.next),
            kind: RequestKind::Discovery,
            attach_body: false,
            request,
        })
    }

    /// `Done(response)` carries the token endpoint's answer, unparsed.
    pub fn handle_response(
        &mut self,
        client: &mut Client,
        id: RequestId,
        response: http::Response<Vec<u8>>,
        now: Instant,
        build: Build<'_>,
    ) -> Step<http::Response<Vec<u8>>> {
        match std::mem::replace(&mut self.state, CallState::Idle) {
            CallState::Discovery(expected) if expected == id.0 => {
                let policy = client.config().endpoint_policy;
                let checked =
                    client
                        .config()
                        .discovery_for(&self.issuer)
                        .and_then(|(_, expected)| {
                            discovery::parse_metadata(&expected, &response, &policy)
                        });
                match checked {
                    Ok(metadata) => {
                        client.store_metadata(&self.issuer.clone(), metadata, now);
                        self.send_token(client, build)
                    }
                    Err(error) => self.fail(Error::Discovery {
                        issuer: self.issuer_name(),
                        error,
                    }),
                }
            }
            CallState::Token(expected) if expected == id.0 => {
                self.state = CallState::Done;
                Step::Done(response)
            }
            _ => self.fail(Error::InvalidRequest(
                "a response arrived for a request not awaited".into(),
            )),
        }
    }

    pub fn abort(&mut self) {
        self.state = CallState::Done;
    }

    /// The typed error for a token-endpoint answer that is not a success.
    pub fn token_error(&self, error: TokenError) -> Error {
        let issuer = self.issuer_name();
        match error {
            TokenError::Rejected(error) => rejected(issuer, Box::new(error)),
            TokenError::Malformed { status, reason } => Error::MalformedTokenResponse {
                issuer,
                status,
                reason,
            },
        }
    }
}

fn rejected(issuer: String, error: Box<UmaError>) -> Error {
    match error.outcome {
        grant::Outcome::ClientAuthFailed => Error::ClientAuthentication { issuer, error },
        grant::Outcome::Denied => Error::Denied { issuer, error },
        grant::Outcome::RequestSubmitted => Error::Denied { issuer, error },
        _ => Error::TokenEndpoint { issuer, error },
    }
}
