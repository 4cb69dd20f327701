//! The resource server's side of UMA (the protection API) against a real Keycloak, through both
//! adapters: the blocking `uma_ureq::Protection` and the async `uma_hyper::Protection`.
//!
//! The same suites run through each adapter (the bodies are macros with an optional `.await`), and
//! check both the typed results and what Keycloak really received and answered (the proxy's record):
//! PAT, resource registration (CRUD and Keycloak's list filters), permission tickets, an RPT for a
//! multi-permission ticket and its introspection, `enforce`, dynamic client registration, and a herd
//! of concurrent `enforce` calls on the resource-server side.
//!
//! Resources created here have names, URIs and a type unique to the run (the proxy's port and the
//! clock) and are deleted at the end, or by a guard when a test fails half-way. Their scopes
//! (`prot:read`, `prot:write`) are created by Keycloak on first use and left in the realm: scopes are
//! not deleted with resources, and fixed names keep their number at two.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderValue, StatusCode};
use serde_json::Value;
use uma_core::Config;
use uma_core::auth::ClientCredentials;
use uma_core::challenge::{self, ChallengeForm, Strictness};
use uma_core::discovery::Issuer;
use uma_core::protection::{
    ClientRegistration, Dialect, ErrorCode, Introspection, PermissionRequest, ProtectionError,
    ResourceDescription, ResourceQuery,
};
use uma_core::secret::{AccessToken, Ticket};
use uma_keycloak_e2e::*;

const READ: &str = "doc:read";
const WRITE: &str = "doc:write";

// ---------------------------------------------------------------------------------------------
// Handles
// ---------------------------------------------------------------------------------------------

fn ureq_protection(proxy: &Proxy) -> uma_ureq::Protection {
    let agent =
        uma_ureq::UmaClient::from_ureq(raw_agent(), Config::new().allow_insecure_http(true));
    let issuer = Issuer::parse(&proxy.issuer()).unwrap();
    agent
        .protection(
            &issuer,
            ClientCredentials::basic(RS_CLIENT, RS_SECRET),
            Dialect::Keycloak,
        )
        .expect("ureq protection handle")
        .with_realm(REALM)
        .expect("realm")
}

async fn hyper_protection(proxy: &Proxy) -> uma_hyper::Protection {
    let client = uma_hyper::UmaClient::new(Config::new().allow_insecure_http(true)).unwrap();
    let issuer = Issuer::parse(&proxy.issuer()).unwrap();
    client
        .protection(
            &issuer,
            ClientCredentials::basic(RS_CLIENT, RS_SECRET),
            Dialect::Keycloak,
        )
        .await
        .expect("hyper protection handle")
        .with_realm(REALM)
        .expect("realm")
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by both adapters
// ---------------------------------------------------------------------------------------------

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A tag unique to this test run: the proxy's port and the clock.
fn unique(proxy: &Proxy) -> String {
    let port = proxy.base().rsplit(':').next().unwrap_or("0").to_owned();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{port}-{nanos:09}")
}

fn is_discovery(e: &Exchange) -> bool {
    e.path.ends_with("/.well-known/uma2-configuration")
}

fn is_introspection(e: &Exchange) -> bool {
    e.method == "POST"
        && e.path
            .ends_with("/protocol/openid-connect/token/introspect")
}

fn is_permission(e: &Exchange) -> bool {
    e.method == "POST" && e.path.ends_with("/authz/protection/permission")
}

/// (introspections, permission requests) at Keycloak.
fn pep_calls(proxy: &Proxy) -> (usize, usize) {
    (proxy.count(is_introspection), proxy.count(is_permission))
}

fn is_resource_set(e: &Exchange) -> bool {
    e.path.contains("/authz/protection/resource_set")
}

fn is_registration(e: &Exchange) -> bool {
    e.path.ends_with("/clients-registrations/openid-connect")
}

/// The last exchange that matches.
fn last(proxy: &Proxy, matches: impl Fn(&Exchange) -> bool) -> Exchange {
    proxy
        .exchanges()
        .into_iter()
        .rev()
        .find(|e| matches(e))
        .expect("no such exchange at the proxy")
}

fn has_response_header(e: &Exchange, name: &str) -> bool {
    e.response_headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case(name))
}

/// Status, `error` and `error_description` of a server refusal, from the typed error.
fn refusal(error: Option<&ProtectionError>) -> (u16, Option<ErrorCode>, Option<String>) {
    let error = error.expect("a typed protection error (the server answered)");
    match error {
        ProtectionError::Server(response) => (
            response.status.as_u16(),
            response.code.clone(),
            response.description.clone(),
        ),
        other => panic!("expected a server refusal, got {other:?}"),
    }
}

fn set<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> BTreeSet<String> {
    items.into_iter().map(Into::into).collect()
}

/// `(rsid, scopes)` of each permission in a Keycloak ticket (a JWT).
fn ticket_permissions(ticket: &Ticket) -> Vec<(String, BTreeSet<String>)> {
    let claims = jwt_claims(ticket.secret());
    claims["permissions"]
        .as_array()
        .unwrap_or_else(|| panic!("ticket without permissions: {claims}"))
        .iter()
        .map(|p| {
            let scopes = p["scopes"]
                .as_array()
                .map(|s| s.iter().filter_map(Value::as_str).map(str::to_owned))
                .into_iter()
                .flatten()
                .collect();
            (p["rsid"].as_str().unwrap_or_default().to_owned(), scopes)
        })
        .collect()
}

