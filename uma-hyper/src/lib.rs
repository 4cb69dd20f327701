//! `uma-hyper`: an async UMA 2.0 client over hyper 1, in two forms: [`UmaClient`] (wrapping
//! `hyper_util`'s pooled client) and a tower [`UmaLayer`] for any HTTP client service.
//!
//! Send a request; when the resource server answers with a UMA challenge, the client discovers the
//! authorization server named in it (if trusted), exchanges the ticket for an RPT, and replays the request
//! with it. Every protocol decision is made by the sans-IO [`uma_core`]; this crate only moves bytes,
//! keeps time and wakes waiting tasks.
//!
//! # Concurrency
//!
//! All clones share one core client. Its lock is held only for short synchronous calls, never across an
//! `.await`. When many tasks need the same RPT at once, one runs the exchange and the others park on a
//! per-exchange [`tokio::sync::Notify`] until it lands, so a herd costs one discovery and one token
//! request. A request future that is dropped half-way (cancelled, timed out) releases what it held, and
//! the tasks waiting on it proceed.
//!
//! # Bodies and limits
//!
//! Resource answers come back with hyper's streaming body, unread: `uma` decides from the status and
//! headers, so a 1 GiB download costs no more memory than with bare hyper, and a challenge is answered
//! from its header however large its body. The request body is replayed after a challenge when it is in
//! memory (or a stream that ends within [`Options::max_replay_body`], 4 MiB); a longer stream is sent
//! once ([`Error::BodyNotReplayable`] if challenged), unless a factory re-creates it
//! ([`UmaClient::send_with_body`]). See [`Options`] for the timeouts (one per exchange, one per
//! request) and the 1 MiB bound on authorization-server answers.
//!
//! # Example: the client form
//!
//! ```no_run
//! use uma_core::auth::ClientCredentials;
//! use uma_core::discovery::Issuer;
//! use uma_core::{AuthorizationServer, Config};
//! use uma_hyper::UmaClient;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let issuer = Issuer::parse("https://as.example.org")?;
//! let config = Config::new()
//!     .with_authorization_server(AuthorizationServer::new(issuer, ClientCredentials::basic("app", "s3cret")));
//! let client = UmaClient::new(config)?;
//! let response = client.get("https://api.example.org/photos/1").send().await?;
//! let status = response.status();
//! let body = http_body_util::BodyExt::collect(response.into_body()).await?.to_bytes();
//! println!("{status} {} bytes", body.len());
//! # Ok(()) }
//! ```
//!
//! # Example: the tower form
//!
//! ```
//! use hyper_util::client::legacy::Client;
//! use hyper_util::rt::TokioExecutor;
//! use tower_layer::Layer;
//! use uma_core::Config;
//! use uma_hyper::{RequestBody, UmaLayer};
//!
//! let http = Client::builder(TokioExecutor::new())
//!     .build::<_, RequestBody>(hyper_util::client::legacy::connect::HttpConnector::new());
//! let layer = UmaLayer::new(Config::new());
//! // With tower: `ServiceBuilder::new().layer(layer).service(http)`.
//! let service = layer.layer(http);
//! # let _ = service;
//! ```
//!
//! # The resource server's side: [`Protection`]
//!
//! [`UmaClient::protection`] gives a resource server a [`Protection`] handle on the authorization
//! server's protection API: PAT kept fresh, resource registration, permission tickets, RPT
//! introspection, RFC 7591 client registration, and the policy-enforcement decision for a request
//! ([`Protection::enforce`]) or just the `401` challenge ([`Protection::challenge_for`]), ready to
//! return from a hyper handler. `examples/pep.rs` is a complete resource server. Errors are
//! [`protection::Error`].
//!
//! ```no_run
//! use uma_core::auth::ClientCredentials;
//! use uma_core::discovery::Issuer;
//! use uma_core::protection::{Dialect, PermissionRequest};
//! use uma_hyper::protection::Decision;
//!
//! # async fn handler(client: uma_hyper::UmaClient<uma_hyper::HttpsClientConnector>, request: http::Request<()>)
//! # -> Result<http::Response<Vec<u8>>, Box<dyn std::error::Error>> {
//! let issuer = Issuer::parse("https://kc.example.org/realms/demo")?;
//! let protection = client
//!     .protection(&issuer, ClientCredentials::basic("photos", "secret"), Dialect::Keycloak)
//!     .await?;
//! let wanted = vec![PermissionRequest::new("album-1", ["view"])];
//! Ok(match protection.enforce(request.headers(), wanted).await? {
//!     Decision::Allow(_rpt) => http::Response::new(b"the album".to_vec()),
//!     Decision::Challenge(challenge) => challenge,
//! })
//! # }
//! ```
//!
//! # Protecting a server: [`PepLayer`]
//!
//! A tower layer for hyper or axum servers: a rule table maps (method, path) to a resource and scopes;
//! requests with a sufficient RPT pass, others get the `401` challenge with a fresh ticket. See
//! [`pep_layer`].
//!
//! # Tracing
//!
//! With the `tracing` feature (on by default), every request, login and protection call is a
//! `uma.request` span and every HTTP exchange in it a `uma.exchange` span, with OpenTelemetry's HTTP
//! client field names and the UMA step; no token, ticket or secret is ever a field value. See
//! [`spans`] and the README's "Tracing".
//!
//! # Errors
//!
//! One [`Error`]: [`Error::Uma`] for UMA failures (with [`Error::response`], the last resource-server
//! response), [`Error::Transport`], [`Error::Timeout`], [`Error::BodyTooLarge`]… No `Display` shows a
//! token, ticket, secret or password.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod body;
mod client;
mod engine;
mod error;
pub mod herd;
mod layer;
mod options;
pub mod pep_layer;
pub mod protection;
mod request;
pub mod spans;
pub mod store;
pub mod timing;

pub use body::RequestBody;
pub use client::{HttpsClientConnector, UmaClient};
pub use error::{BodyKind, BoxError, Deadline, Error};
pub use layer::{ResponseFuture, UmaLayer, UmaService};
pub use options::{
    DEFAULT_EXCHANGE_TIMEOUT, DEFAULT_MAX_AUTHORIZATION_SERVER_BODY, DEFAULT_MAX_REPLAY_BODY,
    DEFAULT_REQUEST_TIMEOUT, Observer, Options,
};
pub use pep_layer::PepLayer;
pub use protection::Protection;
pub use request::RequestBuilder;
pub use store::SharedStore;
// The transport crates whose types the public API takes (`from_hyper`, `with_tls_config`), re-exported as
// uma-ureq re-exports `ureq`, so that the versions always match.
pub use hyper;
pub use hyper_util;
pub use rustls;
pub use uma_core;
