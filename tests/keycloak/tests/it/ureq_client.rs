//! uma-ureq against a real Keycloak, through the project's own resource server.

use std::time::Duration;

use uma_core::auth::ClientCredentials;
use uma_core::discovery::Issuer;
use uma_core::{AuthorizationServer, Config};
use uma_keycloak_e2e::*;
use uma_ureq::UmaClient;

const NEEDS_KEYCLOAK: &str = "needs a real Keycloak: tests/keycloak/run";

fn agent(issuer: &str, credentials: ClientCredentials) -> UmaClient {
    let issuer = Issuer::parse(issuer).unwrap();
    let config = Config::new()
        .with_authorization_server(AuthorizationServer::new(issuer, credentials))
        .allow_insecure_http(true);
    UmaClient::from_ureq(raw_agent(), config)
}

#[test]
#[ignore = "needs a real Keycloak: tests/keycloak/run"]
fn cold_cached_upgrade_public_client() {
    let _ = NEEDS_KEYCLOAK;
    let kc = Keycloak::from_env();
    let (proxy, rs) = kc.proxy_and_resource_server();
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

    let response = agent
        .get(&rs.url("/docs/shared"))
        .send()
        .unwrap()
        .buffered();
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
    let grant = proxy.first_uma_grant();
    assert!(grant.auth_scheme() == Some("Bearer"));
    assert_eq!(grant.form("client_id"), None);
    assert_eq!(grant.json()["upgraded"], false);
    let rpt = grant.json()["access_token"].as_str().unwrap().to_owned();
    let permissions = &jwt_claims(&rpt)["authorization"]["permissions"];
    assert_eq!(permissions[0]["rsname"], "shared-doc");

    // Cached: one request, nothing to Keycloak.
    proxy.clear();
    let before = agent.stats().http_exchanges();
    let response = agent
        .get(&rs.url("/docs/shared"))
        .send()
        .unwrap()
        .buffered();
    assert_eq!(response.status(), 200);
    assert_eq!(agent.stats().http_exchanges() - before, 1);
    assert_eq!(proxy.count(|e| e.is_token()), 0);

    // A second resource: the RPT is upgraded (rpt= sent) and keeps the first permission.
    proxy.clear();
    let response = agent.get(&rs.url("/docs/notes")).send().unwrap().buffered();
    assert_eq!(response.status(), 200);
    assert_eq!(proxy.uma_grants(), 1);
    let upgrade = proxy.first_uma_grant();
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
        assert_eq!(
            agent.get(&rs.url(path)).send().unwrap().buffered().status(),
            200
        );
    }
    assert_eq!(proxy.count(|e| e.is_token()), 0);
    let _ = Duration::ZERO;
}

fn logged_in(proxy: &Proxy, credentials: ClientCredentials, user: &str) -> UmaClient {
    let agent = agent(&proxy.issuer(), credentials);
    let password = format!("{user}-pw");
    agent
        .login_password(
            &Issuer::parse(&proxy.issuer()).unwrap(),
            user,
            password.as_str(),
            None,
        )
        .unwrap();
    agent
}

#[test]
#[ignore = "needs a real Keycloak: tests/keycloak/run"]
fn denial_is_typed_and_costs_one_exchange() {
    let kc = Keycloak::from_env();
    let (proxy, rs) = kc.proxy_and_resource_server();
    let agent = logged_in(&proxy, ClientCredentials::bearer(PUBLIC_CLIENT), "bob");
    proxy.clear();
    let error = agent.get(&rs.url("/docs/secret")).send().unwrap_err();
    assert!(error.is_denied(), "{error:?}");
    // Keycloak says `request_submitted` for any denied ticket unless submit_request=false; without a
    // new ticket there is nothing to poll with, so it is a denial that says so.
    assert_eq!(proxy.uma_grants(), 1);
    let answer = proxy.first_uma_grant();
    assert_eq!(answer.status, 403);
    assert_eq!(answer.json()["error"], "access_denied");
    assert_eq!(answer.json()["error_description"], "request_submitted");
    let final_response = error.response().expect("the RS's last answer is kept");
    assert_eq!(final_response.status(), 401);
}

