//! The resource server's side of UMA: a [`Protection`] handle for the protection API (PAT, resource
//! registration, permission tickets, introspection), dynamic client registration, and a policy
//! enforcement point ([`Protection::enforce`], [`Protection::challenge_for`]); and EOEPCA's PEP
//! resource API, where users register their own resources with their ID token ([`PepResources`]).
//!
//! Every protocol decision is [`uma_core::protection`]'s: each method drives one of its machines
//! ([`ProtectionCall`], [`Challenge`](uma_core::protection::Challenge), [`Enforce`](uma_core::protection::Enforce)) over the handle's shared [`ProtectionClient`],
//! which keeps the metadata and the PAT and lets one of N concurrent calls fetch a missing PAT while
//! the others wait for it (the waiting threads block on a `Condvar`). This module moves bytes with the
//! same transport rules as [`UmaClient`]: the agent's TLS settings, [`Options::exchange_timeout`], no
//! redirects, statuses as answers, bodies read up to [`Options::max_authorization_server_body`]. The lock inside is never
//! held across an exchange.

use std::sync::Arc;

use http::HeaderMap;
use uma_core::Machine;
use uma_core::auth::ClientCredentials;
use uma_core::discovery::{AsMetadata, EndpointPolicy, Issuer};
use uma_core::driver::ProtectionSettings;
use uma_core::protection::{
    CallError, ClientRegistration, CreatedResource, Dialect, Introspection, Pep, PermissionRequest,
    PermissionRequestQuery, PermissionRequestRecord, ProtectionCall, ProtectionClient,
    RegisteredClient, ResourceDescription, ResourceList, ResourceQuery, UpdatedResource,
};
use uma_core::secret::{AccessToken, Ticket};

use crate::UmaClient;
use crate::options::Options;

mod drive;
mod error;
mod io;
mod pep_resources;

use drive::Shared;
pub use error::Error;
use io::{discover, unix_now};
pub use pep_resources::PepResources;
/// What [`Protection::enforce`] decided for one request (the core's [`uma_core::protection::Decision`]).
pub use uma_core::protection::Decision;

const DISCOVERY: &str = "discovery";
const TOKEN: &str = "token endpoint";

/// A resource server's handle on one authorization server's protection API. Cheap to clone; clones
/// share the metadata and the PAT. `Send + Sync`.
///
/// ```
/// # use uma_ureq::UmaClient;
/// # use uma_ureq::uma_core::Config;
/// use uma_ureq::uma_core::auth::ClientCredentials;
/// use uma_ureq::uma_core::discovery::Issuer;
/// use uma_ureq::uma_core::protection::{Dialect, PermissionRequest, ResourceDescription};
///
/// # let kit = uma_testkit::Kit::start(uma_testkit::KitConfig::new(uma_testkit::Dialect::Spec)).unwrap();
/// let agent = UmaClient::from_ureq(ureq::Agent::new_with_defaults(), Config::new().allow_insecure_http(true));
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
    settings: ProtectionSettings,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Protection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.settings.fmt(f)
    }
}

impl UmaClient {
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
        let (policy, ttl, cached) = self.with_core(|c| {
            let config = c.config();
            (
                config.endpoint_policy,
                config.metadata_ttl,
                c.metadata(issuer).cloned(),
            )
        });
        let protection = Protection::new(
            self.agent().clone(),
            self.options().clone(),
            issuer.clone(),
            credentials,
            dialect,
            policy,
            cached,
        )?;
        protection.shared.lock().set_metadata_ttl(ttl);
        Ok(protection)
    }
}

