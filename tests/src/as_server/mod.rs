//! The authorization server: discovery, token endpoint, protection API, claims interaction and
//! dynamic client registration, in the configured dialect.

mod client_auth;
mod extras;
mod protection;
mod resource_set;
mod tickets;
mod token;
mod uma;
mod uma_inputs;
mod uma_policy;

use http::Response;
use serde_json::{Value, json};

use crate::config::{Dialect, UMA_GRANT};
use crate::http::{KitBody, json, oauth_error};
use crate::kc_state::{request_base, request_issuer};
use crate::log::Endpoint;
use crate::routing::Req;
use crate::state::Shared;

/// Which endpoint `path` addresses.
pub fn classify(shared: &Shared, path: &str) -> Endpoint {
    let p = &shared.paths;
    let under = |base: &str| path == base || path.starts_with(&format!("{base}/"));
    if path == p.discovery || p.discovery_alt.as_deref() == Some(path) {
        Endpoint::Discovery
    } else if path == p.token {
        Endpoint::Token
    } else if path == p.permission || (shared.is_keycloak() && under(&tickets::path(shared))) {
        // Keycloak's permission-ticket API lives under the permission endpoint.
        Endpoint::Permission
    } else if under(&p.rreg) {
        Endpoint::ResourceRegistration
    } else if path == p.introspection {
        Endpoint::Introspection
    } else if p.claims.as_deref() == Some(path) {
        Endpoint::ClaimsInteraction
    } else if path == p.registration {
        Endpoint::ClientRegistration
    } else {
        Endpoint::AsOther
    }
}

/// Dispatches an AS request.
pub fn handle(shared: &Shared, endpoint: Endpoint, req: &Req) -> Response<KitBody> {
    match endpoint {
        Endpoint::Discovery => {
            if req.method == "GET" || req.method == "HEAD" {
                json(200, &discovery(shared, req))
            } else {
                oauth_error(405, "unsupported_method_type", None)
            }
        }
        Endpoint::Token => token::token_endpoint(shared, req),
        Endpoint::Permission if req.path != shared.paths.permission => tickets::handle(shared, req),
        Endpoint::Permission => protection::permission(shared, req),
        Endpoint::ResourceRegistration => resource_set::resource_registration(shared, req),
        Endpoint::Introspection => protection::introspection(shared, req),
        Endpoint::ClaimsInteraction => extras::claims_interaction(shared, req),
        Endpoint::ClientRegistration => extras::client_registration(shared, req),
        _ => oauth_error(404, "not_found", Some("no such endpoint")),
    }
}

/// The discovery document (docs/protocol.md §10.2 Keycloak, §10.3 Gluu, §10.1 spec), with the
/// issuer / token endpoint overrides applied. Keycloak builds every URL from the request's Host.
pub fn discovery(shared: &Shared, req: &Req) -> Value {
    let base = &request_base(shared, req);
    let p = &shared.paths;
    let issuer = request_issuer(shared, req);
    let mut doc = match &shared.cfg.dialect {
        Dialect::Spec => json!({
            "issuer": issuer,
            "token_endpoint": format!("{base}{}", p.token),
            "permission_endpoint": format!("{base}{}", p.permission),
            "resource_registration_endpoint": format!("{base}{}", p.rreg),
            "introspection_endpoint": format!("{base}{}", p.introspection),
            "claims_interaction_endpoint": format!("{base}{}", p.claims.clone().unwrap_or_default()),
            "registration_endpoint": format!("{base}{}", p.registration),
            "grant_types_supported": ["client_credentials", "password", "refresh_token", UMA_GRANT],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "uma_profiles_supported": [],
        }),
        Dialect::Keycloak { .. } => json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/protocol/openid-connect/auth"),
            "token_endpoint": format!("{base}{}", p.token),
            "introspection_endpoint": format!("{base}{}", p.introspection),
            "end_session_endpoint": format!("{issuer}/protocol/openid-connect/logout"),
            "jwks_uri": format!("{issuer}/protocol/openid-connect/certs"),
            "registration_endpoint": format!("{base}{}", p.registration),
            "grant_types_supported": ["authorization_code", "implicit", "refresh_token", "password", "client_credentials"],
            "response_types_supported": ["code", "none", "id_token", "token", "id_token token", "code id_token", "code token", "code id_token token"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "scopes_supported": ["openid", "address", "email", "offline_access", "phone", "profile", "roles", "web-origins"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_basic", "client_secret_post", "client_secret_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
            "resource_registration_endpoint": format!("{base}{}", p.rreg),
            "permission_endpoint": format!("{base}{}", p.permission),
            "policy_endpoint": format!("{issuer}/authz/protection/uma-policy"),
            "frontchannel_logout_session_supported": true,
            "frontchannel_logout_supported": true,
        }),
        Dialect::Gluu => json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{base}/oxauth/restv1/authorize"),
            "token_endpoint": format!("{base}{}", p.token),
            "jwks_uri": format!("{base}/oxauth/restv1/jwks"),
            "registration_endpoint": format!("{base}{}", p.registration),
            "grant_types_supported": ["authorization_code", "implicit", "client_credentials", UMA_GRANT],
            "response_types_supported": ["code", "id_token", "token"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt"],
            "uma_profiles_supported": [],
            "introspection_endpoint": format!("{base}{}", p.introspection),
            "resource_registration_endpoint": format!("{base}{}", p.rreg),
            "permission_endpoint": format!("{base}{}", p.permission),
            "scope_endpoint": format!("{base}/oxauth/restv1/uma/scopes"),
            "claims_interaction_endpoint": format!("{base}{}", p.claims.clone().unwrap_or_default()),
        }),
    };
    let knobs = shared.knobs();
    if let Some(iss) = knobs.discovery_issuer {
        doc["issuer"] = Value::String(iss);
    }
    if let Some(te) = knobs.discovery_token_endpoint {
        doc["token_endpoint"] = Value::String(te);
    }
    doc
}
