//! [`UmaMiddleware`]: the `reqwest_middleware::Middleware`.

use std::sync::Arc;

use reqwest_middleware::{Middleware, Next};
use uma_core::{Config, Flow, Party, Stats};
use uma_hyper::{Error, Options};

use crate::drive::{Call, drive};
use crate::send::{Application, Stop};
use uma_hyper::herd::Engine;

/// UMA for a `reqwest_middleware` chain:
/// `ClientBuilder::new(reqwest::Client::new()).with(UmaMiddleware::new(config)).build()`.
///
/// For each request it sends the cached RPT for the request's origin and requesting party; on a UMA
/// challenge it discovers the authorization server (if trusted), exchanges the ticket for an RPT on its
/// own plain `reqwest::Client` (never through the chain), and replays the request through the rest of
/// the chain. The party comes from the request's extensions
/// (`RequestBuilder::with_extension(Party::new("alice"))`); without one, the default party is used.
///
/// Cheap to clone; clones share one core client (RPTs, metadata, herd control), so a herd of cold
/// requests costs one discovery and one token request.
///
/// Failures are `reqwest_middleware::Error::Middleware` wrapping an [`Error`] (see [`crate::uma_error`]);
/// errors from the rest of the chain are passed on untouched. A request whose body is a stream cannot be
/// replayed: its UMA challenge comes back as the response, tagged with [`NotReplayed`].
#[derive(Clone)]
pub struct UmaMiddleware {
    engine: Arc<Engine>,
    options: Arc<Options>,
    http: reqwest::Client,
}

impl std::fmt::Debug for UmaMiddleware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UmaMiddleware")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// Why a UMA challenge was returned as the response instead of being answered. Found in the
/// response's extensions (`response.extensions().get::<NotReplayed>()`) and in the middleware
/// extensions of the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotReplayed {
    /// The request body is a stream (`reqwest::Request::try_clone` returned `None`): it was sent once
    /// and cannot be sent again. Nothing was sent to the authorization server. Send the request again
    /// with a body in memory (`Vec<u8>`, `String`, `Bytes`).
    BodyNotCloneable,
}

impl std::fmt::Display for NotReplayed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the UMA challenge was not answered: the request body is a stream")
    }
}

impl UmaMiddleware {
    /// A middleware with a fresh core client for `config`, default [`Options`], and an inner client
    /// for the authorization servers that verifies them against the Mozilla root certificates
    /// (webpki-roots) with rustls on ring.
    ///
    /// # Panics
    ///
    /// Like `reqwest::Client::new`, if the inner client cannot be built (no TLS backend); use
    /// [`UmaMiddleware::with_http_client`] to handle that.
    pub fn new(config: Config) -> Self {
        let http = crate::http_client(default_tls()).expect("building the inner reqwest client");
        Self::with_http_client(config, http)
    }

    /// A middleware whose authorization-server requests go on `http` (e.g. one from
    /// [`crate::http_client`] trusting a private CA). `http` must not follow redirects: build it with
    /// `redirect(reqwest::redirect::Policy::none())`.
    pub fn with_http_client(config: Config, http: reqwest::Client) -> Self {
        Self {
            engine: Arc::new(Engine::new(uma_core::Client::new(config))),
            options: Arc::new(Options::default()),
            http,
        }
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

    /// Splits the request into the flow's head and the template for each resource send. The body stays
    /// with the adapter (`Flow::for_head`): a cloneable one in the template, cloned per send without a
    /// copy of its bytes; a stream apart, sent once only.
    fn prepare(
        &self,
        mut request: reqwest::Request,
    ) -> Result<(Application, http::request::Parts), Error> {
        let stream = match request.try_clone() {
            Some(_) => None,
            None => request.body_mut().take(),
        };
        let (mut head, ()) = http::Request::new(()).into_parts();
        head.method = request.method().clone();
        head.uri = request
            .url()
            .as_str()
            .parse()
            .map_err(|e| Error::InvalidRequest(format!("request URL: {e}")))?;
        head.version = request.version();
        head.headers = request.headers().clone();
        let streamed = stream.is_some();
        let app = Application {
            template: request,
            stream,
            streamed,
        };
        Ok((app, head))
    }
}

fn default_tls() -> rustls::ClientConfig {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

#[async_trait::async_trait]
impl Middleware for UmaMiddleware {
    async fn handle(
        &self,
        request: reqwest::Request,
        extensions: &mut http::Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let party = extensions.get::<Party>().cloned().unwrap_or_default();
        let (app, head) = self.prepare(request).map_err(into_middleware)?;
        let flow = Flow::for_head(head, party);
        let call = Call {
            engine: &self.engine,
            options: &self.options,
            http: &self.http,
            next,
            extensions,
        };
        match drive(call, app, flow).await {
            Ok(response) => Ok(response),
            Err(Stop::Uma(error)) => Err(into_middleware(error)),
            Err(Stop::Chain(error)) => Err(error),
        }
    }
}

fn into_middleware(error: Error) -> reqwest_middleware::Error {
    reqwest_middleware::Error::Middleware(anyhow::Error::new(error))
}
