//! The issuer identifier (RFC 8414 §2; `docs/protocol.md` §10.4, §11.2).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use url::Url;

use super::DiscoveryError;

/// A validated issuer identifier (RFC 8414 §2): absolute http(s) URL, no query, fragment or userinfo.
///
/// Compared by code points after removing ONE trailing `/` (`docs/protocol.md` §10.4, §11.2): no case
/// folding, no percent-decoding. `Debug` and `Display` print the URL (an issuer is not a secret).
///
/// ```
/// use uma_core::Issuer;
/// let a = Issuer::parse("https://kc.example.org/realms/demo/").unwrap();
/// let b = Issuer::parse("https://kc.example.org/realms/demo").unwrap();
/// assert_eq!(a, b);
/// assert_eq!(a.as_str(), "https://kc.example.org/realms/demo");
/// assert!(Issuer::parse("https://as.example.org/x?y=1").is_err());
/// ```
///
/// Cloning is a reference-count increment: every cached RPT, exchange key and flow names its issuer.
#[derive(Clone)]
pub struct Issuer(Arc<Parsed>);

struct Parsed {
    normalized: String,
    url: Url,
    // Checked at parse time so building the discovery request can never fail.
    discovery_uri: http::Uri,
}

impl PartialEq for Issuer {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.normalized == other.0.normalized
    }
}

impl Eq for Issuer {}

impl Hash for Issuer {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.normalized.hash(state);
    }
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Issuer({})", self.0.normalized)
    }
}

impl fmt::Display for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.normalized)
    }
}

/// The input as it may be shown in an error: any `user:password@` and any query dropped (a refused issuer
/// is echoed back, and both may carry credentials).
fn without_credentials(s: &str) -> String {
    let s = s.split(['?', '#']).next().unwrap_or(s);
    match s.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority
                .rsplit_once('@')
                .map_or(authority, |(_, host)| host);
            let dropped = if authority.contains('@') {
                "[userinfo]@"
            } else {
                ""
            };
            format!("{scheme}://{dropped}{host}{path}")
        }
        None => s.to_owned(),
    }
}

impl Issuer {
    /// Validates an issuer identifier, typically a challenge's `as_uri` or a configured issuer.
    pub fn parse(s: &str) -> Result<Issuer, DiscoveryError> {
        let invalid = |reason: &'static str| DiscoveryError::InvalidIssuer {
            input: sanitize(&without_credentials(s), 200),
            reason,
        };
        if s.is_empty() {
            return Err(invalid("empty"));
        }
        // The URL parser would silently strip or re-encode these; an identifier compared by code points
        // must not contain them.
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("contains whitespace or control characters"));
        }
        if s.contains('\\') {
            return Err(invalid("contains a backslash"));
        }
        if s.contains('?') {
            return Err(invalid("has a query"));
        }
        if s.contains('#') {
            return Err(invalid("has a fragment"));
        }
        let url = Url::parse(s).map_err(|_| invalid("not an absolute URL"))?;
        if url.scheme() != "https" && url.scheme() != "http" {
            return Err(invalid("scheme is not https or http"));
        }
        // The URL parser repairs "https:/host" and "https:///host"; an identifier must be written plainly.
        let authority = s.split_once("://").map(|(_, rest)| rest);
        if url.host_str().is_none_or(str::is_empty)
            || authority.is_none_or(|a| a.is_empty() || a.starts_with('/'))
        {
            return Err(invalid("has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("has user information"));
        }
        if has_dot_segment(s) {
            return Err(invalid("has a '.' or '..' path segment"));
        }
        let normalized = s.strip_suffix('/').unwrap_or(s).to_owned();
        let discovery_uri = http::Uri::try_from(build_discovery_url(&url).as_str())
            .map_err(|_| invalid("cannot be used as an HTTP request target"))?;
        Ok(Issuer(Arc::new(Parsed {
            normalized,
            url,
            discovery_uri,
        })))
    }

    /// The normalized identifier (one trailing `/` removed), used for comparison and cache keys.
    pub fn as_str(&self) -> &str {
        &self.0.normalized
    }

    /// The parsed URL.
    pub fn url(&self) -> &Url {
        &self.0.url
    }

    /// `{issuer}/.well-known/uma2-configuration`, checked at parse time.
    pub(super) fn discovery_uri(&self) -> &http::Uri {
        &self.0.discovery_uri
    }

    /// Whether the issuer uses https.
    pub fn is_https(&self) -> bool {
        self.0.url.scheme() == "https"
    }

    /// Whether `url` has the issuer's origin (scheme, host, port).
    pub fn same_origin(&self, url: &Url) -> bool {
        self.0.url.origin() == url.origin()
    }
}

/// Whether the path of a (query- and fragment-free) URL string has a `.`/`..` segment, literal or
/// percent-encoded. The URL parser would resolve them, so the identifier compared by code points and the
/// URL actually fetched would differ.
fn has_dot_segment(s: &str) -> bool {
    let after_scheme = s.split_once("://").map_or(s, |(_, rest)| rest);
    let Some((_, path)) = after_scheme.split_once('/') else {
        return false;
    };
    path.split('/').any(|seg| {
        let seg = seg.to_ascii_lowercase().replace("%2e", ".");
        seg == "." || seg == ".."
    })
}

pub(super) fn build_discovery_url(url: &Url) -> Url {
    let mut out = url.clone();
    out.set_query(None);
    out.set_fragment(None);
    // http(s) URLs always have path segments; the `if let` only avoids an unreachable panic path.
    if let Ok(mut segments) = out.path_segments_mut() {
        // Removes the empty segment a trailing '/' leaves, i.e. strips ONE trailing slash (§10.4).
        segments
            .pop_if_empty()
            .push(".well-known")
            .push("uma2-configuration");
    }
    out
}

/// Makes untrusted text safe to show: control characters replaced, at most `max` characters.
pub(super) fn sanitize(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .take(max)
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect();
    if s.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}
