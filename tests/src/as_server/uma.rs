//! The UMA grant (`urn:ietf:params:oauth:grant-type:uma-ticket`) in three dialects
//! (docs/protocol.md §3, §4, §5, §6).

use std::collections::BTreeSet;
use std::time::Instant;

use http::Response;
use serde_json::{Value, json};

use super::client_auth::{Caller, authenticate};
use super::uma_inputs::{
    add_scope_param, keycloak_ticket, old_rpt, pct_user, pushed_claims, ticketless_permissions,
};
use super::uma_policy;
use crate::config::ID_TOKEN_FORMAT;
use crate::http::{KitBody, json, oauth_error};
use crate::kc_state::request_issuer;
use crate::routing::Req;
use crate::state::{PctInfo, Perms, REFRESH_LIFETIME_SECS, RefreshInfo, Shared, Subject, secs};

type Outcome<T> = Result<T, Response<KitBody>>;

/// `grant_type=urn:ietf:params:oauth:grant-type:uma-ticket`.
pub fn grant(shared: &Shared, req: &Req) -> Response<KitBody> {
    match run(shared, req) {
        Ok(resp) | Err(resp) => resp,
    }
}

fn run(shared: &Shared, req: &Req) -> Outcome<Response<KitBody>> {
    let kc = shared.is_keycloak();
    let gluu = shared.is_gluu();
    let caller = authenticate(shared, req, kc)?;
    let client_id = caller.client_id().to_string();
    if kc {
        public_client_needs_identity(req, &caller)?;
    }
    let ticket = req.form("ticket");
    if kc {
        if let Some(mode) = req.form("response_mode") {
            if mode != "decision" && mode != "permissions" {
                return Err(oauth_error(
                    400,
                    "invalid_request",
                    Some("Invalid response_mode"),
                ));
            }
        }
    }

    // 1. What is being asked for, and any identity gathered interactively for this process.
    let (mut requested, gathered, rs_user) = match ticket {
        Some(t) if kc => (keycloak_ticket(shared, t)?, None, None),
        Some(t) => {
            // Spec and Gluu: presenting a ticket spends it (UMAG §5.5).
            let info = shared.inner().tickets.remove(t);
            match info {
                Some(i) if Instant::now() < i.expires => (i.perms, i.gathered_user, i.rs_user),
                _ if gluu => {
                    return Err(oauth_error(400, "invalid_ticket", Some("Invalid ticket")));
                }
                _ => {
                    return Err(oauth_error(
                        400,
                        "invalid_grant",
                        Some("unknown or expired ticket"),
                    ));
                }
            }
        }
        None if kc => (ticketless_permissions(shared, req)?, None, None),
        None if gluu => return Err(oauth_error(400, "invalid_ticket", Some("ticket is blank"))),
        None => {
            return Err(oauth_error(
                400,
                "invalid_request",
                Some("ticket is required"),
            ));
        }
    };

    // 2. Extra scopes (UMAG §3.3.4): merged into every resource that has them.
    add_scope_param(shared, req, &mut requested)?;
    if requested.values().all(BTreeSet::is_empty) && gluu {
        return Err(oauth_error(400, "invalid_scope", Some("no scopes")));
    }

    // 3. Pushed claims, PCT, RPT to upgrade.
    let is_public = matches!(&caller, Caller::Client(c) if c.secret.is_none());
    let pushed = pushed_claims(shared, req, ticket.is_some(), is_public)?;
    let pct_user = pct_user(shared, req)?;
    let old_rpt = old_rpt(shared, req)?;

    // 4. Identity: Bearer user > pushed ID token > PCT > gathered > the user whose access token the RS
    //    saw > the client itself.
    let subject = match &caller {
        Caller::User(t) => t.subject.clone(),
        Caller::Client(_) => pushed
            .user
            .clone()
            .or_else(|| pct_user.clone())
            .or_else(|| gathered.clone())
            .or_else(|| rs_user.clone())
            .map(Subject::User)
            .unwrap_or_else(|| Subject::Client(client_id.clone())),
    };

    // 5. Policy: required claim.
    let knobs = shared.knobs();
    if let Some(claim) = &knobs.required_claim {
        let satisfied = pushed.claims.iter().any(|(n, _)| n == &claim.name)
            || pct_user.is_some()
            || gathered.is_some();
        if !satisfied {
            if kc {
                // Keycloak has no need_info (docs/protocol.md §4.2).
                return Err(oauth_error(403, "access_denied", Some("not_authorized")));
            }
            let new_ticket = shared.mint_ticket(&requested, gathered.clone(), rs_user.clone());
            let mut body = json!({
                "error": "need_info",
                "ticket": new_ticket,
                "required_claims": [{
                    "claim_token_format": [ID_TOKEN_FORMAT],
                    "claim_type": claim.claim_type,
                    "friendly_name": claim.friendly_name,
                    "issuer": [shared.issuer()],
                    "name": claim.name,
                }],
            });
            if let Some(path) = &shared.paths.claims {
                let q = serde_urlencoded::to_string([
                    ("client_id", client_id.as_str()),
                    ("ticket", new_ticket.as_str()),
                ])
                .unwrap_or_default();
                body["redirect_user"] = Value::String(format!("{}{path}?{q}", shared.urls.as_base));
            }
            if gluu {
                body["error_description"] = json!(
                    "The authorization server needs additional information in order to determine whether the client is authorized to have these permissions."
                );
            }
            return Err(json(403, &body));
        }
    }

    // 6. Policy: per-user denied scopes; Keycloak's owner-managed resources.
    let denied = uma_policy::denied(shared, &subject, &requested);
    let partial_allowed = kc && ticket.is_none() && old_rpt.is_none();
    if !denied.is_empty() && partial_allowed {
        // Keycloak without ticket and rpt issues a partial RPT (docs/protocol.md §2.9).
        for (rid, scopes) in requested.iter_mut() {
            if let Some(no) = denied.get(rid) {
                scopes.retain(|s| !no.contains(s));
            }
        }
        requested.retain(|_, s| !s.is_empty());
        if requested.is_empty() {
            return Err(oauth_error(403, "access_denied", Some("not_authorized")));
        }
    } else if !denied.is_empty() {
        return Err(if kc {
            let submitted = ticket.is_some() && req.form("submit_request") != Some("false");
            let desc = if submitted {
                // Owner-managed resources keep the request for the owner to approve.
                uma_policy::record_requests(shared, &subject, &denied);
                "request_submitted"
            } else {
                "not_authorized"
            };
            oauth_error(403, "access_denied", Some(desc))
        } else if gluu {
            oauth_error(
                403,
                "forbidden_by_policy",
                Some("Forbidden by policy (policy method returned 'false')."),
            )
        } else {
            oauth_error(403, "request_denied", None)
        });
    }

    // 7. Policy: owner approval after N polls (not in Gluu's code path, §5.5).
    if let (Some(n), false) = (knobs.approve_after_polls, gluu) {
        let key = format!("{}|{:?}", subject.sub(), requested);
        let polls = {
            let mut inner = shared.inner();
            let entry = inner.approval_polls.entry(key).or_insert(0);
            *entry += 1;
            *entry
        };
        if polls <= n {
            return Err(if kc {
                oauth_error(403, "access_denied", Some("request_submitted"))
            } else {
                json(
                    403,
                    &json!({
                        "error": "request_submitted",
                        "ticket": shared.mint_ticket(&requested, gathered.clone(), rs_user.clone()),
                        "interval": shared.cfg.policy.poll_interval,
                    }),
                )
            });
        }
    }

    // 8. Grant.
    if kc {
        match req.form("response_mode") {
            Some("decision") => return Ok(json(200, &json!({"result": true}))),
            Some("permissions") => return Ok(json(200, &permissions_view(shared, &requested))),
            _ => {}
        }
    }
    Ok(issue(
        shared,
        req,
        requested,
        old_rpt,
        subject,
        &client_id,
        pushed.user.is_some() || pct_user.is_some() || gathered.is_some(),
    ))
}

