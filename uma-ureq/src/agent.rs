//! [`UmaAgent`]: a `ureq::Agent` that runs the UMA flow inside every request.

use std::sync::Arc;
use std::time::Instant;

use http::Method;
use uma_core::discovery::Issuer;
use uma_core::secret::{AccessToken, Password};
use uma_core::{Client, Config, Flow, Identity, Login, LoginGrant, Party, Stats};

use crate::driver::{Shared, Tracer};
use crate::error::Error;
use crate::options::Options;

/// A blocking HTTP client that answers UMA challenges by itself: wraps a user-supplied [`ureq::Agent`]
/// (its TLS, proxy and pool settings apply to every exchange) and one [`uma_core::Client`] (its caches
/// serve every clone, on every thread).
///
/// Cheap to clone (an `Arc` inside), `Send + Sync`. The core sits behind a mutex that is only held for
/// the calls into it, never across I/O; requests that need an exchange another request is already
/// running wait for it on a condvar, so a herd of cold requests costs one discovery and one token
/// request.
#[derive(Clone)]
pub struct UmaAgent {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for UmaAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UmaAgent")
            .field("options", &self.shared.options)
            .finish_non_exhaustive()
    }
}

impl UmaAgent {
    /// Wraps `agent` with a core client for `config` and the default [`Options`].
    pub fn new(agent: ureq::Agent, config: Config) -> Self {
        Self::with_options(agent, config, Options::default())
    }

    /// Wraps `agent` with a core client for `config`.
    pub fn with_options(agent: ureq::Agent, config: Config, options: Options) -> Self {
        Self::from_client(agent, Client::new(config), options)
    }

