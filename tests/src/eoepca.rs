//! The EOEPCA side of the Gluu dialect's resource server: the PEP's own resource API
//! (`/resources`, um-pep-engine `resources.py`) and a stand-in for the Workspace API (`/workspaces`),
//! both authorised by the user's ID token as Bearer, never by UMA (eoepca-clients.md §2.6, §2.7, §4.4).
//!
//! Resources registered here are registered at the AS too (as the PEP does with its PAT), owned by the
//! ID token's `sub` (or, for an operator, by `uuid`), and protect every RS path below their `icon_uri`:
//! the UMA grant is granted to their owner only. Errors travel in an `Error` header, as the PEP sends them.

use http::Response;
use serde_json::{Map, Value, json};

use crate::config::ResourceDef;
use crate::http::{KitBody, empty, json, set_header};
use crate::routing::Req;
use crate::state::{Shared, StoredResource};

/// The scopes that keep the PEP from adding its `protected_<method>` ones.
const PLAIN_SCOPES: [&str; 4] = ["public_access", "Authenticated", "authenticated", "open"];
/// Methods the PEP maps to `protected_<method>` scopes.
const METHODS: [&str; 6] = ["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"];

/// A resource registered through the PEP resource API.
#[derive(Debug, Clone)]
pub struct PepStored {
    /// The resource id (also its `_id` at the AS).
    pub id: String,
    /// Name.
    pub name: String,
    /// The protected path (`icon_uri`).
    pub path: String,
    /// Scopes, the PEP's defaults included.
    pub scopes: Vec<String>,
    /// Owner `sub`.
    pub owner: String,
}

impl PepStored {
    /// As an RS resource: each method needs `protected_<method>`, else `Authenticated`, else
    /// `public_access` (the PEP's fallback chain); `open` needs nothing.
    pub fn as_resource_def(&self) -> ResourceDef {
        let has = |s: &str| self.scopes.iter().any(|x| x == s);
        let method_scopes = METHODS
            .iter()
            .filter_map(|m| {
                let own = format!("protected_{}", m.to_ascii_lowercase());
                let scope = [own.as_str(), "open", "Authenticated", "public_access"]
                    .into_iter()
                    .find(|s| has(s))?;
                Some((m.to_string(), scope.to_string()))
            })
            .collect();
        ResourceDef {
            id: self.id.clone(),
            name: self.name.clone(),
            path: self.path.clone(),
            method_scopes,
            owner: Some(self.owner.clone()),
            owner_managed_access: false,
            resource_type: None,
        }
    }
}

/// Whether `path` is served here rather than as a protected resource.
pub fn serves(path: &str) -> bool {
    path == "/resources" || path.starts_with("/resources/") || path == "/workspaces"
}

/// The caller's `sub` and operator flag from a kit-signed ID token.
pub fn identity(shared: &Shared, token: Option<&str>) -> Option<(String, bool)> {
    let claims = shared.minter.verify(token?)?;
    let sub = claims["sub"].as_str()?.to_string();
    let operator = matches!(&claims["isOperator"], Value::Bool(true))
        || claims["isOperator"].as_str() == Some("true");
    Some((sub, operator))
}

fn refused(status: u16, message: &str) -> Response<KitBody> {
    let mut resp = empty(status);
    set_header(&mut resp, "error", message);
    resp
}

/// Handles `/resources…` and `/workspaces`.
pub fn handle(shared: &Shared, req: &Req) -> Response<KitBody> {
    let Some((sub, operator)) = identity(shared, req.bearer()) else {
        return refused(401, "No valid token or user id found");
    };
    if req.path == "/workspaces" {
        return workspace(req, &sub);
    }
    let id = req
        .path
        .strip_prefix("/resources/")
        .filter(|s| !s.is_empty());
    match (req.method.as_str(), id) {
        ("POST", None) => create(shared, req, &sub, operator),
        ("GET" | "HEAD", None) => list(shared, req, &sub, operator),
        ("HEAD", Some(id)) => {
            let known = shared.inner().pep_resources.contains_key(id);
            empty(if known { 200 } else { 404 })
        }
        ("DELETE", Some(id)) => delete(shared, id, &sub, operator),
        // um-pep-engine since 303b52a (2023-01) routes only PUT, DELETE, HEAD and PATCH for one
        // resource; this kit does not serve PUT and PATCH either.
        _ => refused(405, "Method not allowed"),
    }
}

