//! The PEP layer in front of a hyper server, end to end on the testkit: the project's hyper and ureq
//! clients get through, and the AS calls are counted (introspections per RPT, PAT requests per herd).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use crate::common::{body_of, client_for, start};
use http::Method;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tower::ServiceExt;
use tower_layer::Layer;
use uma_core::auth::ClientCredentials;
use uma_core::discovery::Issuer;
use uma_core::protection::{Dialect, Introspection, ResourceDescription};
use uma_hyper::pep_layer::{BuildError, PepLayer, PepLayerBuilder, Resource, Rule};
use uma_hyper::{HttpsClientConnector, Protection};
use uma_testkit::{Endpoint, Fault, Kit, KitConfig};

fn kit(dialect: uma_testkit::Dialect) -> Kit {
    start(KitConfig::new(dialect), false)
}

async fn protection(kit: &Kit, dialect: Dialect) -> Protection {
    let issuer = Issuer::parse(&kit.issuer()).unwrap();
    client_for(kit)
        .protection(
            &issuer,
            ClientCredentials::basic("rs", "rs-secret"),
            dialect,
        )
        .await
        .unwrap()
}

/// Serves `layer` around a handler answering `hello <sub>` on 127.0.0.1; returns the base URL.
async fn serve(layer: PepLayer<HttpsClientConnector>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = tower::service_fn(|request: http::Request<Incoming>| async move {
        let who = request
            .extensions()
            .get::<Arc<Introspection>>()
            .and_then(|i| i.sub.clone())
            .unwrap_or_else(|| "anonymous".into());
        Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from(format!(
            "hello {who}"
        )))))
    });
    let service = layer.layer(app);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = service.clone();
            let hyper_service =
                hyper::service::service_fn(move |request| service.clone().oneshot(request));
            tokio::spawn(
                http1::Builder::new().serve_connection(TokioIo::new(stream), hyper_service),
            );
        }
    });
    base
}

type Plain = HyperClient<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

fn plain() -> Plain {
    HyperClient::builder(TokioExecutor::new()).build_http()
}

