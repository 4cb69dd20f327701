//! The resource server: resources by path prefix, scopes per method, RPT validation against the
//! AS state, and challenges in the configured style (docs/protocol.md §2.3, §8.4).

use std::sync::Arc;

use http::Response;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use serde_json::json;

use crate::config::{ChallengeStyle, ResourceDef};
use crate::eoepca;
use crate::faults::GrantedBody;
use crate::http::{BodyMeter, Fill, KitBody, append_header, empty, json, set_header, status_body};
use crate::routing::Req;
use crate::state::Shared;

/// Longest registered path prefix, matched on whole segments: the configured resources and, in the
/// Gluu dialect, those registered through the PEP resource API.
fn find(shared: &Shared, path: &str) -> Option<ResourceDef> {
    let covers = |r: &str| {
        let p = r.trim_end_matches('/');
        path == p || path.starts_with(&format!("{p}/")) || p.is_empty()
    };
    let registered: Vec<ResourceDef> = shared
        .inner()
        .pep_resources
        .values()
        .filter(|r| covers(&r.path))
        .map(eoepca::PepStored::as_resource_def)
        .collect();
    shared
        .cfg
        .resources
        .iter()
        .filter(|r| covers(&r.path))
        .cloned()
        .chain(registered)
        .max_by_key(|r| r.path.len())
}

/// Whether the RS would refuse `req` for want of an acceptable token (a challenge, or a
/// ticketless 401/403), judged from its head alone and without consuming an RPT use: the same
/// decisions as [`handle`], taken before the body is read.
pub fn refuses_without_token(shared: &Shared, req: &Req) -> bool {
    if shared.is_gluu() && eoepca::serves(&req.path) {
        return false;
    }
    let knobs = shared.knobs();
    if knobs.require_user_id && eoepca::identity(shared, req.header("x-user-id")).is_none() {
        return true;
    }
    let Some(res) = find(shared, &req.path) else {
        return false;
    };
    let Some(scope) = res.scope_for(&req.method) else {
        return false;
    };
    if scope == "open" {
        return false;
    }
    if knobs.rs_always_401 {
        return true;
    }
    !req.bearer()
        .is_some_and(|token| shared.rs_would_accept(token, &res.id, scope))
}

/// Handles an RS request.
pub fn handle(shared: &Shared, req: &Req) -> Response<KitBody> {
    if shared.is_gluu() && eoepca::serves(&req.path) {
        return eoepca::handle(shared, req);
    }
    let resp = decide(shared, req);
    let knobs = shared.knobs();
    if let Some(stall) = knobs.stalled_challenge_body {
        if resp.headers().contains_key("www-authenticate")
            && matches!(resp.status().as_u16(), 401 | 403)
        {
            let (mut parts, _) = resp.into_parts();
            parts
                .headers
                .insert(CONTENT_LENGTH, http::HeaderValue::from(64u64));
            return Response::from_parts(parts, KitBody::stalled(Fill::Pattern, 8, stall));
        }
    }
    match knobs.challenge_body {
        Some(len) if is_challenge(&resp) => with_challenge_body(shared, resp, len),
        _ => resp,
    }
}

/// A 401 with `WWW-Authenticate` and no body of its own (UMA 1.0's 403 keeps its JSON ticket).
fn is_challenge(resp: &Response<KitBody>) -> bool {
    resp.status() == 401 && resp.headers().contains_key("www-authenticate")
}

/// Replaces the (empty) body of a challenge by `len` metered pattern bytes.
fn with_challenge_body(shared: &Shared, resp: Response<KitBody>, len: u64) -> Response<KitBody> {
    let meter = Arc::new(BodyMeter {
        announced: len,
        ..BodyMeter::default()
    });
    {
        let mut meters = shared
            .challenge_meters
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if meters.len() >= MAX_METERS {
            meters.pop_front();
        }
        meters.push_back(Arc::clone(&meter));
    }
    let (mut parts, _) = resp.into_parts();
    parts
        .headers
        .insert(CONTENT_TYPE, http::HeaderValue::from_static("text/plain"));
    parts
        .headers
        .insert(CONTENT_LENGTH, http::HeaderValue::from(len));
    Response::from_parts(parts, KitBody::generated(Fill::Pattern, len, Some(meter)))
}

/// Most challenge-body meters kept.
const MAX_METERS: usize = 10_000;

