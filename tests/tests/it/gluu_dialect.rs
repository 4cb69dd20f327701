//! The Gluu dialect answers as docs/protocol.md §4.3, §5, §6, §9, §10.3 and the EOEPCA notes describe.

use crate::common::*;
use serde_json::json;
use uma_testkit::{Dialect, Endpoint, ID_TOKEN_FORMAT, Kit, KitConfig, RequiredClaim};

fn kit() -> (Kit, ureq::Agent) {
    let kit = Kit::start(KitConfig::new(Dialect::Gluu)).unwrap();
    let agent = agent_for(&kit);
    (kit, agent)
}

/// EOEPCA style: client_secret_post, the ID token as claim token, scope=openid.
fn eoepca_grant(kit: &Kit, agent: &ureq::Agent, extra: &[(&str, &str)]) -> Answer {
    let idt = kit.id_token_for("alice");
    let mut form = vec![
        ("grant_type", UMA),
        ("claim_token", idt.as_str()),
        ("claim_token_format", ID_TOKEN_FORMAT),
        ("client_id", "app"),
        ("client_secret", "app-secret"),
        ("scope", "openid"),
    ];
    form.extend_from_slice(extra);
    post_form(agent, &token_url(kit), None, &form)
}

#[test]
fn discovery_paths_and_unquoted_challenge() {
    let (kit, agent) = kit();
    assert_eq!(kit.issuer(), kit.as_base());
    let d = get(
        &agent,
        &format!("{}/.well-known/uma2-configuration", kit.issuer()),
        None,
    )
    .json();
    let gl = format!("{}/oxauth/restv1", kit.as_base());
    assert_eq!(d["token_endpoint"], json!(format!("{gl}/token")));
    assert_eq!(
        d["introspection_endpoint"],
        json!(format!("{gl}/rpt/status"))
    );
    assert_eq!(
        d["permission_endpoint"],
        json!(format!("{gl}/host/rsrc_pr"))
    );
    assert_eq!(
        d["resource_registration_endpoint"],
        json!(format!("{gl}/host/rsrc/resource_set"))
    );
    assert_eq!(
        d["claims_interaction_endpoint"],
        json!(format!("{gl}/uma/gather_claims"))
    );
    assert_eq!(
        get(&agent, &format!("{gl}/uma2-configuration"), None).json(),
        d
    );

    let a = get(&agent, &kit.rs_url("/api/a"), None);
    let ch = a.header("www-authenticate").unwrap();
    let t = param(ch, "ticket").unwrap();
    assert_eq!(
        ch,
        format!("UMA realm=eoepca,as_uri={},ticket={t}", kit.issuer())
    );
    assert_eq!(t.len(), 36, "UUID-shaped");
}

#[test]
fn success_body_has_pct_and_no_expiry_or_refresh() {
    let (kit, agent) = kit();
    let t = challenge_ticket(&kit, &agent, "/api/a", None);
    let ok = eoepca_grant(&kit, &agent, &[("ticket", &t)]);
    assert_eq!(ok.status, 200, "{ok:?}");
    let b = ok.json();
    let mut keys: Vec<&str> = b.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["access_token", "pct", "token_type", "upgraded"]);
    assert_eq!(b["upgraded"], false);
    let rpt = b["access_token"].as_str().unwrap().to_string();

    // In-place upgrade: same string, upgraded true; nothing new: upgraded false.
    let t2 = challenge_ticket(&kit, &agent, "/api/b", None);
    let up = eoepca_grant(&kit, &agent, &[("ticket", &t2), ("rpt", &rpt)]).json();
    assert_eq!(
        (up["access_token"].as_str(), up["upgraded"].as_bool()),
        (Some(rpt.as_str()), Some(true))
    );
    let t3 = challenge_ticket(&kit, &agent, "/api/b", None);
    let same = eoepca_grant(&kit, &agent, &[("ticket", &t3), ("rpt", &rpt)]).json();
    assert_eq!(same["upgraded"], false);
    assert_eq!(
        get(&agent, &kit.rs_url("/api/b"), Some(&bearer(&rpt))).status,
        200
    );

    // Gluu does not check the ID token's signature (umaValidateClaimToken=false).
    let forged = format!(
        "eyJhbGciOiJub25lIn0.{}.x",
        uma_testkit::tokens::b64url(br#"{"sub":"alice"}"#)
    );
    let t4 = challenge_ticket(&kit, &agent, "/api/a", None);
    let f = post_form(
        &agent,
        &token_url(&kit),
        None,
        &[
            ("grant_type", UMA),
            ("ticket", &t4),
            ("claim_token", &forged),
            ("claim_token_format", ID_TOKEN_FORMAT),
            ("client_id", "app"),
            ("client_secret", "app-secret"),
        ],
    );
    assert_eq!(f.status, 200);
}

