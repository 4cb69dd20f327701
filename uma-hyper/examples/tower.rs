//! The tower form against an embedded UMA server (uma-testkit, Keycloak dialect, plain http on
//! loopback): `cargo run -p uma-hyper --example tower`.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower::{ServiceBuilder, ServiceExt};
use uma_core::auth::ClientCredentials;
use uma_core::discovery::Issuer;
use uma_core::{AuthorizationServer, Config};
use uma_hyper::UmaClient;
use uma_testkit::{Dialect, Kit, KitConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let kit = Kit::start(KitConfig::new(Dialect::keycloak()))?;
    let issuer = Issuer::parse(&kit.issuer())?;
    let config = Config::new()
        .with_authorization_server(AuthorizationServer::new(
            issuer,
            ClientCredentials::basic("app", "app-secret"),
        ))
        .allow_insecure_http(true); // loopback only

    // Keycloak's enforcer wants the user's own token first; the login helper lives on the client,
    // whose cache the layer shares.
    let uma = UmaClient::new(config)?;
    uma.login_password(
        &uma_core::discovery::Issuer::parse(&kit.issuer()).unwrap(),
        "alice",
        "alice-pw",
        None,
    )
    .await?;

    let http = Client::builder(TokioExecutor::new()).build_http::<uma_hyper::RequestBody>();
    let service = ServiceBuilder::new().layer(uma.layer()).service(http);
    let request = http::Request::get(kit.rs_url("/api/b")).body(Full::new(Bytes::new()))?;
    let response = service.oneshot(request).await?;
    println!("{}", response.status());
    println!("{:?}", uma.stats());
    Ok(())
}
