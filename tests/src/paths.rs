//! Paths of the AS endpoints per dialect (docs/protocol.md §10.2, §10.3).

use crate::config::Dialect;

/// Paths of the AS endpoints for the configured dialect (docs/protocol.md §10.2, §10.3).
#[derive(Debug, Clone)]
pub struct AsPaths {
    /// Issuer path below the AS origin (`""` or `/realms/{realm}`).
    pub issuer: String,
    /// Discovery document.
    pub discovery: String,
    /// Extra discovery path (Gluu's `/oxauth/restv1/uma2-configuration`).
    pub discovery_alt: Option<String>,
    /// Token endpoint.
    pub token: String,
    /// Permission endpoint.
    pub permission: String,
    /// Resource registration endpoint.
    pub rreg: String,
    /// Introspection endpoint.
    pub introspection: String,
    /// Claims interaction endpoint (none for Keycloak).
    pub claims: Option<String>,
    /// Dynamic client registration endpoint.
    pub registration: String,
}

impl AsPaths {
    /// The map for `dialect`.
    pub fn for_dialect(dialect: &Dialect) -> Self {
        let wk = "/.well-known/uma2-configuration";
        match dialect {
            Dialect::Spec => AsPaths {
                issuer: String::new(),
                discovery: wk.to_string(),
                discovery_alt: None,
                token: "/token".to_string(),
                permission: "/perm".to_string(),
                rreg: "/rreg".to_string(),
                introspection: "/introspect".to_string(),
                claims: Some("/rqp_claims".to_string()),
                registration: "/register".to_string(),
            },
            Dialect::Keycloak { realm } => {
                let kc = format!("/realms/{realm}");
                AsPaths {
                    discovery: format!("{kc}{wk}"),
                    discovery_alt: None,
                    token: format!("{kc}/protocol/openid-connect/token"),
                    permission: format!("{kc}/authz/protection/permission"),
                    rreg: format!("{kc}/authz/protection/resource_set"),
                    introspection: format!("{kc}/protocol/openid-connect/token/introspect"),
                    claims: None,
                    registration: format!("{kc}/clients-registrations/openid-connect"),
                    issuer: kc,
                }
            }
            Dialect::Gluu => {
                let gl = "/oxauth/restv1";
                AsPaths {
                    issuer: String::new(),
                    discovery: wk.to_string(),
                    discovery_alt: Some(format!("{gl}/uma2-configuration")),
                    token: format!("{gl}/token"),
                    permission: format!("{gl}/host/rsrc_pr"),
                    rreg: format!("{gl}/host/rsrc/resource_set"),
                    introspection: format!("{gl}/rpt/status"),
                    claims: Some(format!("{gl}/uma/gather_claims")),
                    registration: format!("{gl}/register"),
                }
            }
        }
    }
}