impl Protection {
    /// A handle without a [`UmaClient`]: discovers `issuer` now with `agent` unless `metadata` (already
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
        let settings = ProtectionSettings::new(&issuer, &credentials, dialect)?;
        let metadata = match metadata {
            Some(m) => m,
            None => discover(&agent, &options, &issuer, &policy)?,
        };
        let core = ProtectionClient::new(
            issuer.clone(),
            credentials,
            dialect,
            policy,
            metadata,
            drive::now(),
        );
        Ok(Protection {
            agent,
            options,
            settings,
            shared: Arc::new(Shared::new(core)),
        })
    }

    // `with_pat_scope`, `with_realm`, `issuer`, `dialect`, `metadata`, `stats`: the same in every
    // adapter, written once in the core.
    uma_core::protection_accessors!();

    /// The PAT: the one held if it is not due for renewal, else a new one (client credentials at the
    /// token endpoint, `docs/protocol.md` §9.1). Concurrent callers share one PAT request.
    pub fn pat(&self) -> Result<AccessToken, Error> {
        self.drive(ProtectionCall::pat())
    }

    /// Registers a resource (UMAF §3.2.1).
    pub fn create_resource(
        &self,
        resource: &ResourceDescription,
    ) -> Result<CreatedResource, Error> {
        self.drive(ProtectionCall::create_resource(resource.clone()))
    }

    /// Reads a registered resource (UMAF §3.2.2). A missing one is an error with
    /// [`ProtectionError::is_not_found`](uma_core::protection::ProtectionError::is_not_found).
    pub fn read_resource(&self, id: &str) -> Result<ResourceDescription, Error> {
        self.drive(ProtectionCall::read_resource(id))
    }

    /// Replaces a registered resource's description (UMAF §3.2.3).
    pub fn update_resource(
        &self,
        id: &str,
        resource: &ResourceDescription,
    ) -> Result<UpdatedResource, Error> {
        self.drive(ProtectionCall::update_resource(id, resource.clone()))
    }

    /// Deletes a registered resource (UMAF §3.2.4).
    pub fn delete_resource(&self, id: &str) -> Result<(), Error> {
        self.drive(ProtectionCall::delete_resource(id))
    }

    /// Lists registered resources (UMAF §3.2.5), with Keycloak's filters when set in `query`.
    pub fn list_resources(&self, query: &ResourceQuery) -> Result<ResourceList, Error> {
        self.drive(ProtectionCall::list_resources(query.clone()))
    }

    /// Keycloak: the permission requests left by denied requesting parties on owner-managed resources
    /// (`{permission_endpoint}/ticket`), with their names. See
    /// [`uma_core::protection::PermissionRequestRecord`].
    pub fn list_permission_requests(
        &self,
        query: &PermissionRequestQuery,
    ) -> Result<Vec<PermissionRequestRecord>, Error> {
        self.drive(ProtectionCall::list_permission_requests(query.clone()))
    }

    /// Keycloak: approves (`granted = true`) or denies (`false`, which deletes it) one permission
    /// request, as the resource server. The requesting party's next ticket exchange then succeeds.
    pub fn answer_permission_request(&self, id: &str, granted: bool) -> Result<(), Error> {
        self.drive(ProtectionCall::answer_permission_request(id, granted))
    }

    /// Asks for a permission ticket covering `permissions` (UMAF §4), in the dialect's body form.
    pub fn request_ticket(&self, permissions: Vec<PermissionRequest>) -> Result<Ticket, Error> {
        self.drive(self.settings.request_ticket(permissions)?)
    }

    /// Introspects an RPT (UMAF §5): with the PAT, or for Keycloak with the resource server's client
    /// credentials and `token_type_hint=requesting_party_token` (`docs/protocol.md` §9.4). Decide with
    /// [`Introspection::allows`].
    pub fn introspect(&self, rpt: &AccessToken) -> Result<Introspection, Error> {
        self.drive(self.settings.introspect(rpt))
    }

    /// Registers a client (RFC 7591) at the advertised `registration_endpoint`, with an initial access
    /// token when the server requires one. The issued secret is in [`RegisteredClient::credentials`].
    pub fn register_client(
        &self,
        registration: &ClientRegistration,
        initial_access_token: Option<&AccessToken>,
    ) -> Result<RegisteredClient, Error> {
        let call =
            ProtectionCall::register_client(registration.clone(), initial_access_token.cloned());
        self.drive(call)
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
        self.drive(self.settings.challenge(permissions))
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
        self.drive(self.settings.enforce(headers, permissions, unix_now()))
    }

    fn drive<M, T>(&self, machine: M) -> Result<T, Error>
    where
        M: Machine<ProtectionClient, Output = Result<T, CallError>>,
    {
        drive::drive(&self.agent, &self.options, &self.shared, machine)
    }
}
