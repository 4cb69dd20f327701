//! [`PepResources`]: EOEPCA's PEP resource API, where a user registers their own resources with their ID
//! token (see [`uma_core::protection::PepResource`]).

use uma_core::discovery::DiscoveryError;
use uma_core::protection::{self as core, PepResource, PepResourceError, PepResourceRecord};
use uma_core::secret::ClaimToken;
use uma_core::trace::UmaStep;
use url::Url;

use super::Error;
use super::io::send;
use crate::UmaClient;
use crate::driver::Tracer;
use crate::options::Options;

const PEP_RESOURCES: &str = "PEP resource API";

/// A handle on one PEP's resource API (`{pep}/resources`). Every call takes the user's ID token, sent
/// as Bearer to the PEP and nowhere else; no UMA is involved. Cheap to clone.
///
/// ```
/// # use uma_ureq::UmaClient;
/// # use uma_ureq::uma_core::Config;
/// use uma_ureq::uma_core::protection::PepResource;
/// use uma_ureq::uma_core::secret::ClaimToken;
///
/// # let kit = uma_testkit::Kit::start(uma_testkit::KitConfig::new(uma_testkit::Dialect::Gluu)).unwrap();
/// let agent = UmaClient::from_ureq(ureq::Agent::new_with_defaults(), Config::new().allow_insecure_http(true));
/// let pep = agent.pep_resources(&kit.pep_url())?;
/// let id_token = ClaimToken::new(kit.id_token_for("alice")); // from the password grant, usually
///
/// let created = pep.create_resource(&id_token, &PepResource::new("ADES", "/alice", ["Authenticated"]))?;
/// assert_eq!(created.ownership_id.as_deref(), Some("alice"));
/// let found = pep.list_resources(&id_token, Some("/alice/wps3"))?;
/// assert_eq!(found[0].id, created.id);
/// pep.delete_resource(&id_token, &created.id)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct PepResources {
    agent: ureq::Agent,
    options: Options,
    pep: Url,
}

impl std::fmt::Debug for PepResources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PepResources")
            .field("pep", &self.pep.as_str())
            .finish_non_exhaustive()
    }
}

impl UmaClient {
    /// A handle on the PEP resource API at `pep` (the base URL; `/resources` is appended). An `http://`
    /// URL is refused unless the core configuration allows insecure http, since every call carries the
    /// ID token.
    pub fn pep_resources(&self, pep: &str) -> Result<PepResources, Error> {
        let insecure_ok = self.with_core(|c| c.config().endpoint_policy.allow_insecure_http);
        PepResources::new(
            self.agent().clone(),
            self.options().clone(),
            pep,
            insecure_ok,
        )
    }
}

impl PepResources {
    /// A handle without a [`UmaClient`]. `allow_insecure_http` permits an `http://` PEP.
    pub fn new(
        agent: ureq::Agent,
        options: Options,
        pep: &str,
        allow_insecure_http: bool,
    ) -> Result<Self, Error> {
        let pep = Url::parse(pep)
            .map_err(|_| PepResourceError::InvalidInput("the PEP URL is not a valid URL"))?;
        if pep.scheme() != "https" && !allow_insecure_http {
            return Err(Error::Discovery(DiscoveryError::InsecureEndpoint {
                field: "pep_url",
                url: pep.to_string(),
            }));
        }
        Ok(Self {
            agent,
            options,
            pep,
        })
    }

    /// The PEP base URL.
    pub fn url(&self) -> &Url {
        &self.pep
    }

    /// Registers `resource`, owned by the ID token's `sub` (or its `uuid`, for an operator). An
    /// already registered path is [`PepResourceError::AlreadyExists`].
    pub fn create_resource(
        &self,
        id_token: &ClaimToken,
        resource: &PepResource,
    ) -> Result<PepResourceRecord, Error> {
        let request = core::create_pep_resource_request(&self.pep, id_token, resource)?;
        Ok(core::parse_create_pep_resource_response(
            &self.send(request)?,
        )?)
    }

    /// Lists the caller's resources, or (with `path`) the one protecting `path`.
    pub fn list_resources(
        &self,
        id_token: &ClaimToken,
        path: Option<&str>,
    ) -> Result<Vec<PepResourceRecord>, Error> {
        let request = core::list_pep_resources_request(&self.pep, id_token, path)?;
        Ok(core::parse_list_pep_resources_response(
            &self.send(request)?,
        )?)
    }

    /// Reads one resource by id (older PEPs; current ones answer
    /// [`PepResourceError::MethodNotAllowed`]: use [`list_resources`](Self::list_resources) with a path).
    pub fn read_resource(
        &self,
        id_token: &ClaimToken,
        id: &str,
    ) -> Result<PepResourceRecord, Error> {
        let request = core::read_pep_resource_request(&self.pep, id_token, id)?;
        Ok(core::parse_read_pep_resource_response(
            &self.send(request)?,
        )?)
    }

    /// Deletes one resource by id (its owner, or an operator).
    pub fn delete_resource(&self, id_token: &ClaimToken, id: &str) -> Result<(), Error> {
        let request = core::delete_pep_resource_request(&self.pep, id_token, id)?;
        Ok(core::parse_delete_pep_resource_response(
            &self.send(request)?,
        )?)
    }

    fn send(&self, request: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, Error> {
        let mut tracer = Tracer::request(None);
        let _entered = tracer.enter();
        let step = UmaStep::Protection(PEP_RESOURCES);
        let result = tracer.standalone(step, request, |request| {
            send(&self.agent, &self.options, PEP_RESOURCES, request)
        });
        tracer.finish(result.as_ref().err());
        result
    }
}
