//! The Python seed's usage, in Rust, against the embedded test servers (Keycloak dialect, HTTPS with a
//! generated CA): log in with the password grant, call two protected resources a few times, and print
//! every exchange and the totals.
//!
//! Run with `cargo run -p uma-ureq --example testkit_demo`.

use std::sync::Arc;

use uma_core::auth::ClientCredentials;
use uma_core::discovery::Issuer;
use uma_core::{AuthorizationServer, Config};
use uma_testkit::{Dialect, Kit, KitConfig};
use uma_ureq::{Options, UmaClient};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let kit = Kit::start(KitConfig::new(Dialect::keycloak()).with_tls())?;

    // The user's ureq agent: here it trusts the kit's CA.
    let ca = kit.ca_certificate_der().ok_or("the kit has no CA")?;
    let roots = vec![ureq::tls::Certificate::from_der(&ca).to_owned()];
    let ureq_agent = ureq::Agent::config_builder()
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::Specific(Arc::new(roots)))
                .build(),
        )
        .build()
        .new_agent();

    // Trust exactly one authorization server.
    let issuer = Issuer::parse(&kit.issuer())?;
    let config = Config::new().with_authorization_server(AuthorizationServer::new(
        issuer.clone(),
        ClientCredentials::basic("app", "app-secret"),
    ));
    let options = Options::default().with_observer(|event| println!("  {}", event.line()));
    let agent = UmaClient::from_ureq(ureq_agent, config).with_options(options);

    println!("login as alice:");
    agent.login_password(&issuer, "alice", "alice-pw", Some("openid"))?;
    for path in ["/api/a", "/api/a", "/api/b", "/api/a"] {
        println!("GET {path}:");
        let mut response = agent.get(&kit.rs_url(path)).send()?;
        let status = response.status();
        println!("  => {status} {}", response.body_mut().read_to_string()?);
    }
    let stats = agent.stats();
    println!(
        "{} exchanges: {} resource, {} discovery, {} token",
        stats.http_exchanges(),
        stats.resource_requests,
        stats.discovery_requests,
        stats.token_requests
    );
    Ok(())
}
