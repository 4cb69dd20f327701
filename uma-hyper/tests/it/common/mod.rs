//! Shared set-up for the end-to-end tests: a kit, a client trusting its AS (and its CA over TLS).
#![allow(dead_code)]

use std::time::Duration;

use uma_core::auth::ClientCredentials;
use uma_core::discovery::Issuer;
use uma_core::{AuthorizationServer, Config};
use uma_hyper::{HttpsClientConnector, Options, UmaClient};
use uma_testkit::{Endpoint, Kit, KitConfig, LoggedRequest, Server};

pub type Client = UmaClient<HttpsClientConnector>;

/// Generates `<name>_http` and `<name>_tls` tests from `async fn name(tls: bool)`.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod over_http { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(false).await } )* }
        mod over_tls { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(true).await } )* }
    };
}

pub fn start(config: KitConfig, tls: bool) -> Kit {
    let config = if tls { config.with_tls() } else { config };
    Kit::start(config).expect("kit starts")
}

/// The client's registration `app` / `app-secret` at the kit's AS.
pub fn server_for(kit: &Kit) -> AuthorizationServer {
    let issuer = Issuer::parse(&kit.issuer()).expect("kit issuer");
    AuthorizationServer::new(issuer, ClientCredentials::basic("app", "app-secret"))
}

pub fn config_for(kit: &Kit) -> Config {
    Config::new()
        .with_authorization_server(server_for(kit))
        .allow_insecure_http(!kit.config().tls)
}

pub fn options() -> Options {
    Options::default()
        .with_exchange_timeout(Some(Duration::from_secs(10)))
        .with_request_timeout(Some(Duration::from_secs(30)))
}

pub fn client_with(kit: &Kit, config: Config) -> Client {
    let client = match kit.ca_certificate_der() {
        Some(der) => {
            let tls = UmaClient::tls_config_trusting([der]).expect("test CA");
            UmaClient::with_tls_config(config, tls)
        }
        None => UmaClient::new(config).expect("client"),
    };
    client.with_options(options())
}

pub fn client_for(kit: &Kit) -> Client {
    client_with(kit, config_for(kit))
}

pub fn rs_requests(kit: &Kit) -> Vec<LoggedRequest> {
    kit.log_of(Server::Rs)
}

pub fn tokens(kit: &Kit) -> Vec<LoggedRequest> {
    kit.log()
        .into_iter()
        .filter(|r| r.endpoint == Endpoint::Token)
        .collect()
}

pub fn count(kit: &Kit, endpoint: Endpoint) -> usize {
    kit.count_endpoint(endpoint)
}

/// Reads a streamed answer's body to the end.
pub async fn body_of(response: http::Response<hyper::body::Incoming>) -> hyper::body::Bytes {
    use http_body_util::BodyExt;
    response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
}

pub fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).unwrap_or(serde_json::Value::Null)
}

/// A body streamed in chunks, its size unannounced: what a file or a socket looks like.
pub struct Chunks(std::collections::VecDeque<hyper::body::Bytes>);

impl Chunks {
    /// `count` chunks of `size` bytes.
    pub fn of(count: usize, size: usize) -> Self {
        Chunks(
            (0..count)
                .map(|i| hyper::body::Bytes::from(vec![i as u8; size]))
                .collect(),
        )
    }
}

impl hyper::body::Body for Chunks {
    type Data = hyper::body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Ready(self.0.pop_front().map(|c| Ok(hyper::body::Frame::data(c))))
    }
}
