//! The protection API (UMA Federated Authorization): permission endpoint, resource registration
//! and token introspection, each with the dialect's statuses (uma-protocol.md §9).

use std::collections::BTreeSet;

use http::Response;
use serde_json::{Map, Value, json};

use super::client_auth::{Caller, authenticate};
use crate::http::{KitBody, empty, json, oauth_error, set_header};
use crate::routing::Req;
use crate::state::{Perms, Shared, StoredResource, TokenInfo};

type Outcome<T> = Result<T, Response<KitBody>>;

/// Requires a PAT as Bearer (§9.1): 401 without a live token, 403/406 without `uma_protection`.
fn require_pat(shared: &Shared, req: &Req) -> Outcome<TokenInfo> {
    let token = req.bearer().and_then(|t| shared.lookup_token(t));
    let Some(token) = token else {
        let code = if shared.is_gluu() {
            "unauthorized_client"
        } else {
            "invalid_token"
        };
        let mut resp = oauth_error(401, code, Some("a valid PAT is required"));
        set_header(
            &mut resp,
            "www-authenticate",
            "Bearer error=\"invalid_token\"",
        );
        return Err(resp);
    };
    if !token.protection {
        return Err(if shared.is_gluu() {
            oauth_error(
                406,
                "invalid_client_scope",
                Some("uma_protection scope is required"),
            )
        } else {
            oauth_error(403, "invalid_scope", Some("Requires uma_protection scope."))
        });
    }
    Ok(token)
}

/// `POST permission_endpoint` with one object or an array (UMAF §4; Keycloak: array only).
pub fn permission(shared: &Shared, req: &Req) -> Response<KitBody> {
    match permission_inner(shared, req) {
        Ok(r) | Err(r) => r,
    }
}

fn permission_inner(shared: &Shared, req: &Req) -> Outcome<Response<KitBody>> {
    if req.method != "POST" {
        return Err(oauth_error(405, "unsupported_method_type", None));
    }
    require_pat(shared, req)?;
    let kc = shared.is_keycloak();
    let bad = || {
        oauth_error(
            400,
            "invalid_permission_request",
            Some("invalid permission request"),
        )
    };
    let items = match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Array(a)) if !a.is_empty() => a,
        Ok(Value::Object(o)) if !kc => vec![Value::Object(o)],
        _ => return Err(bad()),
    };
    let inner = shared.inner();
    let mut perms = Perms::new();
    for item in &items {
        let rid = item["resource_id"]
            .as_str()
            .or_else(|| item["resource_set_id"].as_str().filter(|_| kc));
        let scopes_v = if item.get("resource_scopes").is_some() {
            &item["resource_scopes"]
        } else if kc {
            &item["scopes"]
        } else {
            &Value::Null
        };
        let Some(scopes) = scopes_v.as_array() else {
            if kc && rid.is_some() {
                // Keycloak allows a resource without scopes: all of them.
                let r = find_resource(&inner.resources, rid.unwrap_or_default(), kc)
                    .ok_or_else(|| unknown_resource(rid.unwrap_or_default()))?;
                perms
                    .entry(r.id.clone())
                    .or_default()
                    .extend(r.scopes.iter().cloned());
                continue;
            }
            return Err(oauth_error(
                400,
                "invalid_request",
                Some("resource_scopes is required"),
            ));
        };
        let scopes: Vec<String> = scopes
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        let Some(rid) = rid else {
            if kc && !scopes.is_empty() {
                // Scope-only permission: every resource having those scopes.
                for r in inner.resources.values() {
                    let hit: BTreeSet<String> = scopes
                        .iter()
                        .filter(|s| r.scopes.contains(s))
                        .cloned()
                        .collect();
                    if !hit.is_empty() {
                        perms.entry(r.id.clone()).or_default().extend(hit);
                    }
                }
                continue;
            }
            return Err(oauth_error(
                400,
                "invalid_resource_id",
                Some("resource_id is required"),
            ));
        };
        let r = find_resource(&inner.resources, rid, kc).ok_or_else(|| unknown_resource(rid))?;
        for s in &scopes {
            if !r.scopes.contains(s) {
                return Err(oauth_error(
                    400,
                    "invalid_scope",
                    Some(&format!("unknown scope [{s}]")),
                ));
            }
        }
        perms.entry(r.id.clone()).or_default().extend(scopes);
    }
    drop(inner);
    if perms.is_empty() {
        return Err(bad());
    }
    let ticket = shared.mint_ticket(&perms, None);
    Ok(json(201, &json!({ "ticket": ticket })))
}

fn unknown_resource(rid: &str) -> Response<KitBody> {
    oauth_error(
        400,
        "invalid_resource_id",
        Some(&format!(
            "Resource set with id [{rid}] does not exists in this server."
        )),
    )
}

fn find_resource<'a>(
    resources: &'a std::collections::BTreeMap<String, StoredResource>,
    id_or_name: &str,
    by_name: bool,
) -> Option<&'a StoredResource> {
    resources.get(id_or_name).or_else(|| {
        by_name
            .then(|| resources.values().find(|r| r.name == id_or_name))
            .flatten()
    })
}

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

