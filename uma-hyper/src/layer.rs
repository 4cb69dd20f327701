//! The tower form: [`UmaLayer`] wraps any HTTP client service in an [`UmaService`].
//!
//! Like a redirect-following layer, the service may send several requests for one call (the challenge,
//! discovery, the token request, the retry), so it clones the inner service for each call and drives the
//! clone. The request body is replayed (held in memory, or a stream that ends within
//! `Options::max_replay_body`) or streamed once; the answer's body is the inner service's, untouched.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper::body::Body;
use tower_layer::Layer;
use tower_service::Service;
use uma_core::{Config, Flow, Party, Stats};

use crate::body::{AppBody, Application, RequestBody};
use crate::engine::{Engine, drive_flow};
use crate::error::{BoxError, Error};
use crate::options::Options;

/// A tower [`Layer`] adding UMA to an HTTP client service:
/// `ServiceBuilder::new().layer(uma_layer).service(http_client)`.
///
/// Every service it makes shares one core client, so clones and layers built from the same `UmaLayer`
/// share RPTs and herd control. The service accepts requests with any body type; the inner service must
/// accept `http::Request<`[`RequestBody`]`>` (which carries both the application's body and the
/// authorization-server requests), must not follow redirects itself (hyper-util's client does not), and
/// its response body type is what the service returns. Request extensions reach the inner service with
/// every resource request.
#[derive(Clone)]
pub struct UmaLayer {
    engine: Arc<Engine>,
    options: Arc<Options>,
}

impl std::fmt::Debug for UmaLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UmaLayer")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl UmaLayer {
    /// A layer with a fresh core client for `config` and default options.
    pub fn new(config: Config) -> Self {
        Self::from_parts(
            Arc::new(Engine::new(uma_core::Client::new(config))),
            Arc::new(Options::default()),
        )
    }

    pub(crate) fn from_parts(engine: Arc<Engine>, options: Arc<Options>) -> Self {
        Self { engine, options }
    }

    /// Replaces the timeouts and limits.
    pub fn with_options(mut self, options: Options) -> Self {
        self.options = Arc::new(options);
        self
    }

    /// Counters of what the shared client has sent.
    pub fn stats(&self) -> Stats {
        self.engine.with_core(|core| core.stats())
    }

    /// Runs `f` on the shared core client (e.g. to set a requesting party's token).
    pub fn with_core<R>(&self, f: impl FnOnce(&mut uma_core::Client) -> R) -> R {
        self.engine.with_core(f)
    }
}

impl<S> Layer<S> for UmaLayer {
    type Service = UmaService<S>;

    fn layer(&self, inner: S) -> UmaService<S> {
        UmaService {
            inner,
            engine: Arc::clone(&self.engine),
            options: Arc::clone(&self.options),
        }
    }
}

/// The service made by [`UmaLayer`]. Requests carry the requesting party in their extensions
/// (`request.extensions_mut().insert(Party::new("alice"))`); without one, the default party is used.
#[derive(Clone)]
pub struct UmaService<S> {
    inner: S,
    engine: Arc<Engine>,
    options: Arc<Options>,
}

impl<S> std::fmt::Debug for UmaService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UmaService")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<S> UmaService<S> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Counters of what the shared client has sent.
    pub fn stats(&self) -> Stats {
        self.engine.with_core(|core| core.stats())
    }
}

/// The future of [`UmaService::call`], answering with the inner service's body type `RB`.
pub type ResponseFuture<RB> =
    Pin<Box<dyn Future<Output = Result<http::Response<RB>, Error>> + Send + 'static>>;

impl<S, B, RB> Service<http::Request<B>> for UmaService<S>
where
    S: Service<http::Request<RequestBody>, Response = http::Response<RB>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    RB: Body + Send + 'static,
    RB::Data: Send,
    RB::Error: Into<BoxError>,
{
    type Response = http::Response<RB>;
    type Error = Error;
    type Future = ResponseFuture<RB>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx).map_err(|e| Error::Transport {
            kind: uma_core::RequestKind::Resource,
            url: None,
            source: e.into(),
        })
    }

    fn call(&mut self, request: http::Request<B>) -> ResponseFuture<RB> {
        // Keep the service that was made ready for this call, leave a fresh clone for the next one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let engine = Arc::clone(&self.engine);
        let options = Arc::clone(&self.options);
        Box::pin(async move {
            let party = request
                .extensions()
                .get::<Party>()
                .cloned()
                .unwrap_or_default();
            let (mut head, body) = request.into_parts();
            let extensions = std::mem::take(&mut head.extensions);
            let body = AppBody::read(body, options.max_replay_body).await?;
            let mut app = Application { body, extensions };
            let flow = Flow::for_head(head, party);
            drive_flow(&engine, &options, flow, &mut inner, &mut app).await
        })
    }
}
