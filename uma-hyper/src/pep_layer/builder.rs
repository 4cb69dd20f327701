//! [`PepLayerBuilder`]: the rule table and cache bounds, and the start-up lookup of resources given
//! by name or URI.

use std::sync::Arc;
use std::time::Duration;

use hyper_util::client::legacy::connect::Connect;
use uma_core::protection::{ResourceDescription, ResourceQuery};

use super::cache::{Limits, RptCache};
use super::rules::{Resource, Rule};
use super::{Inner, PepLayer};
use crate::protection::{Error, Protection};

/// At most this many candidates are read when looking a resource up by name or URI.
const MAX_CANDIDATES: usize = 50;

/// Builds a [`PepLayer`]; see there for an example.
#[derive(Debug)]
pub struct PepLayerBuilder<C> {
    protection: Protection<C>,
    rules: Vec<Rule>,
    deny_unmatched: bool,
    limits: Limits,
}

/// Why [`PepLayerBuilder::build`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The protection API failed while looking a resource up.
    #[error("looking up the resource with {resource}: {source}")]
    Lookup {
        /// The resource looked for.
        resource: Resource,
        /// The protection API's error.
        #[source]
        source: Error,
    },
    /// No registered resource matched.
    #[error("no registered resource has {0}")]
    NotFound(Resource),
    /// More than one registered resource matched (or too many to read).
    #[error("{count} registered resources have {resource}")]
    Ambiguous {
        /// The resource looked for.
        resource: Resource,
        /// How many matched.
        count: usize,
    },
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Resource::Id(id) => write!(f, "id {id:?}"),
            Resource::Name(name) => write!(f, "name {name:?}"),
            Resource::Uri(uri) => write!(f, "URI {uri:?}"),
        }
    }
}

impl<C> PepLayerBuilder<C>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    pub(super) fn new(protection: Protection<C>) -> Self {
        Self {
            protection,
            rules: Vec::new(),
            deny_unmatched: false,
            limits: Limits::default(),
        }
    }

    /// Appends a rule; the first rule matching a request applies.
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Answer `403` to requests no rule matches, instead of passing them to the inner service
    /// (the default: `false`, pass through).
    pub fn deny_unmatched(mut self, deny: bool) -> Self {
        self.deny_unmatched = deny;
        self
    }

    /// The longest an active RPT's introspection is trusted (default 60 s; never past its `exp`).
    /// A revoked RPT is honoured for up to this long.
    pub fn cache_max_ttl(mut self, ttl: Duration) -> Self {
        self.limits.max_ttl = ttl;
        self
    }

    /// The longest an inactive RPT's (or one without permissions) introspection is kept (default 5 s).
    pub fn cache_denial_ttl(mut self, ttl: Duration) -> Self {
        self.limits.denial_ttl = ttl;
        self
    }

    /// How many RPTs the cache holds (default 10 000); when full, expired entries go first, then the
    /// one expiring soonest.
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.limits.capacity = capacity;
        self
    }

    /// Looks up the resources given by name or URI (once each, through
    /// [`Protection::list_resources`] then [`Protection::read_resource`] to confirm an exact match),
    /// and returns the layer.
    pub async fn build(self) -> Result<PepLayer<C>, BuildError> {
        let mut rules = Vec::with_capacity(self.rules.len());
        let mut found: Vec<(Resource, String)> = Vec::new();
        for rule in self.rules {
            let id = match &rule.resource {
                Resource::Id(id) => id.clone(),
                other => match found.iter().find(|(r, _)| r == other) {
                    Some((_, id)) => id.clone(),
                    None => {
                        let id = lookup(&self.protection, other).await?;
                        found.push((other.clone(), id.clone()));
                        id
                    }
                },
            };
            rules.push((rule, id));
        }
        Ok(PepLayer {
            inner: Arc::new(Inner {
                protection: self.protection,
                rules,
                deny_unmatched: self.deny_unmatched,
                cache: RptCache::new(self.limits),
            }),
        })
    }
}

async fn lookup<C>(protection: &Protection<C>, resource: &Resource) -> Result<String, BuildError>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let failed = |source| BuildError::Lookup {
        resource: resource.clone(),
        source,
    };
    let query = match resource {
        Resource::Name(name) => ResourceQuery {
            name: Some(name.clone()),
            exact_name: Some(true),
            ..ResourceQuery::default()
        },
        Resource::Uri(uri) => ResourceQuery {
            uri: Some(uri.clone()),
            ..ResourceQuery::default()
        },
        Resource::Id(id) => return Ok(id.clone()),
    };
    // Servers may ignore the filters (they are Keycloak's): each candidate is read and compared.
    let listed = protection.list_resources(&query).await.map_err(failed)?;
    if listed.ids.len() > MAX_CANDIDATES {
        return Err(BuildError::Ambiguous {
            resource: resource.clone(),
            count: listed.ids.len(),
        });
    }
    let mut matching = Vec::new();
    for id in listed.ids {
        let description = protection.read_resource(&id).await.map_err(failed)?;
        if is(resource, &description) {
            matching.push(id);
        }
    }
    match matching.len() {
        1 => Ok(matching.remove(0)),
        0 => Err(BuildError::NotFound(resource.clone())),
        count => Err(BuildError::Ambiguous {
            resource: resource.clone(),
            count,
        }),
    }
}

fn is(resource: &Resource, description: &ResourceDescription) -> bool {
    match resource {
        Resource::Name(name) => description.name.as_deref() == Some(name.as_str()),
        Resource::Uri(uri) => description.uris.iter().any(|u| u == uri),
        Resource::Id(id) => description.id.as_deref() == Some(id.as_str()),
    }
}
