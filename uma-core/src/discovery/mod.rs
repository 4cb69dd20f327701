//! Authorization-server discovery: the issuer identifier, the `/.well-known/uma2-configuration` request and
//! the validation of the metadata document (`docs/protocol.md` §2.4, §10, §11.2).
//!
//! The issuer named in a challenge (`as_uri`) is untrusted input. [`Issuer::parse`] refuses anything that is
//! not a plain absolute http(s) URL, so an `as_uri` with a query or fragment cannot turn the discovery
//! request into a request for some other path (requests-oauthlib-uma B3). [`parse_metadata`] then checks
//! status, JSON shape, the `issuer` member and the token endpoint before anything is trusted.

use url::Url;

mod issuer;

pub use issuer::Issuer;
use issuer::{build_discovery_url, sanitize};

/// Largest metadata document accepted; real documents are a few kilobytes.
pub const MAX_METADATA_BYTES: usize = 256 * 1024;

/// `issuer + "/.well-known/uma2-configuration"` (UMAG §2: appended, not inserted after the host), built with
/// URL path-segment operations, not string concatenation.
///
/// ```
/// use uma_core::discovery::{discovery_url, Issuer};
/// let issuer = Issuer::parse("https://kc.example.org/realms/demo/").unwrap();
/// assert_eq!(
///     discovery_url(&issuer).as_str(),
///     "https://kc.example.org/realms/demo/.well-known/uma2-configuration"
/// );
/// ```
pub fn discovery_url(issuer: &Issuer) -> Url {
    build_discovery_url(issuer.url())
}

/// `GET` [`discovery_url`] with `Accept: application/json` and nothing else: no credentials, no cookies.
///
/// ```
/// use uma_core::discovery::{discovery_request, Issuer};
/// let issuer = Issuer::parse("https://as.example.org").unwrap();
/// let req = discovery_request(&issuer);
/// assert_eq!(req.method(), http::Method::GET);
/// assert_eq!(req.uri(), "https://as.example.org/.well-known/uma2-configuration");
/// assert_eq!(req.headers().len(), 1);
/// ```
pub fn discovery_request(issuer: &Issuer) -> http::Request<Vec<u8>> {
    let mut request = http::Request::new(Vec::new());
    *request.uri_mut() = issuer.discovery_uri().clone();
    request.headers_mut().insert(
        http::header::ACCEPT,
        http::HeaderValue::from_static("application/json"),
    );
    request
}

/// `GET url` with `Accept: application/json`: discovery at a location configured explicitly for a server
/// whose document does not live under its issuer (PingAM, `docs/protocol.md` §10.4). Refuses a URL with a
/// fragment or userinfo, or one `http::Uri` rejects.
pub fn discovery_request_at(url: &url::Url) -> Result<http::Request<Vec<u8>>, DiscoveryError> {
    let invalid = |reason| DiscoveryError::InvalidEndpoint {
        field: "discovery_url",
        reason,
    };
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("a fragment or userinfo"));
    }
    if !matches!(url.scheme(), "https" | "http") {
        return Err(invalid("not an http(s) URL"));
    }
    let uri = http::Uri::try_from(url.as_str()).map_err(|_| invalid("not a valid request URI"))?;
    let mut request = http::Request::new(Vec::new());
    *request.uri_mut() = uri;
    request.headers_mut().insert(
        http::header::ACCEPT,
        http::HeaderValue::from_static("application/json"),
    );
    Ok(request)
}

/// Which relaxations of the endpoint rules the user opted into (both off by default).
#[derive(Clone, Copy, Debug, Default)]
pub struct EndpointPolicy {
    /// Accept `http://` issuers and endpoints (development only, `docs/protocol.md` §11.8).
    pub allow_insecure_http: bool,
    /// Accept endpoints on another origin than the issuer's (Keycloak with split frontend/backend
    /// hostnames advertises backend URLs, `docs/protocol.md` §10.2).
    pub allow_cross_origin_token_endpoint: bool,
}

/// An endpoint advertised in the metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `token_endpoint`.
    Token,
    /// `introspection_endpoint` (or Keycloak's legacy `token_introspection_endpoint`).
    Introspection,
    /// `resource_registration_endpoint`.
    ResourceRegistration,
    /// `permission_endpoint`.
    Permission,
    /// `claims_interaction_endpoint`.
    ClaimsInteraction,
    /// `registration_endpoint`.
    Registration,
    /// `revocation_endpoint`.
    Revocation,
    /// `policy_endpoint` (Keycloak).
    Policy,
}

impl Endpoint {
    /// The metadata member name.
    pub fn field(self) -> &'static str {
        match self {
            Endpoint::Token => "token_endpoint",
            Endpoint::Introspection => "introspection_endpoint",
            Endpoint::ResourceRegistration => "resource_registration_endpoint",
            Endpoint::Permission => "permission_endpoint",
            Endpoint::ClaimsInteraction => "claims_interaction_endpoint",
            Endpoint::Registration => "registration_endpoint",
            Endpoint::Revocation => "revocation_endpoint",
            Endpoint::Policy => "policy_endpoint",
        }
    }
}