/// A plain GET with an optional Bearer token: (status, body).
async fn get(http: &Plain, url: &str, token: Option<&str>) -> (u16, String) {
    let mut request = http::Request::get(url);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = http
        .request(request.body(Full::default()).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// `GET /photos/*` needs `view` on the resource named `album`, looked up at start-up.
async fn album_layer(p: Protection) -> PepLayerBuilder<HttpsClientConnector> {
    p.create_resource(&ResourceDescription::new("album", ["view", "print"]))
        .await
        .unwrap();
    PepLayer::builder(p)
        .rule(Rule::new(Method::GET, "/photos/*", Resource::name("album"), ["view"]).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_hyper_and_ureq_clients_get_through() {
    let kit = kit(uma_testkit::Dialect::Spec);
    let layer = album_layer(protection(&kit, Dialect::Uma).await)
        .await
        .build()
        .await
        .unwrap();
    let base = serve(layer).await;
    kit.clear_log();

    // Cold: 401 → ticket → RPT → 200.
    let response = client_for(&kit)
        .get(&format!("{base}/photos/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(body_of(response).await.starts_with(b"hello "));
    assert_eq!(kit.count_endpoint(Endpoint::Permission), 1);
    assert_eq!(kit.count_endpoint(Endpoint::Introspection), 1);

    let url = format!("{base}/photos/2");
    let ureq_kit = kit.issuer();
    let status = tokio::task::spawn_blocking(move || {
        let issuer = Issuer::parse(&ureq_kit).unwrap();
        let config = uma_core::Config::new()
            .with_authorization_server(uma_core::AuthorizationServer::new(
                issuer,
                ClientCredentials::basic("app", "app-secret"),
            ))
            .allow_insecure_http(true);
        let agent =
            uma_ureq::UmaClient::from_ureq(uma_ureq::ureq::Agent::new_with_defaults(), config);
        let mut response = agent.get(&url).send().unwrap();
        let body = response.body_mut().read_to_vec().unwrap();
        (response.status().as_u16(), body)
    })
    .await
    .unwrap();
    assert_eq!(status.0, 200);
    assert!(status.1.starts_with(b"hello "));
    assert_eq!(kit.count_endpoint(Endpoint::Permission), 2);

    // Unmatched paths pass through without a token.
    assert_eq!(
        get(&plain(), &format!("{base}/public"), None).await,
        (200, "hello anonymous".into())
    );
    // A dot segment is refused before matching.
    assert_eq!(
        get(&plain(), &format!("{base}/photos/%2e%2e/x"), None)
            .await
            .0,
        400
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keycloak_hyper_client_gets_through() {
    let kit = kit(uma_testkit::Dialect::keycloak());
    let p = protection(&kit, Dialect::Keycloak)
        .await
        .with_realm("demo")
        .unwrap();
    let base = serve(album_layer(p).await.build().await.unwrap()).await;
    let client = client_for(&kit);
    let issuer = Issuer::parse(&kit.issuer()).unwrap();
    client
        .login_password(&issuer, "alice", "alice-pw", None)
        .await
        .unwrap();
    let response = client
        .get(&format!("{base}/photos/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let challenge = get(&plain(), &format!("{base}/photos/1"), None).await;
    assert_eq!(challenge.0, 401);
}

/// 100 concurrent requests with one RPT: 1 introspection; again within the cache lifetime: none;
/// after it: 1 more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_introspection_per_rpt_per_cache_lifetime() {
    let kit = kit(uma_testkit::Dialect::Spec);
    let layer = PepLayer::builder(protection(&kit, Dialect::Uma).await)
        .rule(Rule::new(Method::GET, "/api/a", Resource::id("res-a"), ["read"]).unwrap())
        .cache_max_ttl(Duration::from_millis(1500))
        .build()
        .await
        .unwrap();
    let url = format!("{}/api/a", serve(layer).await);
    let rpt = kit.rpt_for("alice", &[("res-a", "read")]);
    let http = plain();
    let burst = || async {
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let (http, url, rpt) = (http.clone(), url.clone(), rpt.clone());
            tasks.push(tokio::spawn(
                async move { get(&http, &url, Some(&rpt)).await },
            ));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap().0, 200);
        }
        kit.count_endpoint(Endpoint::Introspection)
    };
    assert_eq!(burst().await, 1);
    assert_eq!(burst().await, 1);
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert_eq!(burst().await, 2);
    assert_eq!(kit.count_endpoint(Endpoint::Token), 1);
}

/// 100 concurrent token-less requests on a fresh layer: 1 PAT request, 100 tickets, 100 challenges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_less_herd_costs_one_pat_request() {
    let kit = kit(uma_testkit::Dialect::Spec);
    let layer = PepLayer::builder(protection(&kit, Dialect::Uma).await)
        .rule(Rule::any_method("/api/*", Resource::id("res-a"), ["read"]).unwrap())
        .build()
        .await
        .unwrap();
    let url = format!("{}/api/a", serve(layer).await);
    let http = plain();
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let (http, url) = (http.clone(), url.clone());
        tasks.push(tokio::spawn(async move { get(&http, &url, None).await.0 }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 401);
    }
    assert_eq!(kit.count_endpoint(Endpoint::Token), 1);
    assert_eq!(kit.count_endpoint(Endpoint::Permission), 100);
}

/// Fail closed: no ticket → 403, AS down → 503, unmatched with deny-by-default → 403; unknown
/// resource names fail the build.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_fail_closed() {
    let kit = kit(uma_testkit::Dialect::Spec);
    let p = protection(&kit, Dialect::Uma).await;
    let missing = PepLayer::builder(p.clone())
        .rule(Rule::any_method("/x", Resource::name("nope"), ["read"]).unwrap())
        .build()
        .await
        .unwrap_err();
    assert!(matches!(missing, BuildError::NotFound(_)), "{missing}");
    let layer = PepLayer::builder(p)
        .rule(
            Rule::new(
                Method::GET,
                "/api/a",
                Resource::id("res-a"),
                ["no-such-scope"],
            )
            .unwrap(),
        )
        .rule(Rule::new(Method::GET, "/api/b", Resource::id("res-b"), ["read"]).unwrap())
        .deny_unmatched(true)
        .build()
        .await
        .unwrap();
    let base = serve(layer).await;
    let http = plain();
    assert_eq!(get(&http, &format!("{base}/api/a"), None).await.0, 403);
    assert_eq!(get(&http, &format!("{base}/elsewhere"), None).await.0, 403);
    kit.set_fault(Endpoint::Introspection, Some(Fault::Status(500)));
    let rpt = kit.rpt_for("alice", &[("res-b", "read")]);
    assert_eq!(
        get(&http, &format!("{base}/api/b"), Some(&rpt)).await.0,
        503
    );
    kit.set_fault(Endpoint::Introspection, None);
    assert_eq!(
        get(&http, &format!("{base}/api/b"), Some(&rpt)).await.0,
        200
    );
}
