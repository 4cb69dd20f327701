//! Logins: again on the same agent, and at an untrusted issuer (the Python peer's weaknesses,
//! `peers/requests-oauthlib-uma.md` §5; its others are in the testkit's conformance suite).

use crate::common::*;
use uma_core::discovery::Issuer;
use uma_testkit::Dialect;

/// B7: logging in again on the same agent works (and a new party does not disturb the first).
fn login_again(tls: bool) {
    let kit = kit(Dialect::keycloak(), tls);
    let agent = agent(&kit);
    let issuer = issuer(&kit);
    agent
        .login_password(&issuer, "alice", "alice-pw", None)
        .expect("login");
    assert_eq!(
        agent
            .get(&kit.rs_url("/api/a"))
            .send()
            .expect("GET")
            .buffered()
            .status(),
        200
    );
    agent
        .login_password(&issuer, "alice", "alice-pw", None)
        .expect("login again");
    agent
        .login_client_credentials(&issuer, None)
        .expect("client credentials");
    assert_eq!(
        agent
            .get(&kit.rs_url("/api/a"))
            .send()
            .expect("GET")
            .buffered()
            .status(),
        200
    );
    let logins = token_log(&kit)
        .iter()
        .filter(|t| t.form_value("grant_type") != Some(uma_testkit::UMA_GRANT))
        .count();
    assert_eq!(logins, 3);
    // A wrong password is a typed error, not a panic, and leaves the agent usable.
    let error = agent
        .login_password(&issuer, "alice", "wrong", None)
        .expect_err("bad password");
    assert!(error.uma().is_some(), "{error:?}");
    assert!(!format!("{error} {error:?}").contains("wrong"), "{error:?}");
    assert_eq!(
        agent
            .get(&kit.rs_url("/api/a"))
            .send()
            .expect("GET")
            .buffered()
            .status(),
        200
    );
}

/// B1/B2: a login at an issuer that is not configured sends nothing anywhere.
fn login_at_untrusted_issuer(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let agent = agent(&kit);
    let hostile = Issuer::parse(&kit.hostile_issuer()).unwrap();
    let error = agent
        .login_client_credentials(&hostile, None)
        .expect_err("untrusted");
    assert!(
        matches!(
            error.uma(),
            Some(uma_core::Error::UntrustedAuthorizationServer { .. })
        ),
        "{error:?}"
    );
    assert!(kit.log().is_empty());
}

both_transports!(login_again, login_at_untrusted_issuer,);
