//! Shared setup for the end-to-end tests: a kit, a ureq agent that trusts its CA, a `UmaClient`.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use uma_core::auth::ClientCredentials;
use uma_core::discovery::Issuer;
use uma_core::trace::ExchangeEvent;
use uma_core::{AuthorizationServer, Config};
use uma_testkit::{Dialect, Endpoint, Kit, KitConfig, LoggedRequest, Server};
use uma_ureq::{Options, UmaClient};

/// Starts a kit, with TLS when asked.
pub fn start(config: KitConfig, tls: bool) -> Kit {
    let config = if tls { config.with_tls() } else { config };
    Kit::start(config).expect("kit starts")
}

/// A kit of `dialect` with fast polling.
pub fn kit(dialect: Dialect, tls: bool) -> Kit {
    let mut config = KitConfig::new(dialect);
    config.policy.poll_interval = 0;
    start(config, tls)
}

/// A plain ureq agent that trusts the kit's CA (when it has one). Its own global timeout is a safety net.
pub fn ureq_agent(kit: &Kit) -> ureq::Agent {
    let mut builder = ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(20)));
    if let Some(der) = kit.ca_certificate_der() {
        let cert = ureq::tls::Certificate::from_der(&der).to_owned();
        builder = builder.tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![cert])))
                .build(),
        );
    }
    builder.build().new_agent()
}

pub fn issuer(kit: &Kit) -> Issuer {
    Issuer::parse(&kit.issuer()).expect("kit issuer parses")
}

/// The kit's AS, trusted with client `app` (Basic).
pub fn server(kit: &Kit) -> AuthorizationServer {
    AuthorizationServer::new(issuer(kit), ClientCredentials::basic("app", "app-secret"))
}

/// A configuration that trusts the kit's AS, with short polls; plain http allowed unless TLS is on.
pub fn config(kit: &Kit, server: AuthorizationServer) -> Config {
    let mut config = Config::new()
        .with_authorization_server(server)
        .allow_insecure_http(kit.ca_certificate_der().is_none());
    config.poll.min_interval = Duration::from_millis(20);
    config.poll.default_interval = Duration::from_millis(20);
    config
}

/// Test options: short timeouts.
pub fn options() -> Options {
    Options::default()
        .with_exchange_timeout(Some(Duration::from_secs(5)))
        .with_request_timeout(Some(Duration::from_secs(15)))
}

/// A `UmaClient` for the kit with the default test configuration.
pub fn agent(kit: &Kit) -> UmaClient {
    UmaClient::from_ureq(ureq_agent(kit), config(kit, server(kit))).with_options(options())
}

/// Options whose observer records every event.
pub fn recording() -> (Options, Arc<Mutex<Vec<ExchangeEvent>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    let options = options().with_observer(move |e| sink.lock().unwrap().push(e.clone()));
    (options, events)
}

/// Requests the RS received.
pub fn rs_log(kit: &Kit) -> Vec<LoggedRequest> {
    kit.log_of(Server::Rs)
}

/// Token-endpoint requests the AS received.
pub fn token_log(kit: &Kit) -> Vec<LoggedRequest> {
    kit.log()
        .into_iter()
        .filter(|r| r.endpoint == Endpoint::Token)
        .collect()
}

pub fn discoveries(kit: &Kit) -> usize {
    kit.count_endpoint(Endpoint::Discovery)
}

pub fn tokens(kit: &Kit) -> usize {
    kit.count_endpoint(Endpoint::Token)
}

/// Runs a scenario once over plain http and once over TLS.
#[macro_export]
macro_rules! both_transports {
    ($($name:ident),* $(,)?) => {
        mod plain {
            $( #[test] fn $name() { super::$name(false) } )*
        }
        mod tls {
            $( #[test] fn $name() { super::$name(true) } )*
        }
    };
}

/// Reads a streamed answer whole, for assertions on its body.
pub trait Buffered {
    /// The same answer with its body read to the end.
    fn buffered(self) -> http::Response<Vec<u8>>;
}

impl Buffered for http::Response<uma_ureq::ureq::Body> {
    fn buffered(self) -> http::Response<Vec<u8>> {
        let (head, mut body) = self.into_parts();
        let bytes = body
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()
            .expect("the answer's body");
        http::Response::from_parts(head, bytes)
    }
}
