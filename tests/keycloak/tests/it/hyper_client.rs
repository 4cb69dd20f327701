//! uma-hyper (and its tower layer) against a real Keycloak, through the project's own resource server.

use std::sync::Arc;

use uma_core::auth::ClientCredentials;
use uma_core::discovery::Issuer;
use uma_core::{AuthorizationServer, Config};
use uma_hyper::{HttpsClientConnector, UmaClient};
use uma_keycloak_e2e::*;

fn client(issuer: &str, credentials: ClientCredentials) -> UmaClient<HttpsClientConnector> {
    let issuer = Issuer::parse(issuer).unwrap();
    let config = Config::new()
        .with_authorization_server(AuthorizationServer::new(issuer, credentials))
        .allow_insecure_http(true);
    UmaClient::new(config).unwrap()
}

async fn bob(proxy: &Proxy) -> UmaClient<HttpsClientConnector> {
    let client = client(&proxy.issuer(), ClientCredentials::bearer(PUBLIC_CLIENT));
    let issuer = Issuer::parse(&proxy.issuer()).unwrap();
    client
        .login_password(&issuer, "bob", "bob-pw", None)
        .await
        .unwrap();
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real Keycloak: tests/keycloak/run"]
async fn cold_cached_upgrade_denial() {
    let kc = Keycloak::from_env();
    let (proxy, rs) = kc.proxy_and_resource_server();
    let client = bob(&proxy).await;
    proxy.clear();
    let before = client.stats().http_exchanges();
    let response = client.get(&rs.url("/docs/shared")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap();
    assert_eq!(&body.to_bytes()[..], b"rs: GET /docs/shared");
    assert_eq!(client.stats().http_exchanges() - before, 3);
    assert_eq!(proxy.uma_grants(), 1);
    let rpt = proxy.first_uma_grant().json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    proxy.clear();
    let before = client.stats().http_exchanges();
    assert_eq!(
        client
            .get(&rs.url("/docs/shared"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(client.stats().http_exchanges() - before, 1);
    assert_eq!(proxy.count(|e| e.is_token()), 0);

    proxy.clear();
    assert_eq!(
        client
            .get(&rs.url("/docs/notes"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let upgrade = proxy.first_uma_grant();
    assert_eq!(upgrade.form("rpt").as_deref(), Some(rpt.as_str()));
    assert_eq!(upgrade.json()["upgraded"], true);

    proxy.clear();
    let error = client
        .get(&rs.url("/docs/secret"))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_denied(), "{error:?}");
    assert_eq!(proxy.uma_grants(), 1);
    assert_eq!(error.response().map(|r| r.status().as_u16()), Some(401));
    // The denial did not cost the RPT: both documents still answer at once.
    proxy.clear();
    for path in ["/docs/shared", "/docs/notes"] {
        assert_eq!(
            client.get(&rs.url(path)).send().await.unwrap().status(),
            200
        );
    }
    assert_eq!(proxy.count(|e| e.is_token()), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real Keycloak: tests/keycloak/run"]
async fn herd_of_200_cold_tasks_costs_one_ticket_exchange() {
    let kc = Keycloak::from_env();
    let (proxy, rs) = kc.proxy_and_resource_server();
    let client = bob(&proxy).await;
    proxy.clear();
    let url = Arc::new(rs.url("/docs/shared"));
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move { client.get(&url).send().await.map(|r| r.status().as_u16()) })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), 200);
    }
    // Counted where it matters: what Keycloak received.
    assert_eq!(proxy.uma_grants(), 1, "ticket exchanges at Keycloak");
    assert_eq!(proxy.count(|e| e.path.ends_with("uma2-configuration")), 0);
    assert_eq!(rs.served(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real Keycloak: tests/keycloak/run"]
async fn owner_approves_then_next_attempt_succeeds() {
    let kc = Keycloak::from_env();
    let (proxy, rs) = kc.proxy_and_resource_server();
    let (path, id) = rs.protect_owned("alice-album-hyper");
    let protection = rs.protection();
    let everything = uma_core::protection::PermissionRequestQuery {
        resource_id: Some(id.clone()),
        ..Default::default()
    };
    for record in protection
        .list_permission_requests(&everything)
        .await
        .unwrap()
    {
        protection
            .answer_permission_request(&record.id, false)
            .await
            .unwrap();
    }
    let client = bob(&proxy).await;
    let error = client.get(&rs.url(&path)).send().await.unwrap_err();
    assert!(error.is_denied(), "{error:?}");
    let pending = protection
        .list_permission_requests(&uma_core::protection::PermissionRequestQuery {
            granted: Some(false),
            ..everything.clone()
        })
        .await
        .unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0].requester_name.as_deref(), Some("bob"));
    protection
        .answer_permission_request(&pending[0].id, true)
        .await
        .unwrap();
    assert_eq!(
        client.get(&rs.url(&path)).send().await.unwrap().status(),
        200
    );
    // Denying the approved request again revokes it: a fresh client is refused.
    let approved = protection
        .list_permission_requests(&everything)
        .await
        .unwrap();
    assert!(approved.iter().all(|r| r.granted));
    for record in approved {
        protection
            .answer_permission_request(&record.id, false)
            .await
            .unwrap();
    }
    let fresh = bob(&proxy).await;
    assert!(
        fresh
            .get(&rs.url(&path))
            .send()
            .await
            .unwrap_err()
            .is_denied()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real Keycloak: tests/keycloak/run"]
async fn tower_layer_and_ticketless_grant() {
    use tower_layer::Layer as _;
    use tower_service::Service as _;
    let kc = Keycloak::from_env();
    let (proxy, rs) = kc.proxy_and_resource_server();
    let client = bob(&proxy).await;
    let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<uma_hyper::RequestBody>();
    let mut service = client.layer().layer(http);
    let request = http::Request::get(rs.url("/docs/shared"))
        .body(http_body_util::Full::new(hyper::body::Bytes::new()))
        .unwrap();
    std::future::poll_fn(|cx| {
        tower_service::Service::<http::Request<http_body_util::Full<hyper::body::Bytes>>>::poll_ready(
            &mut service,
            cx,
        )
    })
    .await
    .unwrap();
    let response = service.call(request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(proxy.uma_grants(), 1);

    // Ticketless: ask for the notes before any challenge; the first request then costs one round trip.
    use uma_core::grant::KeycloakPermission;
    let issuer = Issuer::parse(&proxy.issuer()).unwrap();
    let wanted = vec![KeycloakPermission {
        resource: Some("shared-notes".into()),
        scopes: vec!["doc:read".into()],
    }];
    let answer = client
        .keycloak_permissions(uma_core::KeycloakPermissions::rpt(
            issuer,
            RS_CLIENT,
            wanted,
            rs.base(),
        ))
        .await
        .unwrap();
    assert!(matches!(answer, uma_core::PermissionsAnswer::RptCached));
    let grant = proxy.last_uma_grant();
    assert_eq!(grant.form("audience").as_deref(), Some(RS_CLIENT));
    assert_eq!(
        grant.form("permission").as_deref(),
        Some("shared-notes#doc:read")
    );
    assert_eq!(grant.form("ticket"), None);
    let before = client.stats().http_exchanges();
    assert_eq!(
        client
            .get(&rs.url("/docs/notes"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(client.stats().http_exchanges() - before, 1);
}
