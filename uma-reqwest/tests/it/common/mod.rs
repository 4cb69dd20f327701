//! Shared set-up: a kit, an `UmaMiddleware` trusting its AS (and its CA over TLS), a chain around it.
#![allow(dead_code)]

use std::time::Duration;

use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use uma_core::auth::ClientCredentials;
use uma_core::discovery::Issuer;
use uma_core::{AuthorizationServer, Config};
use uma_reqwest::{Options, UmaMiddleware};
use uma_testkit::{Endpoint, Kit, KitConfig, LoggedRequest, Server};

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

/// Rustls on ring trusting the kit's CA (or nothing, over plain http).
pub fn tls_for(kit: &Kit) -> rustls::ClientConfig {
    let roots: Vec<Vec<u8>> = kit.ca_certificate_der().into_iter().collect();
    uma_hyper::UmaClient::tls_config_trusting(roots).expect("test CA")
}

pub fn uma_with(kit: &Kit, config: Config) -> UmaMiddleware {
    let http = uma_reqwest::http_client(tls_for(kit)).expect("inner client");
    UmaMiddleware::with_http_client(config, http).with_options(
        Options::default()
            .with_exchange_timeout(Some(Duration::from_secs(10)))
            .with_request_timeout(Some(Duration::from_secs(30))),
    )
}

pub fn uma_for(kit: &Kit) -> UmaMiddleware {
    uma_with(kit, config_for(kit))
}

/// The application's own reqwest client (it follows redirects, as reqwest does by default).
pub fn app_client(kit: &Kit) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls_for(kit))
        .build()
        .expect("app client")
}

/// `ClientBuilder::new(app client).with(uma).build()`.
pub fn chain(kit: &Kit, uma: &UmaMiddleware) -> ClientWithMiddleware {
    ClientBuilder::new(app_client(kit))
        .with(uma.clone())
        .build()
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

pub fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).unwrap_or(serde_json::Value::Null)
}
