//! [`Login`]: obtaining the requesting party's own access token with an initial OAuth grant, so the
//! first protected request is one call away.

use std::time::Instant;

use url::Url;

use super::oneshot::TokenCall;
use crate::cache::{Identity, Party};
use crate::client::Client;
use crate::config::AuthorizationServer;
use crate::discovery::Issuer;
use crate::grant::{self, BuildError};
use crate::machine::{Machine, RequestId, Step};
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

/// Logs a requesting party in at a trusted authorization server and stores the token in the [`Client`]
/// (see [`Client::identity`]). Drive it like a [`crate::Flow`]; it yields `()`.
#[derive(Debug)]
pub struct Login {
    call: TokenCall,
    party: Party,
    grant: LoginGrant,
}

impl Login {
    /// A login of the default party at `issuer`.
    pub fn new(issuer: Issuer, grant: LoginGrant) -> Self {
        Self::for_party(issuer, grant, Party::default())
    }

    /// The default party's resource-owner password login at `issuer`, asking for `scope` (`openid` also
    /// returns an ID token).
    pub fn password(
        issuer: &Issuer,
        username: &str,
        password: impl Into<Password>,
        scope: Option<&str>,
    ) -> Self {
        let grant = LoginGrant::Password {
            username: username.to_owned(),
            password: password.into(),
            scope: scope.map(str::to_owned),
        };
        Self::new(issuer.clone(), grant)
    }

    /// A token for the client itself (`client_credentials`) as the default party, asking for `scope`.
    pub fn client_credentials(issuer: &Issuer, scope: Option<&str>) -> Self {
        let grant = LoginGrant::ClientCredentials {
            scope: scope.map(str::to_owned),
        };
        Self::new(issuer.clone(), grant)
    }

    /// A login of `party` at `issuer`.
    pub fn for_party(issuer: Issuer, grant: LoginGrant, party: Party) -> Self {
        Self {
            call: TokenCall::new(issuer),
            party,
            grant,
        }
    }
}

/// The login request, once the token endpoint is known.
fn build(
    grant: &LoginGrant,
) -> impl Fn(&Client, &AuthorizationServer, &Url) -> Result<http::Request<Vec<u8>>, BuildError> + '_
{
    move |_, server, endpoint| match grant {
        LoginGrant::ClientCredentials { scope } => {
            grant::client_credentials_request(endpoint, &server.credentials, scope.as_deref(), &[])
        }
        LoginGrant::Password {
            username,
            password,
            scope,
        } => grant::password_request(
            endpoint,
            &server.credentials,
            username,
            password,
            scope.as_deref(),
            &[],
        ),
    }
}

impl Machine for Login {
    type Output = ();

    fn start(&mut self, client: &mut Client, now: Instant) -> Step<()> {
        self.call.start(client, now, &build(&self.grant))
    }

    fn handle_response(
        &mut self,
        client: &mut Client,
        id: RequestId,
        response: http::Response<Vec<u8>>,
        now: Instant,
    ) -> Step<()> {
        let answer = match self
            .call
            .handle_response(client, id, response, now, &build(&self.grant))
        {
            Step::Done(answer) => answer,
            other => return map_step(other),
        };
        match grant::parse_token_response(&answer) {
            Ok(token) => {
                client.set_identity(
                    self.party.clone(),
                    Identity {
                        access_token: token.access_token,
                        refresh_token: token.refresh_token,
                        expires_at: crate::cache::expiry(now, token.expires_in),
                        obtained_at: now,
                        issuer: Some(self.call.issuer.clone()),
                        id_token: token.id_token,
                    },
                );
                Step::Done(())
            }
            Err(grant::TokenError::Rejected(mut error))
                if error.outcome == grant::Outcome::DeadTicket
                    || error.code.eq_ignore_ascii_case("invalid_grant") =>
            {
                // `invalid_grant` to a login is about the user's credentials (Keycloak: 401 up to 26.5,
                // 400 since 26.6): there is no ticket or bearer token here.
                error.outcome = grant::Outcome::LoginRefused;
                let error = crate::Error::LoginRefused {
                    issuer: self.call.issuer.as_str().to_owned(),
                    error: Box::new(error),
                };
                self.call.fail(error)
            }
            Err(error) => {
                let error = self.call.token_error(error);
                self.call.fail(error)
            }
        }
    }

    fn resume(&mut self, _client: &mut Client, _now: Instant) -> Step<()> {
        self.call
            .fail(crate::Error::InvalidRequest("a login never waits".into()))
    }

    fn abort(&mut self, _client: &mut Client) {
        self.call.abort();
    }
}

/// Re-types a step that is not `Done` (those carry no value).
pub(crate) fn map_step<T>(step: Step<http::Response<Vec<u8>>>) -> Step<T> {
    match step {
        Step::Send(out) => Step::Send(out),
        Step::Wait { until } => Step::Wait { until },
        Step::Park { key, until } => Step::Park { key, until },
        Step::Failed(failure) => Step::Failed(failure),
        Step::Done(_) => Step::Failed(crate::Failure {
            error: crate::Error::InvalidRequest("unexpected end of a token call".into()),
            response: None,
        }),
    }
}