#[test]
#[ignore = "needs a real Keycloak: tests/keycloak/run"]
fn owner_approves_then_next_attempt_succeeds() {
    let kc = Keycloak::from_env();
    let (proxy, rs) = kc.proxy_and_resource_server();
    let name = "alice-album-ureq";
    let (path, id) = rs.protect_owned(name);
    rs.revoke_all(&id); // a Keycloak left running by KC_KEEP=1 remembers earlier approvals
    let agent = logged_in(&proxy, ClientCredentials::bearer(PUBLIC_CLIENT), "bob");

    let error = agent.get(&rs.url(&path)).send().unwrap_err();
    assert!(error.is_denied(), "{error:?}");
    // The request waits for alice: the resource server sees it and approves it.
    let protection = rs.protection();
    let query = uma_core::protection::PermissionRequestQuery {
        resource_id: Some(id.clone()),
        granted: Some(false),
        ..Default::default()
    };
    let pending = {
        let (protection, query) = (protection.clone(), query.clone());
        rs.block_on(async move { protection.list_permission_requests(&query).await })
            .unwrap()
    };
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0].requester_name.as_deref(), Some("bob"));
    assert_eq!(pending[0].owner_name.as_deref(), Some("alice"));
    assert_eq!(pending[0].scope_name.as_deref(), Some("album:view"));
    assert_eq!(pending[0].resource_name.as_deref(), Some(name));
    let record = pending[0].id.clone();
    {
        let protection = protection.clone();
        rs.block_on(async move { protection.answer_permission_request(&record, true).await })
            .unwrap();
    }

    proxy.clear();
    let response = agent.get(&rs.url(&path)).send().unwrap().buffered();
    assert_eq!(response.status(), 200);
    assert_eq!(proxy.uma_grants(), 1);
    let granted = {
        let query = uma_core::protection::PermissionRequestQuery {
            granted: Some(true),
            ..query
        };
        rs.block_on(async move { protection.list_permission_requests(&query).await })
            .unwrap()
    };
    assert_eq!(granted.len(), 1);
    assert!(granted[0].granted);
}

#[test]
#[ignore = "needs a real Keycloak: tests/keycloak/run"]
fn expired_ticket_costs_one_fresh_challenge() {
    let kc = Keycloak::from_env();
    let (proxy, rs) = kc.proxy_and_resource_server();
    let agent = logged_in(&proxy, ClientCredentials::bearer(PUBLIC_CLIENT), "bob");
    proxy.clear();
    // uma-rs-short's PATs, and so its tickets, live 3 s: hold the first exchange past that.
    proxy.delay_next_uma_grants(1, Duration::from_millis(4500));
    let response = agent.get(&rs.url("/short/doc")).send().unwrap().buffered();
    assert_eq!(response.status(), 200);
    let grants: Vec<_> = proxy
        .exchanges()
        .into_iter()
        .filter(|e| e.is_uma_grant())
        .collect();
    assert_eq!(grants.len(), 2);
    assert_eq!(grants[0].status, 403, "{}", grants[0].json());
    assert_eq!(grants[0].json()["error"], "invalid_ticket");
    assert_eq!(grants[1].status, 200);
    assert_eq!(rs.requests(), 3, "challenge, fresh challenge, retry");
}

