//! [`PepResources`]: EOEPCA's PEP resource API, where a user registers their own resources with their ID
//! token (see [`uma_core::protection::PepResource`]).

use crate::RequestBody;
use std::sync::Arc;

use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::Connect;
use uma_core::discovery::DiscoveryError;
use uma_core::protection::{self as core, PepResource, PepResourceError, PepResourceRecord};
use uma_core::secret::ClaimToken;
use uma_core::trace::UmaStep;
use url::Url;

use super::Error;
use super::io::send;
use crate::client::{HttpsClientConnector, UmaClient};
use crate::options::Options;
use crate::spans::Trace;

const PEP_RESOURCES: &str = "PEP resource API";

/// A handle on one PEP's resource API (`{pep}/resources`). Every call takes the user's ID token, sent
/// as Bearer to the PEP and nowhere else; no UMA is involved. Cheap to clone.
///
/// ```
/// use uma_hyper::UmaClient;
/// use uma_hyper::uma_core::Config;
/// use uma_hyper::uma_core::protection::PepResource;
/// use uma_hyper::uma_core::secret::ClaimToken;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let kit = uma_testkit::Kit::start(uma_testkit::KitConfig::new(uma_testkit::Dialect::Gluu)).unwrap();
/// let client = UmaClient::new(Config::new().allow_insecure_http(true))?;
/// let pep = client.pep_resources(&kit.pep_url())?;
/// let id_token = ClaimToken::new(kit.id_token_for("alice")); // from the password grant, usually
///
/// let resource = PepResource::new("ADES", "/alice", ["Authenticated"]);
/// let created = pep.create_resource(&id_token, &resource).await?;
/// assert_eq!(created.ownership_id.as_deref(), Some("alice"));
/// let found = pep.list_resources(&id_token, Some("/alice/wps3")).await?;
/// assert_eq!(found[0].id, created.id);
/// pep.delete_resource(&id_token, &created.id).await?;
/// # Ok(()) }
/// ```
pub struct PepResources<C = HttpsClientConnector> {
    http: HyperClient<C, RequestBody>,
    options: Arc<Options>,
    pep: Url,
}

impl<C: Clone> Clone for PepResources<C> {
    fn clone(&self) -> Self {
        Self {
            http: self.http.clone(),
            options: Arc::clone(&self.options),
            pep: self.pep.clone(),
        }
    }
}

impl<C> std::fmt::Debug for PepResources<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PepResources")
            .field("pep", &self.pep.as_str())
            .finish_non_exhaustive()
    }
}

impl<C> UmaClient<C>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    /// A handle on the PEP resource API at `pep` (the base URL; `/resources` is appended). An `http://`
    /// URL is refused unless the core configuration allows insecure http, since every call carries the
    /// ID token.
    pub fn pep_resources(&self, pep: &str) -> Result<PepResources<C>, Error> {
        let insecure_ok = self.with_core(|c| c.config().endpoint_policy.allow_insecure_http);
        PepResources::new(
            self.http.clone(),
            Options::clone(&self.options),
            pep,
            insecure_ok,
        )
    }
}

impl<C> PepResources<C>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    /// A handle without a [`UmaClient`]. `allow_insecure_http` permits an `http://` PEP.
    pub fn new(
        http: HyperClient<C, RequestBody>,
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
            http,
            options: Arc::new(options),
            pep,
        })
    }

    /// The PEP base URL.
    pub fn url(&self) -> &Url {
        &self.pep
    }

    /// Registers `resource`, owned by the ID token's `sub` (or its `uuid`, for an operator). An
    /// already registered path is [`PepResourceError::AlreadyExists`].
    pub async fn create_resource(
        &self,
        id_token: &ClaimToken,
        resource: &PepResource,
    ) -> Result<PepResourceRecord, Error> {
        let request = core::create_pep_resource_request(&self.pep, id_token, resource)?;
        let response = self.send(request).await?;
        Ok(core::parse_create_pep_resource_response(&response)?)
    }

    /// Lists the caller's resources, or (with `path`) the one protecting `path`.
    pub async fn list_resources(
        &self,
        id_token: &ClaimToken,
        path: Option<&str>,
    ) -> Result<Vec<PepResourceRecord>, Error> {
        let request = core::list_pep_resources_request(&self.pep, id_token, path)?;
        let response = self.send(request).await?;
        Ok(core::parse_list_pep_resources_response(&response)?)
    }

    /// Reads one resource by id (older PEPs; current ones answer
    /// [`PepResourceError::MethodNotAllowed`]: use [`list_resources`](Self::list_resources) with a path).
    pub async fn read_resource(
        &self,
        id_token: &ClaimToken,
        id: &str,
    ) -> Result<PepResourceRecord, Error> {
        let request = core::read_pep_resource_request(&self.pep, id_token, id)?;
        let response = self.send(request).await?;
        Ok(core::parse_read_pep_resource_response(&response)?)
    }

    /// Deletes one resource by id (its owner, or an operator).
    pub async fn delete_resource(&self, id_token: &ClaimToken, id: &str) -> Result<(), Error> {
        let request = core::delete_pep_resource_request(&self.pep, id_token, id)?;
        let response = self.send(request).await?;
        Ok(core::parse_delete_pep_resource_response(&response)?)
    }

    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, Error> {
        let trace = Trace::new();
        let span = trace.standalone(UmaStep::Protection(PEP_RESOURCES), &request);
        let sent = send(&self.http, &self.options, PEP_RESOURCES, request);
        trace.request(span.run(sent)).await
    }
}
