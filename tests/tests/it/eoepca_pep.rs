//! The Gluu dialect's EOEPCA resource server: the PEP resource API (ID token as Bearer), resources owned
//! by the token's `sub` deciding the UMA grant, the Workspace stand-in, and the `X-User-Id` knob.

use crate::common::*;
use serde_json::json;
use uma_testkit::{Dialect, ID_TOKEN_FORMAT, Kit, KitConfig};

fn kit() -> (Kit, ureq::Agent) {
    let kit = Kit::start(KitConfig::new(Dialect::Gluu)).unwrap();
    let agent = agent_for(&kit);
    (kit, agent)
}

fn resources(kit: &Kit) -> String {
    format!("{}/resources", kit.pep_url())
}

fn register(kit: &Kit, agent: &ureq::Agent, user: &str, path: &str) -> Answer {
    let body = json!({"name": format!("{user}'s"), "icon_uri": path, "resource_scopes": ["Authenticated"]});
    let idt = kit.id_token_for(user);
    send_json(agent, "POST", &resources(kit), Some(&bearer(&idt)), &body)
}

/// The RPT a user's ID token gets for `path` (or the token endpoint's refusal).
fn grant_for(kit: &Kit, agent: &ureq::Agent, user: &str, path: &str) -> Answer {
    let ticket = challenge_ticket(kit, agent, path, None);
    let idt = kit.id_token_for(user);
    post_form(
        agent,
        &token_url(kit),
        None,
        &[
            ("grant_type", UMA),
            ("ticket", &ticket),
            ("claim_token", &idt),
            ("claim_token_format", ID_TOKEN_FORMAT),
            ("client_id", "app"),
            ("client_secret", "app-secret"),
            ("scope", "openid"),
        ],
    )
}

#[test]
fn registration_answers_like_the_pep_and_the_owner_alone_is_granted() {
    let (kit, agent) = kit();
    let created = register(&kit, &agent, "alice", "/alice");
    assert_eq!(created.status, 200, "{created:?}");
    let body = created.json();
    assert_eq!(body["ownership_id"], "alice");
    assert_eq!(body["icon_uri"], "/alice");
    assert_eq!(body["resource_scopes"], json!(["Authenticated"]));
    let id = body["id"].as_str().unwrap().to_string();

    let again = register(&kit, &agent, "alice", "/alice");
    assert_eq!(again.status, 422);
    assert_eq!(
        again.header("error"),
        Some("Resource already exists for URI /alice")
    );
    let below = register(&kit, &agent, "bob", "/alice/private");
    assert_eq!(below.status, 401, "a non-operator below another's path");

    // The PEP now challenges every path below /alice for that resource.
    let ok = grant_for(&kit, &agent, "alice", "/alice/wps3/processes");
    assert_eq!(ok.status, 200, "{ok:?}");
    let rpt = ok.json()["access_token"].as_str().unwrap().to_string();
    let served = get(
        &agent,
        &kit.rs_url("/alice/wps3/processes"),
        Some(&bearer(&rpt)),
    );
    assert_eq!(served.status, 200);
    assert_eq!(served.json()["resource_id"], json!(id));
    assert_eq!(served.json()["scope"], "Authenticated");
    let bob = grant_for(&kit, &agent, "bob", "/alice/wps3/processes");
    assert_eq!(bob.status, 403);
    assert_eq!(bob.json()["error"], "forbidden_by_policy");
}

