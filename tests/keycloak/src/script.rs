//! One conversation with a Keycloak-style authorization server, step by step, in raw HTTP: the same
//! script runs against real Keycloak (recorded under `tests/keycloak/recorded/`) and against the
//! testkit's Keycloak dialect, and the two recordings of shapes must agree.

use serde_json::{Value, json};

use crate::shapes::{Recording, Shape};
use crate::{UMA_TICKET, basic, raw_agent};

/// The names a server knows.
#[derive(Clone, Debug)]
pub struct Target {
    /// What answers, for messages (`keycloak 26.7.3`, `testkit`).
    pub server: String,
    pub issuer: String,
    pub rs_client: String,
    pub rs_secret: String,
    pub public_client: String,
    /// `(resource name, scope)`: granted to bob.
    pub shared: (String, String),
    /// Granted to bob too (for the upgrade).
    pub notes: (String, String),
    /// Denied to bob.
    pub secret: (String, String),
    /// Owned by alice, owner-managed; nothing granted to bob until alice approves.
    pub owned: (String, String),
}

struct Answer {
    status: u16,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn text(&self, member: &str) -> String {
        self.json()[member].as_str().unwrap_or_default().to_owned()
    }
}

fn call(method: &str, url: &str, auth: Option<&str>, body: Option<Body>) -> Answer {
    let agent = raw_agent();
    let mut response = match (method, body) {
        ("GET", _) => {
            let mut request = agent.get(url);
            if let Some(auth) = auth {
                request = request.header("authorization", auth);
            }
            request.call()
        }
        ("DELETE", _) => {
            let mut request = agent.delete(url);
            if let Some(auth) = auth {
                request = request.header("authorization", auth);
            }
            request.call()
        }
        (method, body) => {
            let mut request = match method {
                "PUT" => agent.put(url),
                _ => agent.post(url),
            };
            if let Some(auth) = auth {
                request = request.header("authorization", auth);
            }
            match body {
                Some(Body::Form(form)) => {
                    request.send_form(form.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                }
                Some(Body::Json(value)) => request
                    .header("content-type", "application/json")
                    .send(value.to_string().as_bytes()),
                None => request.send_empty(),
            }
        }
    }
    .expect("request");
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_vec().unwrap_or_default();
    Answer { status, body }
}

enum Body {
    Form(Vec<(String, String)>),
    Json(Value),
}

fn form(pairs: &[(&str, &str)]) -> Option<Body> {
    Some(Body::Form(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    ))
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The issuer with `127.0.0.1` replaced by `localhost` (the same server under another Host).
fn other_host(issuer: &str) -> Option<String> {
    issuer
        .contains("//127.0.0.1:")
        .then(|| issuer.replacen("//127.0.0.1:", "//localhost:", 1))
}

/// The resource the script creates and deletes (a fixed name: error descriptions quote it).
const CREATED: &str = "uma-recorded-resource";

/// Runs the script.
pub fn run(target: &Target) -> Recording {
    let mut recording = Recording {
        server: target.server.clone(),
        ..Default::default()
    };
    let mut record = |case: &str, answer: &Answer| {
        recording
            .cases
            .insert(case.to_owned(), Shape::of(answer.status, &answer.body));
    };
    let iss = &target.issuer;
    let token_url = format!("{iss}/protocol/openid-connect/token");
    let introspect_url = format!("{iss}/protocol/openid-connect/token/introspect");
    let resources_url = format!("{iss}/authz/protection/resource_set");
    let permission_url = format!("{iss}/authz/protection/permission");
    let rs_basic = basic(&target.rs_client, &target.rs_secret);

    let answer = call(
        "GET",
        &format!("{iss}/.well-known/uma2-configuration"),
        None,
        None,
    );
    record("discovery", &answer);

    let answer = call(
        "POST",
        &token_url,
        Some(&rs_basic),
        form(&[("grant_type", "client_credentials")]),
    );
    record("pat", &answer);
    let pat = bearer(&answer.text("access_token"));

    let login = |user: &str, password: &str| {
        call(
            "POST",
            &token_url,
            None,
            form(&[
                ("grant_type", "password"),
                ("client_id", &target.public_client),
                ("username", user),
                ("password", password),
            ]),
        )
    };
    let answer = login("bob", "bob-pw");
    record("login_password", &answer);
    let bob = bearer(&answer.text("access_token"));

    // Keycloak (development mode) names its issuer after the request's Host, and refuses a token minted
    // under another host. Asked through `localhost` instead of `127.0.0.1`:
    if let Some(other) = other_host(iss) {
        let answer = call(
            "GET",
            &format!("{other}/.well-known/uma2-configuration"),
            None,
            None,
        );
        let follows = json!({ "issuer_follows_host": answer.text("issuer") == other });
        let follows = Answer {
            status: answer.status,
            body: follows.to_string().into_bytes(),
        };
        record("discovery_other_host", &follows);
        let grant_url = format!("{other}/protocol/openid-connect/token");
        let pairs = [("grant_type", UMA_TICKET), ("ticket", "not-a-ticket")];
        let answer = call("POST", &grant_url, Some(&bob), form(&pairs));
        record("grant_token_from_other_host", &answer);
    }
    record("login_wrong_password", &login("bob", "not-bobs"));

    let id_of = |name: &str| {
        let url = format!("{resources_url}?name={name}&exactName=true");
        let ids = call("GET", &url, Some(&pat), None).json();
        ids[0].as_str().unwrap_or_default().to_owned()
    };
    let (shared, notes, secret, owned) = (
        id_of(&target.shared.0),
        id_of(&target.notes.0),
        id_of(&target.secret.0),
        id_of(&target.owned.0),
    );
    let ticket_for = |id: &str, scope: &str| {
        let body = json!([{ "resource_id": id, "resource_scopes": [scope] }]);
        call("POST", &permission_url, Some(&pat), Some(Body::Json(body)))
    };
    let answer = ticket_for(&shared, &target.shared.1);
    record("ticket", &answer);
    let ticket = answer.text("ticket");
    record(
        "ticket_unknown_resource",
        &ticket_for("no-such-resource", &target.shared.1),
    );

    let grant = |auth: Option<&str>, extra: &[(&str, &str)]| {
        let mut pairs = vec![("grant_type", UMA_TICKET)];
        pairs.extend_from_slice(extra);
        call("POST", &token_url, auth, form(&pairs))
    };
    let answer = grant(Some(&bob), &[("ticket", &ticket)]);
    record("grant", &answer);
    let rpt = answer.text("access_token");
    let rpt_refresh = answer.text("refresh_token");

    let notes_ticket = ticket_for(&notes, &target.notes.1).text("ticket");
    let answer = grant(Some(&bob), &[("ticket", &notes_ticket), ("rpt", &rpt)]);
    record("grant_upgrade", &answer);

    let secret_ticket = || ticket_for(&secret, &target.secret.1).text("ticket");
    record(
        "grant_denied",
        &grant(Some(&bob), &[("ticket", &secret_ticket())]),
    );
    record(
        "grant_denied_not_submitted",
        &grant(
            Some(&bob),
            &[("ticket", &secret_ticket()), ("submit_request", "false")],
        ),
    );
    record(
        "grant_bad_ticket",
        &grant(Some(&bob), &[("ticket", "not-a-ticket")]),
    );
    record(
        "grant_bad_bearer",
        &grant(Some("Bearer not-a-token"), &[("ticket", &secret_ticket())]),
    );
    record(
        "grant_no_client",
        &grant(None, &[("ticket", &secret_ticket())]),
    );
    record(
        "grant_public_without_bearer",
        &grant(
            None,
            &[
                ("ticket", &secret_ticket()),
                ("client_id", &target.public_client),
            ],
        ),
    );

    let introspect = |token: &str| {
        let pairs = [
            ("token", token),
            ("token_type_hint", "requesting_party_token"),
        ];
        call("POST", &introspect_url, Some(&rs_basic), form(&pairs))
    };
    record("introspect_rpt", &introspect(&rpt));
    record("introspect_garbage", &introspect("not-a-token"));
    let answer = call(
        "POST",
        &token_url,
        None,
        form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rpt_refresh),
            ("client_id", &target.public_client),
        ]),
    );
    record("refresh_rpt", &answer);
    // What a refreshed RPT is worth to the resource server (26.7 drops its `aud`: inactive).
    record(
        "introspect_refreshed_rpt",
        &introspect(&answer.text("access_token")),
    );

    record(
        "resources_list",
        &call("GET", &resources_url, Some(&pat), None),
    );
    let deep = format!(
        "{resources_url}?name={}&exactName=true&deep=true",
        target.shared.0
    );
    record("resources_deep", &call("GET", &deep, Some(&pat), None));
    let leftover = id_of(CREATED); // from a run that stopped half-way
    if !leftover.is_empty() {
        call(
            "DELETE",
            &format!("{resources_url}/{leftover}"),
            Some(&pat),
            None,
        );
    }
    let description =
        json!({ "name": CREATED, "resource_scopes": ["doc:read"], "type": "urn:uma-test:doc" });
    let answer = call(
        "POST",
        &resources_url,
        Some(&pat),
        Some(Body::Json(description.clone())),
    );
    record("resource_create", &answer);
    let created = answer.text("_id");
    let answer = call(
        "POST",
        &resources_url,
        Some(&pat),
        Some(Body::Json(description)),
    );
    record("resource_create_duplicate", &answer);
    let answer = call(
        "DELETE",
        &format!("{resources_url}/{created}"),
        Some(&pat),
        None,
    );
    record("resource_delete", &answer);
    let answer = call(
        "GET",
        &format!("{resources_url}/{created}"),
        Some(&pat),
        None,
    );
    record("resource_read_deleted", &answer);

    // Owner-managed: bob asks, the request is recorded, the resource server approves it.
    let requests_url = format!("{permission_url}/ticket");
    let all = format!("{requests_url}?resourceId={owned}");
    for record in call("GET", &all, Some(&pat), None)
        .json()
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let id = record["id"].as_str().unwrap_or_default();
        let undo = json!({ "id": id, "granted": false });
        call("PUT", &requests_url, Some(&pat), Some(Body::Json(undo)));
    }
    let owned_ticket = || ticket_for(&owned, &target.owned.1).text("ticket");
    record(
        "grant_owner_managed",
        &grant(Some(&bob), &[("ticket", &owned_ticket())]),
    );
    let pending_url = format!("{requests_url}?resourceId={owned}&granted=false&returnNames=true");
    let answer = call("GET", &pending_url, Some(&pat), None);
    record("permission_requests", &answer);
    let pending = answer.json()[0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let approve = json!({ "id": pending, "granted": true });
    record(
        "permission_request_approve",
        &call("PUT", &requests_url, Some(&pat), Some(Body::Json(approve))),
    );
    record(
        "grant_after_approval",
        &grant(Some(&bob), &[("ticket", &owned_ticket())]),
    );

    let permission = format!("{}#{}", target.shared.0, target.shared.1);
    let ticketless = |mode: &str| {
        let mut pairs = vec![
            ("audience", target.rs_client.as_str()),
            ("permission", permission.as_str()),
        ];
        if !mode.is_empty() {
            pairs.push(("response_mode", mode));
        }
        grant(Some(&bob), &pairs)
    };
    record("ticketless_rpt", &ticketless(""));
    record("ticketless_decision", &ticketless("decision"));
    record("ticketless_permissions", &ticketless("permissions"));
    recording
}
