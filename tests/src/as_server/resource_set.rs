//! Resource registration (UMAF §3.2 with the Keycloak and Gluu statuses of docs/protocol.md §9.2),
//! including Keycloak's owners (the RS for everything registered here), `ownerManagedAccess` and
//! list filters.

use http::Response;
use serde_json::{Map, Value, json};

use super::protection::require_pat;
use crate::http::{KitBody, empty, json, oauth_error, set_header};
use crate::kc_state::scope_id;
use crate::routing::Req;
use crate::state::{Shared, StoredResource};

type Outcome<T> = Result<T, Response<KitBody>>;

fn scopes_from(body: &Value, kc: bool) -> Option<Vec<String>> {
    let v = body
        .get("resource_scopes")
        .or_else(|| body.get("scopes").filter(|_| kc))?;
    let arr = v.as_array()?;
    Some(
        arr.iter()
            .filter_map(|s| s.as_str().or_else(|| s["name"].as_str()))
            .map(str::to_string)
            .collect(),
    )
}

/// Keycloak's `owner` object: the user (id = username in the kit), else the RS client.
fn owner_view(shared: &Shared, r: &StoredResource) -> Value {
    match &r.owner {
        Some(user) => json!({"id": user, "name": user}),
        None => json!({"id": shared.rs_owner_id, "name": shared.cfg.resource_server_client}),
    }
}

/// Keycloak's scope objects, `{"id", "name"}`.
fn kc_scopes(shared: &Shared, r: &StoredResource) -> Value {
    let mut inner = shared.inner();
    let scopes: Vec<Value> = r
        .scopes
        .iter()
        .map(|s| json!({"id": scope_id(&mut inner, &shared.minter, s), "name": s}))
        .collect();
    Value::Array(scopes)
}

/// A resource as registration answers it. Keycloak 26.7: `resource_scopes` and `scopes` as
/// `{"id", "name"}` objects, `owner`, `ownerManagedAccess`, `uris` always present.
fn resource_view(shared: &Shared, r: &StoredResource) -> Value {
    let mut out = Map::new();
    out.insert("_id".into(), json!(r.id));
    out.insert("name".into(), json!(r.name));
    for (k, v) in &r.extra {
        out.insert(k.clone(), v.clone());
    }
    if shared.is_keycloak() {
        let scopes = kc_scopes(shared, r);
        out.insert("resource_scopes".into(), scopes.clone());
        out.insert("scopes".into(), scopes);
        out.insert("owner".into(), owner_view(shared, r));
        out.insert("ownerManagedAccess".into(), json!(r.owner_managed));
        out.entry("uris").or_insert_with(|| json!([]));
    } else {
        out.insert("resource_scopes".into(), json!(r.scopes));
    }
    Value::Object(out)
}

/// A `resource_set?deep=true` item as Keycloak 26.7 answers it: `scopes` with ids, `owner` with
/// its name, `attributes` always present.
fn deep_view(shared: &Shared, r: &StoredResource) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), json!(r.name));
    for (k, v) in &r.extra {
        out.insert(k.clone(), v.clone());
    }
    out.insert("owner".into(), owner_view(shared, r));
    out.insert("ownerManagedAccess".into(), json!(r.owner_managed));
    out.entry("attributes").or_insert_with(|| json!({}));
    out.insert("_id".into(), json!(r.id));
    out.entry("uris").or_insert_with(|| json!([]));
    out.insert("scopes".into(), kc_scopes(shared, r));
    Value::Object(out)
}

/// Keycloak's `GET resource_set` filters: `_id`, `name` (case-insensitive substring, exact with
/// `exactName=true`), `uri`, `owner` (id or name), `type`, `scope`, then `first` / `max`
/// (default 100); `deep=true` answers full objects instead of ids.
fn keycloak_list(shared: &Shared, req: &Req) -> Value {
    let q = req.query_pairs();
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let exact = get("exactName") == Some("true");
    let num = |k: &str| get(k).and_then(|v| v.parse::<i64>().ok());
    let first = usize::try_from(num("first").unwrap_or(0)).unwrap_or(0);
    let max = usize::try_from(num("max").unwrap_or(100)).unwrap_or(usize::MAX);
    let resources: Vec<StoredResource> = shared.inner().resources.values().cloned().collect();
    let matches = |r: &StoredResource| {
        let uris = r.extra.get("uris").and_then(Value::as_array);
        let owner = owner_view(shared, r);
        get("_id").is_none_or(|id| r.id == id)
            && get("name").is_none_or(|n| {
                if exact {
                    r.name == n
                } else {
                    r.name.to_lowercase().contains(&n.to_lowercase())
                }
            })
            && get("uri")
                .is_none_or(|u| uris.is_some_and(|a| a.iter().any(|x| x.as_str() == Some(u))))
            && get("owner").is_none_or(|o| owner["id"] == o || owner["name"] == o)
            && get("type").is_none_or(|t| r.extra.get("type").and_then(Value::as_str) == Some(t))
            && get("scope").is_none_or(|s| r.scopes.iter().any(|x| x == s))
    };
    let page = resources
        .iter()
        .filter(|r| matches(r))
        .skip(first)
        .take(max);
    if get("deep") == Some("true") {
        json!(page.map(|r| deep_view(shared, r)).collect::<Vec<_>>())
    } else {
        json!(page.map(|r| r.id.clone()).collect::<Vec<_>>())
    }
}

