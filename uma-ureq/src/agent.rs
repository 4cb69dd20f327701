//! [`UmaClient`]: a `ureq::Agent` that runs the UMA flow inside every request.

use std::sync::Arc;
use std::time::Instant;

use http::Method;
use uma_core::discovery::Issuer;
use uma_core::secret::{AccessToken, Password};
use uma_core::{Client, Config, Flow, Identity, Login, Party, Stats};

use crate::body::{AppBody, Opener};
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
pub struct UmaClient {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for UmaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UmaClient")
            .field("options", &self.shared.options)
            .finish_non_exhaustive()
    }
}

impl UmaClient {
    /// A client over a default ureq agent: rustls, verifying servers against the Mozilla root
    /// certificates (webpki-roots). Fallible like `uma_hyper::UmaClient::new`, so that switching adapters
    /// changes no call site; building a ureq agent does not fail today.
    pub fn new(config: Config) -> Result<Self, Error> {
        Ok(Self::from_ureq(ureq::Agent::new_with_defaults(), config))
    }

    /// A client over a ureq agent with this TLS configuration (e.g. one trusting a private CA:
    /// [`UmaClient::tls_config_trusting_pem`]).
    pub fn with_tls_config(config: Config, tls: ureq::tls::TlsConfig) -> Self {
        let agent =
            ureq::Agent::new_with_config(ureq::Agent::config_builder().tls_config(tls).build());
        Self::from_ureq(agent, config)
    }

    /// Wraps an existing `ureq` agent (its TLS, proxy and pool settings apply to every exchange) with a
    /// fresh core client for `config` and the default [`Options`].
    pub fn from_ureq(agent: ureq::Agent, config: Config) -> Self {
        Self {
            shared: Arc::new(Shared::new(agent, Client::new(config), Options::default())),
        }
    }

    /// Replaces the timeouts and limits (for this handle and the clones made from it afterwards; the
    /// caches stay shared with the handle it was made from).
    pub fn with_options(self, options: Options) -> Self {
        Self {
            shared: Arc::new(self.shared.with_options(options)),
        }
    }

    /// The timeouts and limits in force.
    pub fn options(&self) -> &Options {
        &self.shared.options
    }

