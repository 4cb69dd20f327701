//! The uma-core half of every adapter's conformance glue: a core `Config` from the suite's neutral
//! `Setup`, and a core error in the suite's neutral words (`Class`).
//!
//! Not a module of uma-testkit, which depends on no `uma` crate: each adapter's `tests/it/conformance.rs`
//! includes this file with `#[path]`, where uma-core is at hand. The adapters share one error type
//! (`uma_core::driver::Error`, `ProtectionCallError`), so their errors are mapped here too.
#![allow(dead_code)]

use uma_core::auth::ClientCredentials;
use uma_core::challenge::ChallengeError;
use uma_core::config::ClaimPushing;
use uma_core::discovery::{DiscoveryError, Issuer};
use uma_core::grant::PushedClaim;
use uma_core::secret::ClaimToken;
use uma_core::{AuthorizationServer, Config};
use uma_testkit::conformance::{Class, Deadline, Failure, ProtectionSetup, Setup, kept};

/// The core configuration `setup` describes.
pub fn config(setup: &Setup) -> Config {
    let issuer = Issuer::parse(&setup.issuer).expect("the setup's issuer");
    let credentials =
        ClientCredentials::basic(setup.client_id.as_str(), setup.client_secret.as_str());
    let mut server = AuthorizationServer::new(issuer, credentials);
    server.claim = setup
        .pushed_id_token
        .as_ref()
        .map(|token| PushedClaim::id_token(ClaimToken::new(token.clone())));
    let mut config = Config::new()
        .with_authorization_server(server)
        .allow_insecure_http(setup.allow_insecure_http);
    config.endpoint_policy.allow_cross_origin_token_endpoint =
        setup.allow_cross_origin_token_endpoint;
    config.max_redirects = setup.max_redirects;
    if let Some(flows) = setup.max_flows {
        config = config.with_max_flows(flows);
    }
    if setup.push_claims_always {
        config.claim_pushing = ClaimPushing::Always;
    }
    if let Some(interval) = setup.min_poll_interval {
        config.poll.min_interval = interval;
        config.poll.default_interval = interval;
    }
    if let Some(interval) = setup.max_poll_interval {
        config.poll.max_interval = interval;
    }
    if let Some(polls) = setup.max_polls {
        config.poll.max_polls = polls;
    }
    for (origin, issuer) in &setup.issuer_for_origin {
        let issuer = Issuer::parse(issuer).expect("an issuer");
        config.issuer_for_origin.push((origin.clone(), issuer));
    }
    config
}

/// The root of a core error, classified.
pub fn core_class(error: &uma_core::Error) -> Class {
    use uma_core::Error as E;
    match error.root() {
        E::UntrustedAuthorizationServer { as_uri } => Class::Untrusted {
            as_uri: as_uri.clone(),
        },
        E::InsecureAuthorizationServer { .. } => Class::InsecureIssuer,
        E::Challenge(ChallengeError::InvalidAsUri { .. }) => Class::InvalidAsUri,
        E::Challenge(ChallengeError::InvalidTicket { .. }) => Class::InvalidTicket,
        E::Challenge(_) => Class::InvalidChallenge,
        E::Discovery { error, .. } => discovery_class(error),
        E::Denied { .. } => Class::Denied,
        E::NeedInfo { .. } => Class::NeedInfo,
        E::ApprovalPending { .. } => Class::ApprovalPending,
        E::ClientAuthentication { .. } => Class::ClientAuthentication,
        E::TokenEndpoint { .. } => Class::TokenEndpoint,
        E::MalformedTokenResponse { status, .. } => {
            Class::MalformedTokenResponse { status: *status }
        }
        E::MaxFlowsReached { flows } => Class::MaxFlows { flows: *flows },
        E::TooManyRedirects { max } => Class::TooManyRedirects { max: *max },
        other => Class::Flow(other.kind_name().to_string()),
    }
}

