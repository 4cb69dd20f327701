//! uma-reqwest (a reqwest-middleware chain) against a real Keycloak, through the project's resource
//! server: the user's token, a cold exchange, the cached RPT, an upgrade, a denial and a herd.

use std::sync::Arc;
use std::time::Instant;

use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use uma_core::auth::ClientCredentials;
use uma_core::discovery::Issuer;
use uma_core::secret::AccessToken;
use uma_core::{AuthorizationServer, Config, Identity, Party};
use uma_keycloak_e2e::*;
use uma_reqwest::UmaMiddleware;

/// bob's chain: his access token (from the password grant) is the requesting party's identity.
fn bob(proxy: &Proxy) -> (ClientWithMiddleware, UmaMiddleware) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let issuer = Issuer::parse(&proxy.issuer()).unwrap();
    let config = Config::new()
        .with_authorization_server(AuthorizationServer::new(
            issuer,
            ClientCredentials::bearer(PUBLIC_CLIENT),
        ))
        .allow_insecure_http(true);
    let uma = UmaMiddleware::new(config);
    let token = user_token(&proxy.issuer(), PUBLIC_CLIENT, None, "bob");
    uma.with_core(|core| {
        let identity = Identity::from_token(AccessToken::new(token), Instant::now());
        core.set_identity(Party::default(), identity);
    });
    let client = ClientBuilder::new(reqwest::Client::new())
        .with(uma.clone())
        .build();
    (client, uma)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real Keycloak: tests/keycloak/run"]
async fn cold_cached_upgrade_denial_and_a_herd() {
    let kc = Keycloak::from_env();
    let (proxy, rs) = kc.proxy_and_resource_server();
    let (client, uma) = tokio::task::block_in_place(|| bob(&proxy));

    let response = client.get(rs.url("/docs/shared")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "rs: GET /docs/shared");
    // challenge, discovery, ticket grant, retry.
    assert_eq!(uma.stats().http_exchanges(), 4);
    assert_eq!(proxy.uma_grants(), 1);
    assert_eq!(proxy.first_uma_grant().auth_scheme(), Some("Bearer"));
    let rpt = proxy.first_uma_grant().json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    proxy.clear();
    assert_eq!(
        client
            .get(rs.url("/docs/shared"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(uma.stats().http_exchanges(), 5, "cached: one request");
    assert_eq!(proxy.count(Exchange::is_token), 0);

    proxy.clear();
    assert_eq!(
        client
            .get(rs.url("/docs/notes"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let upgrade = proxy.last_uma_grant();
    assert_eq!(upgrade.form("rpt").as_deref(), Some(rpt.as_str()));
    assert_eq!(upgrade.json()["upgraded"], true);

    proxy.clear();
    let denied = client.get(rs.url("/docs/secret")).send().await.unwrap_err();
    let error = uma_reqwest::uma_error(&denied).expect("a UMA error");
    assert!(error.is_denied(), "{error:?}");
    assert_eq!(proxy.uma_grants(), 1);

    // A herd of cold requests on a new chain: one ticket exchange at Keycloak.
    let (client, _) = tokio::task::block_in_place(|| bob(&proxy));
    proxy.clear();
    let url = Arc::new(rs.url("/docs/shared"));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move { client.get(url.as_str()).send().await.map(|r| r.status()) })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), 200);
    }
    assert_eq!(proxy.uma_grants(), 1, "100 cold tasks, one ticket exchange");
}
