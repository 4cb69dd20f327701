//! uma-hyper's tower PEP layer in front of a hyper service, with real Keycloak as its authorization
//! server: the project's clients get through, the introspection cache and the PAT herd hold.

use std::convert::Infallible;
use std::sync::Arc;

use http::Method;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tower_layer::Layer;
use tower_service::Service;
use uma_core::auth::ClientCredentials;
use uma_core::discovery::Issuer;
use uma_core::protection::Dialect;
use uma_core::{AuthorizationServer, Config};
use uma_hyper::UmaClient;
use uma_hyper::pep_layer::{PepLayer, Resource, Rule};
use uma_keycloak_e2e::*;

/// Serves `GET /docs/shared` (doc:read on shared-doc) and `GET /docs/secret` (doc:read on
/// secret-doc) behind the layer; returns the base URL.
async fn serve(proxy: &Proxy) -> String {
    let issuer = Issuer::parse(&proxy.issuer()).unwrap();
    let http = UmaClient::new(Config::new().allow_insecure_http(true)).unwrap();
    let credentials = ClientCredentials::basic(RS_CLIENT, RS_SECRET);
    let protection = http
        .protection(&issuer, credentials, Dialect::Keycloak)
        .await
        .unwrap();
    let rule = |path: &str, name: &str| {
        Rule::new(Method::GET, path, Resource::name(name), ["doc:read"]).unwrap()
    };
    let pep = PepLayer::builder(protection.with_realm(REALM).unwrap())
        .rule(rule("/docs/shared", "shared-doc"))
        .rule(rule("/docs/secret", "secret-doc"))
        .deny_unmatched(true)
        .build()
        .await
        .unwrap();
    let app = tower_service_fn();
    let service = pep.layer(app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = service.clone();
            tokio::spawn(async move {
                let handler = hyper::service::service_fn(move |request| {
                    let mut service = service.clone();
                    async move { service.call(request).await }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), handler)
                    .await;
            });
        }
    });
    base
}

/// The protected application: says which path it served.
fn tower_service_fn() -> App {
    App
}

#[derive(Clone)]
struct App;

impl<B> Service<http::Request<B>> for App {
    type Response = http::Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let body = format!("app: {}", request.uri().path());
        std::future::ready(Ok(http::Response::new(Full::new(Bytes::from(body)))))
    }
}

async fn bob(proxy: &Proxy) -> UmaClient<uma_hyper::HttpsClientConnector> {
    let issuer = Issuer::parse(&proxy.issuer()).unwrap();
    let config = Config::new()
        .with_authorization_server(AuthorizationServer::new(
            issuer.clone(),
            ClientCredentials::bearer(PUBLIC_CLIENT),
        ))
        .allow_insecure_http(true);
    let client = UmaClient::new(config).unwrap();
    client
        .login_password(&issuer, "bob", "bob-pw", None)
        .await
        .unwrap();
    client
}

fn introspections(proxy: &Proxy) -> usize {
    proxy.count(|e| e.path.ends_with("/token/introspect"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real Keycloak: tests/keycloak/run"]
async fn clients_get_through_and_the_cache_holds() {
    let kc = Keycloak::from_env();
    let proxy = kc.proxy();
    let base = serve(&proxy).await;
    let client = bob(&proxy).await;

    proxy.clear();
    let response = client
        .get(&format!("{base}/docs/shared"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap();
    assert_eq!(&body.to_bytes()[..], b"app: /docs/shared");
    assert_eq!(proxy.uma_grants(), 1);
    // bob's plain token was introspected (not an RPT), then the RPT once.
    assert_eq!(introspections(&proxy), 2);

    // 100 concurrent requests with the cached RPT: no introspection (cached on the retry above).
    proxy.clear();
    let url = Arc::new(format!("{base}/docs/shared"));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move { client.get(&url).send().await.map(|r| r.status().as_u16()) })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), 200);
    }
    assert_eq!(introspections(&proxy), 0, "cached within its lifetime");
    assert_eq!(proxy.count(Exchange::is_token), 0);

    // A denial: Keycloak refuses bob the secret document.
    let error = client
        .get(&format!("{base}/docs/secret"))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_denied(), "{error:?}");
    // Unmatched paths are refused (deny_unmatched).
    let other = raw_agent()
        .get(&format!("{base}/elsewhere"))
        .call()
        .unwrap();
    assert_eq!(other.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real Keycloak: tests/keycloak/run"]
async fn a_tokenless_herd_costs_one_pat() {
    let kc = Keycloak::from_env();
    let proxy = kc.proxy();
    let base = serve(&proxy).await;
    proxy.clear();
    let url = Arc::new(format!("{base}/docs/shared"));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let url = url.clone();
            tokio::task::spawn_blocking(move || {
                raw_agent().get(url.as_str()).call().unwrap().status()
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 401);
    }
    let pats = proxy.count(|e| e.grant_type().as_deref() == Some("client_credentials"));
    let tickets = proxy.count(|e| e.path.ends_with("/authz/protection/permission"));
    // The PAT fetched at start-up (to look the resources up by name) serves the whole herd.
    assert_eq!(pats, 0, "{pats} PAT requests for 100 token-less requests");
    assert_eq!(tickets, 100, "one fresh ticket per challenge");
}
