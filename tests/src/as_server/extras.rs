//! Claims interaction (UMAG §3.3.2–§3.3.3) and dynamic client registration (RFC 7591).

use http::Response;
use serde_json::{Value, json};

use crate::config::ClientReg;
use crate::http::{KitBody, empty, json, oauth_error, set_header};
use crate::routing::Req;
use crate::state::Shared;

/// The claims interaction endpoint. A real AS shows the requesting party a login page; the kit
/// authenticates them at once as the `user` query parameter (default: the first configured
/// user), rotates the ticket, and redirects back to the client's claims redirect URI with the new
/// ticket and the `state`.
pub fn claims_interaction(shared: &Shared, req: &Req) -> Response<KitBody> {
    let mut params = req.query_pairs();
    params.extend(req.form.iter().cloned());
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    let Some(client) = get("client_id").and_then(|id| shared.client(&id)) else {
        // With a bad client the AS shows an error page and does not redirect (UMAG §3.3.3).
        return oauth_error(400, "invalid_client", Some("unknown client_id"));
    };
    let redirect = match get("claims_redirect_uri") {
        Some(uri)
            if client.claims_redirect_uris.is_empty()
                || client.claims_redirect_uris.contains(&uri) =>
        {
            uri
        }
        None if client.claims_redirect_uris.len() == 1 => client.claims_redirect_uris[0].clone(),
        _ => return oauth_error(400, "invalid_claims_redirect_uri", None),
    };
    let sep = if redirect.contains('?') { '&' } else { '?' };
    let state = get("state");
    let mut back: Vec<(String, String)> = Vec::new();
    let ticket = get("ticket").unwrap_or_default();
    let old = if shared.is_keycloak() {
        None
    } else {
        shared.inner().tickets.remove(&ticket)
    };
    match old {
        Some(info) => {
            let user = get("user")
                .or_else(|| shared.cfg.users.first().map(|u| u.username.clone()))
                .unwrap_or_default();
            let ticket = shared.mint_ticket(&info.perms, Some(user), info.rs_user);
            back.push(("ticket".into(), ticket));
        }
        None => {
            let code = if shared.is_gluu() {
                "invalid_ticket"
            } else {
                "invalid_grant"
            };
            back.push(("error".into(), code.into()));
        }
    }
    if let Some(s) = state {
        back.push(("state".into(), s));
    }
    let q = serde_urlencoded::to_string(&back).unwrap_or_default();
    let mut resp = empty(302);
    set_header(&mut resp, "location", &format!("{redirect}{sep}{q}"));
    resp
}

/// `POST registration_endpoint` with RFC 7591 client metadata.
pub fn client_registration(shared: &Shared, req: &Req) -> Response<KitBody> {
    if req.method != "POST" {
        return oauth_error(405, "invalid_request", None);
    }
    let Ok(Value::Object(mut meta)) = serde_json::from_slice::<Value>(&req.body) else {
        return oauth_error(
            400,
            "invalid_client_metadata",
            Some("body must be a JSON object"),
        );
    };
    let public = meta
        .get("token_endpoint_auth_method")
        .and_then(Value::as_str)
        == Some("none");
    let client_id = shared.minter.opaque("dyn-");
    let secret = (!public).then(|| shared.minter.opaque("sec-"));
    let claims_redirect_uris: Vec<String> = meta
        .get("claims_redirect_uris")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    shared.inner().clients.push(ClientReg {
        client_id: client_id.clone(),
        secret: secret.clone(),
        protection: false,
        claims_redirect_uris,
    });
    meta.insert("client_id".into(), json!(client_id));
    meta.insert(
        "client_id_issued_at".into(),
        json!(crate::tokens::now_unix()),
    );
    if let Some(s) = secret {
        meta.insert("client_secret".into(), json!(s));
        meta.insert("client_secret_expires_at".into(), json!(0));
    }
    json(201, &Value::Object(meta))
}
