//! The permission endpoint (UMAF §4; `docs/protocol.md` §9.3): ask the AS for a permission ticket.

use std::collections::BTreeMap;

use http::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use url::Url;

use super::Dialect;
use super::error::ProtectionError;
use super::wire::{self, check_status, parse_object, to_json};
use crate::secret::{AccessToken, Ticket};

const OPERATION: &str = "permission endpoint";

/// One requested permission: a registered resource and the scopes the client needs on it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PermissionRequest {
    /// The resource's `_id` (Keycloak also accepts its name).
    pub resource_id: String,
    /// The scopes (may be empty; each must be registered for the resource).
    pub resource_scopes: Vec<String>,
    /// Keycloak: claims pushed into the ticket for policy evaluation, name to values.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub claims: BTreeMap<String, Vec<String>>,
}

impl PermissionRequest {
    /// A permission for `resource_id` with `scopes` and no claims.
    pub fn new<S: Into<String>>(
        resource_id: impl Into<String>,
        scopes: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            resource_id: resource_id.into(),
            resource_scopes: scopes.into_iter().map(Into::into).collect(),
            claims: BTreeMap::new(),
        }
    }
}

/// The body of a permission request: one object or an array (UMAF §4.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum PermissionBody {
    /// A single JSON object. The spec and Gluu accept it; Keycloak does not.
    Single(PermissionRequest),
    /// A JSON array, what Keycloak requires (it binds a list).
    Many(Vec<PermissionRequest>),
}

impl PermissionBody {
    /// The body a server of `dialect` accepts: always an array for Keycloak; otherwise an object for
    /// one permission and an array for several. An empty list is refused (UMAF §4.1 asks for at least
    /// one permission).
    pub fn for_dialect(
        dialect: Dialect,
        mut permissions: Vec<PermissionRequest>,
    ) -> Result<Self, ProtectionError> {
        match (dialect, permissions.len()) {
            (_, 0) => Err(ProtectionError::InvalidInput(
                "a permission request needs at least one permission",
            )),
            (Dialect::Keycloak, _) | (_, 2..) => Ok(Self::Many(permissions)),
            (_, _) => Ok(Self::Single(permissions.remove(0))),
        }
    }

    /// The permissions in the body.
    pub fn permissions(&self) -> &[PermissionRequest] {
        match self {
            Self::Single(p) => std::slice::from_ref(p),
            Self::Many(p) => p,
        }
    }
}

/// `POST endpoint` with the permission body as JSON, authorised by the PAT (UMAF §4.1).
pub fn permission_request(
    endpoint: &Url,
    pat: &AccessToken,
    body: &PermissionBody,
) -> Result<http::Request<Vec<u8>>, ProtectionError> {
    if body.permissions().is_empty() {
        return Err(ProtectionError::InvalidInput(
            "a permission request needs at least one permission",
        ));
    }
    wire::pat_request(Method::POST, endpoint, pat, Some(to_json(body)?))
}

/// Parses the answer to [`permission_request`]: 201 `{"ticket": …}` (UMAF §4.2; 200 tolerated).
/// Failures carry `invalid_resource_id`, `invalid_scope` or `invalid_permission_request` in
/// [`ProtectionError::code`].
pub fn parse_permission_response(
    response: &http::Response<Vec<u8>>,
) -> Result<Ticket, ProtectionError> {
    #[derive(Deserialize)]
    struct Raw {
        ticket: String,
    }
    check_status(response, &[StatusCode::CREATED, StatusCode::OK], OPERATION)?;
    let raw: Raw = parse_object(response.body(), OPERATION)?;
    if raw.ticket.is_empty() {
        return Err(ProtectionError::InvalidBody {
            operation: OPERATION,
            reason: "the ticket is empty".to_owned(),
        });
    }
    Ok(Ticket::new(raw.ticket))
}
