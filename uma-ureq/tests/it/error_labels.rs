//! Errors say what happened: a wrong password at login is a refused login (not a dead ticket), and a
//! bogus requesting-party token is a rejected access token (not the client's credentials).

use crate::common::{agent, config, issuer, kit, options, ureq_agent};
use uma_core::auth::ClientCredentials;
use uma_core::grant::Outcome;
use uma_core::{AuthorizationServer, Error};
use uma_testkit::Dialect;
use uma_ureq::UmaClient;

fn core_error(e: uma_ureq::Error) -> Error {
    match e {
        uma_ureq::Error::Uma(failure) => failure.error.root().clone(),
        other => panic!("not a UMA failure: {other:?}"),
    }
}

#[test]
fn wrong_password_is_a_refused_login() {
    // Keycloak before 26.6 answers 401 invalid_grant (seen on 26.4.7), 400 after.
    let keycloak_26_4 = || {
        let mut config = uma_testkit::KitConfig::new(Dialect::keycloak());
        config.keycloak_version = (26, 4);
        uma_testkit::Kit::start(config).unwrap()
    };
    let kits = [
        kit(Dialect::Spec, false),
        kit(Dialect::keycloak(), false),
        keycloak_26_4(),
        kit(Dialect::Gluu, false),
    ];
    for kit in kits {
        let agent = agent(&kit);
        let e = core_error(
            agent
                .login_password(&issuer(&kit), "alice", "wrong-pw", None)
                .unwrap_err(),
        );
        let Error::LoginRefused { error, .. } = &e else {
            panic!("{e:?}");
        };
        assert_eq!(error.outcome, Outcome::LoginRefused);
        let debug = format!("{e:?}");
        assert!(!debug.contains("DeadTicket"), "{debug}");
        assert!(e.to_string().contains("refused the login"), "{e}");
        assert!(!debug.contains("wrong-pw"), "{debug}");
    }
}

#[test]
fn bogus_access_token_is_a_rejected_access_token() {
    let kit = kit(Dialect::keycloak(), false);
    let server = AuthorizationServer::new(
        issuer(&kit),
        ClientCredentials::bearer_confidential("app", "app-secret"),
    );
    let agent =
        UmaClient::from_ureq(ureq_agent(&kit), config(&kit, server)).with_options(options());
    agent.set_access_token("not-a-token-this-as-issued");
    let e = core_error(agent.get(&kit.rs_url("/api/a")).send().unwrap_err());
    assert!(matches!(e, Error::AccessTokenRejected { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("rejected the requesting party's access token"),
        "{e}"
    );
}