/// Validated authorization-server metadata (`docs/protocol.md` §10.1).
#[derive(Clone, Debug)]
pub struct AsMetadata {
    /// The issuer, equal to the expected one.
    pub issuer: Issuer,
    /// The token endpoint, already checked against the policy.
    pub token_endpoint: Url,
    /// RFC 7662 introspection (falls back to Keycloak's `token_introspection_endpoint`).
    pub introspection_endpoint: Option<Url>,
    /// UMAF resource registration.
    pub resource_registration_endpoint: Option<Url>,
    /// UMAF permission endpoint.
    pub permission_endpoint: Option<Url>,
    /// UMAG claims interaction endpoint.
    pub claims_interaction_endpoint: Option<Url>,
    /// RFC 7591 dynamic client registration.
    pub registration_endpoint: Option<Url>,
    /// RFC 7009 revocation.
    pub revocation_endpoint: Option<Url>,
    /// Keycloak's UMA policy endpoint.
    pub policy_endpoint: Option<Url>,
    /// The AS's JWK set.
    pub jwks_uri: Option<Url>,
    /// Advertised client authentication methods (empty: RFC 8414 default `client_secret_basic`).
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// Advertised grant types. Informational only: older Keycloak omits the UMA grant (§2.4).
    pub grant_types_supported: Vec<String>,
    /// Advertised UMA profiles.
    pub uma_profiles_supported: Vec<String>,
}

impl AsMetadata {
    /// An endpoint, checked against the policy at use time: https unless insecure http is allowed, and the
    /// issuer's origin unless cross-origin endpoints are allowed.
    pub fn endpoint(
        &self,
        which: Endpoint,
        policy: &EndpointPolicy,
    ) -> Result<&Url, DiscoveryError> {
        let url = match which {
            Endpoint::Token => Some(&self.token_endpoint),
            Endpoint::Introspection => self.introspection_endpoint.as_ref(),
            Endpoint::ResourceRegistration => self.resource_registration_endpoint.as_ref(),
            Endpoint::Permission => self.permission_endpoint.as_ref(),
            Endpoint::ClaimsInteraction => self.claims_interaction_endpoint.as_ref(),
            Endpoint::Registration => self.registration_endpoint.as_ref(),
            Endpoint::Revocation => self.revocation_endpoint.as_ref(),
            Endpoint::Policy => self.policy_endpoint.as_ref(),
        }
        .ok_or(DiscoveryError::MissingEndpoint(which.field()))?;
        check_policy(&self.issuer, which.field(), url, policy)?;
        Ok(url)
    }
}

fn check_policy(
    issuer: &Issuer,
    field: &'static str,
    url: &Url,
    policy: &EndpointPolicy,
) -> Result<(), DiscoveryError> {
    if url.scheme() != "https" && !policy.allow_insecure_http {
        return Err(DiscoveryError::InsecureEndpoint {
            field,
            url: url.to_string(),
        });
    }
    if !policy.allow_cross_origin_token_endpoint && !issuer.same_origin(url) {
        return Err(DiscoveryError::CrossOriginEndpoint {
            field,
            url: url.to_string(),
        });
    }
    Ok(())
}

