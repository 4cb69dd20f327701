//! One HTTP exchange: a resource request through the rest of the middleware chain, or an
//! authorization-server request on the plain inner client; each under its timeouts, read with the limit
//! for its kind, and reported to the observer.

use std::time::Instant;

use reqwest::ResponseBuilderExt;
use reqwest_middleware::Next;
use uma_core::driver::RequestDeadline;
use uma_core::trace::{ExchangeEvent, redacted_url};
use uma_core::{Outgoing, RequestKind};
use uma_hyper::herd::now;
use uma_hyper::timing::within;
use uma_hyper::{BodyKind, Error, Options};

/// Why a drive stopped short of an answer: a UMA-side error (returned as
/// `reqwest_middleware::Error::Middleware`), or an error from the rest of the chain, passed on untouched
/// so that middleware outside this one (retry) still sees what the transport said.
pub(crate) enum Stop {
    Uma(Error),
    Chain(reqwest_middleware::Error),
}

impl uma_hyper::spans::ErrorKind for Stop {
    fn kind_name(&self) -> &'static str {
        match self {
            Stop::Uma(error) => error.kind_name(),
            // The rest of the chain failed: to this request, a transport error.
            Stop::Chain(_) => "transport",
        }
    }
}

impl From<Error> for Stop {
    fn from(error: Error) -> Self {
        Stop::Uma(error)
    }
}

/// The application's request: a cloneable template for every resource send (with its body, unless that
/// is a stream), and the stream apart, since it can be sent once only.
pub(crate) struct Application {
    pub template: reqwest::Request,
    pub stream: Option<reqwest::Body>,
    /// The body was a stream: whether sent already or not, it cannot be replayed.
    pub streamed: bool,
}

impl Application {
    /// Whether a resource request now would go without its body.
    pub fn body_gone(&self) -> bool {
        self.streamed && self.stream.is_none()
    }
}

/// Sends `out` (a resource request) through the rest of the chain, with the application request's
/// settings (timeout, version) and body.
pub(crate) async fn resource(
    next: &Next<'_>,
    extensions: &mut http::Extensions,
    app: &mut Application,
    out: Outgoing,
    options: &Options,
    deadline: &RequestDeadline,
) -> Result<reqwest::Response, Stop> {
    let event = options
        .observer
        .as_ref()
        .map(|_| ExchangeEvent::for_request(&out));
    let started = now();
    let mut request = app
        .template
        .try_clone()
        .expect("the template has no streaming body");
    let attach_body = out.attach_body;
    let (parts, _) = out.request.into_parts();
    let uri = parts.uri.clone();
    *request.url_mut() = reqwest::Url::parse(&parts.uri.to_string())
        .map_err(|e| Error::InvalidRequest(format!("request URI: {e}")))?;
    *request.method_mut() = parts.method;
    *request.headers_mut() = parts.headers;
    *request.version_mut() = parts.version;
    // The core says when the application's body goes (not after a redirect that made the request a GET).
    let body = request.body_mut().take();
    *request.body_mut() = if attach_body {
        app.stream.take().or(body)
    } else {
        None
    };
    let attempt = async {
        next.clone()
            .run(request, extensions)
            .await
            .map_err(Stop::Chain)
    };
    // A streamed upload may take longer than any exchange; a send without the body (a redirect turned
    // GET) is an exchange like any other.
    let streamed = app.streamed && attach_body;
    let result = within(
        options,
        deadline,
        RequestKind::Resource,
        &uri,
        streamed,
        started,
        attempt,
    )
    .await;
    report(options, event, started, &result, |r| {
        (
            r.status().as_u16(),
            r.content_length().unwrap_or(0) as usize,
        )
    });
    result
}

