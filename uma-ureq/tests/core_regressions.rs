//! Regression tests for two uma-core bugs found while building this adapter.

use uma_core::trace::ExchangeEvent;

/// `ExchangeEvent::for_request` (uma-core/src/trace.rs, `uri.authority()`) keeps `user:password@` of a
/// URL in `url`, so a `-v` trace prints the password.
#[test]
fn exchange_event_hides_userinfo() {
    let request = http::Request::get("https://user:hunter2@rs.example.org/a")
        .body(Vec::new())
        .unwrap();
    let mut client = uma_core::Client::new(uma_core::Config::new());
    let mut flow = uma_core::Flow::new(request);
    let step = uma_core::Machine::start(&mut flow, &mut client, std::time::Instant::now());
    let uma_core::Step::Send(out) = step else {
        panic!("the flow sends the request first")
    };
    let event = ExchangeEvent::for_request(&out);
    assert!(!event.line().contains("hunter2"), "{}", event.line());
}

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
