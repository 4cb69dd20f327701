//! The happy path in each dialect, asserted on the server-side request log.

use crate::common::*;
use uma_core::AuthorizationServer;
use uma_core::auth::ClientCredentials;
use uma_core::grant::PushedClaim;
use uma_core::secret::ClaimToken;
use uma_testkit::{Dialect, Endpoint, Server};
use uma_ureq::UmaClient;

const UMA: &str = uma_testkit::UMA_GRANT;

fn spec(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let agent = agent(&kit);
    let response = agent
        .get(&kit.rs_url("/api/a"))
        .send()
        .expect("GET succeeds")
        .buffered();
    assert_eq!(response.status(), 200);
    assert!(String::from_utf8_lossy(response.body()).contains("\"scope\":\"read\""));

    let log = kit.log();
    let kinds: Vec<_> = log.iter().map(|r| r.endpoint).collect();
    assert_eq!(
        kinds,
        [
            Endpoint::RsResource,
            Endpoint::Discovery,
            Endpoint::Token,
            Endpoint::RsResource
        ]
    );
    // The tokenless first try, then the RPT.
    assert_eq!(log[0].header("authorization"), None);
    let token = &log[2];
    assert_eq!(token.form_value("grant_type"), Some(UMA));
    assert!(token.form_value("ticket").is_some());
    assert!(
        token
            .header("authorization")
            .is_some_and(|a| a.starts_with("Basic "))
    );
    assert!(
        log[3]
            .header("authorization")
            .is_some_and(|a| a.starts_with("Bearer "))
    );
    // Discovery carries no credential.
    assert_eq!(log[1].header("authorization"), None);
    assert_eq!(agent.stats().http_exchanges(), 4);
}

/// The seed's Keycloak usage: log in with the password grant, then call the API.
fn keycloak(tls: bool) {
    let kit = kit(Dialect::keycloak(), tls);
    let agent = agent(&kit);
    agent
        .login_password(&issuer(&kit), "alice", "alice-pw", Some("openid"))
        .expect("login");
    let response = agent
        .get(&kit.rs_url("/api/a"))
        .send()
        .expect("GET succeeds")
        .buffered();
    assert_eq!(response.status(), 200);

    let log = kit.log();
    let kinds: Vec<_> = log.iter().map(|r| r.endpoint).collect();
    assert_eq!(
        kinds,
        [
            Endpoint::Discovery,
            Endpoint::Token,
            Endpoint::RsResource,
            Endpoint::Token,
            Endpoint::RsResource
        ]
    );
    assert_eq!(log[1].form_value("grant_type"), Some("password"));
    assert_eq!(log[1].form_value("username"), Some("alice"));
    // The Keycloak enforcer only mints a ticket for a bearer request: the user token went first.
    let user_token = log[2]
        .header("authorization")
        .expect("user token sent")
        .to_owned();
    assert!(user_token.starts_with("Bearer "));
    assert_eq!(log[3].form_value("grant_type"), Some(UMA));
    let rpt = log[4].header("authorization").expect("RPT sent");
    assert!(rpt.starts_with("Bearer ") && rpt != user_token);
}

/// Gluu (EOEPCA): unquoted challenge, PCT on success, no expires_in; the EOEPCA clients push an ID token
/// with every exchange.
fn gluu(tls: bool) {
    let kit = kit(Dialect::Gluu, tls);
    let mut server = server(&kit);
    server.claim = Some(PushedClaim::id_token(ClaimToken::new(
        kit.id_token_for("alice"),
    )));
    let agent =
        UmaClient::from_ureq(ureq_agent(&kit), config(&kit, server)).with_options(options());
    for path in ["/api/a", "/api/a", "/api/b"] {
        let response = agent
            .get(&kit.rs_url(path))
            .send()
            .expect("GET succeeds")
            .buffered();
        assert_eq!(response.status(), 200, "{path}");
    }
    assert_eq!(discoveries(&kit), 1);
    // One exchange for /api/a (cached for the second GET), one more for /api/b.
    let tokens = token_log(&kit);
    assert_eq!(tokens.len(), 2);
    assert!(
        tokens
            .iter()
            .all(|t| t.form_value("grant_type") == Some(UMA))
    );
    assert_eq!(kit.count(Server::Rs, "/api/a"), 3);
}

/// Keycloak with the requesting party's token as client authentication (the Python seed's wire contract).
fn keycloak_bearer_client(tls: bool) {
    let kit = kit(Dialect::keycloak(), tls);
    let server = AuthorizationServer::new(issuer(&kit), ClientCredentials::bearer("app"));
    let agent =
        UmaClient::from_ureq(ureq_agent(&kit), config(&kit, server)).with_options(options());
    agent.set_access_token(kit.access_token_for("alice"));
    let response = agent
        .get(&kit.rs_url("/api/b"))
        .send()
        .expect("GET succeeds")
        .buffered();
    assert_eq!(response.status(), 200);
    let tokens = token_log(&kit);
    assert_eq!(tokens.len(), 1);
    assert!(
        tokens[0]
            .header("authorization")
            .is_some_and(|a| a.starts_with("Bearer "))
    );
    assert_eq!(discoveries(&kit), 1);
}

both_transports!(spec, keycloak, gluu, keycloak_bearer_client);

/// The Python seed's wire contract on Keycloak is "log in with the password grant (confidential client,
/// client secret), then authenticate the uma-ticket POST with the user's Bearer token".
/// `ClientCredentials::bearer_confidential` serves both: Basic with the secret for the login, the user's
/// Bearer token for the ticket grant.
#[test]
fn seed_keycloak_login_then_bearer_ticket_grant() {
    use uma_core::auth::ClientCredentials;
    use uma_core::discovery::Issuer;
    use uma_core::{AuthorizationServer, Config};

    let kit =
        uma_testkit::Kit::start(uma_testkit::KitConfig::new(uma_testkit::Dialect::keycloak()))
            .unwrap();
    let issuer = Issuer::parse(&kit.issuer()).unwrap();
    let config = Config::new()
        .with_authorization_server(AuthorizationServer::new(
            issuer.clone(),
            ClientCredentials::bearer_confidential("app", "app-secret"),
        ))
        .allow_insecure_http(true);
    let agent = uma_ureq::UmaClient::from_ureq(ureq::Agent::new_with_defaults(), config);
    let login = agent.login_password(&issuer, "alice", "alice-pw", None);
    assert!(login.is_ok(), "{login:?}");
    let response = agent.get(&kit.rs_url("/api/a")).send().unwrap();
    assert_eq!(response.status(), 200);
    let token = kit
        .log()
        .into_iter()
        .rev()
        .find(|r| r.form_value("grant_type") == Some(uma_testkit::UMA_GRANT))
        .unwrap();
    assert!(
        token
            .header("authorization")
            .unwrap()
            .starts_with("Bearer ")
    );
}