#[test]
fn default_scopes_listing_reading_and_deleting() {
    let (kit, agent) = kit();
    let idt = kit.id_token_for("alice");
    let body = json!({"name": "ws", "icon_uri": "/ws/alice"});
    let created = send_json(&agent, "POST", &resources(&kit), Some(&bearer(&idt)), &body);
    let scopes = created.json()["resource_scopes"].clone();
    assert_eq!(scopes.as_array().unwrap().len(), 6, "{scopes}");
    assert!(scopes.as_array().unwrap().contains(&json!("protected_get")));
    let id = created.json()["id"].as_str().unwrap().to_string();

    let list = get(&agent, &resources(&kit), Some(&bearer(&idt)));
    assert_eq!(
        list.json(),
        json!([{"_id": id, "_name": "ws", "_reverse_match_url": "/ws/alice"}])
    );
    let one = get(
        &agent,
        &format!("{}?path=/ws/alice/x", resources(&kit)),
        Some(&bearer(&idt)),
    );
    assert_eq!(one.json()["_id"], json!(id));
    let miss = get(
        &agent,
        &format!("{}?path=/nope", resources(&kit)),
        Some(&bearer(&idt)),
    );
    assert_eq!(miss.status, 404);
    let bob = kit.id_token_for("bob");
    let not_operator = get(&agent, &resources(&kit), Some(&bearer(&bob)));
    assert_eq!(not_operator.json(), json!([]), "v1.2: operators only");
    let read = get(
        &agent,
        &format!("{}/{id}", resources(&kit)),
        Some(&bearer(&idt)),
    );
    assert_eq!(
        read.status, 405,
        "GET one resource is not routed since 2023-01"
    );

    let refused = delete(
        &agent,
        &format!("{}/{id}", resources(&kit)),
        Some(&bearer(&bob)),
    );
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.header("error"),
        Some("User lacking sufficient access privileges")
    );
    let gone = delete(
        &agent,
        &format!("{}/{id}", resources(&kit)),
        Some(&bearer(&idt)),
    );
    assert_eq!(gone.status, 204);
    assert_eq!(
        get(&agent, &resources(&kit), Some(&bearer(&idt))).json(),
        json!([])
    );
}

#[test]
fn the_api_wants_a_kit_id_token_and_json() {
    let (kit, agent) = kit();
    let none = get(&agent, &resources(&kit), None);
    assert_eq!(none.status, 401);
    assert!(none.header("error").is_some());
    assert!(none.header("www-authenticate").is_none());
    let forged = get(&agent, &resources(&kit), Some("Bearer a.b.c"));
    assert_eq!(forged.status, 401);
    let idt = kit.id_token_for("alice");
    let form = post_form(
        &agent,
        &resources(&kit),
        Some(&bearer(&idt)),
        &[("name", "x")],
    );
    assert_eq!(form.status, 415);
    let nameless = send_json(
        &agent,
        "POST",
        &resources(&kit),
        Some(&bearer(&idt)),
        &json!({"icon_uri": "/x"}),
    );
    assert_eq!(nameless.status, 500);
}

#[test]
fn workspaces_take_the_id_token_as_bearer() {
    let (kit, agent) = kit();
    let url = format!("{}/workspaces", kit.pep_url());
    let idt = kit.id_token_for("alice");
    let body = json!({"preferred_name": "alice", "default_owner": "alice"});
    let made = send_json(&agent, "POST", &url, Some(&bearer(&idt)), &body);
    assert_eq!(made.status, 201, "{made:?}");
    assert_eq!(made.json()["workspace_name"], "ws-alice");
    assert_eq!(send_json(&agent, "POST", &url, None, &body).status, 401);
}

#[test]
fn the_user_id_knob_guards_protected_paths_only() {
    let (kit, agent) = kit();
    kit.require_user_id_header(true);
    let bare = get(&agent, &kit.rs_url("/api/a"), None);
    assert_eq!(bare.status, 401);
    assert_eq!(
        bare.header("www-authenticate"),
        Some("Bearer realm=\"eoepca\"")
    );
    let idt = kit.id_token_for("alice");
    let with = agent
        .get(&kit.rs_url("/api/a"))
        .header("X-User-Id", &idt)
        .call()
        .unwrap();
    assert_eq!(with.status(), 401);
    let challenge = with.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("UMA realm=eoepca,"), "{challenge}");
    assert_eq!(register(&kit, &agent, "alice", "/alice").status, 200);
    kit.require_user_id_header(false);
    let off = get(&agent, &kit.rs_url("/api/a"), None);
    assert!(off.header("www-authenticate").unwrap().starts_with("UMA "));
}
