//! The protection API (UMA Federated Authorization): permission endpoint, resource registration
//! and token introspection, each with the dialect's statuses (docs/protocol.md §9).

use std::collections::BTreeSet;

use http::Response;
use serde_json::{Value, json};

use super::client_auth::{Caller, authenticate};
use crate::http::{KitBody, json, oauth_error, set_header};
use crate::kc_state::request_issuer;
use crate::routing::Req;
use crate::state::{Perms, RptInfo, Shared, StoredResource, TokenInfo};
use crate::tokens::decode_jwt_payload;

type Outcome<T> = Result<T, Response<KitBody>>;

/// Requires a PAT as Bearer (§9.1): 401 without a live token, 403/406 without `uma_protection`.
pub(super) fn require_pat(shared: &Shared, req: &Req) -> Outcome<TokenInfo> {
    let token = req.bearer().and_then(|t| shared.lookup_token(t));
    let issuer = request_issuer(shared, req);
    if let Some(t) = token
        .as_ref()
        .filter(|t| shared.is_keycloak() && t.issuer != issuer)
    {
        // Keycloak checks `iss` against the issuer of this request's Host.
        let desc = format!(
            "Invalid token issuer. Expected '{issuer}', but was '{}'",
            t.issuer
        );
        let mut resp = oauth_error(401, "invalid_token", Some(&desc));
        set_header(
            &mut resp,
            "www-authenticate",
            "Bearer error=\"invalid_token\"",
        );
        return Err(resp);
    }
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
    let pat = require_pat(shared, req)?;
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
    let ticket = if kc {
        let issuer = request_issuer(shared, req);
        shared.mint_kc_ticket(&issuer, pat.subject.sub(), &perms)
    } else {
        shared.mint_ticket(&perms, None, None)
    };
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
    // Keycloak: a token minted under another host (issuer) is not active here.
    let issuer = request_issuer(shared, req);
    let rpt = shared.inner().rpts.get(&token).cloned();
    let usable =
        |r: &RptInfo| r.active() && !shared.refuses_audienceless(r) && (!kc || r.issuer == issuer);
    if let Some(rpt) = rpt.filter(usable) {
        let names = shared.inner();
        let permissions: Vec<Value> = rpt
            .perms
            .iter()
            .map(|(rid, scopes)| {
                let mut p = json!({"resource_id": rid, "resource_scopes": scopes});
                if let Some(exp) = rpt.exp_unix.filter(|_| !kc) {
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
            // Keycloak 26.7: the RPT's `acr`, `aud`, `jti` and `typ`, no `nbf`.
            let jti = decode_jwt_payload(&token).map(|c| c["jti"].clone());
            body["acr"] = json!("1");
            if !rpt.lost_audience {
                body["aud"] = json!(shared.cfg.resource_server_client);
            }
            body["jti"] = jti.unwrap_or(Value::Null);
            body["typ"] = json!("Bearer");
        }
        if shared.is_gluu() {
            body["client_id"] = json!(rpt.client_id);
            body["aud"] = json!(rpt.client_id);
            body["sub"] = json!(rpt.subject.sub());
        }
        return json(200, &body);
    }
    if let Some(t) = shared
        .lookup_token(&token)
        .filter(|t| !kc || t.issuer == issuer)
    {
        return json(
            200,
            &json!({"active": true, "client_id": t.client_id, "sub": t.subject.sub(), "token_type": "Bearer"}),
        );
    }
    json(200, &json!({"active": false}))
}