#[test]
#[ignore = "needs a real Keycloak: tests/keycloak/run"]
fn refreshed_rpt_is_used_or_abandoned_after_one_refusal() {
    let kc = Keycloak::from_env();
    let (proxy, rs) = kc.proxy_and_resource_server();
    // uma-short's tokens (and so the RPTs it is issued) live 5 s.
    let agent = logged_in(&proxy, ClientCredentials::bearer(SHORT_CLIENT), "bob");
    assert_eq!(
        agent
            .get(&rs.url("/docs/shared"))
            .send()
            .unwrap()
            .buffered()
            .status(),
        200
    );
    let grant = proxy.first_uma_grant();
    assert_eq!(grant.json()["expires_in"], 5);
    assert!(grant.json()["refresh_token"].is_string());
    let rpt = grant.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(jwt_claims(&rpt)["aud"], RS_CLIENT);

    std::thread::sleep(Duration::from_millis(5200));
    proxy.clear();
    assert_eq!(
        agent
            .get(&rs.url("/docs/shared"))
            .send()
            .unwrap()
            .buffered()
            .status(),
        200
    );
    // The RPT is refreshed (and so is bob's own token, which expired too) into a token that keeps its
    // permissions but not its audience.
    let refreshed: Vec<_> = proxy
        .exchanges()
        .into_iter()
        .filter(|e| e.grant_type().as_deref() == Some("refresh_token"))
        .map(|e| {
            e.json()["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .filter(|token| jwt_claims(token).get("authorization").is_some())
        .collect();
    assert_eq!(refreshed.len(), 1);
    let claims = jwt_claims(&refreshed[0]);
    assert_eq!(
        claims["authorization"]["permissions"][0]["rsname"],
        "shared-doc"
    );
    assert!(claims.get("aud").is_none(), "{claims}");
    let introspections: Vec<_> = proxy
        .exchanges()
        .into_iter()
        .filter(|e| e.path.ends_with("/token/introspect"))
        .collect();
    if kc.minor() < (26, 7) {
        // 26.4 still introspects it as active: the refresh saved a ticket exchange.
        assert_eq!(introspections[0].json()["active"], true);
        assert_eq!(proxy.uma_grants(), 0);
        assert_eq!(agent.stats().rpt_refresh_abandoned, 0);
        return;
    }
    // 26.7 calls it inactive: the resource server challenges again, the client runs a new flow and
    // stops refreshing this server's RPTs.
    assert_eq!(
        introspections[0].json(),
        serde_json::json!({"active": false})
    );
    assert_eq!(proxy.uma_grants(), 1);
    assert_eq!(agent.stats().rpt_refresh_abandoned, 1);

    // From now on an RPT that is due is not refreshed: one new ticket flow.
    std::thread::sleep(Duration::from_millis(5200));
    proxy.clear();
    assert_eq!(
        agent
            .get(&rs.url("/docs/shared"))
            .send()
            .unwrap()
            .buffered()
            .status(),
        200
    );
    let rpt_refreshes = proxy
        .exchanges()
        .into_iter()
        .filter(|e| e.grant_type().as_deref() == Some("refresh_token"))
        .filter(|e| {
            let token = e.json()["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            jwt_claims(&token).get("authorization").is_some()
        })
        .count();
    assert_eq!(rpt_refreshes, 0);
    assert_eq!(proxy.uma_grants(), 1);
}

#[test]
#[ignore = "needs a real Keycloak: tests/keycloak/run"]
fn confidential_client_basic_is_its_own_requesting_party() {
    let kc = Keycloak::from_env();
    let (proxy, rs) = kc.proxy_and_resource_server();
    // No user: Keycloak takes the client's service account as the requesting party.
    let agent = agent(
        &proxy.issuer(),
        ClientCredentials::basic(APP_CLIENT, APP_SECRET),
    );
    assert_eq!(
        agent
            .get(&rs.url("/docs/shared"))
            .send()
            .unwrap()
            .buffered()
            .status(),
        200
    );
    let grant = proxy.first_uma_grant();
    assert!(grant.auth_scheme() == Some("Basic"));
    let rpt = grant.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        jwt_claims(&rpt)["preferred_username"],
        "service-account-uma-app"
    );
}

#[test]
#[ignore = "needs a real Keycloak: tests/keycloak/run"]
fn confidential_client_with_a_user_sends_the_users_token() {
    let kc = Keycloak::from_env();
    let (proxy, rs) = kc.proxy_and_resource_server();
    let agent = logged_in(
        &proxy,
        ClientCredentials::bearer_confidential(APP_CLIENT, APP_SECRET),
        "bob",
    );
    assert_eq!(
        agent
            .get(&rs.url("/docs/shared"))
            .send()
            .unwrap()
            .buffered()
            .status(),
        200
    );
    let login = proxy
        .exchanges()
        .into_iter()
        .find(|e| e.grant_type().as_deref() == Some("password"))
        .unwrap();
    assert!(login.auth_scheme() == Some("Basic"));
    let grant = proxy.first_uma_grant();
    let rpt = grant.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(jwt_claims(&rpt)["preferred_username"], "bob");
    assert_eq!(jwt_claims(&rpt)["azp"], APP_CLIENT);
}

#[test]
#[ignore = "needs a real Keycloak: tests/keycloak/run"]
fn public_client_without_a_user_token_is_refused() {
    let kc = Keycloak::from_env();
    let (proxy, rs) = kc.proxy_and_resource_server();
    let agent = agent(&proxy.issuer(), ClientCredentials::public(PUBLIC_CLIENT));
    let error = agent.get(&rs.url("/docs/shared")).send().unwrap_err();
    let answer = proxy.first_uma_grant();
    eprintln!("{} {} / {error}", answer.status, answer.json());
    assert!(
        answer.status == 400 || answer.status == 401,
        "{}",
        answer.status
    );
    assert_eq!(rs.served(), 0);
}

#[test]
#[ignore = "needs a real Keycloak: tests/keycloak/run"]
fn rejected_user_token_is_a_client_authentication_error() {
    let kc = Keycloak::from_env();
    let (proxy, rs) = kc.proxy_and_resource_server();
    let agent = agent(&proxy.issuer(), ClientCredentials::bearer(PUBLIC_CLIENT));
    agent.set_access_token("not-a-token");
    let error = agent.get(&rs.url("/docs/shared")).send().unwrap_err();
    let answer = proxy.exchanges().into_iter().find(|e| e.is_uma_grant());
    eprintln!(
        "{:?} / {error} / {error:?}",
        answer.map(|a| (a.status, a.json()))
    );
    assert_eq!(rs.served(), 0);
}

#[test]
#[ignore = "needs a real Keycloak: tests/keycloak/run"]
fn ticketless_grant_decision_and_permissions() {
    use uma_core::PermissionsAnswer;
    use uma_core::grant::{KeycloakPermission, ResponseMode};
    let kc = Keycloak::from_env();
    let (proxy, rs) = kc.proxy_and_resource_server();
    let agent = logged_in(&proxy, ClientCredentials::bearer(PUBLIC_CLIENT), "bob");
    let issuer = Issuer::parse(&proxy.issuer()).unwrap();
    let wanted = || {
        vec![KeycloakPermission {
            resource: Some("shared-doc".into()),
            scopes: vec!["doc:read".into()],
        }]
    };
    let answer = agent
        .keycloak_permissions(uma_core::KeycloakPermissions::rpt(
            issuer.clone(),
            RS_CLIENT,
            wanted(),
            rs.base(),
        ))
        .unwrap();
    assert!(matches!(answer, PermissionsAnswer::RptCached), "{answer:?}");
    proxy.clear();
    let before = agent.stats().http_exchanges();
    assert_eq!(
        agent
            .get(&rs.url("/docs/shared"))
            .send()
            .unwrap()
            .buffered()
            .status(),
        200
    );
    assert_eq!(
        agent.stats().http_exchanges() - before,
        1,
        "no challenge: the RPT was there first"
    );

    let decision = agent
        .keycloak_permissions(uma_core::KeycloakPermissions::query(
            issuer.clone(),
            RS_CLIENT,
            wanted(),
            ResponseMode::Decision,
        ))
        .unwrap();
    assert!(
        matches!(decision, PermissionsAnswer::Decision(true)),
        "{decision:?}"
    );
    let permissions = agent
        .keycloak_permissions(uma_core::KeycloakPermissions::query(
            issuer.clone(),
            RS_CLIENT,
            vec![],
            ResponseMode::Permissions,
        ))
        .unwrap();
    let PermissionsAnswer::Permissions(granted) = permissions else {
        panic!("{permissions:?}")
    };
    // Everything bob may access on uma-rs (other suites may have had alice approve more).
    let names: Vec<_> = granted
        .iter()
        .filter_map(|p| p.resource_name.clone())
        .collect();
    for name in ["shared-doc", "shared-notes"] {
        assert!(names.iter().any(|n| n == name), "{names:?}");
    }
    assert!(!names.iter().any(|n| n == "secret-doc"), "{names:?}");
    let denied = agent
        .keycloak_permissions(uma_core::KeycloakPermissions::query(
            issuer,
            RS_CLIENT,
            vec![KeycloakPermission {
                resource: Some("secret-doc".into()),
                scopes: vec!["doc:read".into()],
            }],
            ResponseMode::Decision,
        ))
        .unwrap_err();
    assert!(denied.is_denied(), "{denied:?}");
}
