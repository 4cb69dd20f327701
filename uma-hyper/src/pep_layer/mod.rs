//! A policy enforcement point for servers: a tower [`Layer`] in front of any
//! `Service<http::Request<B>>` (a hyper service, an axum `Router`), built on [`Protection`].
//!
//! A rule table maps (method, path pattern) to a registered resource and scopes ([`Rule`]); the first
//! rule matching a request applies:
//!
//! - **Bearer RPT that grants every scope** → the request goes to the inner service, with the RPT's
//!   [`Introspection`] in its extensions as an `Arc<Introspection>`.
//! - **No token, or one that does not suffice** → `401` with a fresh permission ticket in the
//!   `WWW-Authenticate: UMA …` challenge ([`Protection::try_challenge_for`]).
//! - **The AS refuses to mint a ticket** (it answered 4xx) → `403` with the UMA "unreachable" warning
//!   ([`Pep::unreachable`]).
//! - **The AS cannot be reached** (transport error, timeout, 5xx, unusable answer) → `503`: fail closed.
//!
//! **Requests no rule matches pass through untouched** unless [`PepLayerBuilder::deny_unmatched`] is
//! set (then `403`). A path with a `.`/`..` segment or an encoded `.`, `/` or `\` is answered `400`
//! before matching, since a router downstream might resolve it past the rule table.
//!
//! # The RPT cache
//!
//! Introspections are cached under the SHA-256 of the token (the token is not kept): an active RPT
//! with permissions until its `exp`, never longer than 60 s ([`PepLayerBuilder::cache_max_ttl`]); an
//! inactive one, or one without permissions, at most 5 s ([`PepLayerBuilder::cache_denial_ttl`]); a
//! failed introspection not at all. 10 000 entries at most ([`PepLayerBuilder::cache_capacity`]).
//! Concurrent requests with the same RPT wait for one introspection. The PAT (one request for a herd)
//! and the metadata (fetched when the [`Protection`] was made) are [`Protection`]'s.
//!
//! # Bodies
//!
//! The inner service's response body type `B` is kept: the layer answers
//! `http::Response<PepBody<B>>`, where [`PepBody`] is [`http_body_util::Either`] of `B` and the
//! layer's own small [`Full`] answers. It needs `B: Body<Data = Bytes>`; its error becomes a
//! `Box<dyn Error + Send + Sync>`. Request bodies are never read.
//!
//! # Example
//!
//! ```no_run
//! use http::Method;
//! use http_body_util::Full;
//! use hyper::body::Bytes;
//! use tower::ServiceExt;
//! use tower_layer::Layer;
//! use uma_hyper::pep_layer::{PepLayer, Resource, Rule};
//!
//! # async fn run(protection: uma_hyper::Protection) -> Result<(), Box<dyn std::error::Error>> {
//! let pep = PepLayer::builder(protection)
//!     .rule(Rule::new(Method::GET, "/photos/*", Resource::name("photo album"), ["view"])?)
//!     .rule(Rule::any_method("/photos/*", Resource::name("photo album"), ["print"])?)
//!     .deny_unmatched(true)
//!     .build()
//!     .await?;
//! let app = tower::service_fn(|_request: http::Request<hyper::body::Incoming>| async {
//!     Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::from("photos"))))
//! });
//! let service = pep.layer(app);
//! // In a hyper server:
//! let hyper_service = hyper::service::service_fn(move |request| service.clone().oneshot(request));
//! # let _ = hyper_service;
//! // In axum: `Router::new().route(…).layer(pep)`.
//! # Ok(()) }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Method, StatusCode};
use http_body_util::{Either, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::Connect;
use tower_layer::Layer;
use tower_service::Service;
use uma_core::protection::{Introspection, Pep, bearer_token, grants_all};
use uma_core::secret::AccessToken;

use crate::client::HttpsClientConnector;
use crate::protection::{Error, Protection};

mod builder;
mod cache;
mod rules;

pub use builder::{BuildError, PepLayerBuilder};
pub use rules::{InvalidPattern, PathPattern, Resource, Rule};

/// The response body of a [`PepService`]: the inner service's `B`, or the layer's own answer.
pub type PepBody<B> = Either<B, Full<Bytes>>;

/// The PEP layer; cheap to clone (clones share the rule table and the RPT cache).
pub struct PepLayer<C = HttpsClientConnector> {
    inner: Arc<Inner<C>>,
}

struct Inner<C> {
    protection: Protection<C>,
    /// Each rule with its resource id.
    rules: Vec<(Rule, String)>,
    deny_unmatched: bool,
    cache: cache::RptCache,
}

impl<C> Clone for PepLayer<C> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<C> std::fmt::Debug for PepLayer<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PepLayer")
            .field("protection", &self.inner.protection)
            .field("rules", &self.inner.rules)
            .field("deny_unmatched", &self.inner.deny_unmatched)
            .field("cache", &self.inner.cache)
            .finish()
    }
}

