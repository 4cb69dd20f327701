//! Keycloak's owner-managed resources: a denied ticket grant records permission tickets, the RS (or
//! the owner) lists and approves or denies them, and an approved requester then gets an RPT
//! (keycloak-real.md §4).

use crate::common::{self, *};
use serde_json::{Value, json};
use uma_testkit::{Dialect, Endpoint, Kit, KitConfig, ResourceDef};

fn kit() -> (Kit, ureq::Agent) {
    let mut cfg = KitConfig::new(Dialect::keycloak());
    cfg.resources.push(
        ResourceDef::read_write("res-album", "Album", "/api/album").owner_managed_by("alice"),
    );
    let kit = Kit::start(cfg).unwrap();
    let agent = agent_for(&kit);
    (kit, agent)
}

fn grant(kit: &Kit, agent: &ureq::Agent, user: &str, extra: &[(&str, &str)]) -> Answer {
    let mut form = vec![("grant_type", UMA)];
    form.extend_from_slice(extra);
    post_form(agent, &token_url(kit), Some(&bearer(user)), &form)
}

fn tickets_url(kit: &Kit) -> String {
    format!("{}/ticket", kit.endpoint_url(Endpoint::Permission).unwrap())
}

/// `GET resource_set?{query}`: the matching ids.
fn list_resources(agent: &ureq::Agent, rreg: &str, auth: &str, query: &str) -> Vec<Value> {
    let a = get(agent, &format!("{rreg}?{query}"), Some(auth));
    assert_eq!(a.status, 200, "{a:?}");
    a.json().as_array().unwrap().clone()
}

fn list(kit: &Kit, agent: &ureq::Agent, auth: &str, query: &str) -> Vec<Value> {
    let a = get(agent, &format!("{}?{query}", tickets_url(kit)), Some(auth));
    assert_eq!(a.status, 200, "{a:?}");
    a.json().as_array().unwrap().clone()
}

const SUBMITTED: &str = r#"{"error":"access_denied","error_description":"request_submitted"}"#;

#[test]
fn request_is_recorded_approved_and_then_granted() {
    let (kit, agent) = kit();
    let bob = kit.access_token_for("bob");
    let alice = kit.access_token_for("alice");
    let pat = bearer(&pat(&kit, &agent));
    let t = challenge_ticket(&kit, &agent, "/api/album", Some(&bearer(&bob)));

    // The owner is granted; bob's request is submitted, once per scope however often he asks.
    assert_eq!(grant(&kit, &agent, &alice, &[("ticket", &t)]).status, 200);
    for _ in 0..2 {
        let d = grant(&kit, &agent, &bob, &[("ticket", &t)]);
        assert_eq!(
            (d.status, d.json()),
            (403, serde_json::from_str(SUBMITTED).unwrap())
        );
    }
    let plain = grant(
        &kit,
        &agent,
        &bob,
        &[("ticket", &t), ("submit_request", "false")],
    );
    assert_eq!(
        plain.json(),
        json!({"error":"access_denied","error_description":"not_authorized"})
    );
    let pending = list(
        &kit,
        &agent,
        &pat,
        "resourceId=res-album&granted=false&returnNames=true",
    );
    assert_eq!(pending.len(), 1, "{pending:?}");
    let p = &pending[0];
    let mut keys: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "granted",
            "id",
            "owner",
            "ownerName",
            "requester",
            "requesterName",
            "resource",
            "resourceName",
            "scope",
            "scopeName"
        ]
    );
    assert_eq!(
        (&p["owner"], &p["requester"], &p["resource"], &p["granted"]),
        (
            &json!("alice"),
            &json!("bob"),
            &json!("res-album"),
            &json!(false)
        )
    );
    assert_eq!(
        (
            &p["scopeName"],
            &p["resourceName"],
            &p["ownerName"],
            &p["requesterName"]
        ),
        (
            &json!("read"),
            &json!("Album"),
            &json!("alice"),
            &json!("bob")
        )
    );
    // Without returnNames: no names. Filters by scope id, requester, owner.
    let bare = list(&kit, &agent, &pat, "requester=bob");
    assert!(bare[0].get("scopeName").is_none());
    let scope_id = p["scope"].as_str().unwrap();
    assert_eq!(
        list(&kit, &agent, &pat, &format!("scopeId={scope_id}")).len(),
        1
    );
    assert_eq!(
        list(&kit, &agent, &pat, "scopeId=read&owner=alice").len(),
        1
    );
    assert!(list(&kit, &agent, &pat, "requester=alice").is_empty());
    assert!(list(&kit, &agent, &pat, "first=1").is_empty());

    // Bob cannot approve his own request; the RS can.
    let url = tickets_url(&kit);
    let id = p["id"].as_str().unwrap();
    let approve = json!({"id": id, "granted": true});
    let not_owner = send_json(&agent, "PUT", &url, Some(&bearer(&bob)), &approve);
    assert_eq!(
        (not_owner.status, not_owner.json()["error"].as_str()),
        (403, Some("not_authorised"))
    );
    let unknown = send_json(
        &agent,
        "PUT",
        &url,
        Some(&pat),
        &json!({"id": "nope", "granted": true}),
    );
    assert_eq!(
        (unknown.status, unknown.json()),
        (
            400,
            json!({"error":"invalid_request","error_description":"invalid_ticket"})
        )
    );
    let ok = send_json(&agent, "PUT", &url, Some(&pat), &approve);
    assert_eq!((ok.status, ok.body.as_str()), (204, ""));
    assert!(list(&kit, &agent, &pat, "granted=false").is_empty());
    assert_eq!(list(&kit, &agent, &pat, "granted=true").len(), 1);

    // A new ticket exchange now gives bob an RPT that opens the album for reading.
    let t2 = challenge_ticket(&kit, &agent, "/api/album", Some(&bearer(&bob)));
    let rpt = grant(&kit, &agent, &bob, &[("ticket", &t2)]);
    assert_eq!(rpt.status, 200, "{rpt:?}");
    let rpt = rpt.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        get(&agent, &kit.rs_url("/api/album"), Some(&bearer(&rpt))).status,
        200
    );
}

