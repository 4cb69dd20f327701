//! uma-ureq against a real Keycloak, through the project's own resource server.

use std::time::Duration;

use uma_core::auth::ClientCredentials;
use uma_core::discovery::Issuer;
use uma_core::{AuthorizationServer, Config};
use uma_keycloak_e2e::*;
use uma_ureq::UmaAgent;

const NEEDS_KEYCLOAK: &str = "needs a real Keycloak: tests/keycloak/run";

fn agent(issuer: &str, credentials: ClientCredentials) -> UmaAgent {
    let issuer = Issuer::parse(issuer).unwrap();
    let config = Config::new()
        .with_authorization_server(AuthorizationServer::new(issuer, credentials))
        .allow_insecure_http(true);
    UmaAgent::new(raw_agent(), config)
}

#[test]
#[ignore = "needs a real Keycloak: tests/keycloak/run"]
fn cold_cached_upgrade_public_client() {
    let _ = NEEDS_KEYCLOAK;
    let kc = Keycloak::from_env();
    let proxy = kc.proxy();
    let rs = ResourceServer::start(&proxy.issuer());
    let agent = agent(&proxy.issuer(), ClientCredentials::bearer(PUBLIC_CLIENT));
    agent
        .login_password(
            &Issuer::parse(&proxy.issuer()).unwrap(),
            "bob",
            "bob-pw",
            None,
        )
        .unwrap();
    proxy.clear();
    let before = agent.stats().http_exchanges();

    let response = agent.get(&rs.url("/docs/shared")).send().unwrap();
    assert_eq!(
        response.status(),
        200,
        "{:?}",
        String::from_utf8_lossy(response.body())
    );
    assert_eq!(response.body(), b"rs: GET /docs/shared");
    // challenge + ticket grant + retry (discovery was done by the login).
    assert_eq!(agent.stats().http_exchanges() - before, 3);
    assert_eq!(proxy.uma_grants(), 1);
    let grant = proxy
        .exchanges()
        .into_iter()
        .find(|e| e.is_uma_grant())
        .unwrap();
    assert!(
        grant
            .request_header("authorization")
            .unwrap()
            .starts_with("Bearer ")
    );
    assert_eq!(grant.form("client_id"), None);
    assert_eq!(grant.json()["upgraded"], false);
    let rpt = grant.json()["access_token"].as_str().unwrap().to_owned();
    let permissions = &jwt_claims(&rpt)["authorization"]["permissions"];
    assert_eq!(permissions[0]["rsname"], "shared-doc");

    // Cached: one request, nothing to Keycloak.
    proxy.clear();
    let before = agent.stats().http_exchanges();
    let response = agent.get(&rs.url("/docs/shared")).send().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(agent.stats().http_exchanges() - before, 1);
    assert_eq!(proxy.count(|e| e.is_token()), 0);

    // A second resource: the RPT is upgraded (rpt= sent) and keeps the first permission.
    proxy.clear();
    let response = agent.get(&rs.url("/docs/notes")).send().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(proxy.uma_grants(), 1);
    let upgrade = proxy
        .exchanges()
        .into_iter()
        .find(|e| e.is_uma_grant())
        .unwrap();
    assert_eq!(upgrade.form("rpt").as_deref(), Some(rpt.as_str()));
    assert_eq!(upgrade.json()["upgraded"], true, "{}", upgrade.json());
    let upgraded = upgrade.json()["access_token"].as_str().unwrap().to_owned();
    let mut names: Vec<_> = jwt_claims(&upgraded)["authorization"]["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["rsname"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["shared-doc", "shared-notes"]);
    // Both resources now answer with one request each.
    proxy.clear();
    for path in ["/docs/shared", "/docs/notes"] {
        assert_eq!(agent.get(&rs.url(path)).send().unwrap().status(), 200);
    }
    assert_eq!(proxy.count(|e| e.is_token()), 0);
    let _ = Duration::ZERO;
}