    /// A ureq TLS configuration that trusts exactly the certificates of this PEM text (one or more
    /// `-----BEGIN CERTIFICATE-----` blocks, e.g. the file `uma serve --tls` writes) instead of the
    /// built-in roots. Other PEM items are ignored; text without any certificate is an error
    /// ([`ureq::Error::Tls`]), so a wrong file never silently trusts nothing.
    ///
    /// ```
    /// use uma_ureq::UmaAgent;
    /// use uma_ureq::uma_core::auth::ClientCredentials;
    /// use uma_ureq::uma_core::discovery::Issuer;
    /// use uma_ureq::uma_core::{AuthorizationServer, Config};
    /// # use uma_testkit::{Dialect, Kit, KitConfig};
    /// # let kit = Kit::start(KitConfig::new(Dialect::Spec).with_tls()).unwrap();
    /// # let dir = std::env::temp_dir().join(format!("uma-ureq-pem-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// # let ca_file = dir.join("uma-testkit-ca.pem");
    /// # std::fs::write(&ca_file, kit.ca_certificate_pem().unwrap()).unwrap();
    /// # let (issuer_url, resource) = (kit.issuer(), kit.rs_url("/api/a"));
    ///
    /// // The CA file `uma serve --tls` wrote (its banner prints the path), and the issuer it printed.
    /// let pem = std::fs::read(&ca_file)?;
    /// let tls = UmaAgent::tls_config_trusting_pem(&pem)?;
    /// let http = uma_ureq::ureq::Agent::new_with_config(
    ///     uma_ureq::ureq::Agent::config_builder().tls_config(tls).build(),
    /// );
    /// let issuer = Issuer::parse(&issuer_url)?;
    /// let config = Config::new().with_authorization_server(AuthorizationServer::new(
    ///     issuer,
    ///     ClientCredentials::basic("app", "app-secret"),
    /// ));
    /// let agent = UmaAgent::new(http, config);
    /// assert_eq!(agent.get(&resource).send()?.status(), 200);
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn tls_config_trusting_pem(pem: &[u8]) -> Result<ureq::tls::TlsConfig, ureq::Error> {
        let mut certificates = Vec::new();
        for item in ureq::tls::parse_pem(pem) {
            if let ureq::tls::PemItem::Certificate(certificate) = item? {
                certificates.push(certificate);
            }
        }
        if certificates.is_empty() {
            return Err(ureq::Error::Tls(
                "CA certificates: no PEM certificate found",
            ));
        }
        Ok(ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::Specific(Arc::new(certificates)))
            .build())
    }

    /// Wraps `agent` around an existing core client (e.g. one whose identities are already set).
    pub fn from_client(agent: ureq::Agent, client: Client, options: Options) -> Self {
        Self {
            shared: Arc::new(Shared::new(agent, client, options)),
        }
    }

    /// Sends `request` on behalf of the default requesting party and runs the UMA flow when the resource
    /// server asks for it. The body is buffered and replayed byte for byte on every retry. The URI must be
    /// absolute.
    ///
    /// Any response without a UMA challenge (`2xx`, `404`, a `401` with another scheme…) is returned as
    /// it is; a failed flow is [`Error::Uma`], with the last resource response in [`Error::response`].
    pub fn run(&self, request: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, Error> {
        self.run_for_party(request, Party::default())
    }

    /// [`UmaAgent::run`] on behalf of `party`: its RPTs, PCTs and access token never mix with another
    /// party's.
    pub fn run_for_party(
        &self,
        request: http::Request<Vec<u8>>,
        party: Party,
    ) -> Result<http::Response<Vec<u8>>, Error> {
        let mut tracer = Tracer::request(Some(&request));
        let mut flow = Flow::for_party(request, party);
        let response = self.shared.drive_traced(&mut flow, &mut tracer)?;
        tracer.record_status(response.status());
        Ok(response)
    }

    /// A `GET` request; finish it with [`RequestBuilder::send`].
    pub fn get(&self, url: &str) -> RequestBuilder<'_> {
        self.request(Method::GET, url)
    }

    /// A `HEAD` request.
    pub fn head(&self, url: &str) -> RequestBuilder<'_> {
        self.request(Method::HEAD, url)
    }

    /// A `DELETE` request.
    pub fn delete(&self, url: &str) -> RequestBuilder<'_> {
        self.request(Method::DELETE, url)
    }

    /// A `POST` request with `body`.
    pub fn post(&self, url: &str, body: impl Into<Vec<u8>>) -> RequestBuilder<'_> {
        self.request(Method::POST, url).body(body)
    }

    /// A `PUT` request with `body`.
    pub fn put(&self, url: &str, body: impl Into<Vec<u8>>) -> RequestBuilder<'_> {
        self.request(Method::PUT, url).body(body)
    }

    /// A `PATCH` request with `body`.
    pub fn patch(&self, url: &str, body: impl Into<Vec<u8>>) -> RequestBuilder<'_> {
        self.request(Method::PATCH, url).body(body)
    }

    /// A request with any method.
    pub fn request(&self, method: Method, url: &str) -> RequestBuilder<'_> {
        RequestBuilder {
            agent: self,
            builder: http::Request::builder().method(method).uri(url),
            body: Vec::new(),
            party: Party::default(),
        }
    }

    /// Logs the default requesting party in at `issuer` with the resource-owner password grant and keeps
    /// its access token (and ID token, a claim-token candidate) for later flows. `issuer` must be one of
    /// the configured authorization servers.
    pub fn login_password(
        &self,
        issuer: &Issuer,
        username: &str,
        password: impl Into<Password>,
        scope: Option<&str>,
    ) -> Result<(), Error> {
        self.login(Login::new(
            issuer.clone(),
            LoginGrant::Password {
                username: username.to_owned(),
                password: password.into(),
                scope: scope.map(str::to_owned),
            },
        ))
    }

    /// Obtains an access token for the client itself (the `client_credentials` grant) at `issuer`, which
    /// must be one of the configured authorization servers.
    pub fn login_client_credentials(
        &self,
        issuer: &Issuer,
        scope: Option<&str>,
    ) -> Result<(), Error> {
        self.login(Login::new(
            issuer.clone(),
            LoginGrant::ClientCredentials {
                scope: scope.map(str::to_owned),
            },
        ))
    }

    /// Runs any initial-authentication machine (e.g. [`Login::for_party`]).
    pub fn login(&self, mut login: Login) -> Result<(), Error> {
        self.shared.drive(&mut login)
    }

    /// Keycloak's ticketless request (`docs/protocol.md` §2.9): an RPT for a resource server ahead of any
    /// challenge (cached for its origin, so the first request needs no ticket round trip), or a decision,
    /// or the granted permissions. See [`uma_core::KeycloakPermissions`].
    pub fn keycloak_permissions(
        &self,
        mut request: uma_core::KeycloakPermissions,
    ) -> Result<uma_core::PermissionsAnswer, Error> {
        self.shared.drive(&mut request)
    }

    /// Hands over the default party's access token, obtained with any OAuth2 library. It goes to the
    /// resource servers the configuration allows until an RPT replaces it, and authenticates ticket
    /// exchanges at servers configured with bearer client authentication (Keycloak style).
    pub fn set_access_token(&self, token: impl Into<AccessToken>) {
        let identity = Identity::from_token(token.into(), Instant::now());
        self.set_identity(Party::default(), identity);
    }

    /// Sets (or replaces) `party`'s own access token.
    pub fn set_identity(&self, party: Party, identity: Identity) {
        self.shared.with_client(|c| c.set_identity(party, identity));
    }

    /// Counters of what the client has sent (for `--stats` and benchmarks).
    pub fn stats(&self) -> Stats {
        self.shared.with_client(|c| c.stats()).0
    }

    /// Runs `f` on the core client under its lock, e.g. to read the cache or call
    /// [`Client::forget_tokens`]. Do no I/O inside: every request waits for the lock.
    pub fn with_client<R>(&self, f: impl FnOnce(&mut Client) -> R) -> R {
        self.shared.with_client(f).0
    }

    /// The wrapped `ureq` agent.
    pub fn agent(&self) -> &ureq::Agent {
        &self.shared.agent
    }

    /// The limits and hooks in force.
    pub fn options(&self) -> &Options {
        &self.shared.options
    }
}

