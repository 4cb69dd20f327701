//! uma-ureq and uma-hyper against Keycloak's own Java policy enforcer (a resource server this project
//! did not write), in front of a real Keycloak.

use uma_core::auth::ClientCredentials;
use uma_core::discovery::Issuer;
use uma_core::{AuthorizationServer, Config};
use uma_keycloak_e2e::java_pep::JavaPep;
use uma_keycloak_e2e::*;

fn config(issuer: &str) -> Config {
    let issuer = Issuer::parse(issuer).unwrap();
    Config::new()
        .with_authorization_server(AuthorizationServer::new(
            issuer,
            ClientCredentials::bearer(PUBLIC_CLIENT),
        ))
        .allow_insecure_http(true)
}

#[test]
#[ignore = "needs a real Keycloak: tests/keycloak/run"]
fn ureq_cold_cached_upgrade_denial() {
    let kc = Keycloak::from_env();
    let proxy = kc.proxy();
    let pep = JavaPep::start(proxy.base());
    let agent = uma_ureq::UmaClient::from_ureq(raw_agent(), config(&proxy.issuer()));
    let issuer = Issuer::parse(&proxy.issuer()).unwrap();
    agent
        .login_password(&issuer, "bob", "bob-pw", None)
        .unwrap();

    // Cold: the enforcer challenges (only because bob's token is sent), one exchange, the retry.
    proxy.clear();
    let before = agent.stats().http_exchanges();
    let response = agent
        .get(&pep.url("/docs/shared"))
        .send()
        .unwrap()
        .buffered();
    assert_eq!(
        response.status(),
        200,
        "{}",
        String::from_utf8_lossy(response.body())
    );
    assert_eq!(response.body(), b"java-pep: /docs/shared\n");
    assert_eq!(agent.stats().http_exchanges() - before, 3);
    assert_eq!(proxy.uma_grants(), 1);
    let rpt = proxy.first_uma_grant().json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // Cached.
    proxy.clear();
    let before = agent.stats().http_exchanges();
    assert_eq!(
        agent
            .get(&pep.url("/docs/shared"))
            .send()
            .unwrap()
            .buffered()
            .status(),
        200
    );
    assert_eq!(agent.stats().http_exchanges() - before, 1);
    assert_eq!(proxy.count(|e| e.is_token()), 0);

    // Upgrade: a new ticket for the notes, exchanged with rpt=.
    proxy.clear();
    assert_eq!(
        agent
            .get(&pep.url("/docs/notes"))
            .send()
            .unwrap()
            .buffered()
            .status(),
        200
    );
    let upgrade = proxy.first_uma_grant();
    assert_eq!(upgrade.form("rpt").as_deref(), Some(rpt.as_str()));
    assert_eq!(upgrade.json()["upgraded"], true);

    // Denial.
    proxy.clear();
    let error = agent.get(&pep.url("/docs/secret")).send().unwrap_err();
    assert!(error.is_denied(), "{error:?}");
    assert_eq!(proxy.uma_grants(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real Keycloak: tests/keycloak/run"]
async fn hyper_cold_cached_and_a_herd() {
    let kc = Keycloak::from_env();
    let proxy = kc.proxy();
    let base = proxy.base().to_owned();
    let pep = tokio::task::spawn_blocking(move || JavaPep::start(&base))
        .await
        .unwrap();
    let client = uma_hyper::UmaClient::new(config(&proxy.issuer())).unwrap();
    let issuer = Issuer::parse(&proxy.issuer()).unwrap();
    client
        .login_password(&issuer, "bob", "bob-pw", None)
        .await
        .unwrap();
    proxy.clear();
    let url = std::sync::Arc::new(pep.url("/docs/shared"));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move { client.get(&url).send().await.map(|r| r.status().as_u16()) })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), 200);
    }
    assert_eq!(proxy.uma_grants(), 1, "50 cold tasks, one ticket exchange");
    let error = client
        .get(&pep.url("/docs/secret"))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_denied(), "{error:?}");
    drop(tokio::task::spawn_blocking(move || drop(pep)).await);
}
