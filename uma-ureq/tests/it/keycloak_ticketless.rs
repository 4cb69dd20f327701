//! Keycloak's ticketless grant through the blocking adapter: an RPT fetched ahead of any challenge is used
//! at once (one request to the RS), and the decision / permissions modes answer without a token.

use crate::common::*;
use uma_core::grant::{KeycloakPermission, ResponseMode};
use uma_core::{KeycloakPermissions, PermissionsAnswer};
use uma_testkit::{Dialect, Endpoint, Server};

fn view(resource: &str) -> KeycloakPermission {
    KeycloakPermission {
        resource: Some(resource.into()),
        scopes: vec!["read".into()],
    }
}

#[test]
fn an_rpt_fetched_ahead_is_presented_without_a_challenge() {
    for tls in [false, true] {
        let kit = kit(Dialect::keycloak(), tls);
        let agent = agent(&kit);
        agent
            .login_password(&issuer(&kit), "alice", "alice-pw", None)
            .unwrap();
        let ask =
            KeycloakPermissions::rpt(issuer(&kit), "rs", vec![view("res-a")], &kit.rs_url("/"));
        assert!(matches!(
            agent.keycloak_permissions(ask).unwrap(),
            PermissionsAnswer::RptCached
        ));
        kit.clear_log();
        assert_eq!(
            agent
                .get(&kit.rs_url("/api/a"))
                .send()
                .unwrap()
                .buffered()
                .status(),
            200
        );
        assert_eq!(kit.log_of(Server::Rs).len(), 1, "no challenge round trip");
        assert_eq!(kit.count_endpoint(Endpoint::Token), 0);
    }
}

#[test]
fn decision_and_permissions_modes_and_a_denial() {
    let kit = kit(Dialect::keycloak(), false);
    let agent = agent(&kit);
    agent
        .login_password(&issuer(&kit), "alice", "alice-pw", None)
        .unwrap();
    let ask = KeycloakPermissions::query(
        issuer(&kit),
        "rs",
        vec![view("res-a")],
        ResponseMode::Decision,
    );
    assert!(matches!(
        agent.keycloak_permissions(ask).unwrap(),
        PermissionsAnswer::Decision(true)
    ));
    let ask = KeycloakPermissions::query(issuer(&kit), "rs", vec![], ResponseMode::Permissions);
    match agent.keycloak_permissions(ask).unwrap() {
        PermissionsAnswer::Permissions(granted) => assert!(!granted.is_empty()),
        other => panic!("{other:?}"),
    }
    // bob may not write: a typed denial. (His token must authenticate the request: bearer client auth.)
    let mut server = server(&kit);
    server.credentials =
        uma_core::auth::ClientCredentials::bearer_confidential("app", "app-secret");
    let bob = uma_ureq::UmaClient::from_ureq(ureq_agent(&kit), config(&kit, server))
        .with_options(options());
    bob.login_password(&issuer(&kit), "bob", "bob-pw", None)
        .unwrap();
    let write = KeycloakPermission {
        resource: Some("res-a".into()),
        scopes: vec!["write".into()],
    };
    let ask = KeycloakPermissions::query(issuer(&kit), "rs", vec![write], ResponseMode::Decision);
    let error = bob.keycloak_permissions(ask).unwrap_err();
    assert!(error.is_denied(), "{error}");
}