/// A request being put together; [`RequestBuilder::send`] runs it through the UMA flow.
///
/// ```no_run
/// # fn demo(agent: &uma_ureq::UmaAgent) -> Result<(), uma_ureq::Error> {
/// let response = agent
///     .post("https://api.example.org/photos", br#"{"title":"x"}"#.to_vec())
///     .header("content-type", "application/json")
///     .send()?;
/// println!("{}", response.status());
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is sent"]
pub struct RequestBuilder<'a> {
    agent: &'a UmaAgent,
    builder: http::request::Builder,
    body: Vec<u8>,
    party: Party,
}

impl std::fmt::Debug for RequestBuilder<'_> {
    // Method, URL without userinfo or query, header names and body length: never a credential.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<&str> = self
            .builder
            .headers_ref()
            .map(|h| h.keys().map(|k| k.as_str()).collect())
            .unwrap_or_default();
        f.debug_struct("RequestBuilder")
            .field("method", &self.builder.method_ref())
            .field(
                "url",
                &self.builder.uri_ref().map(crate::error::display_url),
            )
            .field("headers", &headers)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .field("party", &self.party)
            .finish()
    }
}

impl RequestBuilder<'_> {
    /// Adds a header (appended; invalid names or values surface as [`Error::Request`] on `send`).
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        http::HeaderName: TryFrom<K>,
        <http::HeaderName as TryFrom<K>>::Error: Into<http::Error>,
        http::HeaderValue: TryFrom<V>,
        <http::HeaderValue as TryFrom<V>>::Error: Into<http::Error>,
    {
        self.builder = self.builder.header(name, value);
        self
    }

    /// Sets the body (replaces any earlier one).
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Acts on behalf of `party` instead of the default requesting party.
    pub fn party(mut self, party: Party) -> Self {
        self.party = party;
        self
    }

    /// Builds the request without sending it.
    pub fn build(self) -> Result<http::Request<Vec<u8>>, Error> {
        Ok(self.builder.body(self.body)?)
    }

    /// Sends the request ([`UmaAgent::run_for_party`]).
    pub fn send(self) -> Result<http::Response<Vec<u8>>, Error> {
        let agent = self.agent;
        let party = self.party.clone();
        let request = self.build()?;
        agent.run_for_party(request, party)
    }
}
