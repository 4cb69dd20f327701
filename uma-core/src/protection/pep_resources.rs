//! EOEPCA's PEP resource API (um-pep-engine `/resources`, `docs/protocol.md` §2.10): where EOEPCA
//! users register their own resources, with their OpenID Connect ID token as Bearer, instead of the
//! resource server calling the UMA protection API with a PAT. The PEP registers the resource at the AS
//! for them, owned by the token's `sub`, and enforces UMA on every path below it.
//!
//! | Operation | Builder | Parser |
//! |---|---|---|
//! | Register `{name, icon_uri, resource_scopes[, uuid]}` | [`create_pep_resource_request`] | [`parse_create_pep_resource_response`] |
//! | List (optionally the one at a path) | [`list_pep_resources_request`] | [`parse_list_pep_resources_response`] |
//! | Read one by id | [`read_pep_resource_request`] | [`parse_read_pep_resource_response`] |
//! | Delete one by id | [`delete_pep_resource_request`] | [`parse_delete_pep_resource_response`] |
//!
//! The PEP reports errors in an `Error` response header, not in the body; the parsers turn its
//! statuses into [`PepResourceError`] variants (401 the token, 403 not the owner, 422 already
//! registered…). Since 2023-01 the PEP answers `GET /resources/{id}` with 405
//! ([`PepResourceError::MethodNotAllowed`]); look a resource up by path with
//! [`list_pep_resources_request`] instead.
//!
//! ```
//! use uma_core::protection::{self, PepResource};
//! use uma_core::secret::ClaimToken;
//!
//! let pep = url::Url::parse("https://ades-pepapi.eoepca.example")?;
//! let id_token = ClaimToken::new("eyJhbGciOi.eyJzdWIiOi.c2ln");
//! let alice = PepResource::new("Alice's ADES", "/alice", ["Authenticated"]);
//! let request = protection::create_pep_resource_request(&pep, &id_token, &alice)?;
//! assert_eq!(request.uri(), "https://ades-pepapi.eoepca.example/resources");
//! assert_eq!(
//!     request.body(),
//!     br#"{"name":"Alice's ADES","icon_uri":"/alice","resource_scopes":["Authenticated"]}"#
//! );
//! assert!(!format!("{request:?}").contains("eyJzdWIiOi"), "the header value is marked sensitive");
//!
//! let response = http::Response::builder().status(200).body(
//!     br#"{"name":"Alice's ADES","icon_uri":"/alice","resource_scopes":["Authenticated"],
//!          "ownership_id":"a1b2","id":"r-17"}"#.to_vec(),
//! )?;
//! let created = protection::parse_create_pep_resource_response(&response)?;
//! assert_eq!((created.id.as_str(), created.ownership_id.as_deref()), ("r-17", Some("a1b2")));
//!
//! let again = http::Response::builder()
//!     .status(422)
//!     .header("Error", "Resource already exists for URI /alice")
//!     .body(Vec::new())?;
//! let error = protection::parse_create_pep_resource_response(&again).unwrap_err();
//! assert!(matches!(error, protection::PepResourceError::AlreadyExists { .. }));
//! assert_eq!(error.to_string(), "the PEP resource API answered 422: already registered (Resource already exists for URI /alice)");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use http::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

pub use super::pep_resource_error::PepResourceError;
use super::pep_resource_error::{check, invalid_body};
use super::wire::{self, lenient, resource_url, to_json};
use crate::auth::bearer_authorization;
use crate::secret::ClaimToken;

/// A resource to register at the PEP: `{"name", "icon_uri", "resource_scopes", "description"?,
/// "uuid"?}`. `icon_uri` is the protected path (the PEP matches request paths by longest registered
/// prefix). Unless the scopes include `public_access`, `Authenticated` or `open`, the PEP adds its
/// six `protected_<method>` scopes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PepResource {
    /// Human-readable name (required by the PEP).
    pub name: String,
    /// The protected path, e.g. `/alice`.
    pub icon_uri: String,
    /// Scopes, e.g. `["Authenticated"]`.
    pub resource_scopes: Vec<String>,
    /// A description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The owner to register for (`uuid`), when an operator registers on another user's behalf.
    #[serde(rename = "uuid", skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