/// Sends `out` (discovery, token) on the plain inner client and reads the answer whole.
pub(crate) async fn authorization_server(
    http: &reqwest::Client,
    out: Outgoing,
    options: &Options,
    deadline: &RequestDeadline,
) -> Result<http::Response<Vec<u8>>, Stop> {
    let event = options
        .observer
        .as_ref()
        .map(|_| ExchangeEvent::for_request(&out));
    let started = now();
    let kind = out.kind;
    let uri = out.request.uri().clone();
    let request = reqwest::Request::try_from(out.request)
        .map_err(|e| Error::InvalidRequest(format!("authorization-server request: {e}")))?;
    let attempt = async {
        let response = http.execute(request).await.map_err(|e| Error::Transport {
            kind,
            url: Some(redacted_url(&uri)),
            source: e.without_url().into(),
        })?;
        let limit = options.max_authorization_server_body;
        Ok(read_whole(response, limit, BodyKind::AuthorizationServer, kind).await?)
    };
    let result = within(options, deadline, kind, &uri, false, started, attempt).await;
    report(options, event, started, &result, |r| {
        (r.status().as_u16(), r.body().len())
    });
    result
}

fn report<T>(
    options: &Options,
    event: Option<ExchangeEvent>,
    started: Instant,
    result: &Result<T, Stop>,
    sizes: impl FnOnce(&T) -> (u16, usize),
) {
    let (Some(observer), Some(event)) = (&options.observer, event) else {
        return;
    };
    let elapsed = now().saturating_duration_since(started);
    let event = match result {
        Ok(r) => {
            let (status, bytes) = sizes(r);
            event.finished(status, bytes, elapsed)
        }
        Err(Stop::Uma(e)) => event.failed(e.to_string(), elapsed),
        Err(Stop::Chain(e)) => event.failed(chain_message(e), elapsed),
    };
    observer(&event);
}

/// Reads a whole answer (refused as soon as it goes over `limit`) into the core's response type,
/// keeping its URL and extensions so that it can be turned back into a `reqwest::Response`.
pub(crate) async fn read_whole(
    mut response: reqwest::Response,
    limit: usize,
    body_kind: BodyKind,
    kind: RequestKind,
) -> Result<http::Response<Vec<u8>>, Error> {
    let from = response_uri(&response);
    let url = || Some(redacted_url(&from));
    let too_large = |url| Error::BodyTooLarge {
        body: body_kind,
        url,
        limit,
    };
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large(url()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| Error::Transport {
        kind,
        url: url(),
        source: e.into(),
    })? {
        if body.len() + chunk.len() > limit {
            return Err(too_large(url()));
        }
        body.extend_from_slice(&chunk);
    }
    let mut whole = http::Response::builder()
        .status(response.status())
        .version(response.version())
        .url(response.url().clone())
        .body(body)
        .map_err(|e| Error::InvalidRequest(e.to_string()))?;
    *whole.headers_mut() = std::mem::take(response.headers_mut());
    whole
        .extensions_mut()
        .extend(std::mem::take(response.extensions_mut()));
    Ok(whole)
}

/// The head of `response` with an empty body: what the core needs of an answer it will only pass on.
/// Reads at most `limit` bytes of a resource answer's body (a UMA 1.0 challenge's JSON ticket).
pub(crate) async fn read_prefix(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<http::Response<Vec<u8>>, Error> {
    let mut body = Vec::new();
    while body.len() < limit {
        let chunk = response.chunk().await.map_err(|e| Error::Transport {
            kind: RequestKind::Resource,
            url: Some(redacted_url(&response_uri(&response))),
            source: e.without_url().into(),
        })?;
        let Some(chunk) = chunk else { break };
        let room = limit - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    let mut head = head_of(&response);
    *head.body_mut() = body;
    Ok(head)
}

pub(crate) fn head_of(response: &reqwest::Response) -> http::Response<Vec<u8>> {
    let mut head = http::Response::new(Vec::new());
    *head.status_mut() = response.status();
    *head.version_mut() = response.version();
    *head.headers_mut() = response.headers().clone();
    head
}

/// The URL an answer came from, as an `http::Uri` for [`redacted_url`] (an unparsable one reads `/`).
fn response_uri(response: &reqwest::Response) -> http::Uri {
    response.url().as_str().parse().unwrap_or_default()
}

/// An error of the rest of the chain, for the observer: reqwest names the URL, query included, and a
/// query may carry a credential; it is shown without one.
fn chain_message(error: &reqwest_middleware::Error) -> String {
    let text = error.to_string();
    match error {
        reqwest_middleware::Error::Reqwest(e) => match e.url() {
            Some(url) => text.replace(
                url.as_str(),
                &redacted_url(&url.as_str().parse().unwrap_or_default()),
            ),
            None => text,
        },
        _ => text,
    }
}
