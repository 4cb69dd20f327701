//! A UMA resource server (policy enforcement point) in ~100 lines: `GET /photos` needs scope `view` on a
//! resource registered at start-up.
//!
//! Without arguments it runs a self-contained demo: it starts the embedded test authorization server
//! (Keycloak dialect), serves on 127.0.0.1, lets the project's own `UmaClient` through once and exits:
//!
//! ```text
//! cargo run -p uma-hyper --example pep
//! ```
//!
//! Against a real authorization server, it serves until stopped (https issuers only):
//!
//! ```text
//! UMA_ISSUER=https://kc.example.org/realms/demo UMA_DIALECT=keycloak \
//! UMA_RS_CLIENT_ID=photos UMA_RS_CLIENT_SECRET=… PEP_ADDR=127.0.0.1:8080 \
//! cargo run -p uma-hyper --example pep
//! ```

use std::convert::Infallible;
use std::net::SocketAddr;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use uma_core::auth::ClientCredentials;
use uma_core::discovery::Issuer;
use uma_core::protection::{Dialect, Pep, PermissionRequest, ResourceDescription};
use uma_core::{AuthorizationServer, Config};
use uma_hyper::protection::Decision;
use uma_hyper::{Protection, UmaClient};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// One request through the PEP: introspect the RPT if any, serve or challenge.
async fn handle(
    protection: Protection,
    resource: String,
    request: hyper::Request<Incoming>,
) -> http::Response<Vec<u8>> {
    if request.uri().path() != "/photos" {
        let mut response = http::Response::new(b"not found".to_vec());
        *response.status_mut() = http::StatusCode::NOT_FOUND;
        return response;
    }
    let wanted = vec![PermissionRequest::new(resource, ["view"])];
    match protection.enforce(request.headers(), wanted).await {
        Ok(Decision::Allow(rpt)) => {
            eprintln!(
                "pep: served (RPT with {} permission(s))",
                rpt.permissions.len()
            );
            http::Response::new(b"three photos\n".to_vec())
        }
        Ok(Decision::Challenge(challenge)) => {
            eprintln!("pep: challenged with a fresh ticket");
            challenge
        }
        Err(error) => {
            // The AS is down or refused the PAT: fail closed (UMAG §3.2.2).
            eprintln!("pep: {error}");
            Pep::unreachable()
        }
    }
}

/// Serves `connections` connections (or forever with `None`).
async fn serve(
    listener: tokio::net::TcpListener,
    protection: Protection,
    resource: String,
    connections: Option<usize>,
) -> Result<(), Error> {
    let mut served = 0;
    while connections.is_none_or(|n| served < n) {
        let (stream, _) = listener.accept().await?;
        served += 1;
        let (protection, resource) = (protection.clone(), resource.clone());
        let service = service_fn(move |request| {
            let (protection, resource) = (protection.clone(), resource.clone());
            async move {
                let response = handle(protection, resource, request).await;
                Ok::<_, Infallible>(response.map(|body| Full::new(Bytes::from(body))))
            }
        });
        tokio::spawn(async move {
            if let Err(error) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                eprintln!("pep: connection: {error}");
            }
        });
    }
    Ok(())
}

#[tokio::main]
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
    let dialect = match env("UMA_DIALECT").as_deref() {
        Some("uma") => Dialect::Uma,
        Some("gluu") => Dialect::Gluu,
        _ => Dialect::Keycloak,
    };
    let credentials = ClientCredentials::basic(
        env("UMA_RS_CLIENT_ID").unwrap_or_else(|| "rs".into()),
        env("UMA_RS_CLIENT_SECRET").unwrap_or_else(|| "rs-secret".into()),
    );

    let http = UmaClient::new(Config::new().allow_insecure_http(kit.is_some()))?;
    let protection = http.protection(&issuer, credentials, dialect).await?;
    let album = protection
        .create_resource(&ResourceDescription::new("photo album", ["view"]))
        .await?;
    eprintln!("pep: registered resource {}", album.id);

    let addr: SocketAddr = env("PEP_ADDR")
        .unwrap_or_else(|| "127.0.0.1:0".into())
        .parse()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let url = format!("http://{}/photos", listener.local_addr()?);
    eprintln!("pep: protecting {url}");

    let Some(kit) = kit else {
        return serve(listener, protection, album.id, None).await;
    };
    // Demo: the project's own client, trusting the test AS, logs alice in and fetches the photos.
    let server = tokio::spawn(serve(
        listener,
        protection.clone(),
        album.id.clone(),
        Some(4),
    ));
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
    let response = client.get(&url).send().await?;
    println!(
        "client: {} {}",
        response.status(),
        String::from_utf8_lossy(&response.into_body().collect().await?.to_bytes()).trim()
    );
    protection.delete_resource(&album.id).await?;
    server.abort();
    drop(kit);
    Ok(())
}