impl PepResource {
    /// A resource named `name` at path `icon_uri` with `scopes`.
    pub fn new<S: Into<String>>(
        name: impl Into<String>,
        icon_uri: impl Into<String>,
        scopes: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            name: name.into(),
            icon_uri: icon_uri.into(),
            resource_scopes: scopes.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// Registers it for user `owner` (the `sub` of their ID token); the PEP honours this for operators.
    pub fn on_behalf_of(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self
    }
}

/// A resource as the PEP describes it: the create answer (`id`, `name`, `icon_uri`,
/// `resource_scopes`, `ownership_id`) or a list item (`_id`, `_name`, `_reverse_match_url`), read
/// into the same fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PepResourceRecord {
    /// The resource id (the AS's `_id`); what read and delete take.
    pub id: String,
    /// Its name.
    pub name: Option<String>,
    /// The protected path (`icon_uri`, `_reverse_match_url` in lists).
    pub path: Option<String>,
    /// Its scopes, when the answer lists them.
    pub resource_scopes: Vec<String>,
    /// The owner's `sub`, when the answer says.
    pub ownership_id: Option<String>,
}

#[derive(Deserialize)]
struct RawRecord {
    #[serde(default)]
    id: Option<Value>,
    #[serde(rename = "_id", default)]
    underscore_id: Option<Value>,
    #[serde(default)]
    name: Option<Value>,
    #[serde(rename = "_name", default)]
    underscore_name: Option<Value>,
    #[serde(default)]
    icon_uri: Option<Value>,
    #[serde(rename = "_reverse_match_url", default)]
    reverse_match_url: Option<Value>,
    #[serde(default, deserialize_with = "lenient::scope_list")]
    resource_scopes: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient::scope_list")]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    ownership_id: Option<Value>,
}

fn text(v: Option<Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    }
}

fn record(value: Value) -> Result<PepResourceRecord, PepResourceError> {
    if !value.is_object() {
        return Err(invalid_body("a resource is not a JSON object"));
    }
    let raw: RawRecord = serde_json::from_value(value)
        .map_err(|e| invalid_body(&super::error::redact_json_error(&e)))?;
    let id = text(raw.id)
        .or_else(|| text(raw.underscore_id))
        .ok_or_else(|| invalid_body("a resource has no id"))?;
    Ok(PepResourceRecord {
        id,
        name: text(raw.name).or_else(|| text(raw.underscore_name)),
        path: text(raw.icon_uri).or_else(|| text(raw.reverse_match_url)),
        resource_scopes: raw.resource_scopes.or(raw.scopes).unwrap_or_default(),
        ownership_id: text(raw.ownership_id),
    })
}

fn body_json(response: &http::Response<Vec<u8>>) -> Result<Value, PepResourceError> {
    serde_json::from_slice(response.body())
        .map_err(|e| invalid_body(&super::error::redact_json_error(&e)))
}

/// `{pep}/resources`.
fn collection(pep: &Url) -> Result<Url, PepResourceError> {
    let mut url = pep.clone();
    url.set_fragment(None);
    url.set_query(None);
    url.path_segments_mut()
        .map_err(|_| PepResourceError::InvalidInput("the PEP URL cannot have path segments"))?
        .pop_if_empty()
        .push("resources");
    Ok(url)
}

fn request(
    method: Method,
    url: &Url,
    id_token: &ClaimToken,
    body: Option<Vec<u8>>,
) -> Result<http::Request<Vec<u8>>, PepResourceError> {
    let mut authorization = bearer_authorization(id_token.secret())
        .map_err(|_| PepResourceError::InvalidInput("the ID token is not a valid Bearer value"))?;
    authorization.set_sensitive(true);
    wire::json_request(method, url, authorization, body)
        .map_err(|_| PepResourceError::InvalidInput("the PEP URL is not a valid request target"))
}