fn decide(shared: &Shared, req: &Req) -> Response<KitBody> {
    let knobs = shared.knobs();
    if knobs.require_user_id && eoepca::identity(shared, req.header("x-user-id")).is_none() {
        // What the uma-user-agent answers without a user: its configured `unauthorizedResponse`.
        let mut resp = empty(401);
        let realm = format!("Bearer realm=\"{}\"", shared.cfg.realm);
        append_header(&mut resp, "www-authenticate", &realm);
        return resp;
    }
    let Some(res) = find(shared, &req.path) else {
        return json(404, &json!({"error": "not_found"}));
    };
    let res = &res;
    let Some(scope) = res.scope_for(&req.method) else {
        return json(405, &json!({"error": "method_not_allowed"}));
    };
    if scope == "open" {
        return success(req, res, scope);
    }
    let bearer = req.bearer();
    if !knobs.rs_always_401 {
        if let Some(token) = bearer {
            if shared.rs_accepts(token, &res.id, scope) {
                return match knobs.granted_body {
                    GrantedBody::Json => success(req, res, scope),
                    GrantedBody::Large(len) => filler(
                        Some(len as u64),
                        KitBody::generated(Fill::Filler, len as u64, None),
                    ),
                    GrantedBody::Truncated(len) => filler(
                        Some(len as u64),
                        KitBody::cut(Fill::Filler, (len / 2) as u64),
                    ),
                    GrantedBody::Pattern(len) => {
                        filler(Some(len), KitBody::generated(Fill::Pattern, len, None))
                    }
                    GrantedBody::TruncatedChunked(len) => {
                        filler(None, KitBody::cut(Fill::Pattern, len))
                    }
                };
            }
        }
    }
    if knobs.ticket_only_with_bearer && bearer.is_none() {
        // Keycloak's enforcer only creates a ticket for bearer-authorised requests (§2.3).
        let mut resp = empty(401);
        append_header(
            &mut resp,
            "www-authenticate",
            &format!("Bearer realm=\"{}\"", shared.cfg.realm),
        );
        return resp;
    }
    let Some(ticket) = shared.ticket_for_request(&res.id, scope, bearer) else {
        return empty(403);
    };
    let as_uri = knobs.challenge_as_uri.unwrap_or_else(|| shared.issuer());
    challenge(
        shared.cfg.challenge_style,
        &shared.cfg.realm,
        &as_uri,
        &ticket,
    )
}

/// `200 text/plain` announcing `len` bytes (`body` may send fewer); `None`: chunked.
fn filler(len: Option<u64>, body: KitBody) -> Response<KitBody> {
    let mut resp = status_body(200, Some("text/plain"), body);
    if let Some(len) = len {
        set_header(&mut resp, "content-length", &len.to_string());
    }
    resp
}

fn success(req: &Req, res: &ResourceDef, scope: &str) -> Response<KitBody> {
    if res.path.trim_end_matches('/').ends_with("/echo") {
        return json(
            200,
            &json!({"len": req.body_len, "sha256": req.body_sha256}),
        );
    }
    json(
        200,
        &json!({
            "resource": res.name,
            "resource_id": res.id,
            "scope": scope,
            "method": req.method,
            "path": req.path,
        }),
    )
}

/// A challenge response in `style` (docs/protocol.md §8.4 rows).
pub fn challenge(
    style: ChallengeStyle,
    realm: &str,
    as_uri: &str,
    ticket: &str,
) -> Response<KitBody> {
    let mut resp = empty(401);
    let spec = format!("UMA realm=\"{realm}\", as_uri=\"{as_uri}\", ticket=\"{ticket}\"");
    match style {
        ChallengeStyle::SpecQuoted => append_header(&mut resp, "www-authenticate", &spec),
        ChallengeStyle::Keycloak => append_header(
            &mut resp,
            "www-authenticate",
            &format!("UMA realm=\"{realm}\",as_uri=\"{as_uri}\",ticket=\"{ticket}\""),
        ),
        ChallengeStyle::EoepcaUnquoted => append_header(
            &mut resp,
            "www-authenticate",
            &format!("UMA realm={realm},as_uri={as_uri},ticket={ticket}"),
        ),
        ChallengeStyle::BearerNoAsUri => append_header(
            &mut resp,
            "www-authenticate",
            &format!("Bearer realm=\"{realm}\", ticket=\"{ticket}\""),
        ),
        ChallengeStyle::Uma1Body403 => {
            resp = status_body(
                403,
                Some("application/json"),
                KitBody::bytes(json!({ "ticket": ticket }).to_string()),
            );
            append_header(
                &mut resp,
                "www-authenticate",
                &format!("UMA realm=\"{realm}\", as_uri=\"{as_uri}\""),
            );
        }
        ChallengeStyle::TwoLines => {
            append_header(
                &mut resp,
                "www-authenticate",
                &format!("Bearer realm=\"{realm}\""),
            );
            append_header(&mut resp, "www-authenticate", &spec);
        }
    }
    resp
}
