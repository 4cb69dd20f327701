//! The Keycloak dialect answers as docs/protocol.md §2.3, §2.9, §4.2, §6, §9 describe.

use crate::common::*;
use serde_json::json;
use uma_testkit::tokens::b64url;
use uma_testkit::{Dialect, Endpoint, JWT_CLAIMS_FORMAT, Kit, KitConfig};

fn kit() -> (Kit, ureq::Agent) {
    let kit = Kit::start(KitConfig::new(Dialect::keycloak())).unwrap();
    let agent = agent_for(&kit);
    (kit, agent)
}

fn grant(kit: &Kit, agent: &ureq::Agent, auth: &str, extra: &[(&str, &str)]) -> Answer {
    let mut form = vec![("grant_type", UMA)];
    form.extend_from_slice(extra);
    post_form(agent, &token_url(kit), Some(auth), &form)
}

#[test]
fn issuer_discovery_and_challenge() {
    let (kit, agent) = kit();
    assert_eq!(kit.issuer(), format!("{}/realms/demo", kit.as_base()));
    let d = get(
        &agent,
        &format!("{}/.well-known/uma2-configuration", kit.issuer()),
        None,
    )
    .json();
    assert_eq!(d["issuer"], json!(kit.issuer()));
    assert_eq!(
        d["token_endpoint"],
        json!(format!("{}/protocol/openid-connect/token", kit.issuer()))
    );
    assert_eq!(
        d["permission_endpoint"],
        json!(format!("{}/authz/protection/permission", kit.issuer()))
    );
    assert_eq!(
        d["resource_registration_endpoint"],
        json!(format!("{}/authz/protection/resource_set", kit.issuer()))
    );
    assert_eq!(
        d["introspection_endpoint"],
        json!(format!(
            "{}/protocol/openid-connect/token/introspect",
            kit.issuer()
        ))
    );
    assert!(d.get("claims_interaction_endpoint").is_none());

    // Tokenless: a plain Bearer challenge, no ticket (§2.3).
    let plain = get(&agent, &kit.rs_url("/api/a"), None);
    assert_eq!(
        (plain.status, plain.header("www-authenticate")),
        (401, Some("Bearer realm=\"demo\""))
    );
    // With the user's token: UMA challenge, no spaces, JWT-shaped ticket.
    let user = kit.access_token_for("alice");
    let a = get(&agent, &kit.rs_url("/api/a"), Some(&bearer(&user)));
    let ch = a.header("www-authenticate").unwrap();
    let t = param(ch, "ticket").unwrap();
    assert_eq!(
        ch,
        format!(
            "UMA realm=\"demo\",as_uri=\"{}\",ticket=\"{t}\"",
            kit.issuer()
        )
    );
    assert_eq!(t.split('.').count(), 3);
    kit.set_ticket_only_with_bearer(false);
    assert_eq!(get(&agent, &kit.rs_url("/api/a"), None).status, 401);
    assert!(
        param(
            get(&agent, &kit.rs_url("/api/a"), None)
                .header("www-authenticate")
                .unwrap(),
            "ticket"
        )
        .is_some()
    );
}