fn issue(
    shared: &Shared,
    req: &Req,
    requested: Perms,
    old_rpt: Option<(String, crate::state::RptInfo)>,
    subject: Subject,
    client_id: &str,
    party_known: bool,
) -> Response<KitBody> {
    let kc = shared.is_keycloak();
    let gluu = shared.is_gluu();
    let mut body;
    if gluu {
        // In-place upgrade: same string, permissions added (docs/protocol.md §6).
        let (token, upgraded) = match old_rpt {
            Some((token, _)) => {
                let mut inner = shared.inner();
                let mut added = false;
                if let Some(info) = inner.rpts.get_mut(&token) {
                    for (rid, scopes) in requested {
                        let entry = info.perms.entry(rid).or_default();
                        for s in scopes {
                            added |= entry.insert(s);
                        }
                    }
                }
                (token, added)
            }
            None => (
                shared
                    .issue_rpt(&shared.issuer(), requested, client_id, subject.clone())
                    .0,
                false,
            ),
        };
        let pct = pct_for(shared, req, &subject);
        body = json!({"access_token": token, "token_type": "Bearer", "pct": pct, "upgraded": upgraded});
        return json(200, &body);
    }
    let mut perms = requested;
    let mut upgraded = false;
    if let Some((old_token, old)) = &old_rpt {
        // Keycloak merges only an active RPT; the spec allows an expired one (§6).
        if !kc || old.active() {
            for (rid, scopes) in &old.perms {
                perms
                    .entry(rid.clone())
                    .or_default()
                    .extend(scopes.iter().cloned());
            }
        }
        upgraded = old
            .perms
            .iter()
            .all(|(rid, scopes)| perms.get(rid).is_some_and(|s| s.is_superset(scopes)));
        if upgraded && !kc {
            // UMAG §3.3.5.1: the AS SHOULD revoke the old RPT after an upgrade.
            shared.inner().rpts.remove(old_token);
        }
    }
    let iss = request_issuer(shared, req);
    let (token, _) = shared.issue_rpt(&iss, perms.clone(), client_id, subject.clone());
    body = json!({"access_token": token, "token_type": "Bearer"});
    if let Some(l) = shared.cfg.rpt_lifetime {
        body["expires_in"] = json!(secs(l));
    }
    if shared.cfg.refresh_tokens {
        let info = RefreshInfo::Rpt {
            perms,
            client_id: client_id.to_string(),
            subject: subject.clone(),
            session: shared.minter.uuid(),
        };
        body["refresh_token"] = Value::String(shared.issue_refresh(&iss, info));
        if kc {
            body["refresh_expires_in"] = json!(REFRESH_LIFETIME_SECS);
        }
    }
    if kc {
        body["not-before-policy"] = json!(0);
        body["upgraded"] = json!(upgraded);
    } else {
        if old_rpt.is_some() {
            body["upgraded"] = json!(upgraded);
        }
        if party_known {
            body["pct"] = Value::String(pct_for(shared, req, &subject));
        }
    }
    json(200, &body)
}

