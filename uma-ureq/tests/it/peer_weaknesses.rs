//! The Python peer's weaknesses (`peers/requests-oauthlib-uma.md` §5) that are not covered elsewhere,
//! each shown beaten end to end.

use crate::common::*;
use uma_core::discovery::Issuer;
use uma_testkit::{ChallengeStyle, Dialect, Endpoint, Fault, KitConfig, Server};
use uma_ureq::UmaAgent;

/// B9: every challenge style the kit knows is understood (two header lines, unquoted, no spaces, UMA 1
/// ticket in a 403 body, Bearer without as_uri).
fn challenge_styles(tls: bool) {
    for style in [
        ChallengeStyle::SpecQuoted,
        ChallengeStyle::Keycloak,
        ChallengeStyle::EoepcaUnquoted,
        ChallengeStyle::TwoLines,
        ChallengeStyle::Uma1Body403,
        ChallengeStyle::BearerNoAsUri,
    ] {
        let mut kit_config = KitConfig::new(Dialect::Spec).with_challenge_style(style);
        kit_config.ticket_only_with_bearer = false;
        let kit = start(kit_config, tls);
        let mut config = config(&kit, server(&kit));
        config
            .issuer_for_origin
            .push((kit.rs_base(), Issuer::parse(&kit.issuer()).unwrap()));
        let agent = UmaAgent::with_options(ureq_agent(&kit), config, options());
        let response = agent.get(&kit.rs_url("/api/a")).send();
        let status = response.map(|r| r.status().as_u16());
        assert_eq!(status.as_ref().ok(), Some(&200), "{style:?}: {status:?}");
        assert_eq!(tokens(&kit), 1, "{style:?}");
    }
}

/// B11: `max_flows = 0` disables UMA: the challenge comes back as it is, nothing goes to the AS.
fn max_flows_zero_runs_no_flow(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let config = config(&kit, server(&kit)).with_max_flows(0);
    let agent = UmaAgent::with_options(ureq_agent(&kit), config, options());
    let outcome = agent.get(&kit.rs_url("/api/a")).send();
    let status = match &outcome {
        Ok(response) => Some(response.status().as_u16()),
        Err(error) => error.response().map(|r| r.status().as_u16()),
    };
    assert_eq!(status, Some(401), "{outcome:?}");
    assert_eq!(kit.log_of(Server::As).len(), 0);
}

/// B12 and B4: AS answers with bad statuses or HTML give typed errors, and the agent is not bricked:
/// the next request works.
fn bad_as_answers_do_not_brick(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let agent = agent(&kit);
    kit.set_fault_times(Endpoint::Discovery, Fault::Status(500), 1);
    let error = agent
        .get(&kit.rs_url("/api/a"))
        .send()
        .expect_err("500 discovery");
    assert!(
        matches!(error.uma(), Some(uma_core::Error::Discovery { .. })),
        "{error:?}"
    );
    assert_eq!(error.response().map(|r| r.status().as_u16()), Some(401));

    kit.set_fault_times(Endpoint::Token, Fault::Html, 1);
    let error = agent
        .get(&kit.rs_url("/api/a"))
        .send()
        .expect_err("HTML token answer");
    assert!(
        matches!(
            error.uma(),
            Some(uma_core::Error::MalformedTokenResponse { .. })
        ),
        "{error:?}"
    );

    kit.set_fault_times(Endpoint::Token, Fault::Garbage, 1);
    assert!(agent.get(&kit.rs_url("/api/a")).send().is_err());

    assert_eq!(
        agent
            .get(&kit.rs_url("/api/a"))
            .send()
            .expect("GET")
            .buffered()
            .status(),
        200
    );
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

both_transports!(
    challenge_styles,
    max_flows_zero_runs_no_flow,
    bad_as_answers_do_not_brick,
    login_again,
    login_at_untrusted_issuer,
);