/// Resource registration CRUD (UMAF §3.2 with the Keycloak and Gluu statuses of §9.2).
pub fn resource_registration(shared: &Shared, req: &Req) -> Response<KitBody> {
    match rreg_inner(shared, req) {
        Ok(r) | Err(r) => r,
    }
}

fn rreg_inner(shared: &Shared, req: &Req) -> Outcome<Response<KitBody>> {
    require_pat(shared, req)?;
    let kc = shared.is_keycloak();
    let gluu = shared.is_gluu();
    let rest = req.path[shared.paths.rreg.len()..].trim_matches('/');
    let not_found = || {
        if kc {
            empty(404)
        } else {
            oauth_error(404, "not_found", None)
        }
    };
    match (req.method.as_str(), rest.is_empty()) {
        ("GET", true) if kc => Ok(json(200, &keycloak_list(shared, req))),
        ("GET", true) => {
            let ids: Vec<String> = shared.inner().resources.keys().cloned().collect();
            Ok(json(200, &json!(ids)))
        }
        ("POST", true) => {
            let body: Value = serde_json::from_slice(&req.body)
                .map_err(|_| oauth_error(400, "invalid_request", Some("body is not JSON")))?;
            let d = parse_description(shared, &body)?;
            let id = shared.minter.opaque("");
            let mut inner = shared.inner();
            if kc && inner.resources.values().any(|r| r.name == d.name) {
                return Err(oauth_error(
                    409,
                    "invalid_request",
                    Some(&format!("Resource with name [{}] already exists.", d.name)),
                ));
            }
            let stored = StoredResource {
                id: id.clone(),
                name: d.name,
                scopes: d.scopes,
                extra: d.extra,
                // Keycloak 26.7 ignores `owner` here: the resource server owns what it registers.
                owner: None,
                owner_managed: d.owner_managed,
            };
            inner.resources.insert(id.clone(), stored.clone());
            drop(inner);
            if kc {
                return Ok(json(201, &resource_view(shared, &stored)));
            }
            if gluu {
                return Ok(json(201, &json!({"_id": id})));
            }
            let mut resp = json(
                201,
                &json!({"_id": id, "user_access_policy_uri": format!("{}/policy/{id}", shared.urls.as_base)}),
            );
            set_header(
                &mut resp,
                "location",
                &format!("{}/{id}", shared.paths.rreg),
            );
            Ok(resp)
        }
        ("GET", false) => {
            let r = shared.inner().resources.get(rest).cloned();
            r.map(|r| json(200, &resource_view(shared, &r)))
                .ok_or_else(|| {
                    if shared.keycloak_since((26, 6)) {
                        // Keycloak 26.7 (not 26.4): JAX-RS's NotFoundException, as JSON.
                        json(404, &json!({"error": "HTTP 404 Not Found"}))
                    } else {
                        not_found()
                    }
                })
        }
        ("PUT", false) => {
            let body: Value = serde_json::from_slice(&req.body)
                .map_err(|_| oauth_error(400, "invalid_request", Some("body is not JSON")))?;
            let d = parse_description(shared, &body)?;
            let mut inner = shared.inner();
            let r = inner.resources.get_mut(rest).ok_or_else(not_found)?;
            r.name = d.name;
            r.scopes = d.scopes;
            r.extra = d.extra;
            r.owner_managed = d.owner_managed;
            Ok(if kc {
                empty(204)
            } else {
                json(200, &json!({"_id": rest}))
            })
        }
        ("DELETE", false) => {
            let removed = shared.inner().resources.remove(rest);
            removed.map(|_| empty(204)).ok_or_else(not_found)
        }
        _ => Err(oauth_error(405, "unsupported_method_type", None)),
    }
}

/// A parsed resource description.
struct Description {
    name: String,
    scopes: Vec<String>,
    extra: Map<String, Value>,
    owner_managed: bool,
}

fn parse_description(shared: &Shared, body: &Value) -> Outcome<Description> {
    let kc = shared.is_keycloak();
    let gluu = shared.is_gluu();
    let Some(obj) = body.as_object() else {
        return Err(oauth_error(
            400,
            "invalid_request",
            Some("description must be an object"),
        ));
    };
    let scopes = match scopes_from(body, kc) {
        Some(s) => s,
        // Gluu accepts a scope_expression instead (§9.2).
        None if gluu && body.get("scope_expression").is_some() => Vec::new(),
        None if gluu => {
            return Err(oauth_error(
                400,
                "invalid_scope",
                Some("resource_scopes is required"),
            ));
        }
        None => {
            return Err(oauth_error(
                400,
                "invalid_request",
                Some("resource_scopes is required"),
            ));
        }
    };
    let name = obj
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let typed = |k: &str| {
        matches!(k, "_id" | "name" | "resource_scopes" | "scopes")
            || (kc && matches!(k, "owner" | "ownerManagedAccess"))
    };
    let extra: Map<String, Value> = obj
        .iter()
        .filter(|(k, _)| !typed(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // Keycloak: `owner` is accepted and ignored (see `rreg_inner`), `ownerManagedAccess` kept.
    let owner_managed = kc && obj.get("ownerManagedAccess").and_then(Value::as_bool) == Some(true);
    Ok(Description {
        name,
        scopes,
        extra,
        owner_managed,
    })
}