    /// A TLS configuration that trusts exactly these DER certificates (e.g. a test CA) instead of the
    /// built-in roots; none at all makes a client for plain http only (as `uma_hyper`'s).
    pub fn tls_config_trusting(
        certificates: impl IntoIterator<Item = Vec<u8>>,
    ) -> Result<ureq::tls::TlsConfig, Error> {
        let certificates: Vec<_> = certificates
            .into_iter()
            .map(|der| ureq::tls::Certificate::from_der(&der).to_owned())
            .collect();
        Ok(ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::Specific(Arc::new(certificates)))
            .build())
    }

    /// A TLS configuration that trusts exactly the certificates of this PEM text (one or more
    /// `-----BEGIN CERTIFICATE-----` blocks, e.g. the file `uma serve --tls` writes) instead of the
    /// built-in roots. Other PEM items are ignored; text without any certificate is an error
    /// ([`Error::Tls`]), so a wrong file never silently trusts nothing.
    ///
    /// ```
    /// use uma_ureq::UmaClient;
    /// use uma_ureq::uma_core::{AuthorizationServer, ClientCredentials, Config, Issuer};
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
    /// let tls = UmaClient::tls_config_trusting_pem(&pem)?;
    /// let issuer = Issuer::parse(&issuer_url)?;
    /// let config = Config::new().with_authorization_server(AuthorizationServer::new(
    ///     issuer,
    ///     ClientCredentials::basic("app", "app-secret"),
    /// ));
    /// let client = UmaClient::with_tls_config(config, tls);
    /// assert_eq!(client.get(&resource).send()?.status(), 200);
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn tls_config_trusting_pem(pem: &[u8]) -> Result<ureq::tls::TlsConfig, Error> {
        let mut certificates = Vec::new();
        for item in ureq::tls::parse_pem(pem) {
            match item {
                Ok(ureq::tls::PemItem::Certificate(certificate)) => {
                    certificates.push(certificate.der().to_vec())
                }
                Ok(_) => {}
                Err(e) => {
                    return Err(Error::Tls(
                        format!("CA certificates: not valid PEM: {e}").into(),
                    ));
                }
            }
        }
        if certificates.is_empty() {
            return Err(Error::Tls(
                "CA certificates: no PEM certificate found".into(),
            ));
        }
        Self::tls_config_trusting(certificates)
    }

    /// Sends `request` on behalf of the party in its extensions
    /// (`request.extensions_mut().insert(Party::new("alice"))`), else the default party, and runs the UMA
    /// flow when the resource server asks for it. The body (bytes) is replayed byte for byte on every
    /// retry. The URI must be absolute.
    ///
    /// The answer comes back with its body unread, whatever its status and size: read it with
    /// `response.body_mut().as_reader()` (or `read_to_string`, `read_to_vec`, which ureq bounds at
    /// 10 MB by default). Any answer without a UMA challenge (`2xx`, `404`, a `401` with another
    /// scheme…) is returned as it is; a failed flow is [`Error::Uma`], with the last resource answer's
    /// head in [`Error::response`].
    pub fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<ureq::Body>, Error> {
        let party = request
            .extensions()
            .get::<Party>()
            .cloned()
            .unwrap_or_default();
        self.send_for_party(party, request)
    }

    /// [`UmaClient::send`] on behalf of `party`: its RPTs, PCTs and access token never mix with another
    /// party's.
    pub fn send_for_party(
        &self,
        party: Party,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<ureq::Body>, Error> {
        let (head, body) = request.into_parts();
        self.drive(head, AppBody::Replay(body), party)
    }

    /// Sends a request whose body `open` opens afresh for each send (a file, a generator): a body of any
    /// size, never held in memory, that survives a challenge. The party is the request's `Party`
    /// extension if it has one, else the default party.
    ///
    /// ```no_run
    /// # fn run(agent: uma_ureq::UmaClient) -> Result<(), Box<dyn std::error::Error>> {
    /// let head = http::Request::put("https://rs.example.org/upload")
    ///     .header("content-length", std::fs::metadata("big.tar")?.len())
    ///     .body(())?;
    /// let response = agent.send_with_body(head, || std::fs::File::open("big.tar"))?;
    /// # let _ = response;
    /// # Ok(()) }
    /// ```
    pub fn send_with_body<R, F>(
        &self,
        request: http::Request<()>,
        mut open: F,
    ) -> Result<http::Response<ureq::Body>, Error>
    where
        F: FnMut() -> std::io::Result<R> + Send + 'static,
        R: std::io::Read + Send + 'static,
    {
        let (head, ()) = request.into_parts();
        let party = head.extensions.get::<Party>().cloned().unwrap_or_default();
        let open: Opener = Box::new(move || Ok(Box::new(open()?) as Box<dyn std::io::Read + Send>));
        self.drive(head, AppBody::Reopen(open), party)
    }

    fn drive(
        &self,
        head: http::request::Parts,
        mut body: AppBody,
        party: Party,
    ) -> Result<http::Response<ureq::Body>, Error> {
        let mut tracer = Tracer::request(Some((&head.method, &head.uri)));
        let mut flow = Flow::for_head(head, party);
        let response = self.shared.drive_flow(&mut flow, &mut body, &mut tracer)?;
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
            body: Body::Bytes(Vec::new()),
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
        self.login(Login::password(issuer, username, password, scope))
    }

    /// Obtains an access token for the client itself (the `client_credentials` grant) at `issuer`, which
    /// must be one of the configured authorization servers.
    pub fn login_client_credentials(
        &self,
        issuer: &Issuer,
        scope: Option<&str>,
    ) -> Result<(), Error> {
        self.login(Login::client_credentials(issuer, scope))
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
    pub fn with_core<R>(&self, f: impl FnOnce(&mut Client) -> R) -> R {
        self.shared.with_client(f).0
    }

    /// The wrapped `ureq` agent.
    pub fn agent(&self) -> &ureq::Agent {
        &self.shared.agent
    }
}

/// A request being put together; [`RequestBuilder::send`] runs it through the UMA flow.
///
/// ```no_run
/// # fn demo(agent: &uma_ureq::UmaClient) -> Result<(), uma_ureq::Error> {
/// let response = agent
///     .post("https://api.example.org/photos", br#"{"title":"x"}"#.to_vec())
///     .header("content-type", "application/json")
///     .send()?;
/// println!("{}", response.status());
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until it is sent"]
pub struct RequestBuilder<'a> {
    agent: &'a UmaClient,
    builder: http::request::Builder,
    body: Body,
    party: Party,
}