impl<C> PepLayer<C>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    /// Starts a rule table enforced with `protection` (its realm, if set, goes in the challenges).
    pub fn builder(protection: Protection<C>) -> PepLayerBuilder<C> {
        PepLayerBuilder::new(protection)
    }
}

impl<S, C> Layer<S> for PepLayer<C> {
    type Service = PepService<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        PepService {
            inner,
            pep: self.clone(),
        }
    }
}

/// The service [`PepLayer`] wraps around `S`.
#[derive(Clone, Debug)]
pub struct PepService<S, C = HttpsClientConnector> {
    inner: S,
    pep: PepLayer<C>,
}

/// The future of [`PepService::call`].
pub type PepFuture<B, E> =
    Pin<Box<dyn Future<Output = Result<http::Response<PepBody<B>>, E>> + Send + 'static>>;

impl<S, C, ReqB, ResB> Service<http::Request<ReqB>> for PepService<S, C>
where
    S: Service<http::Request<ReqB>, Response = http::Response<ResB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    C: Connect + Clone + Send + Sync + 'static,
    ReqB: Send + 'static,
{
    type Response = http::Response<PepBody<ResB>>;
    type Error = S::Error;
    type Future = PepFuture<ResB, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqB>) -> Self::Future {
        // The clone takes the place of the service made ready by `poll_ready`, which serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let pep = Arc::clone(&self.pep.inner);
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let token = bearer_token(request.headers());
        Box::pin(async move {
            match pep.check(&method, &path, token).await {
                Verdict::Pass(introspection) => {
                    if let Some(introspection) = introspection {
                        request.extensions_mut().insert(introspection);
                    }
                    let response = inner.call(request).await?;
                    Ok(response.map(Either::Left))
                }
                Verdict::Answer(response) => {
                    Ok(response.map(|body| Either::Right(Full::new(Bytes::from(body)))))
                }
            }
        })
    }
}

enum Verdict {
    Pass(Option<Arc<Introspection>>),
    Answer(http::Response<Vec<u8>>),
}

impl<C> Inner<C>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    async fn check(&self, method: &Method, path: &str, token: Option<AccessToken>) -> Verdict {
        if rules::is_ambiguous(path) {
            return Verdict::Answer(status(StatusCode::BAD_REQUEST));
        }
        let Some((rule, id)) = self.rules.iter().find(|(r, _)| r.matches(method, path)) else {
            return match self.deny_unmatched {
                true => Verdict::Answer(status(StatusCode::FORBIDDEN)),
                false => Verdict::Pass(None),
            };
        };
        let wanted = vec![rule.permission(id)];
        if let Some(token) = token {
            let now = unix_now();
            let introspect =
                || async { self.protection.introspect(&token).await.ok().map(Arc::new) };
            match self
                .cache
                .get_or_introspect(token.secret(), now, introspect)
                .await
            {
                None => return Verdict::Answer(status(StatusCode::SERVICE_UNAVAILABLE)),
                Some(i) if grants_all(&i, &wanted, now) => return Verdict::Pass(Some(i)),
                Some(_) => {}
            }
        }
        Verdict::Answer(match self.protection.try_challenge_for(wanted).await {
            Ok(challenge) => challenge,
            Err(e) if refused(&e) => Pep::unreachable(),
            Err(_) => status(StatusCode::SERVICE_UNAVAILABLE),
        })
    }
}

/// The AS answered and said no (4xx), as opposed to being down or unusable.
fn refused(error: &Error) -> bool {
    error.status().is_some_and(|s| s.is_client_error())
}

fn status(status: StatusCode) -> http::Response<Vec<u8>> {
    let mut response = http::Response::new(Vec::new());
    *response.status_mut() = status;
    response
}

/// Seconds since the epoch as introspection's `exp` counts them (the adapter's one wall-clock read is
/// `crate::store::unix_now`).
fn unix_now() -> i64 {
    i64::try_from(crate::store::unix_now()).unwrap_or(i64::MAX)
}
