//! An axum service protected by [`PepLayer`]: `GET /photos/{id}` needs scope `view` on the resource
//! named "photo album", `POST /photos/{id}/print` needs `print`; `/health` is public (routed after the
//! layer); other paths behind the layer are refused (deny by default). The README's axum example is
//! the part between the `README` marks (a test keeps them equal).
//!
//! Without arguments it runs a self-contained demo: it starts the embedded test authorization server
//! (Keycloak dialect), registers the resource, serves on 127.0.0.1, lets the project's own `UmaClient`
//! through once and exits:
//!
//! ```text
//! cargo run -p uma-hyper --example axum_pep
//! ```
//!
//! Against a real authorization server, it serves until stopped (the resource must exist there):
//!
//! ```text
//! UMA_ISSUER=https://kc.example.org/realms/demo UMA_RS_CLIENT_ID=photos UMA_RS_CLIENT_SECRET=… \
//! PEP_ADDR=127.0.0.1:8080 cargo run -p uma-hyper --example axum_pep
//! ```

// README: from here
use std::sync::Arc;

use axum::extract::Path;
use axum::routing::{get, post};
use axum::{Extension, Router};
use http::Method;
use uma_hyper::Protection;
use uma_hyper::pep_layer::{PepLayer, Resource, Rule};
use uma_hyper::uma_core::protection::Introspection;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The service: its routes behind the PEP layer. Build it once, at start-up (the layer looks the
/// resource up by name now, not per request).
pub async fn app(protection: Protection) -> Result<Router, Error> {
    let album = || Resource::name("photo album");
    let pep = PepLayer::builder(protection)
        .rule(Rule::new(Method::GET, "/photos/*", album(), ["view"])?)
        .rule(Rule::new(Method::POST, "/photos/*", album(), ["print"])?)
        .deny_unmatched(true)
        .build()
        .await?;
    Ok(Router::new()
        .route("/photos/{id}", get(photo))
        .route("/photos/{id}/print", post(print))
        .layer(pep)
        // Added after the layer: not behind it.
        .route("/health", get(|| async { "ok" })))
}

/// Reached only with an RPT granting `view`: its introspection is in the request's extensions.
async fn photo(Path(id): Path<String>, Extension(rpt): Extension<Arc<Introspection>>) -> String {
    let permissions = rpt.permissions.len();
    format!("photo {id} (RPT with {permissions} permission(s))\n")
}

async fn print(Path(id): Path<String>) -> String {
    format!("printing photo {id}\n")
}

/// Serves `app` on `listener` until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, app: Router) -> std::io::Result<()> {
    axum::serve(listener, app).await
}
// README: to here

use std::net::SocketAddr;

use uma_core::auth::ClientCredentials;
use uma_core::discovery::Issuer;
use uma_core::protection::{Dialect, ResourceDescription};
use uma_core::{AuthorizationServer, Config};
use uma_hyper::UmaClient;

#[tokio::main]
#[allow(dead_code)]
async fn main() -> Result<(), Error> {
    let env = |name: &str| std::env::var(name).ok();
    // Without a configured AS, bring the embedded test AS up (plain http on loopback).
    let kit = match env("UMA_ISSUER") {
        Some(_) => None,
        None => Some(uma_testkit::Kit::start(uma_testkit::KitConfig::new(
            uma_testkit::Dialect::keycloak(),
        ))?),
    };
    let issuer = Issuer::parse(&match &kit {
        Some(kit) => kit.issuer(),
        None => env("UMA_ISSUER").unwrap_or_default(),
    })?;
    let credentials = ClientCredentials::basic(
        env("UMA_RS_CLIENT_ID").unwrap_or_else(|| "rs".into()),
        env("UMA_RS_CLIENT_SECRET").unwrap_or_else(|| "rs-secret".into()),
    );
    let http = UmaClient::new(Config::new().allow_insecure_http(kit.is_some()))?;
    let protection = http
        .protection(&issuer, credentials, Dialect::Keycloak)
        .await?;
    if kit.is_some() {
        let album = ResourceDescription::new("photo album", ["view", "print"]);
        protection.create_resource(&album).await?;
    }
    let app = app(protection).await?;

    let addr: SocketAddr = env("PEP_ADDR")
        .unwrap_or_else(|| "127.0.0.1:0".into())
        .parse()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let base = format!("http://{}", listener.local_addr()?);
    eprintln!("axum_pep: protecting {base}/photos/{{id}}");
    if kit.is_none() {
        return Ok(serve(listener, app).await?);
    }

    // Demo: the project's own client, trusting the test AS, logs alice in and fetches a photo.
    let server = tokio::spawn(serve(listener, app));
    let client = UmaClient::new(
        Config::new()
            .with_authorization_server(AuthorizationServer::new(
                issuer.clone(),
                ClientCredentials::basic("app", "app-secret"),
            ))
            .allow_insecure_http(true),
    )?;
    client
        .login_password(&issuer, "alice", "alice-pw", None)
        .await?;
    let response = client.get(&format!("{base}/photos/1")).send().await?;
    let status = response.status();
    let body = http_body_util::BodyExt::collect(response.into_body()).await?;
    println!(
        "client: {status} {}",
        String::from_utf8_lossy(&body.to_bytes()).trim()
    );
    server.abort();
    Ok(())
}
