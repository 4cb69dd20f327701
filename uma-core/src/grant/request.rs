//! Token-endpoint request builders.

use crate::auth::{AuthError, ClientAuthMethod, ClientCredentials, FormRequest};
use crate::secret::{AccessToken, ClaimToken, Password, Pct, RefreshToken, Ticket};

use super::UMA_TICKET_GRANT;

/// Parameter names the builders set themselves. Passing one in `extra` is an error rather than a second copy
/// on the wire (an AS may read either the first or the last).
pub const RESERVED_PARAMETERS: &[&str] = &[
    "grant_type",
    "ticket",
    "rpt",
    "pct",
    "claim_token",
    "claim_token_format",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "refresh_token",
    "username",
    "password",
];

/// A claim token pushed to the AS (UMAG §3.3.1; `docs/protocol.md` §5.1).
#[derive(Clone, Debug)]
pub struct PushedClaim {
    /// The claim token, e.g. an ID token.
    pub token: ClaimToken,
    /// Its format, e.g. [`ID_TOKEN_FORMAT`](super::ID_TOKEN_FORMAT).
    pub format: String,
}

impl PushedClaim {
    /// An OpenID Connect ID token pushed in the [`ID_TOKEN_FORMAT`](super::ID_TOKEN_FORMAT).
    pub fn id_token(token: ClaimToken) -> Self {
        Self {
            token,
            format: super::ID_TOKEN_FORMAT.to_owned(),
        }
    }
}

/// One uma-ticket grant request (UMAG §3.3.1).
///
/// `extra` carries user parameters such as Keycloak's `audience`, `permission`, `submit_request`,
/// `response_mode` or EOEPCA's `scope=openid`; a name from [`RESERVED_PARAMETERS`] (or `scope` when
/// [`UmaGrant::scope`] is set) is an error.
#[derive(Clone, Copy, Debug, Default)]
pub struct UmaGrant<'a> {
    /// The most recent permission ticket (Keycloak accepts none, §2.9).
    pub ticket: Option<&'a Ticket>,
    /// An RPT to upgrade (§6).
    pub rpt: Option<&'a AccessToken>,
    /// A persisted claims token for this requesting party (§5.4).
    pub pct: Option<&'a Pct>,
    /// A pushed claim token.
    pub claim: Option<&'a PushedClaim>,
    /// Space-separated extra scopes (UMAG §3.3.4).
    pub scope: Option<&'a str>,
    /// Further parameters, in order.
    pub extra: &'a [(String, String)],
}

/// Why a request could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Client authentication could not be added.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// `extra` names a parameter the builder sets itself.
    #[error(
        "parameter {0:?} is set by the request builder and cannot be passed as an extra parameter"
    )]
    ReservedParameter(String),
    /// A Keycloak permission cannot be written unambiguously (§3.2).
    #[error("invalid Keycloak permission: {0}")]
    InvalidPermission(&'static str),
    /// The endpoint URL cannot be used as an HTTP request target.
    #[error("the endpoint URL cannot be used as an HTTP request target")]
    InvalidUrl,
}

/// A Keycloak permission request (`docs/protocol.md` §3.2): renders as `res#a,b`, `#a` or `res`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeycloakPermission {
    /// The resource id (preferred) or name; `None` means any resource with the scopes.
    pub resource: Option<String>,
    /// Scope names; empty means all scopes of the resource.
    pub scopes: Vec<String>,
}

impl KeycloakPermission {
    /// The `permission` parameter value. Refuses what Keycloak's parser would split wrongly: a `#` in the
    /// resource, a `#` or `,` in a scope, an empty scope, or neither resource nor scope.
    pub fn render(&self) -> Result<String, BuildError> {
        let resource = self.resource.as_deref().unwrap_or("");
        if resource.contains('#') {
            return Err(BuildError::InvalidPermission("resource contains '#'"));
        }
        if self.scopes.iter().any(|s| s.is_empty()) {
            return Err(BuildError::InvalidPermission("empty scope name"));
        }
        if self.scopes.iter().any(|s| s.contains([',', '#'])) {
            return Err(BuildError::InvalidPermission("scope contains ',' or '#'"));
        }
        match (resource.is_empty(), self.scopes.is_empty()) {
            (true, true) => Err(BuildError::InvalidPermission("neither resource nor scope")),
            (false, true) => Ok(resource.to_owned()),
            _ => Ok(format!("{resource}#{}", self.scopes.join(","))),
        }
    }
}

