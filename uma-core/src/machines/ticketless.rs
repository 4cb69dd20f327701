//! [`KeycloakPermissions`]: Keycloak's ticketless uma-ticket grant (`docs/protocol.md` §2.9): ask for an RPT
//! (or a decision, or the granted permissions) for a resource server by its client id, before any
//! challenge — one round trip less per new resource when the permissions are known in advance.

use std::time::Instant;

use url::Url;

use super::login::map_step;
use super::oneshot::TokenCall;
use crate::cache::{Party, RptEntry, expiry};
use crate::client::Client;
use crate::config::AuthorizationServer;
use crate::discovery::Issuer;
use crate::flow::origin_of;
use crate::grant::{self, BuildError, GrantedPermission, KeycloakPermission, ResponseMode};
use crate::machine::{Machine, RequestId, Step};

/// What the authorization server answered.
#[derive(Debug)]
#[non_exhaustive]
pub enum PermissionsAnswer {
    /// An RPT was issued and cached for the resource server's origin (mode [`ResponseMode::Token`]).
    RptCached,
    /// `response_mode=decision`: whether every permission asked for is granted (a denial is an error).
    Decision(bool),
    /// `response_mode=permissions`: what is granted.
    Permissions(Vec<GrantedPermission>),
}

/// The request: which resource server (`audience`, its client id at Keycloak) and which permissions
/// (none = everything the requesting party may access there).
#[derive(Debug)]
pub struct KeycloakPermissions {
    call: TokenCall,
    party: Party,
    audience: String,
    permissions: Vec<KeycloakPermission>,
    mode: ResponseMode,
    resource_origin: Option<String>,
}

impl KeycloakPermissions {
    /// Asks `issuer` for an RPT for the resource server `audience`, to be cached for the origin of
    /// `resource_server_url` (where it will be presented).
    pub fn rpt(
        issuer: Issuer,
        audience: impl Into<String>,
        permissions: Vec<KeycloakPermission>,
        resource_server_url: &str,
    ) -> Self {
        let origin = resource_server_url
            .parse::<http::Uri>()
            .ok()
            .and_then(|u| origin_of(&u));
        Self {
            call: TokenCall::new(issuer),
            party: Party::default(),
            audience: audience.into(),
            permissions,
            mode: ResponseMode::Token,
            // An unusable URL leaves the origin unknown; `start` refuses it.
            resource_origin: Some(origin.unwrap_or_default()),
        }
    }

    /// Asks only whether the permissions are granted (`Decision`) or which are (`Permissions`).
    pub fn query(
        issuer: Issuer,
        audience: impl Into<String>,
        permissions: Vec<KeycloakPermission>,
        mode: ResponseMode,
    ) -> Self {
        Self {
            call: TokenCall::new(issuer),
            party: Party::default(),
            audience: audience.into(),
            permissions,
            mode,
            resource_origin: None,
        }
    }

    /// On behalf of `party` (its access token authenticates the request with the bearer method).
    pub fn for_party(mut self, party: Party) -> Self {
        self.party = party;
        self
    }
}

/// What the request builder needs: everything but the call state.
struct Ask<'a> {
    party: &'a Party,
    audience: &'a str,
    permissions: &'a [KeycloakPermission],
    mode: ResponseMode,
}

/// The ticketless request, once the token endpoint is known.
fn build<'a>(
    ask: Ask<'a>,
) -> impl Fn(&Client, &AuthorizationServer, &Url) -> Result<http::Request<Vec<u8>>, BuildError> + 'a
{
    move |client, server, endpoint| {
        // The requesting party's own token, never one from another issuer (docs/protocol.md §11.3).
        let bearer = client
            .identity(ask.party)
            .filter(|i| i.issuer.as_ref().is_none_or(|own| own == &server.issuer))
            .map(|i| i.access_token.clone());
        grant::ticketless_request(
            endpoint,
            &server.credentials,
            bearer.as_ref(),
            ask.audience,
            ask.permissions,
            ask.mode,
            // Keycloak refuses claims from a public client without a ticket; push only as the identity.
            server.claim.as_ref().filter(|_| bearer.is_none()),
            &[],
        )
    }
}

/// Splits the request into its call state and what the builder reads.
fn split(request: &mut KeycloakPermissions) -> (&mut TokenCall, Ask<'_>) {
    let KeycloakPermissions {
        call,
        party,
        audience,
        permissions,
        mode,
        ..
    } = request;
    (
        call,
        Ask {
            party,
            audience,
            permissions,
            mode: *mode,
        },
    )
}

impl Machine for KeycloakPermissions {
    type Output = PermissionsAnswer;

    fn start(&mut self, client: &mut Client, now: Instant) -> Step<PermissionsAnswer> {
        if self.mode == ResponseMode::Token
            && self.resource_origin.as_deref().is_none_or(str::is_empty)
        {
            return self.call.fail(crate::Error::InvalidRequest(
                "the resource server URL is not an absolute http(s) URL".into(),
            ));
        }
        let (call, ask) = split(self);
        call.start(client, now, &build(ask))
    }

    fn handle_response(
        &mut self,
        client: &mut Client,
        id: RequestId,
        response: http::Response<Vec<u8>>,
        now: Instant,
    ) -> Step<PermissionsAnswer> {
        let answer = {
            let (call, ask) = split(self);
            match call.handle_response(client, id, response, now, &build(ask)) {
                Step::Done(answer) => answer,
                other => return map_step(other),
            }
        };
        let result = match self.mode {
            ResponseMode::Decision => {
                grant::parse_decision(&answer).map(PermissionsAnswer::Decision)
            }
            ResponseMode::Permissions => {
                grant::parse_permissions(&answer).map(PermissionsAnswer::Permissions)
            }
            ResponseMode::Token => grant::parse_token_response(&answer).map(|token| {
                let id = client.new_rpt_id();
                let entry = RptEntry {
                    id,
                    issuer: self.call.issuer.clone(),
                    token: token.access_token,
                    refresh_token: token.refresh_token,
                    obtained_at: now,
                    expires_at: expiry(now, token.expires_in),
                    refreshed: false,
                };
                let origin = self.resource_origin.clone().unwrap_or_default();
                client.insert_rpt(&origin, &self.party, entry, None);
                PermissionsAnswer::RptCached
            }),
        };
        match result {
            Ok(answer) => Step::Done(answer),
            Err(error) => {
                let error = self.call.token_error(error);
                self.call.fail(error)
            }
        }
    }

    fn resume(&mut self, _client: &mut Client, _now: Instant) -> Step<PermissionsAnswer> {
        self.call.fail(crate::Error::InvalidRequest(
            "a permission request never waits".into(),
        ))
    }

    fn abort(&mut self, _client: &mut Client) {
        self.call.abort();
    }
}
