//! Keycloak's ticketless grant through the async adapter: an RPT fetched ahead of any challenge is used at
//! once, with one request to the resource server.

use crate::common::*;
use uma_core::discovery::Issuer;
use uma_core::grant::KeycloakPermission;
use uma_core::{KeycloakPermissions, PermissionsAnswer};
use uma_testkit::{Dialect, Endpoint, KitConfig, Server};

#[tokio::test]
async fn an_rpt_fetched_ahead_is_presented_without_a_challenge() {
    for tls in [false, true] {
        let kit = start(KitConfig::new(Dialect::keycloak()), tls);
        let client = client_for(&kit);
        let issuer = Issuer::parse(&kit.issuer()).unwrap();
        client
            .login_password(&issuer, "alice", "alice-pw", None)
            .await
            .unwrap();
        let want = vec![KeycloakPermission {
            resource: Some("res-b".into()),
            scopes: vec!["read".into()],
        }];
        let ask = KeycloakPermissions::rpt(issuer, "rs", want, &kit.rs_url("/"));
        assert!(matches!(
            client.keycloak_permissions(ask).await.unwrap(),
            PermissionsAnswer::RptCached
        ));
        kit.clear_log();
        assert_eq!(
            client
                .get(&kit.rs_url("/api/b"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        assert_eq!(kit.log_of(Server::Rs).len(), 1);
        assert_eq!(kit.count_endpoint(Endpoint::Token), 0);
    }
}
