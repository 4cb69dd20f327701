//! The client form against an embedded UMA server (uma-testkit, spec dialect, TLS with a test CA):
//! `cargo run -p uma-hyper --example client`.

use http_body_util::BodyExt;
use uma_core::auth::ClientCredentials;
use uma_core::discovery::Issuer;
use uma_core::{AuthorizationServer, Config};
use uma_hyper::{Options, UmaClient};
use uma_testkit::{Dialect, Kit, KitConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let kit = Kit::start(KitConfig::new(Dialect::Spec).with_tls())?;

    // Trust the kit's AS with the client's registration, and the kit's CA for TLS.
    let issuer = Issuer::parse(&kit.issuer())?;
    let config = Config::new().with_authorization_server(AuthorizationServer::new(
        issuer,
        ClientCredentials::basic("app", "app-secret"),
    ));
    let ca = kit.ca_certificate_der().ok_or("the kit runs TLS")?;
    let client = UmaClient::with_tls_config(config, UmaClient::tls_config_trusting([ca])?)
        .with_options(Options::default().with_observer(|event| eprintln!("{}", event.line())));

    // The first request does the dance; the second reuses the RPT.
    for path in ["/api/a", "/api/a"] {
        let response = client.get(&kit.rs_url(path)).send().await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        println!("{status} {}", String::from_utf8_lossy(&body));
    }
    println!("{:?}", client.stats());
    Ok(())
}