/// bob's RPT for `ticket`: a password login at `uma-public`, then a raw uma-ticket grant with bob's
/// token as Bearer (the client's side is not under test here).
fn rpt_as_bob(proxy: &Proxy, ticket: &Ticket) -> AccessToken {
    let bob = user_token(&proxy.issuer(), PUBLIC_CLIENT, None, "bob");
    let url = format!("{}/protocol/openid-connect/token", proxy.issuer());
    let (status, body) = post_form(
        &url,
        Some(&format!("Bearer {bob}")),
        &[("grant_type", UMA_TICKET), ("ticket", ticket.secret())],
    );
    assert_eq!(status, 200, "uma-ticket grant for bob: {body}");
    AccessToken::new(body["access_token"].as_str().expect("access_token"))
}

/// The token as `Authorization: Bearer` of an incoming request.
fn bearer_headers(token: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    headers
}

/// What an introspection of bob's RPT for shared-doc + shared-notes `doc:read` must say.
fn check_rpt_introspection(
    adapter: &str,
    introspection: &Introspection,
    doc: &str,
    notes: &str,
    secret: &str,
) {
    assert!(introspection.active, "{adapter}: {introspection:?}");
    // Keycloak's RPT view (`token_type_hint=requesting_party_token`) is lean: exp, iat, jti, aud,
    // typ, acr, permissions, active. No sub, username, client_id or iss.
    assert_eq!(introspection.aud, [RS_CLIENT], "{adapter}");
    assert_eq!(introspection.username, None, "{adapter}");
    assert_eq!(introspection.sub, None, "{adapter}");
    assert_eq!(
        introspection.extra.get("typ"),
        Some(&Value::from("Bearer")),
        "{adapter}"
    );
    let granted: BTreeSet<String> = introspection
        .permissions
        .iter()
        .filter_map(|p| p.resource_id.clone())
        .collect();
    assert_eq!(granted, set([doc, notes]), "{adapter}: {introspection:?}");
    for p in &introspection.permissions {
        assert_eq!(p.resource_scopes, [READ], "{adapter}: {p:?}");
        assert!(p.resource_name.is_some(), "{adapter}: rsname: {p:?}");
    }
    let now = now();
    assert!(introspection.allows(doc, READ, now), "{adapter}");
    assert!(introspection.allows(notes, READ, now), "{adapter}");
    assert!(introspection.allows_all(doc, &[READ], now), "{adapter}");
    assert!(
        !introspection.allows(doc, WRITE, now),
        "{adapter}: never granted"
    );
    assert!(
        !introspection.allows(secret, READ, now),
        "{adapter}: not in the RPT"
    );
    assert!(
        !introspection.allows_all(doc, &[READ, WRITE], now),
        "{adapter}"
    );
    let exp = introspection.exp.expect("exp");
    assert!(exp > now, "{adapter}: exp {exp} now {now}");
    assert!(
        !introspection.allows(doc, READ, exp),
        "{adapter}: expired at exp"
    );
}

/// A 401 UMA challenge for `doc:read` on `resource`, with `as_uri` the issuer and a fresh ticket.
fn check_challenge(
    adapter: &str,
    proxy: &Proxy,
    response: &http::Response<Vec<u8>>,
    resource: &str,
) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{adapter}");
    let found = challenge::uma_candidates(
        response.status(),
        response.headers(),
        response.body(),
        Strictness::Strict,
    )
    .unwrap_or_else(|e| {
        panic!(
            "{adapter}: unusable challenge {:?}: {e}",
            response.headers()
        )
    });
    assert_eq!(found.len(), 1, "{adapter}: {found:?}");
    let uma = &found[0];
    assert_eq!(uma.form, ChallengeForm::Uma, "{adapter}");
    assert_eq!(
        uma.as_uri.as_deref(),
        Some(proxy.issuer().as_str()),
        "{adapter}"
    );
    assert_eq!(uma.realm.as_deref(), Some(REALM), "{adapter}");
    assert_eq!(
        ticket_permissions(&uma.ticket),
        [(resource.to_owned(), set([READ]))],
        "{adapter}: the challenge's ticket covers what was asked for"
    );
}

/// Deletes, on drop, the resources a test created (a failing test leaves nothing behind). Raw
/// calls with a PAT of its own; a 404 for what the test already deleted is expected.
struct Cleanup {
    issuer: String,
    ids: Mutex<Vec<String>>,
}

impl Cleanup {
    fn new(proxy: &Proxy) -> Arc<Cleanup> {
        Arc::new(Cleanup {
            issuer: proxy.issuer(),
            ids: Mutex::new(Vec::new()),
        })
    }

