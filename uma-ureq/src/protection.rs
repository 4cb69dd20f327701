//! The resource server's side of UMA: a [`Protection`] handle for the protection API (PAT, resource
//! registration, permission tickets, introspection), dynamic client registration, and a policy
//! enforcement point ([`Protection::enforce`], [`Protection::challenge_for`]); and EOEPCA's PEP
//! resource API, where users register their own resources with their ID token ([`PepResources`]).
//!
//! Every protocol decision is [`uma_core::protection`]'s; this module discovers the endpoints, keeps the
//! PAT fresh (renewed ahead of expiry, and once more when an endpoint answers 401) and moves bytes with
//! the same transport rules as [`UmaAgent`]: the agent's TLS settings, [`Options::exchange_timeout`], no
//! redirects, statuses as answers, bodies read up to [`Options::max_as_body`].

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use http::HeaderMap;
use uma_core::auth::ClientCredentials;
use uma_core::discovery::{AsMetadata, Endpoint, EndpointPolicy, Issuer};
use uma_core::protection::{
    self as core, ClientRegistration, CreatedResource, Dialect, Introspection, IntrospectionAuth,
    IntrospectionCaller, PatCache, Pep, PermissionBody, PermissionRequest, PermissionRequestQuery,
    PermissionRequestRecord, ProtectionError, RegisteredClient, ResourceDescription, ResourceList,
    ResourceQuery, UpdatedResource,
};
use uma_core::secret::{AccessToken, Ticket};

use crate::UmaAgent;
use crate::options::Options;

mod error;
mod io;
mod pep_resources;

pub use error::Error;
use io::{bearer, discover, send, unix_now};
pub use pep_resources::PepResources;

const DISCOVERY: &str = "discovery";
const TOKEN: &str = "token endpoint";
const RESOURCES: &str = "resource registration endpoint";
const PERMISSION: &str = "permission endpoint";
const PERMISSION_REQUESTS: &str = "permission request endpoint";
const INTROSPECTION: &str = "introspection endpoint";
const REGISTRATION: &str = "client registration endpoint";

/// What [`Protection::enforce`] decided for one request.
#[derive(Debug)]
pub enum Decision {
    /// The RPT grants every permission asked for; here is what the AS said about it.
    Allow(Box<Introspection>),
    /// No RPT, or one that does not suffice: answer with this `401` UMA challenge (a fresh ticket).
    Challenge(http::Response<Vec<u8>>),
}

struct State {
    metadata: AsMetadata,
    fetched: Instant,
    pats: PatCache,
}

/// A resource server's handle on one authorization server's protection API. Cheap to clone; clones
/// share the metadata and the PAT. `Send + Sync`.
///
/// ```
/// # use uma_ureq::UmaAgent;
/// # use uma_ureq::uma_core::Config;
/// use uma_ureq::uma_core::auth::ClientCredentials;
/// use uma_ureq::uma_core::discovery::Issuer;
/// use uma_ureq::uma_core::protection::{Dialect, PermissionRequest, ResourceDescription};
///
/// # let kit = uma_testkit::Kit::start(uma_testkit::KitConfig::new(uma_testkit::Dialect::Spec)).unwrap();
/// let agent = UmaAgent::new(ureq::Agent::new_with_defaults(), Config::new().allow_insecure_http(true));
/// let issuer = Issuer::parse(&kit.issuer())?;
/// let protection = agent.protection(&issuer, ClientCredentials::basic("rs", "rs-secret"), Dialect::Uma)?;
///
/// let created = protection.create_resource(&ResourceDescription::new("photo album", ["view", "print"]))?;
/// let challenge = protection.challenge_for(vec![PermissionRequest::new(created.id.clone(), ["view"])]);
/// assert_eq!(challenge.status(), 401);
/// assert!(challenge.headers()["www-authenticate"].to_str()?.starts_with("UMA as_uri="));
/// protection.delete_resource(&created.id)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Protection {
    agent: ureq::Agent,
    options: Options,
    issuer: Issuer,
    credentials: ClientCredentials,
    dialect: Dialect,
    policy: EndpointPolicy,
    metadata_ttl: Duration,
    pat_scope: Option<String>,
    realm: Option<String>,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for Protection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Protection")
            .field("issuer", &self.issuer.as_str())
            .field("client_id", &self.credentials.client_id)
            .field("dialect", &self.dialect)
            .finish_non_exhaustive()
    }
}

