//! `uma discover ISSUER`: fetch `ISSUER/.well-known/uma2-configuration`, validate it the way the client
//! does before trusting it (docs/protocol.md §10, §11.2, §11.8), and print the result as JSON.

use std::time::Duration;

use serde_json::{Value, json};
use uma_core::discovery::{
    AsMetadata, DiscoveryError, EndpointPolicy, Issuer, MAX_METADATA_BYTES, discovery_request,
    parse_metadata,
};

use crate::args::DiscoverArgs;
use crate::output::{CliError, print_json};

/// Runs the command.
pub fn run(args: &DiscoverArgs) -> Result<(), CliError> {
    let metadata = discover(&args.issuer, args.allow_insecure_http, args.timeout)?;
    print_json(&metadata_json(&metadata))
}

/// Discovery with a plain ureq agent: no redirects (§11.3), statuses as values, a body size limit.
pub fn discover(
    issuer: &str,
    allow_insecure_http: bool,
    timeout: Duration,
) -> Result<AsMetadata, CliError> {
    let issuer = Issuer::parse(issuer).map_err(|e| CliError::Usage(e.to_string()))?;
    // Refuse before sending anything, not only after the answer (parse_metadata checks again).
    if !issuer.is_https() && !allow_insecure_http {
        return Err(CliError::Uma(
            DiscoveryError::InsecureIssuer {
                issuer: issuer.to_string(),
            }
            .to_string()
                + "; pass --allow-insecure-http for development",
        ));
    }
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(timeout))
            .build(),
    );
    let request = discovery_request(&issuer);
    let url = request.uri().to_string();
    let response = agent.run(request).map_err(|e| transport_error(&url, &e))?;
    let (parts, body) = response.into_parts();
    // ureq reads one byte past the limit to tell "too large" from "exactly at the limit".
    let limit = u64::try_from(MAX_METADATA_BYTES).unwrap_or(u64::MAX);
    let bytes = body
        .into_with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => CliError::Uma(format!(
                "discovery of {issuer} failed: {}",
                DiscoveryError::TooLarge
            )),
            other => transport_error(&url, &other),
        })?;
    let response = http::Response::from_parts(parts, bytes);
    let policy = EndpointPolicy {
        allow_insecure_http,
        allow_cross_origin_token_endpoint: false,
    };
    parse_metadata(&issuer, &response, &policy)
        .map_err(|e| CliError::Uma(format!("discovery of {issuer} failed: {e}")))
}

/// A one-line description of a failed exchange; timeouts say so.
pub fn transport_error(url: &str, e: &ureq::Error) -> CliError {
    match e {
        ureq::Error::Timeout(_) => CliError::Transport(format!("timeout: no answer from {url}")),
        other => CliError::Transport(format!("cannot reach {url}: {other}")),
    }
}

/// The validated metadata; absent optional endpoints are `null`.
pub fn metadata_json(m: &AsMetadata) -> Value {
    let url = |u: &Option<url::Url>| u.as_ref().map(|u| u.as_str().to_owned());
    json!({
        "issuer": m.issuer.as_str(),
        "token_endpoint": m.token_endpoint.as_str(),
        "introspection_endpoint": url(&m.introspection_endpoint),
        "resource_registration_endpoint": url(&m.resource_registration_endpoint),
        "permission_endpoint": url(&m.permission_endpoint),
        "claims_interaction_endpoint": url(&m.claims_interaction_endpoint),
        "registration_endpoint": url(&m.registration_endpoint),
        "revocation_endpoint": url(&m.revocation_endpoint),
        "policy_endpoint": url(&m.policy_endpoint),
        "jwks_uri": url(&m.jwks_uri),
        "token_endpoint_auth_methods_supported": m.token_endpoint_auth_methods_supported,
        "grant_types_supported": m.grant_types_supported,
        "uma_profiles_supported": m.uma_profiles_supported,
    })
}
