//! The rule table: (method, path pattern) → resource and scopes. First match wins.

use http::Method;
use uma_core::protection::PermissionRequest;

/// Which registered resource a [`Rule`] protects: given by id, or looked up once when the layer is
/// built ([`PepLayerBuilder::build`](super::PepLayerBuilder::build)) through the protection API's
/// resource list.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Resource {
    /// The resource id the authorization server issued (`_id`).
    Id(String),
    /// The one resource with exactly this `name`.
    Name(String),
    /// The one resource whose `uris` contain exactly this URI.
    Uri(String),
}

impl Resource {
    /// By id.
    pub fn id(id: impl Into<String>) -> Self {
        Self::Id(id.into())
    }

    /// By name, looked up at start-up.
    pub fn name(name: impl Into<String>) -> Self {
        Self::Name(name.into())
    }

    /// By URI, looked up at start-up.
    pub fn uri(uri: impl Into<String>) -> Self {
        Self::Uri(uri.into())
    }
}

/// A path pattern: `/photos` matches that path only (a trailing `/` ignored), `/photos/*` matches
/// `/photos` and every path below it (`/photos/1`, `/photos/1/raw`) but not `/photos-old`, and `/*`
/// matches every path. Paths are compared as received: no percent-decoding (see
/// [`PepLayer`](super::PepLayer) for the paths refused before matching).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathPattern {
    base: String,
    prefix: bool,
}

impl PathPattern {
    /// Parses `pattern`; a `*` is only allowed as the whole last segment.
    pub fn parse(pattern: &str) -> Result<Self, InvalidPattern> {
        let (base, prefix) = match pattern.strip_suffix("/*") {
            Some(base) => (base, true),
            None => (pattern, false),
        };
        if !pattern.starts_with('/') || base.contains('*') {
            return Err(InvalidPattern(pattern.to_owned()));
        }
        let base = base.strip_suffix('/').unwrap_or(base);
        Ok(Self {
            base: base.to_owned(),
            prefix,
        })
    }

    /// Whether `path` matches.
    pub fn matches(&self, path: &str) -> bool {
        let path = if path.len() > 1 {
            path.strip_suffix('/').unwrap_or(path)
        } else {
            path
        };
        if path == self.base || (self.base.is_empty() && path == "/") {
            return true;
        }
        self.prefix
            && path
                .strip_prefix(self.base.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

/// A path pattern that [`PathPattern::parse`] refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid path pattern {0:?}: it must start with `/` and may end with `/*`")]
pub struct InvalidPattern(pub String);

/// One row of the rule table: requests with `method` (any method when `None`) on a path matching
/// `pattern` need `scopes` on `resource`.
///
/// ```
/// use http::Method;
/// use uma_hyper::pep_layer::{Resource, Rule};
///
/// let rule = Rule::new(Method::GET, "/photos/*", Resource::id("album-1"), ["view"])?;
/// assert!(rule.matches(&Method::GET, "/photos/42"));
/// assert!(!rule.matches(&Method::POST, "/photos/42"));
/// assert!(!rule.matches(&Method::GET, "/photosynthesis"));
/// # Ok::<(), uma_hyper::pep_layer::InvalidPattern>(())
/// ```
#[derive(Clone, Debug)]
pub struct Rule {
    method: Option<Method>,
    pattern: PathPattern,
    pub(super) resource: Resource,
    scopes: Vec<String>,
}

impl Rule {
    /// A rule for one method.
    pub fn new<I, S>(
        method: Method,
        pattern: &str,
        resource: Resource,
        scopes: I,
    ) -> Result<Self, InvalidPattern>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::build(Some(method), pattern, resource, scopes)
    }

    /// A rule for every method.
    pub fn any_method<I, S>(
        pattern: &str,
        resource: Resource,
        scopes: I,
    ) -> Result<Self, InvalidPattern>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::build(None, pattern, resource, scopes)
    }

    fn build<I, S>(
        method: Option<Method>,
        pattern: &str,
        resource: Resource,
        scopes: I,
    ) -> Result<Self, InvalidPattern>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Ok(Self {
            method,
            pattern: PathPattern::parse(pattern)?,
            resource,
            scopes: scopes.into_iter().map(Into::into).collect(),
        })
    }

    /// Whether this rule applies to a request.
    pub fn matches(&self, method: &Method, path: &str) -> bool {
        self.method.as_ref().is_none_or(|m| m == method) && self.pattern.matches(path)
    }

    /// The resource.
    pub fn resource(&self) -> &Resource {
        &self.resource
    }

    /// The scopes needed.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The permission a matching request needs, once the resource id is known.
    pub(super) fn permission(&self, resource_id: &str) -> PermissionRequest {
        PermissionRequest::new(resource_id.to_owned(), self.scopes.iter().cloned())
    }
}

/// Whether a path has a `.` or `..` segment, or an encoded `.` or `/`, which a router downstream may
/// resolve differently from the rule table (`/photos/../admin`): such requests are refused.
pub(super) fn is_ambiguous(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.contains("%2e")
        || lower.contains("%2f")
        || lower.contains("%5c")
        || path.contains('\\')
        || path.split('/').any(|s| s == "." || s == "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_prefix_patterns() {
        let exact = PathPattern::parse("/photos").unwrap();
        assert!(exact.matches("/photos") && exact.matches("/photos/"));
        assert!(!exact.matches("/photos/1") && !exact.matches("/photo"));
        let prefix = PathPattern::parse("/photos/*").unwrap();
        assert!(prefix.matches("/photos") && prefix.matches("/photos/1/raw"));
        assert!(!prefix.matches("/photosx") && !prefix.matches("/"));
        let all = PathPattern::parse("/*").unwrap();
        assert!(all.matches("/") && all.matches("/a/b"));
        let root = PathPattern::parse("/").unwrap();
        assert!(root.matches("/") && !root.matches("/a"));
        assert!(PathPattern::parse("photos").is_err());
        assert!(PathPattern::parse("/ph*tos").is_err());
        assert!(PathPattern::parse("/a/*/b").is_err());
    }

    #[test]
    fn dot_segments_and_encoded_separators_are_ambiguous() {
        for path in [
            "/photos/../admin",
            "/photos/./1",
            "/photos/%2e%2E/admin",
            "/a%2Fb",
            "/a\\b",
        ] {
            assert!(is_ambiguous(path), "{path}");
        }
        assert!(!is_ambiguous("/photos/1.jpg") && !is_ambiguous("/photos/..hidden"));
    }
}