impl UmaAgent {
    /// A protection-API handle for `issuer`, authenticating as the resource server `credentials`,
    /// speaking `dialect`. Uses this agent's `ureq::Agent` and [`Options`], the core configuration's
    /// endpoint policy (https, same origin) and metadata lifetime, and the metadata the core already
    /// discovered for `issuer` if any; otherwise discovers it now, so a wrong issuer fails here.
    pub fn protection(
        &self,
        issuer: &Issuer,
        credentials: ClientCredentials,
        dialect: Dialect,
    ) -> Result<Protection, Error> {
        let (policy, ttl, cached) = self.with_client(|c| {
            let config = c.config();
            (
                config.endpoint_policy,
                config.metadata_ttl,
                c.metadata(issuer).cloned(),
            )
        });
        let mut protection = Protection::new(
            self.agent().clone(),
            self.options().clone(),
            issuer.clone(),
            credentials,
            dialect,
            policy,
            cached,
        )?;
        protection.metadata_ttl = ttl;
        Ok(protection)
    }
}

impl Protection {
    /// A handle without a [`UmaAgent`]: discovers `issuer` now with `agent` unless `metadata` (already
    /// validated against `policy`) is given. Metadata is trusted for an hour, then fetched again.
    pub fn new(
        agent: ureq::Agent,
        options: Options,
        issuer: Issuer,
        credentials: ClientCredentials,
        dialect: Dialect,
        policy: EndpointPolicy,
        metadata: Option<AsMetadata>,
    ) -> Result<Protection, Error> {
        // A bad issuer fails at start-up, not at the first challenge.
        Pep::new(issuer.as_str(), issuer.url().clone(), dialect)?;
        let metadata = match metadata {
            Some(m) => m,
            None => discover(&agent, &options, &issuer, &policy)?,
        };
        Ok(Protection {
            agent,
            options,
            issuer,
            credentials,
            dialect,
            policy,
            metadata_ttl: Duration::from_secs(3600),
            pat_scope: dialect.default_pat_scope().map(str::to_owned),
            realm: None,
            state: Arc::new(Mutex::new(State {
                metadata,
                fetched: Instant::now(),
                pats: PatCache::new(),
            })),
        })
    }

    /// The scope asked for with the PAT: `""` asks for none. Default: `uma_protection`, except for
    /// Keycloak (none: the role comes with the client). EOEPCA wants `"openid uma_protection permission"`.
    pub fn with_pat_scope(mut self, scope: impl Into<String>) -> Self {
        self.pat_scope = Some(scope.into());
        self
    }

    /// Puts `realm="…"` in the challenges (checked now).
    pub fn with_realm(mut self, realm: impl Into<String>) -> Result<Self, Error> {
        let realm = realm.into();
        self.pep_for(self.issuer.url().clone())?
            .with_realm(realm.clone())?;
        self.realm = Some(realm);
        Ok(self)
    }

    /// The authorization server's issuer (the `as_uri` of the challenges).
    pub fn issuer(&self) -> &Issuer {
        &self.issuer
    }

    /// The wire conventions followed.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The metadata in use.
    pub fn metadata(&self) -> AsMetadata {
        self.lock().metadata.clone()
    }

    /// The PAT: the one held if it is not due for renewal, else a new one (client credentials at the
    /// token endpoint, `docs/protocol.md` §9.1).
    pub fn pat(&self) -> Result<AccessToken, Error> {
        if let Some(token) = self.lock().pats.token(Instant::now()) {
            return Ok(token.clone());
        }
        let url = self.endpoint(Endpoint::Token)?;
        let request = core::pat_request(&url, &self.credentials, self.pat_scope.as_deref())?;
        let sent = Instant::now();
        let pat = core::parse_pat_response(&self.send(TOKEN, request)?)?;
        let token = pat.access_token.clone();
        self.lock().pats.store(pat, sent);
        Ok(token)
    }

    /// Registers a resource (UMAF §3.2.1).
    pub fn create_resource(
        &self,
        resource: &ResourceDescription,
    ) -> Result<CreatedResource, Error> {
        let url = self.endpoint(Endpoint::ResourceRegistration)?;
        self.with_pat(
            RESOURCES,
            |pat| core::create_resource_request(&url, pat, resource),
            core::parse_create_resource_response,
        )
    }

