//! The spec dialect answers as docs/protocol.md §2, §4.1, §5, §6, §7, §9 describe.

use std::time::Duration;

use crate::common::*;
use serde_json::json;
use uma_testkit::{Dialect, Endpoint, ID_TOKEN_FORMAT, Kit, KitConfig, RequiredClaim, Server};

fn kit() -> (Kit, ureq::Agent) {
    let kit = Kit::start(KitConfig::new(Dialect::Spec)).unwrap();
    let agent = agent_for(&kit);
    (kit, agent)
}

fn uma_grant(kit: &Kit, agent: &ureq::Agent, extra: &[(&str, &str)]) -> Answer {
    let mut form = vec![("grant_type", UMA)];
    form.extend_from_slice(extra);
    post_form(
        agent,
        &token_url(kit),
        Some(&basic("app", "app-secret")),
        &form,
    )
}

#[test]
fn challenge_and_discovery() {
    let (kit, agent) = kit();
    let a = get(&agent, &kit.rs_url("/api/a"), None);
    assert_eq!(a.status, 401);
    let ch = a.header("www-authenticate").unwrap();
    let ticket = param(ch, "ticket").unwrap();
    assert_eq!(
        ch,
        format!(
            "UMA realm=\"api\", as_uri=\"{}\", ticket=\"{ticket}\"",
            kit.issuer()
        )
    );
    assert_eq!(kit.issuer(), kit.as_base());

    let d = get(
        &agent,
        &format!("{}/.well-known/uma2-configuration", kit.issuer()),
        None,
    )
    .json();
    assert_eq!(d["issuer"], json!(kit.issuer()));
    for (field, ep) in [
        ("token_endpoint", Endpoint::Token),
        ("permission_endpoint", Endpoint::Permission),
        (
            "resource_registration_endpoint",
            Endpoint::ResourceRegistration,
        ),
        ("introspection_endpoint", Endpoint::Introspection),
        ("claims_interaction_endpoint", Endpoint::ClaimsInteraction),
    ] {
        assert_eq!(d[field], json!(kit.endpoint_url(ep).unwrap()), "{field}");
    }
    assert_eq!(kit.count(Server::Rs, "/api/a"), 1);
    assert_eq!(kit.count_endpoint(Endpoint::Discovery), 1);
}

