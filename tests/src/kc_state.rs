//! Keycloak-only state: permission tickets (owner-managed access requests, docs/protocol.md §4 and
//! keycloak-real.md §4), scope ids, and the issuer Keycloak derives from each request's Host.

use serde_json::{Value, json};

use crate::routing::Req;
use crate::state::{Inner, Shared};
use crate::tokens::Minter;

/// One Keycloak permission ticket: a requester's access request for one scope of an
/// owner-managed resource, pending until the owner (or the RS) grants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermTicket {
    /// Ticket id.
    pub id: String,
    /// The resource owner (user id).
    pub owner: String,
    /// The resource id.
    pub resource: String,
    /// The scope name (its id comes from [`scope_id`]).
    pub scope: String,
    /// Whether the owner approved it.
    pub granted: bool,
    /// The requesting party (user id, or the client id of a service account).
    pub requester: String,
}

/// The id of scope `name`, made on first use (Keycloak scopes have UUIDs).
pub fn scope_id(inner: &mut Inner, minter: &Minter, name: &str) -> String {
    inner
        .scope_ids
        .entry(name.to_string())
        .or_insert_with(|| minter.uuid())
        .clone()
}

/// The scope name of `id_or_name` (an id made by [`scope_id`], or already a name).
pub fn scope_name(inner: &Inner, id_or_name: &str) -> String {
    inner
        .scope_ids
        .iter()
        .find(|(_, id)| id.as_str() == id_or_name)
        .map(|(n, _)| n.clone())
        .unwrap_or_else(|| id_or_name.to_string())
}

/// The ticket's wire form (`PermissionTicketRepresentation`), with names when `names`.
pub fn ticket_view(inner: &mut Inner, minter: &Minter, t: &PermTicket, names: bool) -> Value {
    let mut v = json!({
        "id": t.id,
        "owner": t.owner,
        "resource": t.resource,
        "scope": scope_id(inner, minter, &t.scope),
        "granted": t.granted,
        "requester": t.requester,
    });
    if names {
        v["ownerName"] = json!(t.owner);
        v["resourceName"] = json!(inner.resources.get(&t.resource).map(|r| r.name.clone()));
        v["scopeName"] = json!(t.scope);
        v["requesterName"] = json!(t.requester);
    }
    v
}

/// Whether `host` is a plausible `Host` header value (`name[:port]` or `[v6]:port`).
fn plausible_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
}

/// The AS origin the request addressed: Keycloak (start-dev without `--hostname`) builds every URL
/// from the Host header; the other dialects always answer with the configured origin.
pub fn request_base(shared: &Shared, req: &Req) -> String {
    if !shared.is_keycloak() {
        return shared.urls.as_base.clone();
    }
    match req.header("host").map(str::trim) {
        Some(host) if plausible_host(host) => {
            let scheme = shared
                .urls
                .as_base
                .split_once("://")
                .map_or("http", |(s, _)| s);
            format!("{scheme}://{host}")
        }
        _ => shared.urls.as_base.clone(),
    }
}

/// The issuer as this request sees it (Keycloak: from its Host header).
pub fn request_issuer(shared: &Shared, req: &Req) -> String {
    format!("{}{}", request_base(shared, req), shared.paths.issuer)
}
