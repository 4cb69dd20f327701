//! Keycloak's permission requests (`{permission_endpoint}/ticket`): the pending requests a denied
//! requesting party left on an owner-managed resource, which the owner or the resource server lists,
//! approves or denies. Keycloak calls these records "permission tickets"; they are not the UMA tickets
//! of [`permission_request`](super::permission_request), which the client exchanges for an RPT.
//!
//! Seen on Keycloak 26.4 and 26.7: a requesting party denied on an owner-managed resource with
//! `submit_request` absent or true gets `403 access_denied` / `request_submitted` and leaves one record
//! per requested scope (owner ≠ requester). Approving (`granted: true`) answers 204 and the requester's
//! next ticket exchange succeeds; denying (`granted: false`) deletes the record.
//!
//! ```
//! use uma_core::protection::{self, PermissionRequestQuery};
//! use uma_core::secret::AccessToken;
//!
//! let permission = url::Url::parse("https://kc.example.org/realms/demo/authz/protection/permission")?;
//! let pat = AccessToken::new("pat-value");
//! let query = PermissionRequestQuery { granted: Some(false), ..Default::default() };
//! let request = protection::list_permission_requests_request(&permission, &pat, &query)?;
//! assert_eq!(
//!     request.uri(),
//!     "https://kc.example.org/realms/demo/authz/protection/permission/ticket?granted=false&returnNames=true"
//! );
//! let response = http::Response::builder().status(200).body(
//!     br#"[{"id":"t1","owner":"u1","resource":"r1","scope":"s1","granted":false,"requester":"u2",
//!          "ownerName":"alice","resourceName":"album","scopeName":"view","requesterName":"bob"}]"#.to_vec(),
//! )?;
//! let pending = protection::parse_list_permission_requests_response(&response)?;
//! assert_eq!(pending[0].requester_name.as_deref(), Some("bob"));
//!
//! let approve = protection::answer_permission_request_request(&permission, &pat, "t1", true)?;
//! assert_eq!(approve.body(), br#"{"id":"t1","granted":true}"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use http::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use url::Url;

use super::error::{ProtectionError, redact_json_error};
use super::wire::{self, check_status, parse_json, to_json};
use crate::secret::AccessToken;

const OPERATION: &str = "permission request endpoint";

/// Filters for listing permission requests. Unset fields are not sent; names are always asked for
/// (`returnNames=true`) so that a record says who asked for what without further look-ups.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PermissionRequestQuery {
    /// `resourceId`: requests on this resource.
    pub resource_id: Option<String>,
    /// `scopeId`: requests for this scope (its id).
    pub scope_id: Option<String>,
    /// `owner`: requests on resources of this owner (user id).
    pub owner: Option<String>,
    /// `requester`: requests by this requesting party (user id).
    pub requester: Option<String>,
    /// `granted`: `false` for pending requests, `true` for approved ones.
    pub granted: Option<bool>,
    /// `first`: paging offset.
    pub first: Option<u32>,
    /// `max`: page size.
    pub max: Option<u32>,
}

/// One permission request, as Keycloak lists it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct PermissionRequestRecord {
    /// The record's id, what [`answer_permission_request_request`] takes.
    pub id: String,
    /// The resource's `_id`.
    #[serde(default)]
    pub resource: Option<String>,
    /// The requested scope's id (absent for a resource without scopes).
    #[serde(default)]
    pub scope: Option<String>,
    /// The resource owner's user id.
    #[serde(default)]
    pub owner: Option<String>,
    /// The requesting party's user id.
    #[serde(default)]
    pub requester: Option<String>,
    /// Whether the owner (or the resource server) approved it.
    #[serde(default)]
    pub granted: bool,
    /// The resource's name.
    #[serde(default, rename = "resourceName")]
    pub resource_name: Option<String>,
    /// The scope's name.
    #[serde(default, rename = "scopeName")]
    pub scope_name: Option<String>,
    /// The owner's user name.
    #[serde(default, rename = "ownerName")]
    pub owner_name: Option<String>,
    /// The requesting party's user name.
    #[serde(default, rename = "requesterName")]
    pub requester_name: Option<String>,
}

/// `{permission_endpoint}/ticket`.
fn records_url(permission_endpoint: &Url) -> Result<Url, ProtectionError> {
    let mut url = permission_endpoint.clone();
    url.set_fragment(None);
    url.set_query(None);
    url.path_segments_mut()
        .map_err(|_| ProtectionError::InvalidInput("the endpoint URL cannot have path segments"))?
        .pop_if_empty()
        .push("ticket");
    Ok(url)
}

/// `GET {permission_endpoint}/ticket?…&returnNames=true` with the PAT (or the owner's token).
pub fn list_permission_requests_request(
    permission_endpoint: &Url,
    token: &AccessToken,
    query: &PermissionRequestQuery,
) -> Result<http::Request<Vec<u8>>, ProtectionError> {
    let mut url = records_url(permission_endpoint)?;
    {
        let mut pairs = url.query_pairs_mut();
        let text = [
            ("resourceId", &query.resource_id),
            ("scopeId", &query.scope_id),
            ("owner", &query.owner),
            ("requester", &query.requester),
        ];
        for (name, value) in text {
            if let Some(value) = value {
                pairs.append_pair(name, value);
            }
        }
        if let Some(granted) = query.granted {
            pairs.append_pair("granted", if granted { "true" } else { "false" });
        }
        for (name, value) in [("first", query.first), ("max", query.max)] {
            if let Some(value) = value {
                pairs.append_pair(name, &value.to_string());
            }
        }
        pairs.append_pair("returnNames", "true");
    }
    wire::pat_request(Method::GET, &url, token, None)
}

/// Parses the answer to [`list_permission_requests_request`]: a JSON array of records.
pub fn parse_list_permission_requests_response(
    response: &http::Response<Vec<u8>>,
) -> Result<Vec<PermissionRequestRecord>, ProtectionError> {
    check_status(response, &[StatusCode::OK], OPERATION)?;
    let items: Vec<serde_json::Value> = parse_json(response.body(), OPERATION)?;
    items
        .into_iter()
        .map(|item| {
            serde_json::from_value(item).map_err(|e| ProtectionError::InvalidBody {
                operation: OPERATION,
                reason: redact_json_error(&e),
            })
        })
        .collect()
}

#[derive(Serialize)]
struct Answer<'a> {
    id: &'a str,
    granted: bool,
}

/// `PUT {permission_endpoint}/ticket` with `{"id": …, "granted": …}`: approve (`true`) or deny
/// (`false`, which deletes the record). Only the resource owner or the resource server may answer.
pub fn answer_permission_request_request(
    permission_endpoint: &Url,
    token: &AccessToken,
    id: &str,
    granted: bool,
) -> Result<http::Request<Vec<u8>>, ProtectionError> {
    if id.is_empty() {
        return Err(ProtectionError::InvalidInput(
            "the permission request id is empty",
        ));
    }
    let url = records_url(permission_endpoint)?;
    let body = to_json(&Answer { id, granted })?;
    wire::pat_request(Method::PUT, &url, token, Some(body))
}

/// Parses the answer to [`answer_permission_request_request`]: 204 (or 200) and nothing else.
pub fn parse_answer_permission_request_response(
    response: &http::Response<Vec<u8>>,
) -> Result<(), ProtectionError> {
    check_status(
        response,
        &[StatusCode::NO_CONTENT, StatusCode::OK],
        OPERATION,
    )
}