/// A request body as the builder holds it.
enum Body {
    Bytes(Vec<u8>),
    File(std::path::PathBuf),
    Reader(Box<dyn std::io::Read + Send>),
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Bytes(b) => write!(f, "<{} bytes>", b.len()),
            Body::File(_) => f.write_str("<file>"),
            Body::Reader(_) => f.write_str("<reader>"),
        }
    }
}

impl std::fmt::Debug for RequestBuilder<'_> {
    // Method, URL without userinfo or query, header names and body length: never a credential.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        uma_core::trace::debug_request_builder(f, &self.builder, &self.body, &self.party)
    }
}

impl RequestBuilder<'_> {
    /// Adds a header (appended; invalid names or values surface as [`Error::InvalidRequest`] on `send`).
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

    /// Sets the body (replaces any earlier one): bytes, replayed after a challenge.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Body::Bytes(body.into());
        self
    }

    /// Streams the file at `path` as the body, opening it again for the retry after a challenge: a body
    /// of any size, never held in memory. Its length goes in `Content-Length` (unless set).
    pub fn body_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.body = Body::File(path.into());
        self
    }

    /// Reads the body from `reader`. A reader that ends within [`Options::max_replay_body`] is replayed
    /// after a challenge; a longer one is sent once, with `Expect: 100-continue` so that a server that
    /// challenges before reading leaves it for the retry; a server that reads it first and then
    /// challenges ends the call in [`Error::BodyNotReplayable`].
    pub fn body_reader(mut self, reader: impl std::io::Read + Send + 'static) -> Self {
        self.body = Body::Reader(Box::new(reader));
        self
    }

    /// Acts on behalf of `party` instead of the default requesting party.
    pub fn party(mut self, party: Party) -> Self {
        self.party = party;
        self
    }

    /// Sends the request ([`UmaClient::send_for_party`]); the answer's body streams.
    pub fn send(self) -> Result<http::Response<ureq::Body>, Error> {
        let RequestBuilder {
            agent,
            mut builder,
            body,
            party,
        } = self;
        let body = match body {
            Body::Bytes(bytes) => AppBody::Replay(bytes),
            Body::Reader(reader) => AppBody::read(reader, agent.options().max_replay_body)
                .map_err(|e| Error::RequestBody(Box::new(e)))?,
            Body::File(path) => {
                let len = std::fs::metadata(&path)
                    .map_err(|e| Error::RequestBody(Box::new(e)))?
                    .len();
                let announced = builder
                    .headers_ref()
                    .is_some_and(|h| h.contains_key(http::header::CONTENT_LENGTH));
                if !announced {
                    builder = builder.header(http::header::CONTENT_LENGTH, len);
                }
                AppBody::Reopen(Box::new(move || {
                    let file = std::fs::File::open(&path)?;
                    Ok(Box::new(file) as Box<dyn std::io::Read + Send>)
                }))
            }
        };
        let (head, ()) = builder.body(())?.into_parts();
        agent.drive(head, body, party)
    }
}