fn item(pep: &Url, id: &str) -> Result<Url, PepResourceError> {
    resource_url(&collection(pep)?, id)
        .map_err(|_| PepResourceError::InvalidInput("the resource id is empty"))
}

/// `POST {pep}/resources` with `resource` as JSON and the ID token as Bearer.
pub fn create_pep_resource_request(
    pep: &Url,
    id_token: &ClaimToken,
    resource: &PepResource,
) -> Result<http::Request<Vec<u8>>, PepResourceError> {
    if resource.name.is_empty() {
        return Err(PepResourceError::InvalidInput("the resource name is empty"));
    }
    let body = to_json(resource)
        .map_err(|_| PepResourceError::InvalidInput("the resource cannot be serialised"))?;
    request(Method::POST, &collection(pep)?, id_token, Some(body))
}

/// Parses the answer to [`create_pep_resource_request`]: 200 with the registration echoed, plus `id`
/// and `ownership_id` (201 tolerated).
pub fn parse_create_pep_resource_response(
    response: &http::Response<Vec<u8>>,
) -> Result<PepResourceRecord, PepResourceError> {
    check(response, &[StatusCode::OK, StatusCode::CREATED])?;
    record(body_json(response)?)
}

/// `GET {pep}/resources`, or `GET {pep}/resources?path=<path>` for the one registered at `path`.
/// Since um-pep-engine v1.2 a user sees only the resources they own and are operator for.
pub fn list_pep_resources_request(
    pep: &Url,
    id_token: &ClaimToken,
    path: Option<&str>,
) -> Result<http::Request<Vec<u8>>, PepResourceError> {
    let mut url = collection(pep)?;
    if let Some(path) = path {
        url.query_pairs_mut().append_pair("path", path);
    }
    request(Method::GET, &url, id_token, None)
}

/// Parses the answer to [`list_pep_resources_request`]: a JSON array of `{_id, _name,
/// _reverse_match_url}`, or the single object answered for `?path=` (a miss is
/// [`PepResourceError::NotFound`]).
pub fn parse_list_pep_resources_response(
    response: &http::Response<Vec<u8>>,
) -> Result<Vec<PepResourceRecord>, PepResourceError> {
    check(response, &[StatusCode::OK])?;
    match body_json(response)? {
        Value::Array(items) => items.into_iter().map(record).collect(),
        object @ Value::Object(_) => Ok(vec![record(object)?]),
        _ => Err(invalid_body("the body is neither a list nor a resource")),
    }
}

/// `GET {pep}/resources/{id}` (older PEPs; current ones answer 405).
pub fn read_pep_resource_request(
    pep: &Url,
    id_token: &ClaimToken,
    id: &str,
) -> Result<http::Request<Vec<u8>>, PepResourceError> {
    request(Method::GET, &item(pep, id)?, id_token, None)
}

/// Parses the answer to [`read_pep_resource_request`]: 200 with the resource.
pub fn parse_read_pep_resource_response(
    response: &http::Response<Vec<u8>>,
) -> Result<PepResourceRecord, PepResourceError> {
    check(response, &[StatusCode::OK])?;
    record(body_json(response)?)
}

/// `DELETE {pep}/resources/{id}`: the owner (or an operator) removes a registration.
pub fn delete_pep_resource_request(
    pep: &Url,
    id_token: &ClaimToken,
    id: &str,
) -> Result<http::Request<Vec<u8>>, PepResourceError> {
    request(Method::DELETE, &item(pep, id)?, id_token, None)
}

/// Parses the answer to [`delete_pep_resource_request`]: 204 (200 tolerated), body ignored.
pub fn parse_delete_pep_resource_response(
    response: &http::Response<Vec<u8>>,
) -> Result<(), PepResourceError> {
    check(response, &[StatusCode::NO_CONTENT, StatusCode::OK])
}
