//! A recording reverse proxy on 127.0.0.1 in front of Keycloak. It forwards every request unchanged,
//! `Host` included, so Keycloak (development mode, no `--hostname`) names the proxy as its issuer and
//! every party of a test (client, resource server, set-up calls) talks to Keycloak through it. Each
//! exchange is kept whole, so tests count what Keycloak really received (one ticket exchange for a
//! herd) and the recorder turns conversations into shape files.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

use crate::background::Background;

/// One request as Keycloak received it, and its answer.
#[derive(Clone, Debug)]
pub struct Exchange {
    pub method: String,
    /// Path without the query.
    pub path: String,
    pub query: Option<String>,
    pub request_headers: Vec<(String, String)>,
    pub request_body: Vec<u8>,
    pub status: u16,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Vec<u8>,
}

impl Exchange {
    /// A form parameter of the request body.
    pub fn form(&self, name: &str) -> Option<String> {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&self.request_body)
            .ok()?
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// A request header (first value).
    pub fn request_header(&self, name: &str) -> Option<&str> {
        self.request_headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The scheme of the `Authorization` header (`Bearer`, `Basic`), if any.
    pub fn auth_scheme(&self) -> Option<&str> {
        self.request_header("authorization")?.split(' ').next()
    }

    /// Whether this went to the token endpoint.
    pub fn is_token(&self) -> bool {
        self.method == "POST" && self.path.ends_with("/protocol/openid-connect/token")
    }

    /// The `grant_type` of a token request.
    pub fn grant_type(&self) -> Option<String> {
        self.is_token().then(|| self.form("grant_type")).flatten()
    }

    /// Whether this is a uma-ticket grant (with a ticket or ticketless).
    pub fn is_uma_grant(&self) -> bool {
        self.grant_type().as_deref() == Some(crate::UMA_TICKET)
    }

    /// The response body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.response_body).unwrap_or(serde_json::Value::Null)
    }
}

struct Shared {
    upstream: String,
    client: Client<HttpConnector, Full<Bytes>>,
    log: Mutex<Vec<Exchange>>,
    delay_uma_grants: AtomicU32,
    delay: Mutex<Duration>,
}

/// The proxy; stops when dropped.
pub struct Proxy {
    base: String,
    shared: Arc<Shared>,
    /// Held for its `Drop`: the proxy stops with it.
    _background: Background,
}

impl Proxy {
    /// Starts a proxy for `upstream` (`http://127.0.0.1:PORT`) on a free loopback port.
    pub fn start(upstream: &str) -> Proxy {
        let background = Background::start("keycloak-proxy");
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: Client::builder(TokioExecutor::new()).build_http(),
            log: Mutex::new(Vec::new()),
            delay_uma_grants: AtomicU32::new(0),
            delay: Mutex::new(Duration::ZERO),
        });
        let listener = background
            .run(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        let accept = shared.clone();
        background.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = accept.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(forward(&shared, request).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Proxy {
            base: format!("http://{addr}"),
            shared,
            _background: background,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The realm's issuer as Keycloak names it through this proxy.
    pub fn issuer(&self) -> String {
        format!("{}/realms/{}", self.base, crate::REALM)
    }

    /// Every exchange so far, in order of completion.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.shared.log.lock().unwrap().clone()
    }

    /// Forgets the exchanges so far (counts start again).
    pub fn clear(&self) {
        self.shared.log.lock().unwrap().clear();
    }

    /// How many exchanges match.
    pub fn count(&self, matches: impl Fn(&Exchange) -> bool) -> usize {
        self.shared
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|e| matches(e))
            .count()
    }

    /// uma-ticket grants Keycloak received.
    pub fn uma_grants(&self) -> usize {
        self.count(Exchange::is_uma_grant)
    }

    /// The first uma-ticket grant Keycloak received (panics when there was none).
    pub fn first_uma_grant(&self) -> Exchange {
        self.exchanges()
            .into_iter()
            .find(Exchange::is_uma_grant)
            .expect("a uma-ticket grant reached Keycloak")
    }

    /// The last uma-ticket grant Keycloak received (panics when there was none).
    pub fn last_uma_grant(&self) -> Exchange {
        self.exchanges()
            .into_iter()
            .rfind(Exchange::is_uma_grant)
            .expect("a uma-ticket grant reached Keycloak")
    }

    /// Holds the next `n` uma-ticket grants for `delay` before forwarding them (a ticket can expire
    /// in between).
    pub fn delay_next_uma_grants(&self, n: u32, delay: Duration) {
        *self.shared.delay.lock().unwrap() = delay;
        self.shared.delay_uma_grants.store(n, Ordering::SeqCst);
    }
}

async fn forward(
    shared: &Shared,
    request: hyper::Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return plain(400, "proxy: request body cut short"),
    };
    let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut exchange = Exchange {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        request_headers: header_list(&parts.headers),
        request_body: body.to_vec(),
        status: 0,
        response_headers: Vec::new(),
        response_body: Vec::new(),
    };
    if exchange.is_uma_grant() {
        let held = shared
            .delay_uma_grants
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if held {
            let delay = *shared.delay.lock().unwrap();
            tokio::time::sleep(delay).await;
        }
    }
    let mut upstream = hyper::Request::builder()
        .method(parts.method.clone())
        .uri(format!("{}{}", shared.upstream, path_and_query));
    for (name, value) in &parts.headers {
        upstream = upstream.header(name, value);
    }
    let Ok(upstream) = upstream.body(Full::new(body)) else {
        return plain(400, "proxy: bad request");
    };
    let answer = match shared.client.request(upstream).await {
        Ok(answer) => answer,
        Err(error) => return plain(502, &format!("proxy: Keycloak unreachable: {error}")),
    };
    let (parts, body) = answer.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return plain(502, "proxy: Keycloak's answer was cut short"),
    };
    exchange.status = parts.status.as_u16();
    exchange.response_headers = header_list(&parts.headers);
    exchange.response_body = body.to_vec();
    shared.log.lock().unwrap().push(exchange);
    let mut response = hyper::Response::from_parts(parts, Full::new(body));
    // The body is whole now: let hyper frame it.
    response
        .headers_mut()
        .remove(http::header::TRANSFER_ENCODING);
    response
}

fn header_list(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn plain(status: u16, text: &str) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from(text.to_owned())));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or_default();
    response
}