/// Keycloak's `response_mode` (§2.9).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ResponseMode {
    /// An RPT (the parameter is omitted).
    #[default]
    Token,
    /// `decision`: `{"result":true}`; parse with [`parse_decision`](super::parse_decision).
    Decision,
    /// `permissions`: the granted permissions; parse with [`parse_permissions`](super::parse_permissions).
    Permissions,
}

/// Builds an uma-ticket grant request: `POST` form with `grant_type`, `ticket`, `claim_token`,
/// `claim_token_format`, `pct`, `rpt` (the UMAG §3.3.1 order), then the client authentication, `scope`
/// and `extra`. `bearer` is the requesting party's token, used only by
/// [`ClientAuthMethod::RequestingPartyBearer`] (Keycloak, §2.5 d).
///
/// ```
/// use uma_core::ClientCredentials;
/// use uma_core::grant::{uma_grant_request, UmaGrant};
/// use uma_core::secret::Ticket;
///
/// let endpoint = url::Url::parse("https://as.example.org/token").unwrap();
/// let client = ClientCredentials::basic("s6BhdRkqt3", "gX1fBat3bV");
/// let ticket = Ticket::new("016f84e8-f9b9-11e0-bd6f-0021cc6004de");
/// let grant = UmaGrant { ticket: Some(&ticket), ..UmaGrant::default() };
/// let req = uma_grant_request(&endpoint, &client, None, &grant).unwrap();
/// assert_eq!(req.headers()["authorization"], "Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW");
/// assert_eq!(
///     req.body().as_slice(),
///     b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Auma-ticket\
///       &ticket=016f84e8-f9b9-11e0-bd6f-0021cc6004de"
/// );
/// ```
pub fn uma_grant_request(
    token_endpoint: &url::Url,
    client: &ClientCredentials,
    bearer: Option<&AccessToken>,
    grant: &UmaGrant<'_>,
) -> Result<http::Request<Vec<u8>>, BuildError> {
    check_extra(grant.extra, &[], grant.scope.is_some())?;
    let mut form = FormRequest::new();
    form.push("grant_type", UMA_TICKET_GRANT);
    if let Some(ticket) = grant.ticket {
        form.push("ticket", ticket.secret());
    }
    push_claim(&mut form, grant.claim);
    if let Some(pct) = grant.pct {
        form.push("pct", pct.secret());
    }
    if let Some(rpt) = grant.rpt {
        form.push("rpt", rpt.secret());
    }
    client.apply(bearer, &mut form)?;
    finish(form, grant.scope, grant.extra, token_endpoint)
}

/// Builds Keycloak's ticketless uma-ticket request (§2.9): `audience`, one `permission` per entry (none means
/// "everything the user may access"), `response_mode` unless [`ResponseMode::Token`], an optional pushed
/// claim, then client authentication and `extra`.
///
/// ```
/// use uma_core::ClientCredentials;
/// use uma_core::grant::{ticketless_request, KeycloakPermission, ResponseMode};
/// use uma_core::secret::AccessToken;
///
/// let endpoint = url::Url::parse("https://kc.example.org/realms/r/protocol/openid-connect/token").unwrap();
/// let user = AccessToken::new("user-token");
/// let perms = [KeycloakPermission { resource: Some("Resource A".into()), scopes: vec!["view".into()] }];
/// let req = ticketless_request(&endpoint, &ClientCredentials::bearer("app"), Some(&user), "my-rs",
///     &perms, ResponseMode::Decision, None, &[]).unwrap();
/// assert_eq!(req.headers()["authorization"], "Bearer user-token");
/// assert!(req.body().ends_with(b"&audience=my-rs&permission=Resource+A%23view&response_mode=decision"));
/// ```
#[allow(clippy::too_many_arguments)] // Mirrors the wire parameters one to one.
pub fn ticketless_request(
    token_endpoint: &url::Url,
    client: &ClientCredentials,
    bearer: Option<&AccessToken>,
    audience: &str,
    permissions: &[KeycloakPermission],
    mode: ResponseMode,
    claim: Option<&PushedClaim>,
    extra: &[(String, String)],
) -> Result<http::Request<Vec<u8>>, BuildError> {
    check_extra(extra, &["audience", "permission", "response_mode"], false)?;
    let mut form = FormRequest::new();
    form.push("grant_type", UMA_TICKET_GRANT);
    form.push("audience", audience);
    for permission in permissions {
        form.push("permission", &permission.render()?);
    }
    match mode {
        ResponseMode::Token => {}
        ResponseMode::Decision => form.push("response_mode", "decision"),
        ResponseMode::Permissions => form.push("response_mode", "permissions"),
    }
    push_claim(&mut form, claim);
    client.apply(bearer, &mut form)?;
    finish(form, None, extra, token_endpoint)
}