    /// Reads a registered resource (UMAF §3.2.2). A missing one is an error with
    /// [`ProtectionError::is_not_found`].
    pub fn read_resource(&self, id: &str) -> Result<ResourceDescription, Error> {
        let url = self.endpoint(Endpoint::ResourceRegistration)?;
        self.with_pat(
            RESOURCES,
            |pat| core::read_resource_request(&url, pat, id),
            core::parse_read_resource_response,
        )
    }

    /// Replaces a registered resource's description (UMAF §3.2.3).
    pub fn update_resource(
        &self,
        id: &str,
        resource: &ResourceDescription,
    ) -> Result<UpdatedResource, Error> {
        let url = self.endpoint(Endpoint::ResourceRegistration)?;
        self.with_pat(
            RESOURCES,
            |pat| core::update_resource_request(&url, pat, id, resource),
            core::parse_update_resource_response,
        )
    }

    /// Deletes a registered resource (UMAF §3.2.4).
    pub fn delete_resource(&self, id: &str) -> Result<(), Error> {
        let url = self.endpoint(Endpoint::ResourceRegistration)?;
        self.with_pat(
            RESOURCES,
            |pat| core::delete_resource_request(&url, pat, id),
            core::parse_delete_resource_response,
        )
    }

    /// Lists registered resources (UMAF §3.2.5), with Keycloak's filters when set in `query`.
    pub fn list_resources(&self, query: &ResourceQuery) -> Result<ResourceList, Error> {
        let url = self.endpoint(Endpoint::ResourceRegistration)?;
        self.with_pat(
            RESOURCES,
            |pat| core::list_resources_request(&url, pat, query),
            core::parse_list_resources_response,
        )
    }

    /// Keycloak: the permission requests left by denied requesting parties on owner-managed resources
    /// (`{permission_endpoint}/ticket`), with their names. See
    /// [`uma_core::protection::PermissionRequestRecord`].
    pub fn list_permission_requests(
        &self,
        query: &PermissionRequestQuery,
    ) -> Result<Vec<PermissionRequestRecord>, Error> {
        let url = self.endpoint(Endpoint::Permission)?;
        self.with_pat(
            PERMISSION_REQUESTS,
            |pat| core::list_permission_requests_request(&url, pat, query),
            core::parse_list_permission_requests_response,
        )
    }

    /// Keycloak: approves (`granted = true`) or denies (`false`, which deletes it) one permission
    /// request, as the resource server. The requesting party's next ticket exchange then succeeds.
    pub fn answer_permission_request(&self, id: &str, granted: bool) -> Result<(), Error> {
        let url = self.endpoint(Endpoint::Permission)?;
        self.with_pat(
            PERMISSION_REQUESTS,
            |pat| core::answer_permission_request_request(&url, pat, id, granted),
            core::parse_answer_permission_request_response,
        )
    }

    /// Asks for a permission ticket covering `permissions` (UMAF §4), in the dialect's body form.
    pub fn request_ticket(&self, permissions: Vec<PermissionRequest>) -> Result<Ticket, Error> {
        let url = self.endpoint(Endpoint::Permission)?;
        let body = PermissionBody::for_dialect(self.dialect, permissions)?;
        self.with_pat(
            PERMISSION,
            |pat| core::permission_request(&url, pat, &body),
            core::parse_permission_response,
        )
    }

    /// Introspects an RPT (UMAF §5): with the PAT, or for Keycloak with the resource server's client
    /// credentials and `token_type_hint=requesting_party_token` (`docs/protocol.md` §9.4). Decide with
    /// [`Introspection::allows`].
    pub fn introspect(&self, rpt: &AccessToken) -> Result<Introspection, Error> {
        let url = self.endpoint(Endpoint::Introspection)?;
        let (caller, hint) = self.dialect.introspection();
        match caller {
            IntrospectionCaller::Client => {
                let request = core::introspection_request(
                    &url,
                    rpt,
                    hint,
                    IntrospectionAuth::Client(&self.credentials),
                )?;
                Ok(core::parse_introspection_response(
                    &self.send(INTROSPECTION, request)?,
                )?)
            }
            IntrospectionCaller::Pat => self.with_pat(
                INTROSPECTION,
                |pat| core::introspection_request(&url, rpt, hint, IntrospectionAuth::Pat(pat)),
                core::parse_introspection_response,
            ),
        }
    }