/// Why discovery failed. Messages contain URLs and field names, never credentials.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The issuer identifier is not a plain absolute http(s) URL.
    #[error("invalid issuer identifier {input:?}: {reason}")]
    InvalidIssuer {
        /// The input, with control characters replaced and truncated.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The issuer uses plain http and insecure http is not allowed.
    #[error("issuer {issuer} does not use https (insecure http is not allowed)")]
    InsecureIssuer {
        /// The issuer.
        issuer: String,
    },
    /// The discovery response status is not 200.
    #[error("discovery answered HTTP {0}, expected 200")]
    Status(u16),
    /// The body is larger than [`MAX_METADATA_BYTES`].
    #[error("metadata document larger than {MAX_METADATA_BYTES} bytes")]
    TooLarge,
    /// The body is not JSON.
    #[error("metadata document is not JSON")]
    NotJson,
    /// The body is JSON but not an object.
    #[error("metadata document is not a JSON object")]
    NotAnObject,
    /// A required member is absent, null or not a string.
    #[error("metadata document has no usable {0:?} member")]
    MissingField(&'static str),
    /// An endpoint member is not an absolute http(s) URL without fragment or userinfo.
    #[error("metadata member {field:?} is not a usable endpoint URL: {reason}")]
    InvalidEndpoint {
        /// The member name.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The document's `issuer` differs from the expected issuer (RFC 8414 §3.3; mix-up defence).
    #[error("metadata issuer {found:?} does not match the expected issuer {expected:?}")]
    IssuerMismatch {
        /// The issuer we asked.
        expected: String,
        /// The issuer the document names (sanitized, truncated).
        found: String,
    },
    /// An endpoint uses plain http and insecure http is not allowed.
    #[error("{field} {url} does not use https (insecure http is not allowed)")]
    InsecureEndpoint {
        /// The member name.
        field: &'static str,
        /// The endpoint.
        url: String,
    },
    /// An endpoint is on another origin than the issuer and cross-origin endpoints are not allowed.
    #[error("{field} {url} is not on the issuer's origin (cross-origin endpoints are not allowed)")]
    CrossOriginEndpoint {
        /// The member name.
        field: &'static str,
        /// The endpoint.
        url: String,
    },
    /// The metadata does not advertise the endpoint asked for.
    #[error("the authorization server does not advertise {0}")]
    MissingEndpoint(&'static str),
}

/// Validates a discovery response against the issuer it was fetched for.
///
/// Lenient parse (unknown members, nulls and wrong-typed optional members are ignored), strict validation:
/// status 200, a JSON object, `issuer` equal to `expected` (code points after one trailing `/` removed),
/// `token_endpoint` present, absolute, https unless `allow_insecure_http`, on the issuer's origin unless
/// `allow_cross_origin_token_endpoint`. An http issuer is refused unless `allow_insecure_http`. Keycloak's
/// legacy `token_introspection_endpoint` is a fallback for `introspection_endpoint`. The UMA grant type is
/// deliberately not required in `grant_types_supported` (`docs/protocol.md` §2.4).
///
/// ```
/// use uma_core::discovery::{parse_metadata, EndpointPolicy, Issuer};
/// let issuer = Issuer::parse("https://as.example.org").unwrap();
/// let body = br#"{"issuer":"https://as.example.org/","token_endpoint":"https://as.example.org/token"}"#;
/// let response = http::Response::builder().status(200).body(body.to_vec()).unwrap();
/// let meta = parse_metadata(&issuer, &response, &EndpointPolicy::default()).unwrap();
/// assert_eq!(meta.token_endpoint.as_str(), "https://as.example.org/token");
/// ```
pub fn parse_metadata(
    expected: &Issuer,
    response: &http::Response<Vec<u8>>,
    policy: &EndpointPolicy,
) -> Result<AsMetadata, DiscoveryError> {
    let status = response.status().as_u16();
    if status != 200 {
        return Err(DiscoveryError::Status(status));
    }
    if !expected.is_https() && !policy.allow_insecure_http {
        return Err(DiscoveryError::InsecureIssuer {
            issuer: expected.to_string(),
        });
    }
    let body = response.body();
    if body.len() > MAX_METADATA_BYTES {
        return Err(DiscoveryError::TooLarge);
    }
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| DiscoveryError::NotJson)?;
    let doc = value.as_object().ok_or(DiscoveryError::NotAnObject)?;

    let found = doc
        .get("issuer")
        .and_then(|v| v.as_str())
        .ok_or(DiscoveryError::MissingField("issuer"))?;
    if found.strip_suffix('/').unwrap_or(found) != expected.as_str() {
        return Err(DiscoveryError::IssuerMismatch {
            expected: expected.to_string(),
            found: sanitize(found, 200),
        });
    }

    let token_str = doc
        .get("token_endpoint")
        .and_then(|v| v.as_str())
        .ok_or(DiscoveryError::MissingField("token_endpoint"))?;
    let token_endpoint =
        endpoint_url(token_str).map_err(|reason| DiscoveryError::InvalidEndpoint {
            field: "token_endpoint",
            reason,
        })?;
    check_policy(expected, "token_endpoint", &token_endpoint, policy)?;

    let optional = |name: &str| {
        doc.get(name)
            .and_then(|v| v.as_str())
            .and_then(|s| endpoint_url(s).ok())
    };
    let strings = |name: &str| -> Vec<String> {
        doc.get(name)
            .and_then(|v| v.as_array())
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };

    Ok(AsMetadata {
        issuer: expected.clone(),
        token_endpoint,
        introspection_endpoint: optional("introspection_endpoint")
            .or_else(|| optional("token_introspection_endpoint")),
        resource_registration_endpoint: optional("resource_registration_endpoint"),
        permission_endpoint: optional("permission_endpoint"),
        claims_interaction_endpoint: optional("claims_interaction_endpoint"),
        registration_endpoint: optional("registration_endpoint"),
        revocation_endpoint: optional("revocation_endpoint"),
        policy_endpoint: optional("policy_endpoint"),
        jwks_uri: optional("jwks_uri"),
        token_endpoint_auth_methods_supported: strings("token_endpoint_auth_methods_supported"),
        grant_types_supported: strings("grant_types_supported"),
        uma_profiles_supported: strings("uma_profiles_supported"),
    })
}

/// Parses an endpoint: absolute http(s), a host, no fragment (RFC 6749 §3.2), no userinfo, and usable as
/// an HTTP request target (so request builders never fail on it).
fn endpoint_url(s: &str) -> Result<Url, &'static str> {
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("contains whitespace or control characters");
    }
    let url = Url::parse(s).map_err(|_| "not an absolute URL")?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err("scheme is not https or http");
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("has no host");
    }
    if url.fragment().is_some() {
        return Err("has a fragment");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("has user information");
    }
    http::Uri::try_from(url.as_str()).map_err(|_| "cannot be used as an HTTP request target")?;
    Ok(url)
}
