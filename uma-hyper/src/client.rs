//! [`UmaClient`]: a hyper-util client that does the UMA dance inside `send`.

use http::Method;
use hyper::body::{Body, Bytes, Incoming};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::rt::TokioExecutor;
use std::sync::Arc;
use uma_core::discovery::Issuer;
use uma_core::secret::{AccessToken, Password};
use uma_core::{Config, Flow, Identity, Login, Party, Stats};

use crate::body::{AppBody, Application, RequestBody};
use crate::engine::{Engine, drive, drive_flow};
use crate::error::{BoxError, Error};
use crate::layer::UmaLayer;
use crate::options::Options;
use crate::request::RequestBuilder;

/// The https-capable connector of [`UmaClient::new`] and [`UmaClient::with_tls_config`] (plain `http://`
/// URLs work too; the core refuses plain-http authorization servers unless configured otherwise).
pub type HttpsClientConnector = HttpsConnector<HttpConnector>;

/// An async UMA client over `hyper_util`'s pooled client.
///
/// Cheap to clone; every clone shares one core client (configuration, metadata, RPTs, PCTs, the
/// requesting parties' tokens) so that concurrent tasks reuse one RPT and a herd of cold requests costs
/// one discovery and one token exchange. Requests are sent as they are, never following redirects (the
/// core decides about resource-server redirects, see `Config::max_redirects`).
pub struct UmaClient<C> {
    pub(crate) http: HyperClient<C, RequestBody>,
    engine: Arc<Engine>,
    pub(crate) options: Arc<Options>,
}

impl<C: Clone> Clone for UmaClient<C> {
    fn clone(&self) -> Self {
        Self {
            http: self.http.clone(),
            engine: Arc::clone(&self.engine),
            options: Arc::clone(&self.options),
        }
    }
}

impl<C> std::fmt::Debug for UmaClient<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UmaClient")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// The ring provider, named explicitly so that the build does not depend on which rustls provider other
/// crates in the program enable.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn hyper_client<C>(connector: C) -> HyperClient<C, RequestBody>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    HyperClient::builder(TokioExecutor::new()).build(connector)
}

impl UmaClient<HttpsClientConnector> {
    /// A client that verifies servers against the Mozilla root certificates (webpki-roots).
    pub fn new(config: Config) -> Result<Self, Error> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(provider())
            .map_err(|e| Error::Tls(Box::new(e)))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self::from_hyper(hyper_client(connector), config))
    }

    /// A client that uses this rustls configuration (e.g. one trusting a private CA).
    pub fn with_tls_config(config: Config, tls: rustls::ClientConfig) -> Self {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        Self::from_hyper(hyper_client(connector), config)
    }

    /// A rustls configuration that trusts exactly these DER certificates (e.g. a test CA).
    pub fn tls_config_trusting(
        certificates: impl IntoIterator<Item = Vec<u8>>,
    ) -> Result<rustls::ClientConfig, Error> {
        let mut roots = rustls::RootCertStore::empty();
        for der in certificates {
            roots.add(der.into()).map_err(|e| Error::Tls(Box::new(e)))?;
        }
        Ok(rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(Box::new(e)))?
            .with_root_certificates(roots)
            .with_no_client_auth())
    }

    /// A rustls configuration that trusts exactly the certificates of this PEM text (one or more
    /// `-----BEGIN CERTIFICATE-----` blocks, e.g. the file `uma serve --tls` writes). Other PEM items are
    /// ignored; text without any certificate is an error.
    pub fn tls_config_trusting_pem(pem: &[u8]) -> Result<rustls::ClientConfig, Error> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let certificates = CertificateDer::pem_slice_iter(pem)
            .map(|c| c.map(|c| c.to_vec()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Tls(format!("CA certificates: not valid PEM: {e}").into()))?;
        if certificates.is_empty() {
            return Err(Error::Tls(
                "CA certificates: no PEM certificate found".into(),
            ));
        }
        Self::tls_config_trusting(certificates)
    }
}

