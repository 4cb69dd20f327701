//! The hostile authorization server: it logs everything (so tests can prove a client never sent
//! it a secret) and answers like a plausible spec AS whose RPTs no RS accepts.

use http::Response;
use serde_json::json;

use crate::http::{KitBody, json, oauth_error};
use crate::routing::Req;
use crate::state::Shared;

/// Handles a request to the hostile AS.
pub fn handle(shared: &Shared, req: &Req) -> Response<KitBody> {
    let base = &shared.urls.hostile_base;
    if req.path.ends_with("/.well-known/uma2-configuration") {
        return json(
            200,
            &json!({
                "issuer": base,
                "token_endpoint": format!("{base}/token"),
                "permission_endpoint": format!("{base}/perm"),
                "resource_registration_endpoint": format!("{base}/rreg"),
                "introspection_endpoint": format!("{base}/introspect"),
                "claims_interaction_endpoint": format!("{base}/rqp_claims"),
            }),
        );
    }
    if req.path == "/token" && req.method == "POST" {
        return json(
            200,
            &json!({
                "access_token": shared.minter.opaque("hostile-rpt-"),
                "token_type": "Bearer",
                "expires_in": 300,
                "upgraded": false,
            }),
        );
    }
    oauth_error(404, "not_found", None)
}
