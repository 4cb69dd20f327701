//! Target `discovery`: the issuer identifier and the metadata document (docs/protocol.md §10, §11.2).
//!
//! Input: the expected issuer (a challenge's `as_uri`) on the first line, then an optional status
//! line (`200\n`, the default) and the body of the `/.well-known/uma2-configuration` response.

use uma_core::discovery::{
    AsMetadata, DiscoveryError, Endpoint, EndpointPolicy, Issuer, discovery_request, discovery_url,
    parse_metadata,
};

use super::support::{assert_printable, response, split_line, split_status};

const ENDPOINTS: [Endpoint; 8] = [
    Endpoint::Token,
    Endpoint::Introspection,
    Endpoint::ResourceRegistration,
    Endpoint::Permission,
    Endpoint::ClaimsInteraction,
    Endpoint::Registration,
    Endpoint::Revocation,
    Endpoint::Policy,
];

/// Every policy, strictest first.
fn policies() -> [EndpointPolicy; 4] {
    let p = |allow_insecure_http, allow_cross_origin_token_endpoint| EndpointPolicy {
        allow_insecure_http,
        allow_cross_origin_token_endpoint,
    };
    [
        p(false, false),
        p(true, false),
        p(false, true),
        p(true, true),
    ]
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let (first, rest) = split_line(data);
    let as_uri = String::from_utf8_lossy(first);
    let issuer = match Issuer::parse(&as_uri) {
        Ok(issuer) => issuer,
        Err(e) => {
            check_error(&e);
            return;
        }
    };
    check_issuer(&issuer);
    let (status, body) = split_status(rest, 200);
    let response = response(status, body);
    let results: Vec<_> = policies()
        .into_iter()
        .map(|policy| (policy, parse_metadata(&issuer, &response, &policy)))
        .collect();
    for (policy, result) in &results {
        match result {
            Ok(meta) => check_metadata(&issuer, meta, policy),
            Err(e) => check_error(e),
        }
    }
    // Relaxing the policy never turns a success into a failure.
    let ok = |i: usize| results[i].1.is_ok();
    assert!(
        !ok(0) || (ok(1) && ok(2) && ok(3)),
        "policies not monotonic"
    );
    assert!(!ok(1) || ok(3), "policies not monotonic");
    assert!(!ok(2) || ok(3), "policies not monotonic");
}

/// The discovery URL stays on the issuer's origin, under the issuer's path (§2.4, UMAG §2).
fn check_issuer(issuer: &Issuer) {
    let url = discovery_url(issuer);
    assert!(
        issuer.same_origin(&url),
        "discovery URL {url} leaves the origin of {issuer}"
    );
    assert!(url.query().is_none() && url.fragment().is_none(), "{url}");
    assert!(
        url.path().ends_with("/.well-known/uma2-configuration"),
        "{url}"
    );
    let request = discovery_request(issuer);
    assert_eq!(request.method(), http::Method::GET);
    assert_eq!(
        request.uri().to_string(),
        url.as_str(),
        "request URI differs"
    );
    assert!(request.body().is_empty());
    assert_printable("Issuer Display", &issuer.to_string());
}

/// A validated document names the expected issuer and its endpoints obey the policy.
fn check_metadata(issuer: &Issuer, meta: &AsMetadata, policy: &EndpointPolicy) {
    assert_eq!(
        &meta.issuer, issuer,
        "metadata issuer differs from the expected one"
    );
    let token = meta.endpoint(Endpoint::Token, policy);
    assert!(token.is_ok(), "validated token endpoint refused: {token:?}");
    for which in ENDPOINTS {
        match meta.endpoint(which, policy) {
            Ok(url) => {
                assert!(
                    policy.allow_insecure_http || url.scheme() == "https",
                    "{which:?} {url} is not https"
                );
                assert!(
                    policy.allow_cross_origin_token_endpoint || issuer.same_origin(url),
                    "{which:?} {url} is on another origin than {issuer}"
                );
                assert!(url.fragment().is_none(), "{which:?} {url} has a fragment");
                // Request builders convert endpoints to `http::Uri`; that must not fail.
                assert!(
                    http::Uri::try_from(url.as_str()).is_ok(),
                    "{which:?} {url} is not a request target"
                );
            }
            Err(e) => check_error(&e),
        }
    }
}

fn check_error(e: &DiscoveryError) {
    assert_printable("DiscoveryError Display", &e.to_string());
    assert_printable("DiscoveryError Debug", &format!("{e:?}"));
}