fn create(shared: &Shared, req: &Req, sub: &str, operator: bool) -> Response<KitBody> {
    let is_json = req
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json"));
    if !is_json {
        return refused(415, "Request body must be JSON");
    }
    let Ok(Value::Object(mut body)) = serde_json::from_slice::<Value>(&req.body) else {
        return refused(500, "Invalid request");
    };
    let (Some(name), Some(path)) = (text(&body, "name"), text(&body, "icon_uri")) else {
        return refused(500, "Invalid request");
    };
    let owner = match text(&body, "uuid") {
        Some(uuid) if operator => uuid,
        _ => sub.to_string(),
    };
    let mut inner = shared.inner();
    let taken = inner.pep_resources.values().any(|r| r.path == path)
        || shared.cfg.resources.iter().any(|r| r.path == path);
    if taken {
        return refused(422, &format!("Resource already exists for URI {path}"));
    }
    let parent_of_another = inner.pep_resources.values().any(|r| {
        path.starts_with(&format!("{}/", r.path.trim_end_matches('/'))) && r.owner != owner
    });
    if parent_of_another && !operator {
        return refused(401, "User doesn't own a parent resource");
    }
    let mut scopes: Vec<String> = match body.get("resource_scopes") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    if !scopes.iter().any(|s| PLAIN_SCOPES.contains(&s.as_str())) {
        scopes.extend(
            METHODS
                .iter()
                .map(|m| format!("protected_{}", m.to_ascii_lowercase())),
        );
    }
    let id = shared.minter.uuid();
    let stored = PepStored {
        id: id.clone(),
        name: name.clone(),
        path: path.clone(),
        scopes: scopes.clone(),
        owner: owner.clone(),
    };
    inner.pep_resources.insert(id.clone(), stored);
    inner.resources.insert(
        id.clone(),
        StoredResource {
            id: id.clone(),
            name,
            scopes: scopes.clone(),
            extra: Map::from_iter([("icon_uri".to_string(), json!(path))]),
            owner: Some(owner.clone()),
            owner_managed: false,
        },
    );
    drop(inner);
    body.insert("resource_scopes".into(), json!(scopes));
    body.insert("ownership_id".into(), json!(owner));
    body.insert("id".into(), json!(id));
    json(200, &Value::Object(body))
}

fn list(shared: &Shared, req: &Req, sub: &str, operator: bool) -> Response<KitBody> {
    // um-pep-engine v1.2 (39f4a0d): only open resources, or those the caller owns and is operator for.
    let visible =
        |r: &PepStored| r.scopes.iter().any(|s| s == "open") || (operator && r.owner == sub);
    let entry = |r: &PepStored| json!({"_id": r.id, "_name": r.name, "_reverse_match_url": r.path});
    let inner = shared.inner();
    let wanted = req.query_pairs().into_iter().find(|(k, _)| k == "path");
    if let Some((_, path)) = wanted {
        let best = inner
            .pep_resources
            .values()
            .filter(|r| {
                let p = r.path.trim_end_matches('/');
                path == p || path.starts_with(&format!("{p}/"))
            })
            .max_by_key(|r| r.path.len())
            .filter(|r| visible(r));
        return match best {
            Some(r) => json(200, &entry(r)),
            None => refused(404, "No resource found for the given path"),
        };
    }
    let items: Vec<Value> = inner
        .pep_resources
        .values()
        .filter(|r| visible(r))
        .map(entry)
        .collect();
    json(200, &Value::Array(items))
}

fn delete(shared: &Shared, id: &str, sub: &str, operator: bool) -> Response<KitBody> {
    let mut inner = shared.inner();
    let Some(owner) = inner.pep_resources.get(id).map(|r| r.owner.clone()) else {
        return refused(404, "Resource not found");
    };
    if owner != sub && !operator {
        return refused(403, "User lacking sufficient access privileges");
    }
    inner.pep_resources.remove(id);
    inner.resources.remove(id);
    empty(204)
}

/// `POST /workspaces` `{"preferred_name", "default_owner"}`: a stand-in for the Workspace API,
/// which takes the ID token as plain Bearer (DemoClient's `notuma` path).
fn workspace(req: &Req, sub: &str) -> Response<KitBody> {
    if req.method != "POST" {
        return refused(405, "Method not allowed");
    }
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let name = body["preferred_name"].as_str().unwrap_or(sub);
    json(
        201,
        &json!({"status": "provisioning", "workspace_name": format!("ws-{name}"), "owner": sub}),
    )
}

fn text(body: &Map<String, Value>, key: &str) -> Option<String> {
    body.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}