#[test]
fn gluu_error_catalogue() {
    let (kit, agent) = kit();
    let e = |a: Answer| {
        (
            a.status,
            a.json()["error"].as_str().unwrap_or("").to_string(),
        )
    };
    assert_eq!(
        e(eoepca_grant(&kit, &agent, &[("ticket", "nope")])),
        (400, "invalid_ticket".into())
    );
    let t = challenge_ticket(&kit, &agent, "/api/a", None);
    assert_eq!(
        e(eoepca_grant(
            &kit,
            &agent,
            &[("ticket", &t), ("pct", "stale")]
        )),
        (401, "invalid_pct".into())
    );
    let t = challenge_ticket(&kit, &agent, "/api/a", None);
    assert_eq!(
        e(eoepca_grant(
            &kit,
            &agent,
            &[("ticket", &t), ("rpt", "stale")]
        )),
        (400, "invalid_rpt".into())
    );
    let t = challenge_ticket(&kit, &agent, "/api/a", None);
    let wrong_grant = post_form(
        &agent,
        &token_url(&kit),
        None,
        &[
            ("grant_type", "client_credentials"),
            ("ticket", &t),
            ("client_id", "app"),
            ("client_secret", "app-secret"),
        ],
    );
    assert_eq!(e(wrong_grant), (400, "invalid_resource_id".into()));
    let t = challenge_ticket(&kit, &agent, "/api/a", None);
    let bad_fmt = post_form(
        &agent,
        &token_url(&kit),
        None,
        &[
            ("grant_type", UMA),
            ("ticket", &t),
            ("claim_token", "a.b.c"),
            ("claim_token_format", "urn:ietf:params:oauth:token-type:jwt"),
            ("client_id", "app"),
            ("client_secret", "app-secret"),
        ],
    );
    assert_eq!(e(bad_fmt), (400, "invalid_claim_token_format".into()));

    let bob = kit.id_token_for("bob");
    let w = agent.delete(&kit.rs_url("/api/a")).call().unwrap();
    let tw = param(w.headers()["www-authenticate"].to_str().unwrap(), "ticket").unwrap();
    let denied = post_form(
        &agent,
        &token_url(&kit),
        None,
        &[
            ("grant_type", UMA),
            ("ticket", &tw),
            ("claim_token", &bob),
            ("claim_token_format", ID_TOKEN_FORMAT),
            ("client_id", "app"),
            ("client_secret", "app-secret"),
        ],
    );
    assert_eq!(e(denied), (403, "forbidden_by_policy".into()));
}

#[test]
fn need_info_with_redirect_user() {
    let (kit, agent) = kit();
    kit.require_claim(Some(RequiredClaim::email()));
    let t = challenge_ticket(&kit, &agent, "/api/a", None);
    let ni = post_form(
        &agent,
        &token_url(&kit),
        None,
        &[
            ("grant_type", UMA),
            ("ticket", &t),
            ("client_id", "app"),
            ("client_secret", "app-secret"),
        ],
    );
    assert_eq!(ni.status, 403);
    let b = ni.json();
    let t2 = b["ticket"].as_str().unwrap();
    assert_ne!(t2, t);
    assert_eq!(
        b["redirect_user"],
        json!(format!(
            "{}/oxauth/restv1/uma/gather_claims?client_id=app&ticket={t2}",
            kit.as_base()
        ))
    );
    assert!(b["required_claims"].is_array());
    let ok = eoepca_grant(&kit, &agent, &[("ticket", t2)]);
    assert_eq!(ok.status, 200);
}

#[test]
fn protection_api_gluu_statuses() {
    let (kit, agent) = kit();
    let url = token_url(&kit);
    // Without scope=uma_protection the token is no PAT: 406 at the protection API.
    let plain = post_form(
        &agent,
        &url,
        Some(&basic("rs", "rs-secret")),
        &[("grant_type", "client_credentials")],
    )
    .json();
    let perm = kit.endpoint_url(Endpoint::Permission).unwrap();
    let req = json!({"resource_id":"res-a","resource_scopes":["read"]});
    let not_pat = send_json(
        &agent,
        "POST",
        &perm,
        Some(&bearer(plain["access_token"].as_str().unwrap())),
        &req,
    );
    assert_eq!(
        (not_pat.status, not_pat.json()["error"].as_str()),
        (406, Some("invalid_client_scope"))
    );
    let pat = bearer(&pat(&kit, &agent));
    assert_eq!(
        send_json(&agent, "POST", &perm, Some(&pat), &req).status,
        201
    );
    assert_eq!(
        send_json(&agent, "POST", &perm, Some(&pat), &json!([req])).status,
        201
    );
    assert_eq!(send_json(&agent, "POST", &perm, None, &req).status, 401);

    let rreg = kit.endpoint_url(Endpoint::ResourceRegistration).unwrap();
    let c = send_json(
        &agent,
        "POST",
        &rreg,
        Some(&pat),
        &json!({"name":"x","resource_scopes":["protected_get"]}),
    );
    assert_eq!(c.status, 201);
    assert!(c.header("location").is_none());
    let id = c.json()["_id"].as_str().unwrap().to_string();
    assert_eq!(c.json(), json!({"_id": id}));
    let u = send_json(
        &agent,
        "PUT",
        &format!("{rreg}/{id}"),
        Some(&pat),
        &json!({"name":"x","resource_scopes":["protected_get"]}),
    );
    assert_eq!((u.status, u.json()), (200, json!({"_id": id})));
    assert_eq!(
        send_json(&agent, "POST", &rreg, Some(&pat), &json!({"name":"y"})).json()["error"],
        "invalid_scope"
    );

    // /rpt/status answers GET with a query too.
    let t = challenge_ticket(&kit, &agent, "/api/a", None);
    let rpt = eoepca_grant(&kit, &agent, &[("ticket", &t)]).json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let intro = kit.endpoint_url(Endpoint::Introspection).unwrap();
    let g = get(&agent, &format!("{intro}?token={rpt}"), Some(&pat)).json();
    assert_eq!(
        (g["active"].as_bool(), g["client_id"].as_str()),
        (Some(true), Some("app"))
    );
    assert!(g.get("exp").is_some());
}