#[test]
fn owner_denies_and_registration_ignores_owners() {
    let (kit, agent) = kit();
    let bob = kit.access_token_for("bob");
    let alice = kit.access_token_for("alice");
    let pat = bearer(&pat(&kit, &agent));
    let t = challenge_ticket(&kit, &agent, "/api/album", Some(&bearer(&bob)));
    assert_eq!(grant(&kit, &agent, &bob, &[("ticket", &t)]).status, 403);
    let id = list(&kit, &agent, &pat, "granted=false")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The owner denies: the record is gone and bob is still refused.
    let deny = json!({"id": id, "granted": false});
    let r = send_json(
        &agent,
        "PUT",
        &tickets_url(&kit),
        Some(&bearer(&alice)),
        &deny,
    );
    assert_eq!(r.status, 204);
    assert!(list(&kit, &agent, &pat, "resourceId=res-album").is_empty());
    let again = grant(
        &kit,
        &agent,
        &bob,
        &[("ticket", &t), ("submit_request", "false")],
    );
    assert_eq!(again.json()["error_description"], "not_authorized");
    // Ticketless, the owner-managed resource simply drops out of bob's partial RPT.
    let partial = grant(
        &kit,
        &agent,
        &bob,
        &[("audience", "rs"), ("response_mode", "permissions")],
    );
    assert!(
        partial
            .json()
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["rsid"] != "res-album")
    );

    // Registration through the protection API: like Keycloak 26.7, `owner` (a username string, an
    // {"id"} object, even an unknown user) is ignored, the RS owns the resource, and
    // ownerManagedAccess is kept.
    let rreg = kit.endpoint_url(Endpoint::ResourceRegistration).unwrap();
    for (name, owner) in [
        ("diary", json!("bob")),
        ("notes", json!({"id": "alice"})),
        ("x", json!("nobody")),
    ] {
        let body = json!({"name": name, "resource_scopes": ["view"], "owner": owner,
            "ownerManagedAccess": true});
        let created = send_json(&agent, "POST", &rreg, Some(&pat), &body);
        assert_eq!(created.status, 201, "{created:?}");
        let c = created.json();
        assert_eq!(
            (&c["owner"]["name"], &c["ownerManagedAccess"]),
            (&json!("rs"), &json!(true))
        );
    }
    assert_eq!(
        list_resources(&agent, &rreg, &pat, "owner=bob").len()
            + list_resources(&agent, &rreg, &pat, "owner=alice").len(),
        1,
        "only the configured res-album is user-owned"
    );

    // A user-owned resource comes from the configuration: alice asks for bob's diary through an
    // RS-minted ticket, and the request is recorded for bob to decide.
    let mut cfg = KitConfig::new(Dialect::keycloak());
    cfg.resources
        .push(ResourceDef::read_write("res-diary", "diary", "/api/diary").owner_managed_by("bob"));
    let kit = Kit::start(cfg).unwrap();
    let agent = agent_for(&kit);
    let alice = kit.access_token_for("alice");
    let pat = bearer(&common::pat(&kit, &agent));
    let perm = kit.endpoint_url(Endpoint::Permission).unwrap();
    let rid = "res-diary";
    let tk = send_json(
        &agent,
        "POST",
        &perm,
        Some(&pat),
        &json!([{"resource_id": rid, "resource_scopes": ["read"]}]),
    );
    let tk = tk.json()["ticket"].as_str().unwrap().to_string();
    assert_eq!(grant(&kit, &agent, &alice, &[("ticket", &tk)]).status, 403);
    let mine = list(&kit, &agent, &pat, &format!("resourceId={rid}"));
    assert_eq!(
        (&mine[0]["owner"], &mine[0]["requester"]),
        (&json!("bob"), &json!("alice"))
    );
    // The requester may withdraw it.
    let url = format!("{}/{}", tickets_url(&kit), mine[0]["id"].as_str().unwrap());
    assert_eq!(delete(&agent, &url, Some(&bearer(&alice))).status, 204);
    assert!(list(&kit, &agent, &pat, &format!("resourceId={rid}")).is_empty());
}