#[test]
fn reusable_tickets_user_bearer_and_errors() {
    let (kit, agent) = kit();
    let user = kit.access_token_for("alice");
    let t = challenge_ticket(&kit, &agent, "/api/a", Some(&bearer(&user)));
    let ok = grant(&kit, &agent, &bearer(&user), &[("ticket", &t)]);
    assert_eq!(ok.status, 200, "{ok:?}");
    let b = ok.json();
    assert_eq!(b["upgraded"], false);
    assert_eq!(b["token_type"], "Bearer");
    assert!(
        b["expires_in"].is_number()
            && b["refresh_token"].is_string()
            && b["refresh_expires_in"].is_number()
    );
    assert!(b.get("pct").is_none());
    assert_eq!(b["access_token"].as_str().unwrap().split('.').count(), 3);
    // Tickets are reusable until they expire.
    assert_eq!(
        grant(&kit, &agent, &basic("app", "app-secret"), &[("ticket", &t)]).status,
        200
    );

    let forged = grant(&kit, &agent, &bearer(&user), &[("ticket", "eyJ.eyJ.sig")]);
    assert_eq!(forged.status, 403);
    assert_eq!(
        forged.json(),
        json!({"error":"invalid_ticket","error_description":"Ticket verification failed"})
    );
    // An invalid Bearer token: 400 from Keycloak 26.6 on (the default imitates 26.7).
    let bad_bearer = grant(&kit, &agent, "Bearer nope", &[("ticket", &t)]);
    assert_eq!(
        (bad_bearer.status, bad_bearer.json()),
        (
            400,
            json!({"error":"invalid_grant","error_description":"Invalid bearer token"})
        )
    );
    let bad_client = grant(&kit, &agent, &basic("app", "x"), &[("ticket", &t)]);
    assert_eq!(
        bad_client.json()["error_description"],
        "Invalid client or Invalid client credentials"
    );
    let bad_rpt = grant(
        &kit,
        &agent,
        &bearer(&user),
        &[("ticket", &t), ("rpt", "x.y.z")],
    );
    assert_eq!(
        (bad_rpt.status, bad_rpt.json()["error"].as_str()),
        (403, Some("invalid_rpt"))
    );
    let bad_fmt = grant(
        &kit,
        &agent,
        &bearer(&user),
        &[
            ("ticket", &t),
            ("claim_token", "x"),
            (
                "claim_token_format",
                "https://openid.net/specs/openid-connect-core-1_0.html#IDToken",
            ),
        ],
    );
    assert_eq!(bad_fmt.status, 400);
    let claims = b64url(br#"{"organization":["acme"]}"#);
    let jwt_claims = grant(
        &kit,
        &agent,
        &bearer(&user),
        &[
            ("ticket", &t),
            ("claim_token", &claims),
            ("claim_token_format", JWT_CLAIMS_FORMAT),
        ],
    );
    assert_eq!(jwt_claims.status, 200);
}

#[test]
fn denial_is_access_denied_with_description() {
    let (kit, agent) = kit();
    let bob = kit.access_token_for("bob");
    let resp = agent
        .post(&kit.rs_url("/api/a"))
        .header("Authorization", &bearer(&bob))
        .send("x")
        .unwrap();
    let t = param(
        resp.headers()["www-authenticate"].to_str().unwrap(),
        "ticket",
    )
    .unwrap();
    let d = grant(&kit, &agent, &bearer(&bob), &[("ticket", &t)]);
    assert_eq!(
        (d.status, d.json()),
        (
            403,
            json!({"error":"access_denied","error_description":"request_submitted"})
        )
    );
    let d2 = grant(
        &kit,
        &agent,
        &bearer(&bob),
        &[("ticket", &t), ("submit_request", "false")],
    );
    assert_eq!(d2.json()["error_description"], "not_authorized");

    kit.approve_after_polls(1);
    let alice = kit.access_token_for("alice");
    let ta = challenge_ticket(&kit, &agent, "/api/b", Some(&bearer(&alice)));
    let p = grant(&kit, &agent, &bearer(&alice), &[("ticket", &ta)]);
    assert_eq!(
        p.json(),
        json!({"error":"access_denied","error_description":"request_submitted"})
    );
    assert_eq!(
        grant(&kit, &agent, &bearer(&alice), &[("ticket", &ta)]).status,
        200
    );
}

#[test]
fn ticketless_audience_permission_and_response_modes() {
    let (kit, agent) = kit();
    let alice = bearer(&kit.access_token_for("alice"));
    let missing = grant(&kit, &agent, &alice, &[]);
    assert_eq!(
        missing.json()["error_description"],
        "You must provide the issuedFor"
    );
    let unknown = grant(&kit, &agent, &alice, &[("audience", "nope")]);
    assert_eq!(
        unknown.json()["error_description"],
        "Unknown resource server id: [nope]"
    );
    let ok = grant(
        &kit,
        &agent,
        &alice,
        &[
            ("audience", "rs"),
            ("permission", "res-a#read"),
            ("permission", "Resource B#read,write"),
        ],
    );
    assert_eq!(ok.status, 200);
    let rpt = ok.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        get(&agent, &kit.rs_url("/api/b"), Some(&bearer(&rpt))).status,
        200
    );
    let decision = grant(
        &kit,
        &agent,
        &alice,
        &[
            ("audience", "rs"),
            ("permission", "res-a#read"),
            ("response_mode", "decision"),
        ],
    );
    assert_eq!(decision.json(), json!({"result": true}));
    let perms = grant(
        &kit,
        &agent,
        &alice,
        &[
            ("audience", "rs"),
            ("permission", "res-a"),
            ("response_mode", "permissions"),
        ],
    )
    .json();
    assert_eq!(
        perms,
        json!([{"rsid":"res-a","rsname":"Resource A","scopes":["read","write"]}])
    );
    let bad_mode = grant(
        &kit,
        &agent,
        &alice,
        &[("audience", "rs"), ("response_mode", "x")],
    );
    assert_eq!(
        bad_mode.json()["error_description"],
        "Invalid response_mode"
    );
    assert_eq!(
        grant(
            &kit,
            &agent,
            &alice,
            &[("audience", "rs"), ("permission", "nope")]
        )
        .json()["error"],
        "invalid_resource"
    );
    assert_eq!(
        grant(
            &kit,
            &agent,
            &alice,
            &[("audience", "rs"), ("permission", "res-a#fly")]
        )
        .json()["error"],
        "invalid_scope"
    );

    // Bob asks for everything and gets a partial RPT without write.
    let bob = bearer(&kit.access_token_for("bob"));
    let partial = grant(
        &kit,
        &agent,
        &bob,
        &[("audience", "rs"), ("response_mode", "permissions")],
    )
    .json();
    assert!(
        partial
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["scopes"] == json!(["read"]))
    );
    let denied = grant(
        &kit,
        &agent,
        &bob,
        &[("audience", "rs"), ("permission", "res-a#write")],
    );
    assert_eq!(denied.json()["error_description"], "not_authorized");
}