/// Builds a `refresh_token` grant (RFC 6749 §6; `docs/protocol.md` §7). With the bearer client-auth method
/// the client authenticates as a public client (`client_id` in the body): the refresh token itself is the
/// credential and the user's access token may be the very thing that expired.
///
/// ```
/// use uma_core::ClientCredentials;
/// use uma_core::grant::refresh_request;
/// use uma_core::secret::RefreshToken;
///
/// let endpoint = url::Url::parse("https://as.example.org/token").unwrap();
/// let req = refresh_request(&endpoint, &ClientCredentials::post("app", "s3cret"),
///     &RefreshToken::new("rt"), None).unwrap();
/// assert_eq!(req.body().as_slice(),
///     b"grant_type=refresh_token&refresh_token=rt&client_id=app&client_secret=s3cret");
/// ```
pub fn refresh_request(
    token_endpoint: &url::Url,
    client: &ClientCredentials,
    refresh_token: &RefreshToken,
    scope: Option<&str>,
) -> Result<http::Request<Vec<u8>>, BuildError> {
    let mut form = FormRequest::new();
    form.push("grant_type", "refresh_token");
    form.push("refresh_token", refresh_token.secret());
    public_if_bearer(client).apply(None, &mut form)?;
    finish(form, scope, &[], token_endpoint)
}

/// Builds a `client_credentials` grant (RFC 6749 §4.4), e.g. for a PAT with `scope=uma_protection`.
pub fn client_credentials_request(
    token_endpoint: &url::Url,
    client: &ClientCredentials,
    scope: Option<&str>,
    extra: &[(String, String)],
) -> Result<http::Request<Vec<u8>>, BuildError> {
    check_extra(extra, &[], scope.is_some())?;
    let mut form = FormRequest::new();
    form.push("grant_type", "client_credentials");
    // A bearer client with a secret authenticates with it; without one there is no client credential to
    // offer here and `apply` reports the missing token.
    let client = if client.client_secret.is_some() {
        public_if_bearer(client)
    } else {
        client.clone()
    };
    client.apply(None, &mut form)?;
    finish(form, scope, extra, token_endpoint)
}

/// Builds a resource-owner `password` grant (RFC 6749 §4.3). With the bearer client-auth method the client
/// authenticates as a public client, as for refresh.
pub fn password_request(
    token_endpoint: &url::Url,
    client: &ClientCredentials,
    username: &str,
    password: &Password,
    scope: Option<&str>,
    extra: &[(String, String)],
) -> Result<http::Request<Vec<u8>>, BuildError> {
    check_extra(extra, &[], scope.is_some())?;
    let mut form = FormRequest::new();
    form.push("grant_type", "password");
    form.push("username", username);
    form.push("password", password.secret());
    public_if_bearer(client).apply(None, &mut form)?;
    finish(form, scope, extra, token_endpoint)
}

/// How a client that presents the user's token at the uma-ticket grant authenticates its own grants
/// (login, refresh, client credentials): with its secret over Basic when it has one (a confidential
/// Keycloak client), else as a public client.
fn public_if_bearer(client: &ClientCredentials) -> ClientCredentials {
    if client.method != ClientAuthMethod::RequestingPartyBearer {
        return client.clone();
    }
    match &client.client_secret {
        Some(secret) => ClientCredentials::basic(client.client_id.clone(), secret.clone()),
        None => ClientCredentials::public(client.client_id.clone()),
    }
}

fn push_claim(form: &mut FormRequest, claim: Option<&PushedClaim>) {
    if let Some(claim) = claim {
        form.push("claim_token", claim.token.secret());
        form.push("claim_token_format", &claim.format);
    }
}

fn check_extra(
    extra: &[(String, String)],
    also_reserved: &[&str],
    scope_set: bool,
) -> Result<(), BuildError> {
    for (name, _) in extra {
        let reserved = RESERVED_PARAMETERS.contains(&name.as_str())
            || also_reserved.contains(&name.as_str())
            || (scope_set && name == "scope");
        if reserved {
            return Err(BuildError::ReservedParameter(name.clone()));
        }
    }
    Ok(())
}

fn finish(
    mut form: FormRequest,
    scope: Option<&str>,
    extra: &[(String, String)],
    url: &url::Url,
) -> Result<http::Request<Vec<u8>>, BuildError> {
    if let Some(scope) = scope {
        form.push("scope", scope);
    }
    for (name, value) in extra {
        form.push(name, value);
    }
    form.into_request(url).map_err(|_| BuildError::InvalidUrl)
}
