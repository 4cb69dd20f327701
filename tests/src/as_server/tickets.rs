//! Keycloak's permission-ticket API (`{issuer}/authz/protection/permission/ticket`): the owner or
//! the resource server lists the access requests recorded for owner-managed resources, approves
//! them (`granted: true`) or denies them (`granted: false` deletes), keycloak-real.md §4.

use http::Response;
use serde_json::Value;

use crate::http::{KitBody, empty, json, oauth_error, set_header};
use crate::kc_state::{request_issuer, scope_id, scope_name, ticket_view};
use crate::routing::Req;
use crate::state::{Shared, Subject, TokenInfo};

type Outcome<T> = Result<T, Response<KitBody>>;

/// The path of the ticket API below the permission endpoint.
pub fn path(shared: &Shared) -> String {
    format!("{}/ticket", shared.paths.permission)
}

/// `GET`, `PUT` on `…/permission/ticket`; `DELETE` on `…/permission/ticket/{id}`.
pub fn handle(shared: &Shared, req: &Req) -> Response<KitBody> {
    match run(shared, req) {
        Ok(r) | Err(r) => r,
    }
}

/// Any live token of this issuer identifies the caller (Keycloak does not require
/// `uma_protection` here); a PAT makes the caller the resource server.
fn identify(shared: &Shared, req: &Req) -> Outcome<TokenInfo> {
    let issuer = request_issuer(shared, req);
    let token = req
        .bearer()
        .and_then(|t| shared.lookup_token(t))
        .filter(|t| t.issuer == issuer);
    token.ok_or_else(|| {
        let mut resp = oauth_error(401, "invalid_token", Some("Invalid token."));
        set_header(
            &mut resp,
            "www-authenticate",
            "Bearer error=\"invalid_token\"",
        );
        resp
    })
}

fn is_resource_server(shared: &Shared, t: &TokenInfo) -> bool {
    t.protection || t.subject == Subject::Client(shared.cfg.resource_server_client.clone())
}

fn run(shared: &Shared, req: &Req) -> Outcome<Response<KitBody>> {
    let caller = identify(shared, req)?;
    let base = path(shared);
    let rest = req.path[base.len()..].trim_matches('/');
    match (req.method.as_str(), rest.is_empty()) {
        ("GET", true) => Ok(json(200, &find(shared, req))),
        ("PUT", true) => update(shared, req, &caller),
        ("DELETE", false) => delete(shared, rest, &caller),
        _ => Err(oauth_error(405, "unsupported_method_type", None)),
    }
}

/// Filters `resourceId`, `scopeId` (id or name), `owner`, `requester`, `granted`; `returnNames`
/// adds the names; `first` / `max` page (max defaults to 100).
fn find(shared: &Shared, req: &Req) -> Value {
    let q = req.query_pairs();
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let names = get("returnNames") == Some("true");
    let num = |k: &str| get(k).and_then(|v| v.parse::<i64>().ok());
    let first = usize::try_from(num("first").unwrap_or(0)).unwrap_or(0);
    let max = usize::try_from(num("max").unwrap_or(100)).unwrap_or(usize::MAX);
    let mut inner = shared.inner();
    let scope = get("scopeId").map(|s| scope_name(&inner, s));
    let granted = get("granted").map(|g| g == "true");
    let hits: Vec<_> = inner
        .permission_tickets
        .values()
        .filter(|t| {
            get("resourceId").is_none_or(|r| t.resource == r)
                && scope.as_ref().is_none_or(|s| &t.scope == s)
                && get("owner").is_none_or(|o| t.owner == o)
                && get("requester").is_none_or(|r| t.requester == r)
                && granted.is_none_or(|g| t.granted == g)
        })
        .skip(first)
        .take(max)
        .cloned()
        .collect();
    let out: Vec<Value> = hits
        .iter()
        .map(|t| ticket_view(&mut inner, &shared.minter, t, names))
        .collect();
    Value::Array(out)
}

/// `PUT {"id", "granted"}`: grant, or delete when `granted` is false. Only the owner or the RS.
fn update(shared: &Shared, req: &Req, caller: &TokenInfo) -> Outcome<Response<KitBody>> {
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let invalid = || oauth_error(400, "invalid_request", Some("invalid_ticket"));
    let id = body["id"].as_str().ok_or_else(invalid)?;
    let mut inner = shared.inner();
    let ticket = inner.permission_tickets.get(id).ok_or_else(invalid)?;
    if ticket.owner != caller.subject.sub() && !is_resource_server(shared, caller) {
        let resource = body["resource"].as_str().unwrap_or("null");
        return Err(oauth_error(
            403,
            "not_authorised",
            Some(&format!(
                "permissions for [{resource}] can be updated only by the owner or by the resource server"
            )),
        ));
    }
    if body["granted"].as_bool() == Some(true) {
        if let Some(t) = inner.permission_tickets.get_mut(id) {
            t.granted = true;
        }
        // Make sure the scope has its id, as a granted ticket names it.
        let scope = inner.permission_tickets[id].scope.clone();
        scope_id(&mut inner, &shared.minter, &scope);
    } else {
        inner.permission_tickets.remove(id);
    }
    Ok(empty(204))
}

/// `DELETE …/ticket/{id}`: the owner, the requester or the RS.
fn delete(shared: &Shared, id: &str, caller: &TokenInfo) -> Outcome<Response<KitBody>> {
    let mut inner = shared.inner();
    let invalid = || oauth_error(400, "invalid_request", Some("invalid_ticket"));
    let ticket = inner.permission_tickets.get(id).ok_or_else(invalid)?;
    let who = caller.subject.sub();
    if ticket.owner != who && ticket.requester != who && !is_resource_server(shared, caller) {
        return Err(oauth_error(
            403,
            "not_authorised",
            Some(&format!(
                "permissions for [{}] can be deleted only by the owner, the requester, or the resource server",
                ticket.resource
            )),
        ));
    }
    inner.permission_tickets.remove(id);
    Ok(empty(204))
}