/// A discovery failure, classified.
pub fn discovery_class(error: &DiscoveryError) -> Class {
    match error {
        DiscoveryError::InsecureIssuer { .. } => Class::InsecureIssuer,
        DiscoveryError::IssuerMismatch { .. } => Class::IssuerMismatch,
        DiscoveryError::CrossOriginEndpoint { field, .. } => Class::CrossOriginEndpoint {
            field: field.to_string(),
        },
        DiscoveryError::InsecureEndpoint { field, .. } => Class::InsecureEndpoint {
            field: field.to_string(),
        },
        DiscoveryError::NotJson => Class::DiscoveryNotJson,
        DiscoveryError::Status(status) => Class::DiscoveryStatus(*status),
        _ => Class::Discovery,
    }
}

/// What a protection handle is opened with: the issuer, the resource server's credentials, the dialect.
pub fn protection_inputs(
    setup: &ProtectionSetup,
) -> (Issuer, ClientCredentials, uma_core::protection::Dialect) {
    let issuer = Issuer::parse(&setup.issuer).expect("the setup's issuer");
    let credentials =
        ClientCredentials::basic(setup.client_id.as_str(), setup.client_secret.as_str());
    let dialect = match &setup.dialect {
        uma_testkit::Dialect::Keycloak { .. } => uma_core::protection::Dialect::Keycloak,
        uma_testkit::Dialect::Gluu => uma_core::protection::Dialect::Gluu,
        _ => uma_core::protection::Dialect::Uma,
    };
    (issuer, credentials, dialect)
}

/// A resource description named `name` with `scopes`.
pub fn resource(name: &str, scopes: &[&str]) -> uma_core::protection::ResourceDescription {
    uma_core::protection::ResourceDescription::new(name, scopes.iter().copied())
}

/// One permission request: `scopes` of `resource`.
pub fn permission(resource: &str, scopes: &[&str]) -> Vec<uma_core::protection::PermissionRequest> {
    vec![uma_core::protection::PermissionRequest::new(
        resource,
        scopes.iter().copied(),
    )]
}

/// Request headers carrying `authorization`, if any.
pub fn headers(authorization: Option<&str>) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    if let Some(value) = authorization {
        headers.insert(
            http::header::AUTHORIZATION,
            value.parse().expect("a header value"),
        );
    }
    headers
}

/// The status of the answer a PEP gives for `decision`: 200 when allowed, else the challenge's.
pub fn decision_status(decision: &uma_core::protection::Decision) -> u16 {
    match decision {
        uma_core::protection::Decision::Allow(_) => 200,
        uma_core::protection::Decision::Challenge(challenge) => challenge.status().as_u16(),
    }
}

/// Every adapter error the suite sees, in the suite's words: the adapters share one error type
/// (`uma_core::driver::Error`), so one mapping serves them all.
pub fn failure(error: &uma_core::driver::Error) -> Failure {
    use uma_core::driver::{BodyKind, Deadline as Budget, Error};
    let class = match error {
        Error::Timeout { deadline, .. } => Class::Timeout(match deadline {
            Budget::Exchange => Deadline::Exchange,
            _ => Deadline::Request,
        }),
        Error::Transport { .. } => Class::Transport,
        Error::BodyTooLarge { limit, body, .. } => Class::BodyTooLarge {
            limit: *limit as u64,
            from_authorization_server: *body == BodyKind::AuthorizationServer,
        },
        other => other
            .uma()
            .map_or_else(|| Class::Other(other.to_string()), core_class),
    };
    Failure {
        class,
        response: error.response().map(kept),
        shown: format!("{error} {error:?}"),
    }
}

/// Every protection-handle error the suite sees, in the suite's words (one type for every adapter).
pub fn protection_failure(error: &uma_core::driver::ProtectionCallError) -> Failure {
    use uma_core::driver::ProtectionCallError as E;
    let class = match error {
        E::Timeout { .. } => Class::Timeout(Deadline::Exchange),
        E::Transport { .. } => Class::Transport,
        E::BodyTooLarge { limit, .. } => Class::BodyTooLarge {
            limit: *limit as u64,
            from_authorization_server: true,
        },
        E::Discovery(discovery) => discovery_class(discovery),
        other => other.status().map_or_else(
            || Class::Other(other.to_string()),
            |s| Class::Status(s.as_u16()),
        ),
    };
    Failure {
        class,
        response: None,
        shown: format!("{error} {error:?}"),
    }
}
