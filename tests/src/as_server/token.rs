//! The token endpoint: `client_credentials`, `password`, `refresh_token`, and dispatch of the UMA
//! grant to [`super::uma`].

use http::Response;
use serde_json::{Value, json};

use super::client_auth::{Caller, authenticate};
use super::uma;
use crate::config::UMA_GRANT;
use crate::http::{KitBody, json, oauth_error};
use crate::kc_state::request_issuer;
use crate::routing::Req;
use crate::state::{KC_DEFAULT_SCOPE, REFRESH_LIFETIME_SECS, RefreshInfo, Shared, Subject, secs};

/// `POST token_endpoint`.
pub fn token_endpoint(shared: &Shared, req: &Req) -> Response<KitBody> {
    if req.method != "POST" {
        return oauth_error(405, "invalid_request", Some("POST only"));
    }
    let grant = req.form("grant_type");
    // oxAuth enters the UMA path whenever `ticket` is present, then rejects the grant type with
    // the wrong code (docs/protocol.md §3.1).
    if shared.is_gluu() && req.form("ticket").is_some() && grant != Some(UMA_GRANT) {
        return oauth_error(400, "invalid_resource_id", Some("Invalid grant type"));
    }
    match grant {
        Some(UMA_GRANT) => uma::grant(shared, req),
        Some("client_credentials") => client_credentials(shared, req),
        Some("password") => password(shared, req),
        Some("refresh_token") => refresh(shared, req),
        Some(_) => oauth_error(400, "unsupported_grant_type", None),
        None => oauth_error(400, "invalid_request", Some("grant_type is required")),
    }
}

fn client_credentials(shared: &Shared, req: &Req) -> Response<KitBody> {
    let client = match authenticate(shared, req, false) {
        Ok(Caller::Client(c)) => c,
        Ok(Caller::User(_)) => return oauth_error(400, "unauthorized_client", None),
        Err(resp) => return resp,
    };
    if client.secret.is_none() {
        return oauth_error(
            400,
            "unauthorized_client",
            Some("public clients cannot use client_credentials"),
        );
    }
    let scope = req.form("scope").unwrap_or_default().to_string();
    // Gluu: a PAT must be requested with scope uma_protection (docs/protocol.md §9.1).
    let protection =
        client.protection && (!shared.is_gluu() || scope.split(' ').any(|s| s == "uma_protection"));
    let token = shared.issue_access_token(
        &request_issuer(shared, req),
        Subject::Client(client.client_id.clone()),
        &client.client_id,
        protection,
    );
    let mut body = json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": secs(shared.cfg.access_token_lifetime),
        "scope": if protection && scope.is_empty() { "uma_protection".to_string() } else { scope },
    });
    if shared.is_keycloak() {
        body["refresh_expires_in"] = json!(0);
        body["not-before-policy"] = json!(0);
    }
    json(200, &body)
}

/// The scope a Keycloak login answers: the requested scopes and the default client scopes.
fn kc_scope(requested: &str) -> String {
    let mut scopes: Vec<&str> = requested.split(' ').filter(|s| !s.is_empty()).collect();
    for s in KC_DEFAULT_SCOPE.split(' ') {
        if !scopes.contains(&s) {
            scopes.push(s);
        }
    }
    scopes.join(" ")
}

/// Keycloak's members of a user token or refreshed-RPT answer: `refresh_expires_in`,
/// `not-before-policy`, `session_state` and `scope`.
fn kc_members(body: &mut Value, session: &str, scope: &str, refresh: bool) {
    let refresh_expires_in = if refresh { REFRESH_LIFETIME_SECS } else { 0 };
    body["refresh_expires_in"] = json!(refresh_expires_in);
    body["not-before-policy"] = json!(0);
    body["session_state"] = json!(session);
    body["scope"] = json!(kc_scope(scope));
}

fn user_token_response(
    shared: &Shared,
    req: &Req,
    username: &str,
    client_id: &str,
    scope: &str,
    session: Option<String>,
) -> Response<KitBody> {
    let issuer = request_issuer(shared, req);
    let token = shared.issue_access_token(
        &issuer,
        Subject::User(username.to_string()),
        client_id,
        false,
    );
    let mut body = json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": secs(shared.cfg.access_token_lifetime),
    });
    if !scope.is_empty() {
        body["scope"] = Value::String(scope.to_string());
    }
    // Keycloak: a login opens a user session; a refresh stays in it.
    let session = session.unwrap_or_else(|| shared.minter.uuid());
    if shared.cfg.refresh_tokens {
        body["refresh_token"] = Value::String(shared.issue_refresh(
            &issuer,
            RefreshInfo::User {
                username: username.to_string(),
                client_id: client_id.to_string(),
                session: session.clone(),
            },
        ));
    }
    if shared.is_keycloak() {
        kc_members(&mut body, &session, scope, shared.cfg.refresh_tokens);
    }
    if scope.split(' ').any(|s| s == "openid") {
        body["id_token"] = Value::String(shared.id_token_for(username));
    }
    json(200, &body)
}

fn password(shared: &Shared, req: &Req) -> Response<KitBody> {
    let client = match authenticate(shared, req, false) {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let user = req.form("username").unwrap_or_default();
    let pass = req.form("password").unwrap_or_default();
    let known = shared
        .cfg
        .users
        .iter()
        .any(|u| u.username == user && u.password == pass);
    if !known {
        // Keycloak before 26.6 (seen on 26.4.7) answers 401.
        let status = if shared.is_keycloak() && !shared.keycloak_since((26, 6)) {
            401
        } else {
            400
        };
        return oauth_error(status, "invalid_grant", Some("Invalid user credentials"));
    }
    user_token_response(
        shared,
        req,
        user,
        client.client_id(),
        req.form("scope").unwrap_or_default(),
        None,
    )
}

fn refresh(shared: &Shared, req: &Req) -> Response<KitBody> {
    let caller = match authenticate(shared, req, false) {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let Some(rt) = req.form("refresh_token") else {
        return oauth_error(400, "invalid_request", Some("refresh_token is required"));
    };
    let info = shared.inner().refresh.get(rt).cloned();
    let Some(info) = info else {
        return oauth_error(400, "invalid_grant", Some("Invalid refresh token"));
    };
    if info.client_id() != caller.client_id() {
        return oauth_error(
            400,
            "invalid_grant",
            Some("Token client and authorized client don't match"),
        );
    }
    // Refresh tokens rotate (RFC 6749 §6: the client replaces it with the new one).
    shared.inner().refresh.remove(rt);
    match info {
        RefreshInfo::User {
            username,
            client_id,
            session,
        } => user_token_response(shared, req, &username, &client_id, "", Some(session)),
        RefreshInfo::Rpt {
            perms,
            client_id,
            subject,
            session,
        } => {
            // UMAG §3.6: no re-assessment; permissions carry over.
            let iss = request_issuer(shared, req);
            let (rpt, _) =
                shared.issue_refreshed_rpt(&iss, perms.clone(), &client_id, subject.clone());
            let new_rt = shared.issue_refresh(
                &iss,
                RefreshInfo::Rpt {
                    perms,
                    client_id,
                    subject,
                    session: session.clone(),
                },
            );
            let mut body = json!({
                "access_token": rpt,
                "token_type": "Bearer",
                "refresh_token": new_rt,
            });
            if let Some(l) = shared.cfg.rpt_lifetime {
                body["expires_in"] = json!(secs(l));
            }
            if shared.is_keycloak() {
                // Keycloak answers a refreshed RPT like any refreshed token (no `upgraded`).
                kc_members(&mut body, &session, "", true);
            }
            json(200, &body)
        }
    }
}
