//! `uma-ureq`: a blocking UMA 2.0 client. Make a request, get the response; when the resource server
//! answers with a UMA challenge, the dance (discovery, ticket grant, retry with the RPT, upgrades,
//! refreshes, `need_info`, `request_submitted`) happens inside the call.
//!
//! [`UmaClient`] wraps a [`ureq::Agent`] you configure (TLS roots, proxy, pool) and a sans-IO
//! [`uma_core::Client`] that makes every protocol decision. This crate only moves bytes, sleeps and
//! waits.
//!
//! # From the Python seed
//!
//! With `requests-oauthlib-uma` a program logs in with `fetch_token` and calls `session.get`:
//!
//! ```text
//! session = UMA2Session(client_id="app")
//! session.fetch_token(token_url, username="alice", password="…", client_secret="…")
//! response = session.get("https://rs.example.org/api/a")
//! ```
//!
//! The same with `uma-ureq` (the authorization server is trusted explicitly: a challenge naming any
//! other `as_uri` is refused before a single byte goes there):
//!
//! ```no_run
//! use uma_ureq::UmaClient;
//! use uma_ureq::uma_core::{AuthorizationServer, Config};
//! use uma_ureq::uma_core::auth::ClientCredentials;
//! use uma_ureq::uma_core::discovery::Issuer;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let issuer = Issuer::parse("https://auth.example.org/realms/demo")?;
//! let config = Config::new().with_authorization_server(AuthorizationServer::new(
//!     issuer.clone(),
//!     ClientCredentials::basic("app", "app-secret"),
//! ));
//! let agent = UmaClient::from_ureq(ureq::Agent::new_with_defaults(), config);
//! agent.login_password(&issuer, "alice", "alice-pw", Some("openid"))?;
//! let mut response = agent.get("https://rs.example.org/api/a").send()?;
//! // The body streams: read it, or copy it to a file with `std::io::copy(&mut body.as_reader(), …)`.
//! println!("{} {}", response.status(), response.body_mut().read_to_string()?);
//! # Ok(()) }
//! ```
//!
//! Here it is against the embedded test servers (this example runs):
//!
//! ```
//! # use uma_ureq::UmaClient;
//! # use uma_ureq::uma_core::{AuthorizationServer, Config};
//! # use uma_ureq::uma_core::auth::ClientCredentials;
//! # use uma_ureq::uma_core::discovery::Issuer;
//! # let kit = uma_testkit::Kit::start(uma_testkit::KitConfig::new(uma_testkit::Dialect::keycloak())).unwrap();
//! let issuer = Issuer::parse(&kit.issuer())?;
//! let config = Config::new()
//!     .with_authorization_server(AuthorizationServer::new(
//!         issuer.clone(),
//!         ClientCredentials::basic("app", "app-secret"),
//!     ))
//!     .allow_insecure_http(true); // the test servers speak plain http on loopback
//! let agent = UmaClient::from_ureq(ureq::Agent::new_with_defaults(), config);
//! agent.login_password(&issuer, "alice", "alice-pw", Some("openid"))?;
//! let response = agent.get(&kit.rs_url("/api/a")).send()?;
//! assert_eq!(response.status(), 200);
//! // login (discovery + password grant), the challenge, the ticket grant, the retry
//! assert_eq!(agent.stats().http_exchanges(), 5);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Initial authentication
//!
//! - [`UmaClient::login_password`]: the resource-owner password grant (Keycloak direct access grants,
//!   the EOEPCA demo client). With scope `openid` the ID token is kept too.
//! - [`UmaClient::login_client_credentials`]: the client is the requesting party.
//! - [`UmaClient::set_access_token`]: a token from any OAuth2 library (authorization code, device flow…).
//! - None of them: plenty of servers (the UMA recommendation, Gluu) need only the client's credentials.
//!
//! A claim token to push (e.g. an OpenID Connect ID token, as the EOEPCA clients do) is configured once,
//! per authorization server, in [`uma_core::AuthorizationServer::claim`]; when it is pushed is
//! [`uma_core::Config::claim_pushing`] (by default only after the server answers `need_info`):
//!
//! ```
//! use uma_ureq::uma_core::{AuthorizationServer, Config};
//! use uma_ureq::uma_core::auth::ClientCredentials;
//! use uma_ureq::uma_core::discovery::Issuer;
//! use uma_ureq::uma_core::grant::PushedClaim;
//! use uma_ureq::uma_core::secret::ClaimToken;
//!
//! # let id_token_from_your_login = "eyJ...";
//! let mut server = AuthorizationServer::new(
//!     Issuer::parse("https://auth.example.org")?,
//!     ClientCredentials::basic("app", "app-secret"),
//! );
//! server.claim = Some(PushedClaim::id_token(ClaimToken::new(id_token_from_your_login)));
//! let config = Config::new().with_authorization_server(server);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Requests and bodies
//!
//! [`UmaClient::send`] takes an [`http::Request<Vec<u8>>`]; [`UmaClient::get`], [`UmaClient::post`],
//! [`UmaClient::put`], [`UmaClient::patch`], [`UmaClient::delete`], [`UmaClient::head`] and
//! [`UmaClient::request`] build one ([`RequestBuilder`]). Bodies are buffered and replayed byte for byte
//! on every retry. [`UmaClient::send_for_party`] and [`RequestBuilder::party`] act for another requesting
//! party: RPTs, PCTs and tokens never mix between parties.
//!
//! Every exchange is sent with ureq's `http_status_as_error(false)` and no redirects, so challenges and
//! error bodies survive. Resource-server redirects are followed only when
//! [`uma_core::Config::max_redirects`] allows it, and a redirect to another origin never carries
//! `Authorization`, cookies or the RPT; authorization-server redirects are never followed.
//!
//! # Errors
//!
//! One [`Error`]: [`Error::Uma`] when the flow failed (untrusted server, denial, `need_info` without a
//! claim to push, approval still pending, max flows reached…), with the last resource response in
//! [`Error::response`]; [`Error::Transport`], [`Error::Timeout`], [`Error::BodyTooLarge`],
//! [`Error::InvalidRequest`] (the same type as `uma_hyper::Error`). Nothing printed by an error contains a secret.
//!
//! ```no_run
//! # fn demo(agent: &uma_ureq::UmaClient) {
//! match agent.get("https://rs.example.org/api/a").send() {
//!     Ok(response) => println!("{}", response.status()),
//!     Err(error) if error.is_denied() => eprintln!("access denied: {error}"),
//!     Err(error) => {
//!         eprintln!("{error}");
//!         if let Some(last) = error.response() {
//!             eprintln!("the resource server last said {}", last.status());
//!         }
//!     }
//! }
//! # }
//! ```
//!
//! # The resource server's side: [`Protection`]
//!
//! A service that protects its own resources with UMA is an OAuth client of the authorization server's
//! protection API. [`UmaClient::protection`] gives a [`Protection`] handle that discovers the endpoints,
//! keeps a PAT fresh, registers resources, asks for permission tickets, introspects RPTs, registers
//! clients (RFC 7591), and makes the policy-enforcement decision for a request
//! ([`Protection::enforce`]: serve, or the `401` UMA challenge with a fresh ticket). Errors are
//! [`protection::Error`].
//!
//! ```
//! # use uma_ureq::UmaClient;
//! # use uma_ureq::uma_core::Config;
//! use uma_ureq::protection::Decision;
//! use uma_ureq::uma_core::auth::ClientCredentials;
//! use uma_ureq::uma_core::discovery::Issuer;
//! use uma_ureq::uma_core::protection::{Dialect, PermissionRequest, ResourceDescription};
//!
//! # let kit = uma_testkit::Kit::start(uma_testkit::KitConfig::new(uma_testkit::Dialect::Spec)).unwrap();
//! let rs = UmaClient::from_ureq(ureq::Agent::new_with_defaults(), Config::new().allow_insecure_http(true));
//! let protection = rs.protection(
//!     &Issuer::parse(&kit.issuer())?,
//!     ClientCredentials::basic("rs", "rs-secret"),
//!     Dialect::Uma,
//! )?;
//! let album = protection.create_resource(&ResourceDescription::new("album", ["view"]))?;
//!
//! // In a request handler: `headers` are the incoming request's.
//! let headers = http::HeaderMap::new();
//! match protection.enforce(&headers, vec![PermissionRequest::new(album.id.clone(), ["view"])])? {
//!     Decision::Allow(_rpt) => { /* serve the album */ }
//!     Decision::Challenge(response) => assert_eq!(response.status(), 401), // return it as it is
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Threads, time and size
//!
//! [`UmaClient`] is `Clone + Send + Sync`; clones share one cache. A herd of cold requests to the same
//! resource costs one discovery and one token request: the others wait for that exchange (a condvar, no
//! polling). [`Options`] bounds each exchange ([`Options::exchange_timeout`], authorization-server calls
//! included), each call ([`Options::request_timeout`], waits included), and the authorization-server
//! answers read ([`Options::max_authorization_server_body`]). A request that gives up releases the
//! exchanges it was running so the requests waiting on it carry on at once.
//!
//! Bodies stream: a resource answer comes back with its `ureq::Body` unread, whatever its size (`uma`
//! decides from status and headers; a challenge is answered from its header). Request bodies: bytes are
//! replayed after a challenge, a file ([`RequestBuilder::body_file`]) is opened again, a reader
//! ([`RequestBuilder::body_reader`]) is buffered up to [`Options::max_replay_body`] or else sent once
//! with `Expect: 100-continue`, so that a challenge arrives before the body leaves.
//!
//! [`Options::observer`] sees one secret-free [`uma_core::trace::ExchangeEvent`] per exchange, and
//! [`UmaClient::stats`] counts them.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod agent;
mod body;
mod driver;
mod error;
mod options;
pub mod protection;
pub mod store;
mod transport;

pub use agent::{RequestBuilder, UmaClient};
pub use error::{BodyKind, BoxError, Deadline, Error};
pub use options::{
    DEFAULT_EXCHANGE_TIMEOUT, DEFAULT_MAX_AUTHORIZATION_SERVER_BODY, DEFAULT_MAX_REPLAY_BODY,
    DEFAULT_REQUEST_TIMEOUT, Observer, Options,
};
pub use protection::Protection;
pub use store::SharedStore;
pub use uma_core;
pub use ureq;
