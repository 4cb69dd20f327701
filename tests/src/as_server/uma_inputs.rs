//! Inputs of the UMA grant: the ticket or Keycloak's ticketless permissions, the `scope`
//! parameter, pushed claim tokens, the PCT and the RPT to upgrade (docs/protocol.md §3.1, §5).

use std::collections::BTreeSet;

use http::Response;
use serde_json::Value;

use crate::config::{ID_TOKEN_FORMAT, JWT_CLAIMS_FORMAT};
use crate::http::{KitBody, oauth_error};
use crate::routing::Req;
use crate::state::{Perms, RptInfo, Shared};
use crate::tokens::{b64decode, decode_jwt_payload, now_unix};

type Outcome<T> = Result<T, Response<KitBody>>;

/// Pushed claims: the identity they name (ID tokens) and the claim names/values.
#[derive(Debug, Default)]
pub(super) struct Pushed {
    pub(super) user: Option<String>,
    pub(super) claims: Vec<(String, String)>,
}

pub(super) fn keycloak_ticket(shared: &Shared, ticket: &str) -> Outcome<Perms> {
    let Some(claims) = shared.minter.verify(ticket) else {
        return Err(oauth_error(
            403,
            "invalid_ticket",
            Some("Ticket verification failed"),
        ));
    };
    if claims["exp"].as_u64().is_none_or(|exp| exp < now_unix()) {
        return Err(oauth_error(
            403,
            "invalid_ticket",
            Some("Invalid permission ticket."),
        ));
    }
    let mut perms = Perms::new();
    for p in claims["permissions"].as_array().into_iter().flatten() {
        let Some(rid) = p["rsid"].as_str() else {
            continue;
        };
        let scopes = p["scopes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string);
        perms.entry(rid.to_string()).or_default().extend(scopes);
    }
    Ok(perms)
}

/// Keycloak's `audience` + `permission=RES#s1,s2` request (docs/protocol.md §2.9, §3.2).
pub(super) fn ticketless_permissions(shared: &Shared, req: &Req) -> Outcome<Perms> {
    let Some(aud) = req.form("audience") else {
        return Err(oauth_error(
            400,
            "invalid_request",
            Some("You must provide the issuedFor"),
        ));
    };
    if aud != shared.cfg.resource_server_client {
        return Err(oauth_error(
            400,
            "invalid_request",
            Some(&format!("Unknown resource server id: [{aud}]")),
        ));
    }
    let inner = shared.inner();
    let mut perms = Perms::new();
    let asked = req.form_all("permission");
    if asked.is_empty() {
        for r in inner.resources.values() {
            perms.insert(r.id.clone(), r.scopes.iter().cloned().collect());
        }
        return Ok(perms);
    }
    for p in asked {
        let (res, scopes) = p.split_once('#').unwrap_or((p, ""));
        let scopes: Vec<&str> = scopes.split(',').filter(|s| !s.is_empty()).collect();
        if res.is_empty() {
            for r in inner.resources.values() {
                let hit: BTreeSet<String> = scopes
                    .iter()
                    .filter(|s| r.scopes.iter().any(|x| x == *s))
                    .map(|s| s.to_string())
                    .collect();
                if !hit.is_empty() {
                    perms.entry(r.id.clone()).or_default().extend(hit);
                }
            }
            continue;
        }
        let Some(r) = inner
            .resources
            .values()
            .find(|r| r.id == res || r.name == res)
        else {
            return Err(oauth_error(
                400,
                "invalid_resource",
                Some(&format!("Resource with id [{res}] does not exist.")),
            ));
        };
        let entry = perms.entry(r.id.clone()).or_default();
        if scopes.is_empty() {
            entry.extend(r.scopes.iter().cloned());
        }
        for s in scopes {
            if !r.scopes.iter().any(|x| x == s) {
                return Err(oauth_error(
                    400,
                    "invalid_scope",
                    Some(&format!("One of the given scopes [{s}] is invalid")),
                ));
            }
            entry.insert(s.to_string());
        }
    }
    if perms.is_empty() {
        return Err(oauth_error(403, "access_denied", Some("not_authorized")));
    }
    Ok(perms)
}

pub(super) fn add_scope_param(shared: &Shared, req: &Req, requested: &mut Perms) -> Outcome<()> {
    let Some(scope) = req.form("scope") else {
        return Ok(());
    };
    let inner = shared.inner();
    for s in scope.split(' ').filter(|s| !s.is_empty()) {
        if shared.is_gluu() && s == "openid" {
            // EOEPCA clients add scope=openid (docs/protocol.md §2.5 c); oxAuth knows it.
            continue;
        }
        let mut matched = false;
        for (rid, scopes) in requested.iter_mut() {
            if inner
                .resources
                .get(rid)
                .is_some_and(|r| r.scopes.iter().any(|x| x == s))
            {
                scopes.insert(s.to_string());
                matched = true;
            }
        }
        if !matched {
            let desc = format!("One of the given scopes [{s}] is invalid");
            return Err(oauth_error(400, "invalid_scope", Some(&desc)));
        }
    }
    Ok(())
}

pub(super) fn pushed_claims(
    shared: &Shared,
    req: &Req,
    has_ticket: bool,
    is_public: bool,
) -> Outcome<Pushed> {
    let kc = shared.is_keycloak();
    let gluu = shared.is_gluu();
    let token = req.form("claim_token");
    let format = req.form("claim_token_format");
    let Some(token) = token else {
        if format.is_some() && gluu {
            return Err(oauth_error(
                400,
                "invalid_claim_token",
                Some("claim_token is missing"),
            ));
        }
        return Ok(Pushed::default());
    };
    if kc && is_public && !has_ticket {
        return Err(oauth_error(
            403,
            "invalid_grant",
            Some("Public clients are not allowed to send claims"),
        ));
    }
    let format = match format {
        Some(f) => f,
        // Keycloak assumes the ID-token format when none is given (docs/protocol.md §3.1).
        None if kc => ID_TOKEN_FORMAT,
        None if gluu => return Err(oauth_error(400, "invalid_claim_token_format", None)),
        None => {
            return Err(oauth_error(
                400,
                "invalid_request",
                Some("claim_token_format is required with claim_token"),
            ));
        }
    };
    if format == ID_TOKEN_FORMAT {
        // Gluu only parses the JWT (umaValidateClaimToken=false, §5.1); the others check it.
        let claims = if gluu {
            decode_jwt_payload(token)
        } else {
            shared.minter.verify(token)
        };
        let Some(claims) = claims else {
            return Err(if gluu {
                oauth_error(400, "invalid_claim_token", None)
            } else if kc {
                oauth_error(400, "unauthorized_client", Some("Invalid identity"))
            } else {
                oauth_error(
                    400,
                    "invalid_grant",
                    Some("claim token is not a valid ID token"),
                )
            });
        };
        return Ok(Pushed {
            user: claims["sub"].as_str().map(str::to_string),
            claims: string_members(&claims),
        });
    }
    if format == JWT_CLAIMS_FORMAT && !gluu {
        let parsed: Option<Value> = b64decode(token).and_then(|b| serde_json::from_slice(&b).ok());
        let Some(Value::Object(map)) = parsed else {
            return Err(oauth_error(400, "invalid_request", Some("Invalid claims")));
        };
        let claims = map
            .iter()
            .filter_map(|(k, v)| {
                let first = v.as_array().and_then(|a| a.first()).unwrap_or(v);
                first.as_str().map(|s| (k.clone(), s.to_string()))
            })
            .collect();
        return Ok(Pushed { user: None, claims });
    }
    Err(if gluu {
        oauth_error(400, "invalid_claim_token_format", None)
    } else {
        oauth_error(
            400,
            "invalid_request",
            Some(&format!("Claim token format [{format}] not supported")),
        )
    })
}

pub(super) fn string_members(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn pct_user(shared: &Shared, req: &Req) -> Outcome<Option<String>> {
    if shared.is_keycloak() {
        return Ok(None); // parsed but unused (docs/protocol.md §3.1)
    }
    let Some(pct) = req.form("pct") else {
        return Ok(None);
    };
    let user = shared.inner().pcts.get(pct).map(|p| p.username.clone());
    match user {
        Some(u) => Ok(Some(u)),
        None if shared.is_gluu() => Err(oauth_error(401, "invalid_pct", Some("Invalid PCT"))),
        None => Ok(None),
    }
}

pub(super) fn old_rpt(shared: &Shared, req: &Req) -> Outcome<Option<(String, RptInfo)>> {
    let Some(rpt) = req.form("rpt") else {
        return Ok(None);
    };
    let info = shared.inner().rpts.get(rpt).cloned();
    match info {
        Some(i) if shared.is_gluu() && !i.active() => {
            Err(oauth_error(400, "invalid_rpt", Some("RPT is expired")))
        }
        Some(i) => Ok(Some((rpt.to_string(), i))),
        None if shared.is_gluu() => Err(oauth_error(400, "invalid_rpt", Some("Invalid RPT"))),
        // Keycloak checks only the signature: any realm-signed token, such as the user's own access
        // token (which the Python peer sends as `rpt`), passes and contributes no permissions.
        None if shared.is_keycloak() && shared.inner().tokens.contains_key(rpt) => Ok(None),
        None if shared.is_keycloak() => Err(oauth_error(
            403,
            "invalid_rpt",
            Some("RPT signature is invalid"),
        )),
        None => Ok(None),
    }
}
