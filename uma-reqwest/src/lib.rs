//! `uma-reqwest`: UMA 2.0 for reqwest, as a [`reqwest_middleware::Middleware`]: [`UmaMiddleware`].
//!
//! Put it in a `reqwest_middleware` chain; requests to UMA-protected APIs then carry the cached RPT
//! for their origin and requesting party, and a UMA challenge is answered (discovery, ticket grant on
//! a plain inner `reqwest::Client`, never through the chain) and the request replayed through the rest
//! of the chain. Every protocol decision is made by the sans-IO [`uma_core`]; this crate only moves
//! bytes, keeps time and wakes waiting tasks, like `uma-hyper`, whose [`Options`], [`Error`] and herd engine ([`uma_hyper::herd`]) it
//! shares.
//!
//! ```no_run
//! use reqwest_middleware::ClientBuilder;
//! use uma_core::auth::ClientCredentials;
//! use uma_core::discovery::Issuer;
//! use uma_core::{AuthorizationServer, Config, Party};
//! use uma_reqwest::UmaMiddleware;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let issuer = Issuer::parse("https://as.example.org")?;
//! let config = Config::new()
//!     .with_authorization_server(AuthorizationServer::new(issuer, ClientCredentials::basic("app", "s3cret")));
//! let client = ClientBuilder::new(reqwest::Client::new())
//!     .with(UmaMiddleware::new(config))
//!     .build();
//! let response = client
//!     .get("https://api.example.org/photos/1")
//!     .with_extension(Party::new("alice")) // optional: whose RPT; the default party otherwise
//!     .send()
//!     .await?;
//! println!("{}", response.status());
//! # Ok(()) }
//! ```
//!
//! # Order in the chain
//!
//! Middleware *before* `UmaMiddleware` sees one call per application request (a retry middleware there
//! retries the whole UMA dance); middleware *after* it sees every resource-server attempt: the
//! challenge and the replay (a tracing middleware there makes one span per attempt). Both orders work.
//! [`Options::exchange_timeout`] bounds each call of the rest of the chain, retries made inside it
//! included (except a send that carries a streaming upload, which may take longer than any exchange);
//! [`Options::request_timeout`] bounds the whole dance up to the final response's head.
//!
//! # Bodies
//!
//! A body in memory is replayed after a challenge, whatever its size. A streaming body is sent once: if
//! the answer is a UMA challenge, it is returned as the response, untouched but for [`NotReplayed`] in
//! its extensions, and nothing goes to the authorization server. Every answer is returned as it came,
//! body unread: the flow decides from status and headers (a challenge's body, however large, is never
//! read), except for a UMA 1.0 challenge whose ticket is in a JSON body (read up to 64 KiB).
//!
//! # TLS
//!
//! `reqwest` is built here with rustls and no crypto provider of its own (no aws-lc, no native-tls): the
//! inner client uses ring explicitly. Your own `reqwest::Client` needs a provider: reqwest's default
//! features bring aws-lc-rs, or install ring with `rustls::crypto::ring::default_provider().install_default()`.
//!
//! # Tracing
//!
//! With the `tracing` feature (on by default), each request is a `uma.request` span and each exchange
//! in it (the resource-server attempts and the authorization-server calls) a `uma.exchange` span, with
//! OpenTelemetry's HTTP client field names and the UMA step; no token, ticket or secret is ever a field
//! value. The same spans as `uma-ureq` and `uma-hyper` ([`uma_hyper::spans`]; the README's "Tracing").
//!
//! # Errors
//!
//! UMA failures, timeouts and authorization-server transport errors are
//! `reqwest_middleware::Error::Middleware` wrapping an [`Error`]; [`uma_error`] finds it. Errors of the
//! rest of the chain (the resource server's transport) are passed on as they are.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod drive;
mod middleware;
mod send;

pub use middleware::{NotReplayed, UmaMiddleware};
pub use uma_core;
pub use uma_hyper::{BodyKind, BoxError, Deadline, Error, Observer, Options};

/// A plain `reqwest::Client` for the authorization servers, with this TLS configuration (e.g. one from
/// `uma_hyper::UmaClient::tls_config_trusting`) and without redirects.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let tls = uma_hyper::UmaClient::tls_config_trusting(Vec::<Vec<u8>>::new())?;
/// let http = uma_reqwest::http_client(tls)?;
/// let uma = uma_reqwest::UmaMiddleware::with_http_client(uma_core::Config::new(), http);
/// # let _ = uma; Ok(()) }
/// ```
pub fn http_client(tls: rustls::ClientConfig) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// The UMA error inside a `reqwest_middleware` error, if it is one.
///
/// ```
/// let error = reqwest_middleware::Error::Middleware(anyhow::Error::new(uma_reqwest::Error::InvalidRequest(
///     "example".into(),
/// )));
/// assert!(matches!(uma_reqwest::uma_error(&error), Some(uma_reqwest::Error::InvalidRequest(_))));
/// ```
pub fn uma_error(error: &reqwest_middleware::Error) -> Option<&Error> {
    match error {
        reqwest_middleware::Error::Middleware(e) => e.downcast_ref::<Error>(),
        _ => None,
    }
}