    /// Registers a client (RFC 7591) at the advertised `registration_endpoint`, with an initial access
    /// token when the server requires one. The issued secret is in [`RegisteredClient::credentials`].
    pub fn register_client(
        &self,
        registration: &ClientRegistration,
        initial_access_token: Option<&AccessToken>,
    ) -> Result<RegisteredClient, Error> {
        let url = self.endpoint(Endpoint::Registration)?;
        let request = core::registration_request(&url, registration, initial_access_token)?;
        Ok(core::parse_registration_response(
            &self.send(REGISTRATION, request)?,
        )?)
    }

    /// The `401` UMA challenge for a request that lacks `permissions`, with a fresh ticket (UMAG §3.2),
    /// ready to return from a handler. When no ticket can be had, the `403` of [`Pep::unreachable`]
    /// (UMAG §3.2.2); use [`Protection::try_challenge_for`] to see why.
    pub fn challenge_for(&self, permissions: Vec<PermissionRequest>) -> http::Response<Vec<u8>> {
        self.try_challenge_for(permissions)
            .unwrap_or_else(|_| Pep::unreachable())
    }

    /// [`Protection::challenge_for`], with the error instead of the fallback `403`.
    pub fn try_challenge_for(
        &self,
        permissions: Vec<PermissionRequest>,
    ) -> Result<http::Response<Vec<u8>>, Error> {
        let ticket = self.request_ticket(permissions)?;
        let pep = self.pep_for(self.endpoint(Endpoint::Permission)?)?;
        Ok(pep.challenge_for_ticket(&ticket)?)
    }

    /// The whole PEP decision for one request: the RPT from `Authorization: Bearer` is introspected and
    /// must grant every scope of every permission asked for; otherwise (or without an RPT) the answer
    /// is a challenge with a ticket for exactly those permissions. Errors are the AS's or transport's:
    /// answer them with [`Pep::unreachable`].
    pub fn enforce(
        &self,
        headers: &HeaderMap,
        permissions: Vec<PermissionRequest>,
    ) -> Result<Decision, Error> {
        if let Some(rpt) = bearer(headers) {
            let introspection = self.introspect(&rpt)?;
            let now = unix_now();
            let granted = permissions.iter().all(|p| {
                let scopes: Vec<&str> = p.resource_scopes.iter().map(String::as_str).collect();
                introspection.allows_all(&p.resource_id, &scopes, now)
            });
            if granted {
                return Ok(Decision::Allow(Box::new(introspection)));
            }
        }
        Ok(Decision::Challenge(self.try_challenge_for(permissions)?))
    }

    fn pep_for(&self, permission_endpoint: url::Url) -> Result<Pep, Error> {
        let pep = Pep::new(self.issuer.as_str(), permission_endpoint, self.dialect)?;
        Ok(match &self.realm {
            Some(realm) => pep.with_realm(realm.clone())?,
            None => pep,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Plain data updated by short assignments: a panic elsewhere leaves it usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An endpoint from the metadata, checked against the policy; the metadata is fetched again once
    /// older than its lifetime.
    fn endpoint(&self, which: Endpoint) -> Result<url::Url, Error> {
        let stale = self.lock().fetched.elapsed() >= self.metadata_ttl;
        if stale {
            let metadata = discover(&self.agent, &self.options, &self.issuer, &self.policy)?;
            let mut state = self.lock();
            state.metadata = metadata;
            state.fetched = Instant::now();
        }
        Ok(self.lock().metadata.endpoint(which, &self.policy)?.clone())
    }

    /// Runs a PAT-authorised call; when the PAT is refused, renews it and tries once more.
    fn with_pat<T>(
        &self,
        operation: &'static str,
        build: impl Fn(&AccessToken) -> Result<http::Request<Vec<u8>>, ProtectionError>,
        parse: impl Fn(&http::Response<Vec<u8>>) -> Result<T, ProtectionError>,
    ) -> Result<T, Error> {
        let pat = self.pat()?;
        match parse(&self.send(operation, build(&pat)?)?) {
            Err(e) if e.is_unauthorized() => {
                self.forget_pat(&pat);
                let pat = self.pat()?;
                Ok(parse(&self.send(operation, build(&pat)?)?)?)
            }
            other => Ok(other?),
        }
    }

    /// Drops the PAT if it is still the one that was refused (another thread may have renewed it).
    fn forget_pat(&self, refused: &AccessToken) {
        let mut state = self.lock();
        let same = state
            .pats
            .state()
            .is_some_and(|s| s.token().same_as(refused));
        if same {
            state.pats.invalidate();
        }
    }

    fn send(
        &self,
        operation: &'static str,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, Error> {
        send(&self.agent, &self.options, operation, request)
    }
}