impl<C> UmaClient<C>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    /// Wraps an existing hyper-util client (any connector) with a fresh core client for `config`.
    pub fn from_hyper(http: HyperClient<C, RequestBody>, config: Config) -> Self {
        Self {
            http,
            engine: Arc::new(Engine::new(uma_core::Client::new(config))),
            options: Arc::new(Options::default()),
        }
    }

    /// Replaces the timeouts and limits (for this handle and the clones made from it afterwards).
    pub fn with_options(mut self, options: Options) -> Self {
        self.options = Arc::new(options);
        self
    }

    /// The timeouts and limits in force.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// A tower layer sharing this client's caches and options (see [`UmaLayer`]).
    pub fn layer(&self) -> UmaLayer {
        UmaLayer::from_parts(Arc::clone(&self.engine), Arc::clone(&self.options))
    }

    /// Sends `request`, doing the UMA dance if the resource server asks for it, on behalf of the party in
    /// the request's extensions (`request.extensions_mut().insert(Party::new("alice"))`), else the default
    /// party. Extensions go with every resource request (never to an authorization server).
    ///
    /// The answer comes back with its body unread and untouched, whatever its status and size. The body
    /// is replayed after a challenge when it is held in memory, or when it is a stream that ends within
    /// [`Options::max_replay_body`]; a longer stream is sent once, and a challenge to it ends in
    /// [`Error::BodyNotReplayable`] (use [`UmaClient::send_with_body`] to have it re-created). A failed flow
    /// is an [`Error::Uma`] that keeps the last resource answer's head.
    ///
    /// ```no_run
    /// use http_body_util::BodyExt;
    ///
    /// # async fn run(client: uma_hyper::UmaClient<uma_hyper::HttpsClientConnector>) -> Result<(), Box<dyn std::error::Error>> {
    /// let request = http::Request::get("https://api.example.org/photos/1").body(String::new())?;
    /// let mut response = client.send(request).await?;
    /// while let Some(frame) = response.body_mut().frame().await {
    ///     if let Ok(chunk) = frame?.into_data() {
    ///         // write `chunk` somewhere: the body is never held whole
    /// #       let _ = chunk;
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn send<B>(
        &self,
        request: http::Request<B>,
    ) -> Result<http::Response<Incoming>, Error>
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let party = request
            .extensions()
            .get::<Party>()
            .cloned()
            .unwrap_or_default();
        self.send_for_party(party, request).await
    }

    /// Like [`UmaClient::send`] on behalf of `party`: its RPTs, PCTs and token are its own.
    pub async fn send_for_party<B>(
        &self,
        party: Party,
        request: http::Request<B>,
    ) -> Result<http::Response<Incoming>, Error>
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let (mut head, body) = request.into_parts();
        let extensions = std::mem::take(&mut head.extensions);
        let body = AppBody::read(body, self.options.max_replay_body).await?;
        self.run(party, head, Application { body, extensions })
            .await
    }

    /// Sends a request whose body `make_body` creates, once per send (a file opened again, a generator
    /// restarted): a body of any size, never held in memory, that survives a challenge. The party is
    /// taken from the request's extensions as by [`UmaClient::send`].
    ///
    /// ```no_run
    /// use http_body_util::Full;
    /// use hyper::body::Bytes;
    ///
    /// # async fn run(client: uma_hyper::UmaClient<uma_hyper::HttpsClientConnector>) -> Result<(), Box<dyn std::error::Error>> {
    /// // Any `http_body::Body` will do: a file read chunk by chunk, a generator…
    /// let make_body = || Full::new(Bytes::from_static(b"created again for each send"));
    /// let head = http::Request::put("https://api.example.org/upload").body(())?;
    /// let response = client.send_with_body(head, make_body).await?;
    /// # let _ = response;
    /// # Ok(()) }
    /// ```
    pub async fn send_with_body<B, F>(
        &self,
        request: http::Request<()>,
        mut make_body: F,
    ) -> Result<http::Response<Incoming>, Error>
    where
        F: FnMut() -> B + Send + 'static,
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let (mut head, ()) = request.into_parts();
        let party = head.extensions.get::<Party>().cloned().unwrap_or_default();
        let extensions = std::mem::take(&mut head.extensions);
        let body = AppBody::Factory(Box::new(move || RequestBody::wrap(make_body())));
        self.run(party, head, Application { body, extensions })
            .await
    }

    async fn run(
        &self,
        party: Party,
        head: http::request::Parts,
        mut app: Application,
    ) -> Result<http::Response<Incoming>, Error> {
        let flow = Flow::for_head(head, party);
        let mut http = &self.http;
        drive_flow(&self.engine, &self.options, flow, &mut http, &mut app).await
    }

    /// `GET url`.
    pub fn get(&self, url: &str) -> RequestBuilder<'_, C> {
        self.request(Method::GET, url)
    }

    /// `HEAD url`.
    pub fn head(&self, url: &str) -> RequestBuilder<'_, C> {
        self.request(Method::HEAD, url)
    }

    /// `DELETE url`.
    pub fn delete(&self, url: &str) -> RequestBuilder<'_, C> {
        self.request(Method::DELETE, url)
    }

    /// `POST url` with `body`.
    pub fn post(&self, url: &str, body: impl Into<Bytes>) -> RequestBuilder<'_, C> {
        self.request(Method::POST, url).body(body)
    }

    /// `PUT url` with `body`.
    pub fn put(&self, url: &str, body: impl Into<Bytes>) -> RequestBuilder<'_, C> {
        self.request(Method::PUT, url).body(body)
    }

    /// `PATCH url` with `body`.
    pub fn patch(&self, url: &str, body: impl Into<Bytes>) -> RequestBuilder<'_, C> {
        self.request(Method::PATCH, url).body(body)
    }

    /// Any method; add headers, a body and a party, then [`RequestBuilder::send`].
    pub fn request(&self, method: Method, url: &str) -> RequestBuilder<'_, C> {
        RequestBuilder::new(self, method, url)
    }

    /// Logs the default requesting party in at `issuer` with the resource-owner password grant; the token
    /// is then presented to resource servers (see `Config::access_token_to_resource`) and refreshed.
    pub async fn login_password(
        &self,
        issuer: &Issuer,
        username: &str,
        password: impl Into<Password>,
        scope: Option<&str>,
    ) -> Result<(), Error> {
        self.login(Login::password(issuer, username, password, scope))
            .await
    }

    /// Obtains a token for the client itself (`client_credentials`) as the default requesting party.
    pub async fn login_client_credentials(
        &self,
        issuer: &Issuer,
        scope: Option<&str>,
    ) -> Result<(), Error> {
        self.login(Login::client_credentials(issuer, scope)).await
    }

    /// Keycloak's ticketless request (`docs/protocol.md` §2.9): an RPT for a resource server ahead of any
    /// challenge (cached for its origin), or a decision, or the granted permissions. See
    /// [`uma_core::KeycloakPermissions`].
    pub async fn keycloak_permissions(
        &self,
        request: uma_core::KeycloakPermissions,
    ) -> Result<uma_core::PermissionsAnswer, Error> {
        let mut http = &self.http;
        drive(&self.engine, &self.options, request, &mut http).await
    }

    /// Runs an initial grant (any party, see [`Login::for_party`]) at a configured authorization server.
    pub async fn login(&self, login: Login) -> Result<(), Error> {
        let mut http = &self.http;
        drive(&self.engine, &self.options, login, &mut http).await
    }

    /// Uses an access token the program already has (from any OAuth2 library) for the default party.
    pub fn set_access_token(&self, token: impl Into<AccessToken>) {
        let identity = Identity::from_token(token.into(), tokio::time::Instant::now().into_std());
        self.set_identity(Party::default(), identity);
    }

    /// Sets (or replaces) a requesting party's own token, with its expiry and refresh token if known.
    pub fn set_identity(&self, party: Party, identity: Identity) {
        self.engine
            .with_core(|core| core.set_identity(party, identity));
    }

    /// Counters of what the client has sent.
    pub fn stats(&self) -> Stats {
        self.engine.with_core(|core| core.stats())
    }

    /// Runs `f` on the shared core client (e.g. `forget_tokens`, `rpt_count`). Keep it short: every
    /// request waits for the lock meanwhile.
    pub fn with_core<R>(&self, f: impl FnOnce(&mut uma_core::Client) -> R) -> R {
        self.engine.with_core(f)
    }
}
