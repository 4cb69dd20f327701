//! `uma-core`: a sans-IO UMA 2.0 (User-Managed Access) client engine.
//!
//! A program calls a protected API; the resource server answers `401` with a UMA challenge; this crate
//! decides what to send next — discovery of the authorization server, the ticket grant, the retry with
//! the RPT, an upgrade, a refresh — and never touches a socket or a clock. The adapters `uma-ureq`
//! (blocking) and `uma-hyper` (async, tower) drive it over real HTTP; anything else can too.
//!
//! # The run loop
//!
//! 1. Build one [`Client`] per application (configuration + caches); share it behind a lock.
//! 2. For each application request, make a [`Flow`] and call [`Machine::start`] with `now`.
//! 3. [`Step::Send`]: send the request *as it is* (no redirects), then call
//!    [`Machine::handle_response`] with its id and the response.
//! 4. [`Step::Wait`]: sleep until `until`, then [`Machine::resume`]. [`Step::Park`]: another request is
//!    running the same exchange; wait until [`Client::poll_finished_exchange`] reports its key (or `until`),
//!    then `resume`.
//! 5. [`Step::Done`] is the final response; [`Step::Failed`] carries a typed [`Error`] and the last
//!    resource-server response, if any.
//! 6. If you give up early (timeout, transport error, cancellation), call [`Machine::abort`].
//!
//! Bodies: a driver that streams makes the flow with [`Flow::for_head`] and attaches the application's
//! body where [`Outgoing::attach_body`] says; it hands resource answers over as heads (empty body) unless
//! [`resource_body_limit`] asks for a few KiB, and reattaches the unread body when the flow ends on that
//! head. [`Flow::new`] keeps the simple form: the flow holds the request body, the driver passes whole
//! answers.
//!
//! Hold the client's lock only for the calls, never across I/O; after each call, drain
//! `poll_finished_exchange` and wake the parked requests.
//!
//! # Example: one request against canned responses
//!
//! ```
//! use std::time::Instant;
//! use uma_core::{AuthorizationServer, Client, ClientCredentials, Config, Issuer};
//! use uma_core::{Flow, Machine, Step};
//!
//! let issuer = Issuer::parse("https://as.example.org").unwrap();
//! let config = Config::new()
//!     .with_authorization_server(AuthorizationServer::new(issuer, ClientCredentials::basic("app", "s3cret")));
//! let mut client = Client::new(config);
//!
//! // What the servers will answer, in order.
//! let reply = |status: u16, header: Option<&str>, body: &str| {
//!     let mut r = http::Response::builder().status(status);
//!     if let Some(h) = header { r = r.header("www-authenticate", h); }
//!     r.body(body.as_bytes().to_vec()).unwrap()
//! };
//! let mut answers = vec![
//!     reply(401, Some(r#"UMA realm="api", as_uri="https://as.example.org", ticket="t1""#), ""),
//!     reply(200, None, r#"{"issuer":"https://as.example.org","token_endpoint":"https://as.example.org/token"}"#),
//!     reply(200, None, r#"{"access_token":"rpt-1","token_type":"Bearer"}"#),
//!     reply(200, None, "the photo"),
//! ].into_iter();
//!
//! let request = http::Request::get("https://rs.example.org/photo").body(Vec::new()).unwrap();
//! let mut flow = Flow::new(request);
//! let mut step = flow.start(&mut client, Instant::now());
//! let response = loop {
//!     step = match step {
//!         Step::Send(out) => {
//!             // A real driver sends `out.request` here.
//!             flow.handle_response(&mut client, out.id, answers.next().unwrap(), Instant::now())
//!         }
//!         Step::Wait { .. } | Step::Park { .. } => flow.resume(&mut client, Instant::now()),
//!         Step::Done(response) => break response,
//!         Step::Failed(failure) => panic!("{failure}"),
//!     };
//! };
//! assert_eq!(response.body(), b"the photo");
//! assert_eq!(client.stats().http_exchanges(), 4); // challenge, discovery, token, retry
//! ```
//!
//! # Security defaults (`docs/protocol.md` §11)
//!
//! Only configured issuers are contacted, and only after the challenge names one; the metadata's `issuer`
//! must equal it and its endpoints must be https (unless insecure http is enabled for development) and
//! on the issuer's origin (unless split hosts are allowed); an RPT goes only to the origin it was obtained
//! for; redirects to another origin drop `Authorization` and cookies; every loop is bounded; every secret
//! is a newtype whose `Debug` is redacted.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod cache;
pub mod challenge;
mod client;
pub mod config;
pub mod discovery;
pub mod driver;
mod error;
pub mod flow;
pub mod grant;
mod machine;
mod machines;
pub mod protection;
pub mod record;
mod scan;
pub mod secret;
pub mod store;
pub mod trace;

pub use auth::ClientCredentials;
pub use cache::{CacheUsage, ExchangeKey, Identity, Party, Stats};
pub use client::Client;
pub use config::{AuthorizationServer, Config, DiscoveryOverride};
pub use discovery::Issuer;
pub use error::{Error, Failure};
pub use flow::{Flow, resource_body_limit, response_head};
pub use machine::{Machine, Outgoing, RequestId, RequestKind, Step};
pub use machines::{KeycloakPermissions, Login, LoginGrant, PermissionsAnswer};