#[test]
fn ticket_is_single_use_and_rpt_opens_resource() {
    let (kit, agent) = kit();
    let t = challenge_ticket(&kit, &agent, "/api/a", None);
    let ok = uma_grant(&kit, &agent, &[("ticket", &t)]);
    assert_eq!(ok.status, 200, "{ok:?}");
    assert_eq!(ok.header("cache-control"), Some("no-store"));
    let body = ok.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    assert!(body["refresh_token"].is_string());
    assert!(
        body.get("upgraded").is_none() && body.get("pct").is_none() && body.get("scope").is_none()
    );
    let rpt = body["access_token"].as_str().unwrap();

    let again = uma_grant(&kit, &agent, &[("ticket", &t)]);
    assert_eq!(
        (again.status, again.json()["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let r = get(&agent, &kit.rs_url("/api/a/sub"), Some(&bearer(rpt)));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["resource_id"], "res-a");
    assert_eq!(r.json()["scope"], "read");
    // The RPT only carries read on res-a.
    assert_eq!(
        get(&agent, &kit.rs_url("/api/b"), Some(&bearer(rpt))).status,
        401
    );
}

#[test]
fn client_authentication_variants() {
    let (kit, agent) = kit();
    let url = token_url(&kit);
    let cc = |auth: Option<&str>, form: &[(&str, &str)]| {
        let mut f = vec![("grant_type", "client_credentials")];
        f.extend_from_slice(form);
        post_form(&agent, &url, auth, &f)
    };
    assert_eq!(cc(Some(&basic("app", "app-secret")), &[]).status, 200);
    assert_eq!(
        cc(
            None,
            &[("client_id", "app"), ("client_secret", "app-secret")]
        )
        .status,
        200
    );
    let bad = cc(Some(&basic("app", "nope")), &[]);
    assert_eq!(
        (bad.status, bad.json()["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert!(bad.header("www-authenticate").unwrap().starts_with("Basic"));
    let two = cc(
        Some(&basic("app", "app-secret")),
        &[("client_id", "app"), ("client_secret", "app-secret")],
    );
    assert_eq!(
        (two.status, two.json()["error"].as_str()),
        (400, Some("invalid_request"))
    );
    // Public client: client_id only works for the UMA grant, not client_credentials.
    assert_eq!(cc(None, &[("client_id", "public-app")]).status, 400);
    let t = challenge_ticket(&kit, &agent, "/api/a", None);
    let p = post_form(
        &agent,
        &url,
        None,
        &[
            ("grant_type", UMA),
            ("ticket", &t),
            ("client_id", "public-app"),
        ],
    );
    assert_eq!(p.status, 200, "{p:?}");

    // Password grant with openid returns an ID token and a refresh token.
    let pw = post_form(
        &agent,
        &url,
        Some(&basic("app", "app-secret")),
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "alice-pw"),
            ("scope", "openid"),
        ],
    )
    .json();
    assert!(pw["id_token"].as_str().unwrap().split('.').count() == 3);
    assert!(pw["refresh_token"].is_string());
    let wrong = post_form(
        &agent,
        &url,
        Some(&basic("app", "app-secret")),
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "x"),
        ],
    );
    assert_eq!(wrong.json()["error"], "invalid_grant");
    assert_eq!(
        cc(Some(&basic("app", "app-secret")), &[]).json()["token_type"],
        "Bearer"
    );
    let unk = post_form(
        &agent,
        &url,
        Some(&basic("app", "app-secret")),
        &[("grant_type", "magic")],
    );
    assert_eq!(unk.json()["error"], "unsupported_grant_type");
}

#[test]
fn need_info_then_pushed_claims_then_pct() {
    let (kit, agent) = kit();
    kit.require_claim(Some(RequiredClaim::email()));
    let t1 = challenge_ticket(&kit, &agent, "/api/a", None);
    let ni = uma_grant(&kit, &agent, &[("ticket", &t1)]);
    assert_eq!(ni.status, 403);
    let b = ni.json();
    assert_eq!(b["error"], "need_info");
    let t2 = b["ticket"].as_str().unwrap().to_string();
    assert_ne!(t2, t1);
    assert_eq!(b["required_claims"][0]["name"], "email");
    assert_eq!(
        b["required_claims"][0]["claim_token_format"][0],
        ID_TOKEN_FORMAT
    );
    assert!(
        b["redirect_user"]
            .as_str()
            .unwrap()
            .contains("/rqp_claims?client_id=app&ticket=")
    );

    let idt = kit.id_token_for("alice");
    let ok = uma_grant(
        &kit,
        &agent,
        &[
            ("ticket", &t2),
            ("claim_token", &idt),
            ("claim_token_format", ID_TOKEN_FORMAT),
        ],
    );
    assert_eq!(ok.status, 200, "{ok:?}");
    let pct = ok.json()["pct"].as_str().unwrap().to_string();

    // The PCT stands in for the claims next time.
    let t3 = challenge_ticket(&kit, &agent, "/api/b", None);
    let ok2 = uma_grant(&kit, &agent, &[("ticket", &t3), ("pct", &pct)]);
    assert_eq!(ok2.status, 200, "{ok2:?}");
    assert_eq!(ok2.json()["pct"], json!(pct));

    // A forged ID token is rejected.
    let t4 = challenge_ticket(&kit, &agent, "/api/b", None);
    let forged = uma_grant(
        &kit,
        &agent,
        &[
            ("ticket", &t4),
            ("claim_token", "a.b.c"),
            ("claim_token_format", ID_TOKEN_FORMAT),
        ],
    );
    assert_eq!(forged.status, 400);
}

#[test]
fn claims_interaction_redirects_back_with_new_ticket() {
    let (kit, agent) = kit();
    kit.require_claim(Some(RequiredClaim::email()));
    let t1 = challenge_ticket(&kit, &agent, "/api/a", None);
    let ni = uma_grant(&kit, &agent, &[("ticket", &t1)]).json();
    let redirect = format!(
        "{}&claims_redirect_uri=https%3A%2F%2Fclient.example%2Fcb%3Fx%3D1&state=s1",
        ni["redirect_user"].as_str().unwrap()
    );
    let r = get(&agent, &redirect, None);
    assert_eq!(r.status, 302);
    let loc = r.header("location").unwrap();
    assert!(
        loc.starts_with("https://client.example/cb?x=1&ticket="),
        "{loc}"
    );
    assert!(loc.ends_with("&state=s1"));
    let t3 = loc
        .split("ticket=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let ok = uma_grant(&kit, &agent, &[("ticket", t3)]);
    assert_eq!(ok.status, 200, "{ok:?}");
    assert!(ok.json()["pct"].is_string());
}

#[test]
fn denial_and_owner_approval() {
    let (kit, agent) = kit();
    let idt = kit.id_token_for("bob");
    let t = challenge_ticket(&kit, &agent, "/api/a", None);
    let ok = uma_grant(
        &kit,
        &agent,
        &[
            ("ticket", &t),
            ("claim_token", &idt),
            ("claim_token_format", ID_TOKEN_FORMAT),
        ],
    );
    assert_eq!(ok.status, 200);
    let tw = {
        let a = agent.post(&kit.rs_url("/api/a")).send("x").unwrap();
        param(a.headers()["www-authenticate"].to_str().unwrap(), "ticket").unwrap()
    };
    let denied = uma_grant(
        &kit,
        &agent,
        &[
            ("ticket", &tw),
            ("claim_token", &idt),
            ("claim_token_format", ID_TOKEN_FORMAT),
        ],
    );
    assert_eq!(
        (denied.status, denied.json()),
        (403, json!({"error": "request_denied"}))
    );

    kit.approve_after_polls(2);
    let mut ticket = challenge_ticket(&kit, &agent, "/api/b", None);
    for _ in 0..2 {
        let p = uma_grant(&kit, &agent, &[("ticket", &ticket)]);
        assert_eq!(p.status, 403);
        let b = p.json();
        assert_eq!(b["error"], "request_submitted");
        assert_eq!(b["interval"], 1);
        let next = b["ticket"].as_str().unwrap().to_string();
        assert_ne!(next, ticket);
        ticket = next;
    }
    assert_eq!(uma_grant(&kit, &agent, &[("ticket", &ticket)]).status, 200);
}

#[test]
fn upgrade_scope_param_and_refresh() {
    let mut cfg = KitConfig::new(Dialect::Spec);
    cfg.rpt_lifetime = Some(Duration::from_secs(1));
    let kit = Kit::start(cfg).unwrap();
    let agent = agent_for(&kit);
    let t = challenge_ticket(&kit, &agent, "/api/a", None);
    let first = uma_grant(&kit, &agent, &[("ticket", &t)]).json();
    let rpt1 = first["access_token"].as_str().unwrap().to_string();
    let t2 = challenge_ticket(&kit, &agent, "/api/b", None);
    let up = uma_grant(&kit, &agent, &[("ticket", &t2), ("rpt", &rpt1)]).json();
    assert_eq!(up["upgraded"], true);
    let rpt2 = up["access_token"].as_str().unwrap().to_string();
    assert_ne!(rpt2, rpt1);
    assert!(!kit.rpt_is_active(&rpt1), "old RPT revoked after upgrade");
    assert_eq!(
        get(&agent, &kit.rs_url("/api/a"), Some(&bearer(&rpt2))).status,
        200
    );
    assert_eq!(
        get(&agent, &kit.rs_url("/api/b"), Some(&bearer(&rpt2))).status,
        200
    );

    let t3 = challenge_ticket(&kit, &agent, "/api/a", None);
    let bad = uma_grant(&kit, &agent, &[("ticket", &t3), ("scope", "fly")]);
    assert_eq!(bad.json()["error"], "invalid_scope");
    let t4 = challenge_ticket(&kit, &agent, "/api/a", None);
    let with_write = uma_grant(&kit, &agent, &[("ticket", &t4), ("scope", "write")]).json();
    let rw = with_write["access_token"].as_str().unwrap();
    assert_eq!(
        agent
            .post(&kit.rs_url("/api/a"))
            .header("Authorization", &bearer(rw))
            .send("x")
            .unwrap()
            .status(),
        200
    );

    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(
        get(&agent, &kit.rs_url("/api/a"), Some(&bearer(&rpt2))).status,
        401,
        "expired"
    );
    let rt = up["refresh_token"].as_str().unwrap();
    let refreshed = post_form(
        &agent,
        &token_url(&kit),
        Some(&basic("app", "app-secret")),
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
    );
    assert_eq!(refreshed.status, 200);
    let rpt3 = refreshed.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        get(&agent, &kit.rs_url("/api/b"), Some(&bearer(&rpt3))).status,
        200
    );
    let reuse = post_form(
        &agent,
        &token_url(&kit),
        Some(&basic("app", "app-secret")),
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
    );
    assert_eq!(
        reuse.json()["error"],
        "invalid_grant",
        "refresh tokens rotate"
    );
}

#[test]
fn protection_api() {
    let (kit, agent) = kit();
    let pat = pat(&kit, &agent);
    let perm = kit.endpoint_url(Endpoint::Permission).unwrap();
    let rreg = kit.endpoint_url(Endpoint::ResourceRegistration).unwrap();
    let intro = kit.endpoint_url(Endpoint::Introspection).unwrap();
    let auth = bearer(&pat);

    let no_pat = send_json(
        &agent,
        "POST",
        &perm,
        None,
        &json!({"resource_id":"res-a","resource_scopes":["read"]}),
    );
    assert_eq!(no_pat.status, 401);
    let user_tok = kit.access_token_for("alice");
    assert_eq!(
        send_json(&agent, "POST", &perm, Some(&bearer(&user_tok)), &json!({})).status,
        403
    );

    let one = send_json(
        &agent,
        "POST",
        &perm,
        Some(&auth),
        &json!({"resource_id":"res-a","resource_scopes":["read"]}),
    );
    assert_eq!(one.status, 201);
    let many = send_json(
        &agent,
        "POST",
        &perm,
        Some(&auth),
        &json!([{"resource_id":"res-a","resource_scopes":["read"]},{"resource_id":"res-b","resource_scopes":["write"]}]),
    );
    assert_eq!(many.status, 201);
    let ticket = many.json()["ticket"].as_str().unwrap().to_string();
    assert_eq!(
        send_json(
            &agent,
            "POST",
            &perm,
            Some(&auth),
            &json!({"resource_id":"zzz","resource_scopes":[]})
        )
        .json()["error"],
        "invalid_resource_id"
    );
    assert_eq!(
        send_json(
            &agent,
            "POST",
            &perm,
            Some(&auth),
            &json!({"resource_id":"res-a","resource_scopes":["fly"]})
        )
        .json()["error"],
        "invalid_scope"
    );

    let created = send_json(
        &agent,
        "POST",
        &format!("{rreg}/"),
        Some(&auth),
        &json!({"resource_scopes":["view"],"name":"Photo"}),
    );
    assert_eq!(created.status, 201);
    let id = created.json()["_id"].as_str().unwrap().to_string();
    assert!(created.json()["user_access_policy_uri"].is_string());
    assert!(
        created
            .header("location")
            .unwrap()
            .ends_with(&format!("/rreg/{id}"))
    );
    let read = get(&agent, &format!("{rreg}/{id}"), Some(&auth));
    assert_eq!(
        (read.status, read.json()["resource_scopes"].clone()),
        (200, json!(["view"]))
    );
    let upd = send_json(
        &agent,
        "PUT",
        &format!("{rreg}/{id}"),
        Some(&auth),
        &json!({"resource_scopes":["view","print"]}),
    );
    assert_eq!((upd.status, upd.json()), (200, json!({"_id": id})));
    let list = get(&agent, &rreg, Some(&auth)).json();
    assert!(list.as_array().unwrap().contains(&json!(id)));
    assert_eq!(
        delete(&agent, &format!("{rreg}/{id}"), Some(&auth)).status,
        204
    );
    assert_eq!(
        get(&agent, &format!("{rreg}/{id}"), Some(&auth)).status,
        404
    );
    assert_eq!(
        send_json(&agent, "POST", &rreg, Some(&auth), &json!({"name":"x"})).status,
        400
    );

    let rpt = uma_grant(&kit, &agent, &[("ticket", &ticket)]).json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let active = post_form(
        &agent,
        &intro,
        Some(&auth),
        &[("token", &rpt), ("token_type_hint", "access_token")],
    )
    .json();
    assert_eq!(active["active"], true);
    assert!(active.get("scope").is_none());
    let perms = active["permissions"].as_array().unwrap();
    assert_eq!(perms.len(), 2);
    assert_eq!(perms[0]["resource_id"], "res-a");
    assert_eq!(
        post_form(&agent, &intro, Some(&auth), &[("token", "nope")]).json(),
        json!({"active": false})
    );
    assert_eq!(
        post_form(&agent, &intro, None, &[("token", &rpt)]).status,
        401
    );

    let reg = send_json(
        &agent,
        "POST",
        &kit.endpoint_url(Endpoint::ClientRegistration).unwrap(),
        None,
        &json!({"client_name":"dyn","claims_redirect_uris":["https://c.example/cb"]}),
    );
    assert_eq!(reg.status, 201);
    let (cid, sec) = (
        reg.json()["client_id"].as_str().unwrap().to_string(),
        reg.json()["client_secret"].as_str().unwrap().to_string(),
    );
    let cc = post_form(
        &agent,
        &token_url(&kit),
        Some(&basic(&cid, &sec)),
        &[("grant_type", "client_credentials")],
    );
    assert_eq!(cc.status, 200);
}
