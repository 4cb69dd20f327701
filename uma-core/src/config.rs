//! What the user tells the client: which authorization servers to trust, with which credentials, and the
//! bounds every loop runs under.

use std::time::Duration;

use http::HeaderMap;

use crate::auth::ClientCredentials;
use crate::challenge::Strictness;
use crate::discovery::{DiscoveryError, EndpointPolicy, Issuer};
use crate::grant::PushedClaim;

/// One authorization server the user trusts, and the client's registration there.
///
/// Credentials are bound to the issuer (`docs/protocol.md` §11.3): they are only ever sent to the token
/// endpoint that this issuer's validated metadata names.
#[derive(Clone, Debug)]
pub struct AuthorizationServer {
    /// The issuer, as the resource server's challenge names it in `as_uri`.
    pub issuer: Issuer,
    /// The client's registration at this server.
    pub credentials: ClientCredentials,
    /// Resource-server origins (`scheme://host:port`) allowed to send the client here. `None` means any
    /// origin the program requests may name this issuer (the issuer itself is still allow-listed).
    pub resource_origins: Option<Vec<String>>,
    /// A claim token (e.g. an OpenID Connect ID token) to push to this server.
    pub claim: Option<PushedClaim>,
    /// Extra token-endpoint parameters for RPT requests to this server (e.g. Keycloak's `audience`).
    pub rpt_params: Vec<(String, String)>,
    /// `scope` parameter for RPT requests to this server (UMAG §3.3.1).
    pub scope: Option<String>,
    /// Where the metadata lives and which `issuer` it names, when that is not `issuer` itself (PingAM
    /// serves it under `/am/uma/…` while naming `/am/oauth2/…`, `docs/protocol.md` §10.4). The check stays
    /// strict: the document must name exactly `expected_issuer`.
    pub discovery: Option<DiscoveryOverride>,
    /// Whether RPTs from this server are renewed with their refresh tokens (default `true`). Keycloak
    /// (seen on 26.4 and 26.7) refreshes an RPT into a token that keeps its permissions but loses its
    /// `aud`, which the resource server's introspection then calls inactive; the client notices that by
    /// itself after one wasted refresh (see [`Client::stats`](crate::Client::stats)), and `false` saves
    /// even that one.
    pub refresh_rpts: bool,
}

/// An explicit discovery location for one authorization server.
#[derive(Clone, Debug)]
pub struct DiscoveryOverride {
    /// The `uma2-configuration` document's URL.
    pub url: url::Url,
    /// The `issuer` the document must name.
    pub expected_issuer: Issuer,
}

impl AuthorizationServer {
    /// Trusts `issuer` with these credentials.
    pub fn new(issuer: Issuer, credentials: ClientCredentials) -> Self {
        Self {
            issuer,
            credentials,
            resource_origins: None,
            claim: None,
            rpt_params: Vec::new(),
            scope: None,
            discovery: None,
            refresh_rpts: true,
        }
    }

    /// Whether a resource server at `origin` may send the client to this server.
    pub fn serves_origin(&self, origin: &str) -> bool {
        self.resource_origins
            .as_ref()
            .is_none_or(|origins| origins.iter().any(|o| o.trim_end_matches('/') == origin))
    }
}

/// When to push the configured claim token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClaimPushing {
    /// Only after the server answers `need_info` (UMAG §3.3.6): minimal disclosure (`docs/protocol.md` §11.4).
    #[default]
    OnNeedInfo,
    /// With every ticket exchange, as the EOEPCA clients do with Gluu (saves one round trip).
    Always,
}

/// Bounds on `request_submitted` polling (UMAG §3.3.6, `docs/protocol.md` §4.1, §11.9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PollPolicy {
    /// Wait used when the server sends no `interval`.
    pub default_interval: Duration,
    /// Never wait less than this, whatever the server says.
    pub min_interval: Duration,
    /// Never wait more than this between two polls.
    pub max_interval: Duration,
    /// Polls allowed per request.
    pub max_polls: u32,
    /// Give up once this much time has passed since the first `request_submitted`.
    pub max_wait: Duration,
}

impl Default for PollPolicy {
    fn default() -> Self {
        Self {
            default_interval: Duration::from_secs(5),
            min_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(60),
            max_polls: 5,
            max_wait: Duration::from_secs(120),
        }
    }
}

/// Whether the requesting party's access token is sent to resource servers until an RPT replaces it.
///
/// Keycloak's policy enforcer only mints a ticket for a bearer-authorised request (`docs/protocol.md` §2.3).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AccessTokenToResource {
    /// To the origin of every request the program makes through the client (redirects never carry it).
    #[default]
    AnyRequestedOrigin,
    /// Only to these origins (`scheme://host:port`).
    Origins(Vec<String>),
    /// Never: resource requests go out without a token until an RPT exists.
    Never,
}

