//! Keycloak accepts what the Python peer (requests-oauthlib-uma) sends: the user's access token as `rpt`
//! (it is realm-signed, so it passes the signature check and adds no permission), and an RPT as the
//! Bearer token that authenticates the ticket grant (RPTs are access tokens).

use crate::common::*;
use uma_testkit::{Dialect, Kit, KitConfig};

#[test]
fn user_access_token_as_rpt_and_rpt_as_bearer_are_accepted() {
    let kit = Kit::start(KitConfig::new(Dialect::keycloak())).unwrap();
    let agent = agent_for(&kit);
    let user = kit.access_token_for("alice");

    // First flow: Bearer user token, rpt = the same user token (the peer's wire contract, its §3.8).
    let ticket = challenge_ticket(&kit, &agent, "/api/a", Some(&bearer(&user)));
    let first = post_form(
        &agent,
        &token_url(&kit),
        Some(&bearer(&user)),
        &[("grant_type", UMA), ("ticket", &ticket), ("rpt", &user)],
    );
    assert_eq!(first.status, 200, "{}", first.body);
    let rpt = first.json()["access_token"].as_str().unwrap().to_owned();

    // Second flow: the RPT itself is the Bearer token and the rpt to upgrade.
    let ticket = challenge_ticket(&kit, &agent, "/api/b", Some(&bearer(&rpt)));
    let second = post_form(
        &agent,
        &token_url(&kit),
        Some(&bearer(&rpt)),
        &[("grant_type", UMA), ("ticket", &ticket), ("rpt", &rpt)],
    );
    assert_eq!(second.status, 200, "{}", second.body);
    let upgraded = second.json()["access_token"].as_str().unwrap().to_owned();
    for path in ["/api/a", "/api/b"] {
        assert_eq!(
            get(&agent, &kit.rs_url(path), Some(&bearer(&upgraded))).status,
            200
        );
    }

    // An unknown token is still refused as rpt (signature) and as Bearer.
    let ticket = challenge_ticket(&kit, &agent, "/api/a", Some(&bearer(&user)));
    let forged = post_form(
        &agent,
        &token_url(&kit),
        Some(&bearer(&user)),
        &[
            ("grant_type", UMA),
            ("ticket", &ticket),
            ("rpt", "forged.token.sig"),
        ],
    );
    assert_eq!(
        (forged.status, forged.json()["error"].as_str()),
        (403, Some("invalid_rpt"))
    );
    let forged = post_form(
        &agent,
        &token_url(&kit),
        Some(&bearer("forged")),
        &[("grant_type", UMA), ("ticket", &ticket)],
    );
    // 400 as Keycloak 26.6+ answers (the kit's default version).
    assert_eq!(
        (forged.status, forged.json()["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}
