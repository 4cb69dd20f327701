//! The happy path in each dialect, over plain http and TLS, asserting the server-side log and the
//! client's counters. The flow's other branches are the testkit's conformance suite (`conformance.rs`).

use crate::common::*;
use uma_core::config::ClaimPushing;
use uma_core::grant::PushedClaim;
use uma_core::secret::ClaimToken;
use uma_testkit::{Dialect, Endpoint, KitConfig, Server};

both!(happy_spec, happy_keycloak, happy_gluu,);

/// Challenge, discovery, token, retry: the log shows exactly that, and the retry carries the RPT.
fn assert_one_flow(kit: &uma_testkit::Kit) {
    let rs = rs_requests(kit);
    assert_eq!(rs.len(), 2, "{rs:#?}");
    assert_eq!(count(kit, Endpoint::Discovery), 1);
    assert_eq!(count(kit, Endpoint::Token), 1);
    let token = &tokens(kit)[0];
    assert_eq!(token.form_value("grant_type"), Some(uma_testkit::UMA_GRANT));
    assert!(
        rs[1]
            .header("authorization")
            .is_some_and(|a| a.starts_with("Bearer "))
    );
}

async fn happy_spec(tls: bool) {
    let kit = start(KitConfig::new(Dialect::Spec), tls);
    let client = client_for(&kit);
    let response = client.get(&kit.rs_url("/api/a")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(json(&body_of(response).await)["scope"], "read");
    assert_one_flow(&kit);
    assert_eq!(kit.count_endpoint(Endpoint::HostileAs), 0);
    let stats = client.stats();
    assert_eq!(
        (
            stats.resource_requests,
            stats.discovery_requests,
            stats.token_requests
        ),
        (2, 1, 1)
    );
}

async fn happy_keycloak(tls: bool) {
    let kit = start(KitConfig::new(Dialect::keycloak()), tls);
    let client = client_for(&kit);
    // Keycloak's enforcer only mints a ticket for a bearer-authorised request: log the user in first.
    client
        .login_password(
            &uma_core::discovery::Issuer::parse(&kit.issuer()).unwrap(),
            "alice",
            "alice-pw",
            None,
        )
        .await
        .unwrap();
    let response = client.get(&kit.rs_url("/api/a")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let rs = rs_requests(&kit);
    assert_eq!(rs.len(), 2, "{rs:#?}");
    assert_eq!(
        rs[0].header("authorization").map(|a| &a[..7]),
        Some("Bearer ")
    );
    // The login and the ticket grant; discovery once for both.
    assert_eq!(count(&kit, Endpoint::Discovery), 1);
    let grants: Vec<_> = tokens(&kit)
        .into_iter()
        .map(|t| t.form_value("grant_type").unwrap_or("").to_owned())
        .collect();
    assert_eq!(grants, ["password", uma_testkit::UMA_GRANT]);
}

async fn happy_gluu(tls: bool) {
    let kit = start(KitConfig::new(Dialect::Gluu), tls);
    let mut server = server_for(&kit);
    server.claim = Some(PushedClaim::id_token(ClaimToken::new(
        kit.id_token_for("alice"),
    )));
    let mut config = config_for(&kit);
    config.authorization_servers = vec![server];
    config.claim_pushing = ClaimPushing::Always;
    let client = client_with(&kit, config);
    let response = client.get(&kit.rs_url("/api/a")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_one_flow(&kit);
    let token = &tokens(&kit)[0];
    assert_eq!(
        token.form_value("claim_token_format"),
        Some(uma_testkit::ID_TOKEN_FORMAT)
    );
    assert!(kit.log_of(Server::As)[0].path.starts_with("/.well-known"));
}