fn resource_view(shared: &Shared, r: &StoredResource) -> Value {
    let mut out = Map::new();
    out.insert("_id".into(), json!(r.id));
    out.insert("name".into(), json!(r.name));
    for (k, v) in &r.extra {
        out.insert(k.clone(), v.clone());
    }
    if shared.is_keycloak() {
        out.insert(
            "resource_scopes".into(),
            json!(
                r.scopes
                    .iter()
                    .map(|s| json!({"name": s}))
                    .collect::<Vec<_>>()
            ),
        );
        out.insert(
            "owner".into(),
            json!({"id": shared.cfg.resource_server_client}),
        );
        out.insert("ownerManagedAccess".into(), json!(false));
    } else {
        out.insert("resource_scopes".into(), json!(r.scopes));
    }
    Value::Object(out)
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
        ("GET", true) => {
            let ids: Vec<String> = shared.inner().resources.keys().cloned().collect();
            Ok(json(200, &json!(ids)))
        }
        ("POST", true) => {
            let body: Value = serde_json::from_slice(&req.body)
                .map_err(|_| oauth_error(400, "invalid_request", Some("body is not JSON")))?;
            let (name, scopes, extra) = parse_description(&body, kc, gluu)?;
            let id = shared.minter.opaque("");
            let mut inner = shared.inner();
            if kc && inner.resources.values().any(|r| r.name == name) {
                return Err(oauth_error(
                    409,
                    "invalid_request",
                    Some(&format!("Resource with name [{name}] already exists.")),
                ));
            }
            let stored = StoredResource {
                id: id.clone(),
                name,
                scopes,
                extra,
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
                .ok_or_else(not_found)
        }
        ("PUT", false) => {
            let body: Value = serde_json::from_slice(&req.body)
                .map_err(|_| oauth_error(400, "invalid_request", Some("body is not JSON")))?;
            let (name, scopes, extra) = parse_description(&body, kc, gluu)?;
            let mut inner = shared.inner();
            let r = inner.resources.get_mut(rest).ok_or_else(not_found)?;
            r.name = name;
            r.scopes = scopes;
            r.extra = extra;
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

type Description = (String, Vec<String>, Map<String, Value>);

fn parse_description(body: &Value, kc: bool, gluu: bool) -> Outcome<Description> {
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
    let extra: Map<String, Value> = obj
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "_id" | "name" | "resource_scopes" | "scopes"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok((name, scopes, extra))
}

/// Token introspection (RFC 7662; UMAF §5; Keycloak also with client credentials; Gluu also GET).
pub fn introspection(shared: &Shared, req: &Req) -> Response<KitBody> {
    let kc = shared.is_keycloak();
    let allowed_method = req.method == "POST" || (shared.is_gluu() && req.method == "GET");
    if !allowed_method {
        return oauth_error(405, "unsupported_method_type", None);
    }
    // Keycloak authenticates the calling client; the others want a PAT.
    let authorised = if kc && req.bearer().is_none() {
        match authenticate(shared, req, false) {
            Ok(Caller::Client(_)) => Ok(()),
            Ok(Caller::User(_)) => Err(oauth_error(401, "invalid_client", None)),
            Err(resp) => Err(resp),
        }
    } else {
        require_pat(shared, req).map(|_| ())
    };
    if let Err(resp) = authorised {
        return resp;
    }
    let query = req.query_pairs();
    let token = req.form("token").map(str::to_string).or_else(|| {
        query
            .iter()
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.clone())
    });
    let Some(token) = token else {
        return oauth_error(400, "invalid_request", Some("token is required"));
    };
    let rpt = shared.inner().rpts.get(&token).cloned();
    if let Some(rpt) = rpt.filter(|r| r.active()) {
        let names = shared.inner();
        let permissions: Vec<Value> = rpt
            .perms
            .iter()
            .map(|(rid, scopes)| {
                let mut p = json!({"resource_id": rid, "resource_scopes": scopes});
                if let Some(exp) = rpt.exp_unix {
                    p["exp"] = json!(exp);
                }
                if kc {
                    p["rsid"] = json!(rid);
                    p["rsname"] = json!(names.resources.get(rid).map(|r| r.name.clone()));
                    p["scopes"] = json!(scopes);
                }
                p
            })
            .collect();
        drop(names);
        let mut body = json!({"active": true, "iat": rpt.iat_unix, "permissions": permissions});
        if let Some(exp) = rpt.exp_unix {
            body["exp"] = json!(exp);
        }
        if kc {
            body["aud"] = json!(shared.cfg.resource_server_client);
            body["nbf"] = json!(0);
        }
        if shared.is_gluu() {
            body["client_id"] = json!(rpt.client_id);
            body["aud"] = json!(rpt.client_id);
            body["sub"] = json!(rpt.subject.sub());
        }
        return json(200, &body);
    }
    if let Some(t) = shared.lookup_token(&token) {
        return json(
            200,
            &json!({"active": true, "client_id": t.client_id, "sub": t.subject.sub(), "token_type": "Bearer"}),
        );
    }
    json(200, &json!({"active": false}))
}