#[test]
fn upgrade_merges_and_refresh_carries_permissions() {
    let (kit, agent) = kit();
    let alice = bearer(&kit.access_token_for("alice"));
    let r1 = grant(
        &kit,
        &agent,
        &alice,
        &[("audience", "rs"), ("permission", "res-a#read")],
    )
    .json();
    let rpt1 = r1["access_token"].as_str().unwrap().to_string();
    let r2 = grant(
        &kit,
        &agent,
        &alice,
        &[
            ("audience", "rs"),
            ("permission", "res-b#read"),
            ("rpt", &rpt1),
        ],
    )
    .json();
    assert_eq!(r2["upgraded"], true);
    let rpt2 = r2["access_token"].as_str().unwrap().to_string();
    assert_ne!(rpt1, rpt2);
    assert_eq!(
        get(&agent, &kit.rs_url("/api/a"), Some(&bearer(&rpt2))).status,
        200
    );
    // Keycloak does not revoke the old RPT.
    assert_eq!(
        get(&agent, &kit.rs_url("/api/a"), Some(&bearer(&rpt1))).status,
        200
    );
    let rt = r2["refresh_token"].as_str().unwrap();
    let wrong_client = post_form(
        &agent,
        &token_url(&kit),
        Some(&basic("rs", "rs-secret")),
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
    );
    assert_eq!(
        wrong_client.json()["error_description"],
        "Token client and authorized client don't match"
    );
    let refreshed = post_form(
        &agent,
        &token_url(&kit),
        Some(&basic("app", "app-secret")),
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
    )
    .json();
    let rpt3 = refreshed["access_token"].as_str().unwrap();
    // The refreshed RPT keeps its permissions but not its `aud`: Keycloak 26.7's resource server
    // refuses it (a fresh challenge), 26.4's accepts it.
    let claims = uma_testkit::tokens::decode_jwt_payload(rpt3).unwrap();
    assert_eq!(
        claims["authorization"]["permissions"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert!(claims.get("aud").is_none(), "{claims}");
    assert_eq!(
        get(&agent, &kit.rs_url("/api/b"), Some(&bearer(rpt3))).status,
        401
    );
}

#[test]
fn protection_api_keycloak_statuses() {
    let (kit, agent) = kit();
    let pat = bearer(&pat(&kit, &agent));
    let perm = kit.endpoint_url(Endpoint::Permission).unwrap();
    let rreg = kit.endpoint_url(Endpoint::ResourceRegistration).unwrap();
    let obj = send_json(
        &agent,
        "POST",
        &perm,
        Some(&pat),
        &json!({"resource_id":"res-a","resource_scopes":["read"]}),
    );
    assert_eq!(obj.status, 400, "Keycloak binds an array only");
    let arr = send_json(
        &agent,
        "POST",
        &perm,
        Some(&pat),
        &json!([{"resource_id":"Resource A","resource_scopes":["read"]}]),
    );
    assert_eq!(arr.status, 201);
    assert_eq!(arr.json()["ticket"].as_str().unwrap().split('.').count(), 3);

    let created = send_json(
        &agent,
        "POST",
        &rreg,
        Some(&pat),
        &json!({"name":"Photo","resource_scopes":[{"name":"view"}, "print"],"uris":["/photo"]}),
    );
    assert_eq!(created.status, 201);
    assert!(created.header("location").is_none());
    let c = created.json();
    // Keycloak 26.7: scopes as {"id", "name"} under both names.
    let names = |k: &str| -> Vec<String> {
        let scopes = c[k].as_array().unwrap();
        assert!(scopes.iter().all(|s| s["id"].as_str().unwrap().len() == 36));
        scopes
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names("resource_scopes"), ["view", "print"]);
    assert_eq!(names("scopes"), names("resource_scopes"));
    assert_eq!(c["uris"], json!(["/photo"]));
    let id = c["_id"].as_str().unwrap();
    let dup = send_json(
        &agent,
        "POST",
        &rreg,
        Some(&pat),
        &json!({"name":"Photo","resource_scopes":["view"]}),
    );
    assert_eq!(dup.status, 409);
    let upd = send_json(
        &agent,
        "PUT",
        &format!("{rreg}/{id}"),
        Some(&pat),
        &json!({"name":"Photo","resource_scopes":["view"]}),
    );
    assert_eq!((upd.status, upd.body.as_str()), (204, ""));
    assert_eq!(
        delete(&agent, &format!("{rreg}/{id}"), Some(&pat)).status,
        204
    );
    let gone = get(&agent, &format!("{rreg}/{id}"), Some(&pat));
    assert_eq!(
        (gone.status, gone.json()),
        (404, json!({"error": "HTTP 404 Not Found"}))
    );

    // Introspection with the client's own credentials and Keycloak's hint.
    let alice = bearer(&kit.access_token_for("alice"));
    let rpt = grant(
        &kit,
        &agent,
        &alice,
        &[("audience", "rs"), ("permission", "res-a#read")],
    )
    .json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let intro = kit.endpoint_url(Endpoint::Introspection).unwrap();
    let i = post_form(
        &agent,
        &intro,
        Some(&basic("rs", "rs-secret")),
        &[
            ("token_type_hint", "requesting_party_token"),
            ("token", &rpt),
        ],
    )
    .json();
    assert_eq!(i["active"], true);
    let p = &i["permissions"][0];
    assert_eq!(
        (
            p["rsid"].as_str(),
            p["resource_id"].as_str(),
            p["rsname"].as_str()
        ),
        (Some("res-a"), Some("res-a"), Some("Resource A"))
    );
    assert_eq!(p["scopes"], json!(["read"]));
}

#[test]
fn public_client_needs_the_users_bearer_token() {
    let (kit, agent) = kit();
    let alice = kit.access_token_for("alice");
    let t = challenge_ticket(&kit, &agent, "/api/a", Some(&bearer(&alice)));
    let form = |extra: &[(&str, &str)]| {
        let mut f = vec![("grant_type", UMA), ("ticket", t.as_str())];
        f.extend_from_slice(extra);
        post_form(&agent, &token_url(&kit), None, &f)
    };
    // Nothing identifies the client: invalid_client, as Keycloak words it.
    let none = form(&[]);
    assert_eq!(
        (none.status, none.json()),
        (
            401,
            json!({"error":"invalid_client","error_description":"Invalid client or Invalid client credentials"})
        )
    );
    // A public client that stopped sending the user's token has no service account to act as.
    let public = form(&[("client_id", "public-app")]);
    assert_eq!(
        (public.status, public.json()),
        (
            401,
            json!({"error":"unauthorized_client","error_description":"Public client not allowed to retrieve service account"})
        )
    );
    // With the user's token as Bearer it works, and a pushed ID token names the party too.
    assert_eq!(
        grant(&kit, &agent, &bearer(&alice), &[("ticket", &t)]).status,
        200
    );
    let id_token = kit.id_token_for("alice");
    let pushed = form(&[("client_id", "public-app"), ("claim_token", &id_token)]);
    assert_eq!(pushed.status, 200, "{pushed:?}");
    // A confidential client without Bearer acts as itself (its service account).
    let own = grant(&kit, &agent, &basic("app", "app-secret"), &[("ticket", &t)]);
    assert_eq!(own.status, 200);
    let rpt = own.json()["access_token"].as_str().unwrap().to_string();
    let payload = uma_testkit::tokens::decode_jwt_payload(&rpt).unwrap();
    assert_eq!(
        (payload["sub"].as_str(), payload["azp"].as_str()),
        (Some("app"), Some("app"))
    );
}

#[test]
fn keycloak_before_26_6_answers_401_and_empty_404s() {
    let mut cfg = KitConfig::new(Dialect::keycloak());
    cfg.keycloak_version = (26, 4);
    let kit = Kit::start(cfg).unwrap();
    let agent = agent_for(&kit);
    let ticket = kit.ticket_for("res-a", "read").unwrap();
    let bad_bearer = grant(&kit, &agent, "Bearer nope", &[("ticket", &ticket)]);
    assert_eq!(
        (bad_bearer.status, bad_bearer.json()),
        (
            401,
            json!({"error":"invalid_grant","error_description":"Invalid bearer token"})
        )
    );
    let wrong_password = post_form(
        &agent,
        &token_url(&kit),
        None,
        &[
            ("grant_type", "password"),
            ("client_id", "public-app"),
            ("username", "bob"),
            ("password", "not-bobs"),
        ],
    );
    assert_eq!(
        (wrong_password.status, wrong_password.json()),
        (
            401,
            json!({"error":"invalid_grant","error_description":"Invalid user credentials"})
        )
    );
    let rreg = kit.endpoint_url(Endpoint::ResourceRegistration).unwrap();
    let pat = bearer(&pat(&kit, &agent));
    let unknown = get(&agent, &format!("{rreg}/no-such-id"), Some(&pat));
    assert_eq!((unknown.status, unknown.body.as_str()), (404, ""));
}