/// The client's configuration. Build it with [`Config::new`] and the `with_*` methods.
#[derive(Clone, Debug)]
pub struct Config {
    /// Trusted authorization servers. A challenge naming any other `as_uri` is refused before any request.
    pub authorization_servers: Vec<AuthorizationServer>,
    /// For challenges without `as_uri` (`Bearer realm=…, ticket=…`): which issuer serves which resource-server
    /// origin. When none matches, the first authorization server is used.
    pub issuer_for_origin: Vec<(String, Issuer)>,
    /// https rules for issuers and endpoints, and whether a token endpoint may live on another origin.
    pub endpoint_policy: EndpointPolicy,
    /// UMA flows (ticket exchanges) allowed per request. 0 disables UMA; the default is 1.
    pub max_flows: u32,
    /// `need_info` answers satisfied by pushing claims, per request.
    pub max_need_info_rounds: u32,
    /// Headers added to every resource request (never to authorization-server requests).
    pub default_headers: HeaderMap,
    /// Extra token-endpoint parameters for every RPT request (before the server's own `rpt_params`).
    pub rpt_params: Vec<(String, String)>,
    /// When the claim token is pushed.
    pub claim_pushing: ClaimPushing,
    /// Challenge-parser strictness.
    pub strictness: Strictness,
    /// How long discovered metadata is trusted before it is fetched again.
    pub metadata_ttl: Duration,
    /// Bounds on `request_submitted` polling.
    pub poll: PollPolicy,
    /// Whether the requesting party's access token goes to resource servers before an RPT exists.
    pub access_token_to_resource: AccessTokenToResource,
    /// Resource-server redirects followed per request (0 = returned to the caller as they are). Redirects
    /// to another origin never carry `Authorization`, cookies or the RPT.
    pub max_redirects: u32,
    /// RPTs kept per resource-server origin and requesting party (UMAG §3.3.5: an RPT that was not upgraded
    /// keeps its own permissions, so several may be useful).
    pub max_rpts_per_origin: usize,
    /// RPTs kept over all origins and parties (default 10 000). Beyond it the least recently used
    /// (origin, party) set gives up its oldest RPT; the RPT just obtained is never evicted. With
    /// typical 1–3 KB RPTs the default holds 10–30 MB of tokens.
    pub max_cached_rpts: usize,
    /// Bytes of RPTs and their refresh tokens kept over all origins and parties (default 32 MiB),
    /// evicted like [`max_cached_rpts`](Self::max_cached_rpts). Counts the token strings only, not the
    /// bookkeeping around them (a few hundred bytes per RPT, see BENCHMARKS.md).
    pub max_cached_token_bytes: usize,
    /// How long a flow may hold an exchange that others wait on before they stop waiting for it (the
    /// herd's claim, default 60 s; not an HTTP timeout: those are the adapters' `exchange_timeout` and
    /// `request_timeout`).
    pub claim_timeout: Duration,
    /// How many times one request may wait for another request's exchange before running its own.
    pub max_parks: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            authorization_servers: Vec::new(),
            issuer_for_origin: Vec::new(),
            endpoint_policy: EndpointPolicy::default(),
            max_flows: 1,
            max_need_info_rounds: 1,
            default_headers: HeaderMap::new(),
            rpt_params: Vec::new(),
            claim_pushing: ClaimPushing::default(),
            strictness: Strictness::default(),
            metadata_ttl: Duration::from_secs(3600),
            poll: PollPolicy::default(),
            access_token_to_resource: AccessTokenToResource::default(),
            max_redirects: 0,
            max_rpts_per_origin: 4,
            max_cached_rpts: 10_000,
            max_cached_token_bytes: 32 * 1024 * 1024,
            claim_timeout: Duration::from_secs(60),
            max_parks: 32,
        }
    }
}

impl Config {
    /// A configuration that trusts no authorization server yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts one more authorization server.
    pub fn with_authorization_server(mut self, server: AuthorizationServer) -> Self {
        self.authorization_servers.push(server);
        self
    }

    /// Permits `http://` issuers and endpoints (development on loopback only).
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.endpoint_policy.allow_insecure_http = allow;
        self
    }

    /// Sets the number of UMA flows allowed per request.
    pub fn with_max_flows(mut self, max_flows: u32) -> Self {
        self.max_flows = max_flows;
        self
    }

    /// The trusted server with this issuer.
    pub fn server(&self, issuer: &Issuer) -> Option<&AuthorizationServer> {
        self.authorization_servers
            .iter()
            .find(|s| &s.issuer == issuer)
    }

    /// The discovery request for a trusted `issuer` and the `issuer` its document must name (the issuer
    /// itself unless [`AuthorizationServer::discovery`] says otherwise). An explicit http URL needs
    /// insecure http to be allowed, like any endpoint.
    pub fn discovery_for(
        &self,
        issuer: &Issuer,
    ) -> Result<(http::Request<Vec<u8>>, Issuer), DiscoveryError> {
        match self.server(issuer).and_then(|s| s.discovery.as_ref()) {
            None => Ok((crate::discovery::discovery_request(issuer), issuer.clone())),
            Some(o) => {
                if o.url.scheme() != "https" && !self.endpoint_policy.allow_insecure_http {
                    return Err(DiscoveryError::InsecureEndpoint {
                        field: "discovery_url",
                        url: o.url.to_string(),
                    });
                }
                Ok((
                    crate::discovery::discovery_request_at(&o.url)?,
                    o.expected_issuer.clone(),
                ))
            }
        }
    }

    /// Whether the requesting party's access token may go to a resource at `origin`.
    pub fn access_token_goes_to(&self, origin: &str) -> bool {
        match &self.access_token_to_resource {
            AccessTokenToResource::AnyRequestedOrigin => true,
            AccessTokenToResource::Origins(list) => {
                list.iter().any(|o| o.trim_end_matches('/') == origin)
            }
            AccessTokenToResource::Never => false,
        }
    }
}