    fn add(&self, id: &str) {
        self.ids.lock().unwrap().push(id.to_owned());
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let ids = std::mem::take(&mut *self.ids.lock().unwrap());
        if ids.is_empty() {
            return;
        }
        let url = format!("{}/protocol/openid-connect/token", self.issuer);
        let (status, body) = post_form(
            &url,
            Some(&basic(RS_CLIENT, RS_SECRET)),
            &[("grant_type", "client_credentials")],
        );
        let Some(pat) = body["access_token"].as_str().filter(|_| status == 200) else {
            eprintln!("cleanup: no PAT ({status})");
            return;
        };
        for id in ids {
            let _ = raw_agent()
                .delete(&format!(
                    "{}/authz/protection/resource_set/{id}",
                    self.issuer
                ))
                .header("authorization", &format!("Bearer {pat}"))
                .call();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Suites, written once for both adapters: `[]` for uma-ureq, `[.await]` for uma-hyper.
// ---------------------------------------------------------------------------------------------

/// The `_id` of a realm resource of uma-rs, by exact name.
macro_rules! realm_id {
    ($p:expr, $name:expr, [$($aw:tt)*]) => {{
        let query = ResourceQuery {
            name: Some(String::from($name)),
            exact_name: Some(true),
            ..Default::default()
        };
        let list = $p.list_resources(&query) $($aw)* .expect("list by exact name");
        assert_eq!(list.ids.len(), 1, "{}: {:?}", $name, list.ids);
        list.ids[0].clone()
    }};
}

/// 1. The PAT: client credentials of uma-rs, no `scope` for Keycloak, fetched once and reused.
macro_rules! pat_suite {
    ($adapter:expr, $proxy:expr, $p:expr, [$($aw:tt)*]) => {{
        let (adapter, proxy, p) = ($adapter, $proxy, $p);
        proxy.clear();
        let pat = p.pat() $($aw)* .expect("PAT");
        let again = p.pat() $($aw)* .expect("PAT again");
        assert!(again.same_as(&pat), "{adapter}: the held PAT is reused");
        assert_eq!(proxy.count(Exchange::is_token), 1, "{adapter}: one token request");
        let request = last(proxy, Exchange::is_token);
        assert_eq!(request.status, 200, "{adapter}: {}", request.json());
        assert_eq!(request.grant_type().as_deref(), Some("client_credentials"), "{adapter}");
        assert_eq!(request.form("scope"), None, "{adapter}: no scope for the Keycloak dialect");
        assert_eq!(request.form("client_id"), None, "{adapter}: client_secret_basic");
        assert_eq!(request.form("client_secret"), None, "{adapter}");
        assert_eq!(
            request.request_header("authorization"),
            Some(basic(RS_CLIENT, RS_SECRET).as_str()),
            "{adapter}"
        );
        assert_eq!(request.json()["access_token"].as_str(), Some(pat.secret()), "{adapter}");
        // The role that makes it a PAT comes with the client, not with a scope.
        let claims = jwt_claims(pat.secret());
        assert_eq!(claims["azp"], RS_CLIENT, "{adapter}");
        let roles = claims["resource_access"][RS_CLIENT]["roles"].clone();
        assert!(
            roles.as_array().is_some_and(|r| r.iter().any(|r| r == "uma_protection")),
            "{adapter}: {claims}"
        );
        // A protected call carries the same PAT and costs no token request.
        let listed = p.list_resources(&ResourceQuery::default()) $($aw)* .expect("list");
        assert!(!listed.ids.is_empty(), "{adapter}");
        assert_eq!(proxy.count(Exchange::is_token), 1, "{adapter}: PAT reused");
        let call = last(proxy, is_resource_set);
        assert_eq!(
            call.request_header("authorization").map(str::to_owned),
            Some(format!("Bearer {}", pat.secret())),
            "{adapter}"
        );
    }};
}

/// 2. Resource registration: create, read, the list filters, duplicate, update, delete, 404.
macro_rules! resource_suite {
    ($adapter:expr, $proxy:expr, $p:expr, [$($aw:tt)*]) => {{
        let (adapter, proxy, p) = ($adapter, $proxy, $p);
        let cleanup = Cleanup::new(proxy);
        let tag = unique(proxy);
        let kind = format!("urn:uma-e2e:protection:{tag}");
        let name_a = format!("prot-{tag}-a");
        let name_b = format!("prot-{tag}-b");
        let uri_a = format!("/prot/{tag}/a");
        let uri_b = format!("/prot/{tag}/b");

        let mut a = ResourceDescription::new(name_a.clone(), ["prot:read", "prot:write"]);
        a.resource_type = Some(kind.clone());
        a.uris = vec![uri_a.clone()];
        a.display_name = Some("Resource A".into());
        a.attributes.insert("suite".into(), vec!["protection".into(), adapter.into()]);
        let mut b = ResourceDescription::new(name_b.clone(), ["prot:read"]);
        b.resource_type = Some(kind.clone());
        b.uris = vec![uri_b.clone()];

        // UMAF §3.1's `description` is refused by Keycloak 26.7.3 (its representation has no such
        // field), and the refusal puts the message in `error`:
        //   400 {"error":"Invalid json representation for UmaResourceRepresentation. Unrecognized
        //        field \"description\" at line 1 column N."}
        proxy.clear();
        let mut described = a.clone();
        described.description = Some("created by protection.rs".into());
        let refused = p.create_resource(&described) $($aw)* .expect_err("description");
        let (status, code, description) = refusal(refused.protection());
        assert_eq!(status, 400, "{adapter}: {refused}");
        assert_eq!(description, None, "{adapter}");
        let Some(ErrorCode::Other(message)) = code else {
            panic!("{adapter}: {refused:?}");
        };
        assert!(
            message.starts_with("Invalid json representation for UmaResourceRepresentation"),
            "{adapter}: {message}"
        );
        let wire = last(proxy, is_resource_set);
        assert!(
            String::from_utf8_lossy(&wire.response_body)
                .contains("Unrecognized field \\\"description\\\""),
            "{adapter}: {}", String::from_utf8_lossy(&wire.response_body)
        );

        // Create: Keycloak answers 201 with the whole object (`_id` included) and no Location.
        proxy.clear();
        let created_a = p.create_resource(&a) $($aw)* .expect("create a");
        cleanup.add(&created_a.id);
        let wire = last(proxy, is_resource_set);
        assert_eq!((wire.method.as_str(), wire.status), ("POST", 201), "{adapter}");
        assert!(!has_response_header(&wire, "location"), "{adapter}: {:?}", wire.response_headers);
        assert_eq!(wire.json()["_id"].as_str(), Some(created_a.id.as_str()), "{adapter}");
        assert_eq!(created_a.location, None, "{adapter}");
        assert_eq!(created_a.resource.id.as_deref(), Some(created_a.id.as_str()), "{adapter}");
        assert_eq!(created_a.resource.name.as_deref(), Some(name_a.as_str()), "{adapter}");
        let scopes = set(created_a.resource.resource_scopes.clone());
        assert_eq!(scopes, set(["prot:read", "prot:write"]), "{adapter}");
        assert_eq!(created_a.resource.resource_type.as_deref(), Some(kind.as_str()), "{adapter}");
        assert_eq!(created_a.resource.uris, [uri_a.as_str()], "{adapter}");
        assert_eq!(created_a.resource.display_name.as_deref(), Some("Resource A"), "{adapter}");
        // The create answer leaves the attributes out (they are kept: see the read below).
        assert!(created_a.resource.attributes.is_empty(), "{adapter}: {:?}", created_a.resource);
        assert!(wire.json().get("attributes").is_none(), "{adapter}: {}", wire.json());
        let created_b = p.create_resource(&b) $($aw)* .expect("create b");
        cleanup.add(&created_b.id);
        assert_ne!(created_a.id, created_b.id, "{adapter}");
        let (id_a, id_b) = (created_a.id.clone(), created_b.id.clone());

        // Read.
        let read_a = p.read_resource(&id_a) $($aw)* .expect("read a");
        assert_eq!(read_a.id.as_deref(), Some(id_a.as_str()), "{adapter}");
        assert_eq!(read_a.name.as_deref(), Some(name_a.as_str()), "{adapter}");
        assert_eq!(read_a.display_name.as_deref(), Some("Resource A"), "{adapter}");
        let both = set(["prot:read", "prot:write"]);
        assert_eq!(set(read_a.resource_scopes.clone()), both, "{adapter}");
        assert_eq!(read_a.resource_type.as_deref(), Some(kind.as_str()), "{adapter}");
        assert_eq!(read_a.uris, [uri_a.as_str()], "{adapter}");
        assert_eq!(
            read_a.attributes.get("suite").map(|v| set(v.clone())),
            Some(set(["protection", adapter])),
            "{adapter}: {read_a:?}"
        );
        assert!(read_a.owner.is_some(), "{adapter}: the resource server owns it: {read_a:?}");

        // A duplicate name is a typed conflict (Keycloak 409).
        proxy.clear();
        let duplicate = p.create_resource(&a) $($aw)* .expect_err("a duplicate name");
        let wire = last(proxy, is_resource_set);
        assert_eq!(wire.status, 409, "{adapter}: {}", wire.json());
        let conflict = duplicate.protection().expect("typed");
        assert!(conflict.is_conflict(), "{adapter}: {duplicate:?}");
        let (status, code, description) = refusal(duplicate.protection());
        assert_eq!(status, 409, "{adapter}");
        assert_eq!(code, Some(ErrorCode::InvalidRequest), "{adapter}: {description:?}");
        assert!(
            description.as_deref().is_some_and(|d| d.contains(&name_a)),
            "{adapter}: {description:?}"
        );

        // Queries. Exact name:
        let by_name = |name: &str, exact: bool| ResourceQuery {
            name: Some(name.to_owned()),
            exact_name: Some(exact),
            ..Default::default()
        };
        proxy.clear();
        let list = p.list_resources(&by_name(&name_a, true)) $($aw)* .expect("by exact name");
        assert_eq!(list.ids, [id_a.as_str()], "{adapter}");
        assert!(list.resources.is_empty(), "{adapter}: ids only without deep");
        let wire = last(proxy, is_resource_set);
        let sent = format!("name={name_a}&exactName=true");
        assert_eq!(wire.query.as_deref(), Some(sent.as_str()), "{adapter}");
        // Name as a substring: both.
        let prefix = format!("prot-{tag}-");
        let list = p.list_resources(&by_name(&prefix, false)) $($aw)* .expect("by name");
        assert_eq!(set(list.ids), set([id_a.clone(), id_b.clone()]), "{adapter}");
        // URI:
        let query = ResourceQuery { uri: Some(uri_b.clone()), ..Default::default() };
        let list = p.list_resources(&query) $($aw)* .expect("by uri");
        assert_eq!(list.ids, [id_b.as_str()], "{adapter}");
        // Type:
        let of_kind = ResourceQuery { resource_type: Some(kind.clone()), ..Default::default() };
        let list = p.list_resources(&of_kind) $($aw)* .expect("by type");
        assert_eq!(set(list.ids), set([id_a.clone(), id_b.clone()]), "{adapter}");
        // Scope, alone and with the type:
        let query = ResourceQuery { scope: Some("prot:write".into()), ..Default::default() };
        let list = p.list_resources(&query) $($aw)* .expect("by scope");
        assert!(list.ids.contains(&id_a) && !list.ids.contains(&id_b), "{adapter}: {:?}", list.ids);
        let query = ResourceQuery { scope: Some("prot:write".into()), ..of_kind.clone() };
        let list = p.list_resources(&query) $($aw)* .expect("by scope and type");
        assert_eq!(list.ids, [id_a.as_str()], "{adapter}");
        let query = ResourceQuery { scope: Some("prot:read".into()), ..of_kind.clone() };
        let list = p.list_resources(&query) $($aw)* .expect("by scope and type");
        assert_eq!(set(list.ids), set([id_a.clone(), id_b.clone()]), "{adapter}");
        // deep=true: whole objects.
        let deep = ResourceQuery { deep: Some(true), ..of_kind.clone() };
        let list = p.list_resources(&deep) $($aw)* .expect("deep");
        assert_eq!(list.resources.len(), 2, "{adapter}: {list:?}");
        assert_eq!(set(list.ids.clone()), set([id_a.clone(), id_b.clone()]), "{adapter}");
        let found = |id: &str| list.resources.iter().find(|r| r.id.as_deref() == Some(id));
        let deep_a = found(&id_a).expect("a in the deep list");
        assert_eq!(deep_a.name.as_deref(), Some(name_a.as_str()), "{adapter}");
        assert_eq!(set(deep_a.resource_scopes.clone()), both, "{adapter}");
        assert_eq!(deep_a.uris, [uri_a.as_str()], "{adapter}");
        assert_eq!(deep_a.resource_type.as_deref(), Some(kind.as_str()), "{adapter}");
        let deep_b = found(&id_b).expect("b in the deep list");
        assert_eq!(deep_b.resource_scopes, ["prot:read"], "{adapter}");
        // Paging: first/max.
        let page = |first: u32| ResourceQuery {
            first: Some(first),
            max: Some(1),
            ..of_kind.clone()
        };
        let first = p.list_resources(&page(0)) $($aw)* .expect("page 0");
        let second = p.list_resources(&page(1)) $($aw)* .expect("page 1");
        let third = p.list_resources(&page(2)) $($aw)* .expect("page 2");
        assert_eq!((first.ids.len(), second.ids.len(), third.ids.len()), (1, 1, 0), "{adapter}");
        assert_eq!(
            set(first.ids.into_iter().chain(second.ids)),
            set([id_a.clone(), id_b.clone()]),
            "{adapter}: the pages cover both, once each"
        );
        let wire = last(proxy, is_resource_set);
        let paged = wire.query.as_deref().is_some_and(|q| q.ends_with("first=2&max=1"));
        assert!(paged, "{adapter}: {:?}", wire.query);

        // Update, from what was read: Keycloak answers 204 with no body.
        let mut changed = read_a.clone();
        changed.display_name = Some("Resource A v2".into());
        changed.uris = vec![format!("{uri_a}/v2")];
        changed.resource_scopes = vec!["prot:read".into()];
        proxy.clear();
        let updated = p.update_resource(&id_a, &changed) $($aw)* .expect("update");
        let wire = last(proxy, is_resource_set);
        assert_eq!((wire.method.as_str(), wire.status), ("PUT", 204), "{adapter}");
        assert!(wire.response_body.is_empty(), "{adapter}");
        assert_eq!(updated.id, None, "{adapter}: nothing to read after a 204");
        let reread = p.read_resource(&id_a) $($aw)* .expect("read after update");
        assert_eq!(reread.display_name.as_deref(), Some("Resource A v2"), "{adapter}");
        assert_eq!(reread.attributes, read_a.attributes, "{adapter}: kept through the round trip");
        assert_eq!(reread.uris, [format!("{uri_a}/v2")], "{adapter}");
        assert_eq!(reread.resource_scopes, ["prot:read"], "{adapter}");
        assert_eq!(reread.name.as_deref(), Some(name_a.as_str()), "{adapter}");

        // Delete: 204; afterwards a typed not-found.
        proxy.clear();
        p.delete_resource(&id_a) $($aw)* .expect("delete a");
        let wire = last(proxy, is_resource_set);
        assert_eq!((wire.method.as_str(), wire.status), ("DELETE", 204), "{adapter}");
        p.delete_resource(&id_b) $($aw)* .expect("delete b");
        let gone = p.read_resource(&id_a) $($aw)* .expect_err("read after delete");
        let not_found = gone.protection().is_some_and(ProtectionError::is_not_found);
        assert!(not_found, "{adapter}: {gone:?}");
        assert_eq!(gone.status(), Some(StatusCode::NOT_FOUND), "{adapter}");
        let wire = last(proxy, is_resource_set);
        assert_eq!((wire.method.as_str(), wire.status), ("GET", 404), "{adapter}");
        let again = p.delete_resource(&id_b) $($aw)* .expect_err("delete twice");
        let not_found = again.protection().is_some_and(ProtectionError::is_not_found);
        assert!(not_found, "{adapter}: {again:?}");
        let list = p.list_resources(&of_kind) $($aw)* .expect("by type after delete");
        assert!(list.ids.is_empty(), "{adapter}: {:?}", list.ids);
        // The whole suite ran on one PAT.
        assert_eq!(proxy.count(Exchange::is_token), 0, "{adapter}");
        cleanup.ids.lock().unwrap().clear();
    }};
}

/// 3–5. Tickets (one and several permissions, typed refusals), bob's RPT for the multi-permission
/// ticket, its introspection, and `enforce` with and without it.
macro_rules! ticket_suite {
    ($adapter:expr, $proxy:expr, $p:expr, [$($aw:tt)*]) => {{
        let (adapter, proxy, p) = ($adapter, $proxy, $p);
        let doc = realm_id!(p, "shared-doc", [$($aw)*]);
        let notes = realm_id!(p, "shared-notes", [$($aw)*]);
        let secret = realm_id!(p, "secret-doc", [$($aw)*]);

        // One permission.
        proxy.clear();
        let one = p.request_ticket(vec![PermissionRequest::new(doc.clone(), [READ])]) $($aw)*
            .expect("ticket");
        let wire = last(proxy, is_permission);
        assert_eq!(wire.status, 201, "{adapter}: {}", wire.json());
        let sent: Value = serde_json::from_slice(&wire.request_body).unwrap();
        assert!(sent.is_array(), "{adapter}: Keycloak takes an array: {sent}");
        assert_eq!(wire.json()["ticket"].as_str(), Some(one.secret()), "{adapter}");
        assert_eq!(ticket_permissions(&one), [(doc.clone(), set([READ]))], "{adapter}");

        // Several permissions in one ticket.
        let many = p
            .request_ticket(vec![
                PermissionRequest::new(doc.clone(), [READ]),
                PermissionRequest::new(notes.clone(), [READ]),
            ])
            $($aw)* .expect("multi-permission ticket");
        let mut covered = ticket_permissions(&many);
        covered.sort();
        let mut expected = vec![(doc.clone(), set([READ])), (notes.clone(), set([READ]))];
        expected.sort();
        assert_eq!(covered, expected, "{adapter}");

        // An unknown resource: 400 invalid_resource_id.
        let missing = format!("no-such-resource-{}", unique(proxy));
        let error = p.request_ticket(vec![PermissionRequest::new(missing, [READ])]) $($aw)*
            .expect_err("unknown resource");
        let (status, code, description) = refusal(error.protection());
        let expected = (400, Some(ErrorCode::InvalidResourceId));
        assert_eq!((status, code), expected, "{adapter}: {description:?}");
        // An unknown scope: 400 invalid_scope.
        let unknown_scope = vec![PermissionRequest::new(doc.clone(), ["doc:nope"])];
        let error = p.request_ticket(unknown_scope) $($aw)*
            .expect_err("unknown scope");
        let (status, code, description) = refusal(error.protection());
        let expected = (400, Some(ErrorCode::InvalidScope));
        assert_eq!((status, code), expected, "{adapter}: {description:?}");
        assert!(!error.is_unauthorized(), "{adapter}: not a PAT problem");

        // bob (role reader) gets an RPT for both; the RS introspects it.
        let rpt = rpt_as_bob(proxy, &many);
        proxy.clear();
        let introspection = p.introspect(&rpt) $($aw)* .expect("introspect");
        check_rpt_introspection(adapter, &introspection, &doc, &notes, &secret);
        let wire = last(proxy, is_introspection);
        assert_eq!(wire.status, 200, "{adapter}");
        let rs = basic(RS_CLIENT, RS_SECRET);
        assert_eq!(wire.request_header("authorization"), Some(rs.as_str()), "{adapter}");
        let hint = wire.form("token_type_hint");
        assert_eq!(hint.as_deref(), Some("requesting_party_token"), "{adapter}");
        assert_eq!(proxy.count(Exchange::is_token), 0, "{adapter}: introspection needs no PAT");

        // Garbage and plain access tokens.
        let garbage = p.introspect(&AccessToken::new("not-a-token")) $($aw)*
            .expect("introspect garbage");
        assert!(!garbage.active, "{adapter}: {garbage:?}");
        assert!(garbage.permissions.is_empty(), "{adapter}");
        assert!(!garbage.allows(&doc, READ, now()), "{adapter}");
        let answer = last(proxy, is_introspection).json();
        assert_eq!(answer, serde_json::json!({"active": false}), "{adapter}");
        let plain = AccessToken::new(user_token(&proxy.issuer(), PUBLIC_CLIENT, None, "bob"));
        let plain = p.introspect(&plain) $($aw)* .expect("introspect a plain access token");
        // With the RPT hint, Keycloak 26.7 calls an ordinary (and valid) access token inactive
        // ({"active":false}); 26.4 calls it active with no permissions. Either way it allows nothing.
        let version = Keycloak::from_env().minor();
        assert_eq!(plain.active, version < (26, 7), "{adapter}: {plain:?}");
        assert!(plain.permissions.is_empty(), "{adapter}: {plain:?}");
        assert!(!plain.allows(&doc, READ, now()), "{adapter}");

        // enforce: the RPT is enough for either document and for both at once.
        let with_rpt = bearer_headers(rpt.secret());
        proxy.clear();
        for wanted in [
            vec![PermissionRequest::new(doc.clone(), [READ])],
            vec![PermissionRequest::new(notes.clone(), [READ])],
            vec![
                PermissionRequest::new(doc.clone(), [READ]),
                PermissionRequest::new(notes.clone(), [READ]),
            ],
        ] {
            let decision = p.enforce(&with_rpt, wanted) $($aw)* .expect("enforce");
            let Decision::Allow(seen) = decision else {
                panic!("{adapter}: expected Allow, got {decision:?}");
            };
            assert!(seen.active, "{adapter}");
        }
        assert_eq!(pep_calls(proxy), (3, 0), "{adapter}: (introspections, tickets)");
        // Without a token: a 401 UMA challenge with a fresh ticket for exactly what was asked.
        proxy.clear();
        let wanted = vec![PermissionRequest::new(doc.clone(), [READ])];
        let decision = p.enforce(&HeaderMap::new(), wanted) $($aw)*
            .expect("enforce without a token");
        let Decision::Challenge(response) = decision else {
            panic!("{adapter}: expected a challenge, got {decision:?}");
        };
        check_challenge(adapter, proxy, &response, &doc);
        assert_eq!(pep_calls(proxy), (0, 1), "{adapter}: (introspections, tickets)");
        // The RPT does not reach doc:write nor secret-doc: introspection, then a challenge.
        for (resource, scope) in [(&doc, WRITE), (&secret, READ)] {
            proxy.clear();
            let wanted = vec![PermissionRequest::new(resource.clone(), [scope])];
            let decision = p.enforce(&with_rpt, wanted) $($aw)*
                .expect("enforce beyond the RPT");
            let Decision::Challenge(response) = decision else {
                panic!("{adapter}: expected a challenge for {scope}, got {decision:?}");
            };
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{adapter}");
            assert_eq!(pep_calls(proxy), (1, 1), "{adapter}");
        }
        // A garbage bearer token is no RPT: a challenge, not an error.
        let wanted = vec![PermissionRequest::new(doc.clone(), [READ])];
        let decision = p.enforce(&bearer_headers("garbage"), wanted) $($aw)*
            .expect("enforce with garbage");
        let Decision::Challenge(response) = decision else {
            panic!("{adapter}: expected a challenge, got {decision:?}");
        };
        check_challenge(adapter, proxy, &response, &doc);
    }};
}

/// 6. Dynamic client registration (RFC 7591) at Keycloak's `registration_endpoint`.
///
/// Keycloak 26.7.3 refuses anonymous registration from 127.0.0.1 by its "Trusted Hosts" policy:
///   403 {"error":"insufficient_scope","error_description":"Policy 'Trusted Hosts' rejected request
///        to client-registration service. Details: Host not trusted."}
/// An unreadable initial access token:
///   401 {"error":"invalid_token","error_description":"Failed decode token"}
/// uma-rs's PAT as the initial access token (a bearer token without manage-clients):
///   403 {"error":"insufficient_scope","error_description":"Forbidden"}
macro_rules! registration_suite {
    ($adapter:expr, $proxy:expr, $p:expr, [$($aw:tt)*]) => {{
        let (adapter, proxy, p) = ($adapter, $proxy, $p);
        let advertised = p.metadata().registration_endpoint.expect("registration_endpoint");
        let path = advertised.path();
        assert!(path.ends_with("/clients-registrations/openid-connect"), "{adapter}: {advertised}");
        let name = format!("prot-e2e-{}", unique(proxy));
        let mut registration = ClientRegistration::uma_client(name);
        registration.redirect_uris = vec!["https://client.example.org/cb".into()];

        proxy.clear();
        let error = p.register_client(&registration, None) $($aw)*
            .expect_err("anonymous registration");
        let (status, code, description) = refusal(error.protection());
        assert_eq!(status, 403, "{adapter}: {error}");
        assert_eq!(code, Some(ErrorCode::Other("insufficient_scope".into())), "{adapter}");
        assert!(
            description.as_deref().is_some_and(|d| d.contains("Trusted Hosts")),
            "{adapter}: {description:?}"
        );
        assert!(error.to_string().contains("insufficient_scope"), "{adapter}: {error}");
        let wire = last(proxy, is_registration);
        assert_eq!(wire.method, "POST", "{adapter}");
        assert_eq!(wire.request_header("authorization"), None, "{adapter}");
        let sent: Value = serde_json::from_slice(&wire.request_body).unwrap();
        let grants = serde_json::json!(["client_credentials", UMA_TICKET]);
        assert_eq!(sent["grant_types"], grants, "{adapter}");
        assert_eq!(sent["token_endpoint_auth_method"], "client_secret_basic", "{adapter}");

        let error = p.register_client(&registration, Some(&AccessToken::new("garbage"))) $($aw)*
            .expect_err("garbage initial access token");
        let (status, code, description) = refusal(error.protection());
        let expected = (401, Some(ErrorCode::InvalidToken));
        assert_eq!((status, code), expected, "{adapter}: {description:?}");
        assert_eq!(description.as_deref(), Some("Failed decode token"), "{adapter}");
        assert!(error.is_unauthorized(), "{adapter}");

        let pat = p.pat() $($aw)* .expect("PAT");
        let error = p.register_client(&registration, Some(&pat)) $($aw)*
            .expect_err("a PAT is no initial access token");
        let (status, code, description) = refusal(error.protection());
        let insufficient = Some(ErrorCode::Other("insufficient_scope".into()));
        assert_eq!((status, code), (403, insufficient), "{adapter}: {description:?}");
        assert_eq!(description.as_deref(), Some("Forbidden"), "{adapter}");
        assert!(!error.is_unauthorized(), "{adapter}: a valid token, refused for what it may do");
        let registered = proxy.count(|e| is_registration(e) && e.status < 300);
        assert_eq!(registered, 0, "{adapter}: nothing registered");
    }};
}

// ---------------------------------------------------------------------------------------------
// uma-ureq (blocking)
// ---------------------------------------------------------------------------------------------

mod ureq_adapter {
    use super::*;
    use uma_ureq::protection::Decision;

    const ADAPTER: &str = "ureq";

    #[test]
    #[ignore = "needs a real Keycloak: tests/keycloak/run"]
    fn pat_is_client_credentials_without_scope_and_reused() {
        let proxy = Keycloak::from_env().proxy();
        let p = ureq_protection(&proxy);
        pat_suite!(ADAPTER, &proxy, &p, []);
    }

    #[test]
    #[ignore = "needs a real Keycloak: tests/keycloak/run"]
    fn resource_registration_crud_and_queries() {
        let proxy = Keycloak::from_env().proxy();
        let p = ureq_protection(&proxy);
        resource_suite!(ADAPTER, &proxy, &p, []);
    }

    #[test]
    #[ignore = "needs a real Keycloak: tests/keycloak/run"]
    fn tickets_rpt_introspection_and_enforce() {
        let proxy = Keycloak::from_env().proxy();
        let p = ureq_protection(&proxy);
        ticket_suite!(ADAPTER, &proxy, &p, []);
    }

    #[test]
    #[ignore = "needs a real Keycloak: tests/keycloak/run"]
    fn client_registration_refusals_are_typed() {
        let proxy = Keycloak::from_env().proxy();
        let p = ureq_protection(&proxy);
        registration_suite!(ADAPTER, &proxy, &p, []);
    }
}

// ---------------------------------------------------------------------------------------------
// uma-hyper (async)
// ---------------------------------------------------------------------------------------------

mod hyper_adapter {
    use super::*;
    use uma_hyper::protection::Decision;

    const ADAPTER: &str = "hyper";

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs a real Keycloak: tests/keycloak/run"]
    async fn pat_is_client_credentials_without_scope_and_reused() {
        let proxy = Keycloak::from_env().proxy();
        let p = hyper_protection(&proxy).await;
        pat_suite!(ADAPTER, &proxy, &p, [.await]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs a real Keycloak: tests/keycloak/run"]
    async fn resource_registration_crud_and_queries() {
        let proxy = Keycloak::from_env().proxy();
        let p = hyper_protection(&proxy).await;
        resource_suite!(ADAPTER, &proxy, &p, [.await]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs a real Keycloak: tests/keycloak/run"]
    async fn tickets_rpt_introspection_and_enforce() {
        let proxy = Keycloak::from_env().proxy();
        let p = hyper_protection(&proxy).await;
        ticket_suite!(ADAPTER, &proxy, &p, [.await]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs a real Keycloak: tests/keycloak/run"]
    async fn client_registration_refusals_are_typed() {
        let proxy = Keycloak::from_env().proxy();
        let p = hyper_protection(&proxy).await;
        registration_suite!(ADAPTER, &proxy, &p, [.await]);
    }

    /// 7. A herd on the resource-server side: 50 concurrent `enforce` calls on a fresh handle, first
    /// with a valid RPT, then without one, counted at Keycloak.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs a real Keycloak: tests/keycloak/run"]
    async fn herd_of_50_enforce_calls() {
        const HERD: usize = 50;
        let proxy = Keycloak::from_env().proxy();
        let setup = hyper_protection(&proxy).await;
        let doc = realm_id!(setup, "shared-doc", [.await]);
        let notes = realm_id!(setup, "shared-notes", [.await]);
        let ticket = setup
            .request_ticket(vec![
                PermissionRequest::new(doc.clone(), [READ]),
                PermissionRequest::new(notes.clone(), [READ]),
            ])
            .await
            .expect("ticket");
        let rpt = rpt_as_bob(&proxy, &ticket);
        let wanted = || vec![PermissionRequest::new(doc.clone(), [READ])];

        // With the RPT: every call introspects (no introspection cache), none needs the PAT.
        proxy.clear();
        let fresh = hyper_protection(&proxy).await;
        let headers = Arc::new(bearer_headers(rpt.secret()));
        let tasks: Vec<_> = (0..HERD)
            .map(|_| {
                let (p, headers, wanted) = (fresh.clone(), headers.clone(), wanted());
                tokio::spawn(async move { p.enforce(&headers, wanted).await })
            })
            .collect();
        for task in tasks {
            let decision = task.await.unwrap().expect("enforce");
            assert!(matches!(decision, Decision::Allow(_)), "{decision:?}");
        }
        let discovery = proxy.count(is_discovery);
        let introspections = proxy.count(is_introspection);
        let tokens = proxy.count(Exchange::is_token);
        eprintln!(
            "herd with RPT: {discovery} discovery, {introspections} introspections, {tokens} token requests"
        );
        assert_eq!(discovery, 1, "the fresh handle discovers once");
        assert_eq!(
            introspections, HERD,
            "one introspection per call: nothing is cached"
        );
        assert_eq!(
            tokens, 0,
            "Keycloak introspection uses client credentials, not a PAT"
        );
        assert_eq!(proxy.count(is_permission), 0);

        // Without a token: each call needs a ticket, so a PAT first. The PAT is single-flight: one
        // task asks for it, the others wait for it (before the protection machine: 50 PAT requests
        // for 50 calls against 26.7.3).
        proxy.clear();
        let fresh = hyper_protection(&proxy).await;
        let tasks: Vec<_> = (0..HERD)
            .map(|_| {
                let (p, wanted) = (fresh.clone(), wanted());
                tokio::spawn(async move { p.enforce(&HeaderMap::new(), wanted).await })
            })
            .collect();
        for task in tasks {
            match task.await.unwrap().expect("enforce") {
                Decision::Challenge(response) => {
                    assert_eq!(response.status(), StatusCode::UNAUTHORIZED)
                }
                other => panic!("expected a challenge, got {other:?}"),
            }
        }
        let pats = proxy.count(Exchange::is_token);
        let permissions = proxy.count(is_permission);
        eprintln!("herd without RPT: {pats} PAT requests, {permissions} permission requests");
        assert_eq!(permissions, HERD, "one fresh ticket per challenge");
        assert_eq!(pats, 1, "one PAT for the herd");
        assert_eq!(
            proxy.count(|e| e.is_token() && e.status != 200),
            0,
            "every PAT request succeeded"
        );
        // Once a PAT is held, the next challenge reuses it.
        proxy.clear();
        let _ = fresh.challenge_for(wanted()).await;
        assert_eq!(proxy.count(Exchange::is_token), 0);
    }
}