/// Keycloak: without a Bearer user token the grant needs client authentication and acts as the
/// client's service account, which a public client does not have; only an ID token pushed as
/// `claim_token` (the default format) names a party instead (keycloak-real.md §4, identity rules).
fn public_client_needs_identity(req: &Req, caller: &Caller) -> Outcome<()> {
    let public = matches!(caller, Caller::Client(c) if c.secret.is_none());
    let id_token_pushed = req.form("claim_token").is_some()
        && req
            .form("claim_token_format")
            .is_none_or(|f| f == ID_TOKEN_FORMAT);
    if public && !id_token_pushed {
        return Err(oauth_error(
            401,
            "unauthorized_client",
            Some("Public client not allowed to retrieve service account"),
        ));
    }
    Ok(())
}

/// The PCT to return: the one sent if still valid, else a new one for the party.
fn pct_for(shared: &Shared, req: &Req, subject: &Subject) -> String {
    if let Some(p) = req.form("pct") {
        if shared.inner().pcts.contains_key(p) {
            return p.to_string();
        }
    }
    let pct = shared.minter.opaque("pct-");
    shared.inner().pcts.insert(
        pct.clone(),
        PctInfo {
            username: subject.sub().to_string(),
        },
    );
    pct
}

fn permissions_view(shared: &Shared, perms: &Perms) -> Value {
    let inner = shared.inner();
    Value::Array(
        perms
            .iter()
            .map(|(rid, scopes)| {
                let name = inner
                    .resources
                    .get(rid)
                    .map(|r| r.name.clone())
                    .unwrap_or_default();
                json!({"rsid": rid, "rsname": name, "scopes": scopes})
            })
            .collect(),
    )
}
