//! Resource registration (UMAF §3; `docs/protocol.md` §9.2): create, read, update, delete, list.

use std::collections::BTreeMap;

use http::{Method, StatusCode, header};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use super::error::ProtectionError;
use super::wire::{self, check_status, lenient, parse_json, parse_object, resource_url, to_json};
use crate::secret::AccessToken;

const OPERATION: &str = "resource registration endpoint";

/// A resource description (UMAF §3.1) with the Keycloak and Gluu extensions.
///
/// On input, scopes are read as strings or as Keycloak's `{"name": …}` objects, under
/// `resource_scopes` or Keycloak's `scopes`; Keycloak's legacy single `uri` joins `uris`; `owner` may
/// be a string or Keycloak's `{"id", "name"}` object. Members this type does not know are kept in
/// [`extra`](Self::extra) and sent back on update. `_id` and `user_access_policy_uri` are read from
/// responses but never sent: the id travels in the URL.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "RawResource")]
pub struct ResourceDescription {
    /// The AS-assigned `_id` (responses only).
    #[serde(skip_serializing)]
    pub id: Option<String>,
    /// Scopes the resource supports (REQUIRED by UMAF; Gluu accepts `scope_expression` instead).
    #[serde(skip_serializing)]
    pub resource_scopes: Vec<String>,
    /// Human-readable name (Keycloak: unique per owner).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Human-readable description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// An icon URI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon_uri: Option<String>,
    /// The resource type (a string, often a URI).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// Keycloak: URIs the resource covers (path patterns matched by its policy enforcer).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub uris: Vec<String>,
    /// Keycloak: the owner, a user name or ID (default: the resource server).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Keycloak: let the owner manage sharing in the Account Console.
    #[serde(rename = "ownerManagedAccess", skip_serializing_if = "Option::is_none")]
    pub owner_managed_access: Option<bool>,
    /// Keycloak: display name.
    #[serde(rename = "displayName", skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Keycloak: attributes, name to values.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, Vec<String>>,
    /// Gluu: a JsonLogic expression over scopes, in place of or beside `resource_scopes`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope_expression: Option<Value>,
    /// Gluu: issue time of the registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Gluu: expiry of the registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Where the RS may send the resource owner to set policy (UMAF §3.2.1; responses only).
    #[serde(skip_serializing)]
    pub user_access_policy_uri: Option<String>,
    /// Members not listed above, kept as received and sent back (typed fields win on a clash).
    #[serde(skip_serializing)]
    pub extra: Map<String, Value>,
}

impl ResourceDescription {
    /// A description with a name and scopes.
    pub fn new<S: Into<String>>(
        name: impl Into<String>,
        scopes: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            name: Some(name.into()),
            resource_scopes: scopes.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    fn to_body(&self) -> Result<Vec<u8>, ProtectionError> {
        // Typed fields win over same-named leftovers in `extra`; response-only members and the
        // aliases the typed fields were read from are never echoed back.
        const RESERVED: [&str; 5] = [
            "_id",
            "user_access_policy_uri",
            "scopes",
            "uri",
            "resource_scopes",
        ];
        let extra: Map<String, Value> = self
            .extra
            .iter()
            .filter(|(k, _)| !RESERVED.contains(&k.as_str()) && !Self::is_typed_member(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        to_json(&Outgoing {
            // `resource_scopes` is always sent (UMAF §3.1), except empty beside a Gluu
            // `scope_expression`, which replaces it (`docs/protocol.md` §9.2).
            resource_scopes: (!self.resource_scopes.is_empty() || self.scope_expression.is_none())
                .then_some(&self.resource_scopes),
            description: self,
            extra,
        })
    }

    fn is_typed_member(key: &str) -> bool {
        [
            "name",
            "description",
            "icon_uri",
            "type",
            "uris",
            "owner",
            "ownerManagedAccess",
            "displayName",
            "attributes",
            "scope_expression",
            "iat",
            "exp",
        ]
        .contains(&key)
    }
}

/// The JSON sent on create and update, in a stable, readable member order.
#[derive(Serialize)]
struct Outgoing<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_scopes: Option<&'a Vec<String>>,
    #[serde(flatten)]
    description: &'a ResourceDescription,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

/// The wire shape read from servers, folded into [`ResourceDescription`].
#[derive(Deserialize)]
struct RawResource {
    #[serde(rename = "_id", default, deserialize_with = "opt_string")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient::scope_list")]
    resource_scopes: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient::scope_list")]
    scopes: Option<Vec<String>>,
    #[serde(default, deserialize_with = "opt_string")]
    name: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    description: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    icon_uri: Option<String>,
    #[serde(rename = "type", default, deserialize_with = "opt_string")]
    resource_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::string_or_seq")]
    uris: Vec<String>,
    #[serde(default, deserialize_with = "opt_string")]
    uri: Option<String>,
    #[serde(default, deserialize_with = "owner")]
    owner: Option<String>,
    #[serde(rename = "ownerManagedAccess", default)]
    owner_managed_access: Option<Value>,
    #[serde(rename = "displayName", default, deserialize_with = "opt_string")]
    display_name: Option<String>,
    #[serde(default)]
    attributes: Option<Value>,
    #[serde(default)]
    scope_expression: Option<Value>,
    #[serde(default, deserialize_with = "lenient::numeric_date")]
    iat: Option<i64>,
    #[serde(default, deserialize_with = "lenient::numeric_date")]
    exp: Option<i64>,
    #[serde(default, deserialize_with = "opt_string")]
    user_access_policy_uri: Option<String>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

impl From<RawResource> for ResourceDescription {
    fn from(raw: RawResource) -> Self {
        let mut uris = raw.uris;
        if let Some(uri) = raw.uri {
            if !uris.contains(&uri) {
                uris.push(uri);
            }
        }
        let attributes = match raw.attributes {
            Some(Value::Object(map)) => map
                .into_iter()
                .map(|(k, v)| {
                    let values = match v {
                        Value::String(s) => vec![s],
                        Value::Array(items) => items
                            .into_iter()
                            .filter_map(|i| i.as_str().map(str::to_owned))
                            .collect(),
                        _ => Vec::new(),
                    };
                    (k, values)
                })
                .collect(),
            _ => BTreeMap::new(),
        };
        Self {
            id: raw.id,
            resource_scopes: raw.resource_scopes.or(raw.scopes).unwrap_or_default(),
            name: raw.name,
            description: raw.description,
            icon_uri: raw.icon_uri,
            resource_type: raw.resource_type,
            uris,
            owner: raw.owner,
            owner_managed_access: raw.owner_managed_access.and_then(|v| v.as_bool()),
            display_name: raw.display_name,
            attributes,
            scope_expression: raw.scope_expression.filter(|v| !v.is_null()),
            iat: raw.iat,
            exp: raw.exp,
            user_access_policy_uri: raw.user_access_policy_uri,
            extra: raw.extra,
        }
    }
}

/// A string member; any other JSON type reads as absent rather than failing the whole body.
fn opt_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => Some(s),
        _ => None,
    })
}

/// Keycloak's owner: a string on input, `{"id", "name"}` on output (the id is preferred).
fn owner<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => Some(s),
        Some(Value::Object(mut o)) => match (o.remove("id"), o.remove("name")) {
            (Some(Value::String(id)), _) => Some(id),
            (_, Some(Value::String(name))) => Some(name),
            _ => None,
        },
        _ => None,
    })
}

/// Keycloak's list filters for `GET resource_set` (`docs/protocol.md` §9.2). Unset fields are not sent.
/// Gluu honours `scope` only; the spec defines none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourceQuery {
    /// `_id`: only this resource id.
    pub id: Option<String>,
    /// `name`: by name (substring unless `exact_name`).
    pub name: Option<String>,
    /// `uri`: by URI.
    pub uri: Option<String>,
    /// `owner`: by owner.
    pub owner: Option<String>,
    /// `type`: by type.
    pub resource_type: Option<String>,
    /// `scope`: by scope name.
    pub scope: Option<String>,
    /// `matchingUri`: match `uri` against the resources' URI patterns.
    pub matching_uri: Option<bool>,
    /// `exactName`: `name` must match exactly.
    pub exact_name: Option<bool>,
    /// `deep`: return full objects instead of ids.
    pub deep: Option<bool>,
    /// `first`: paging offset.
    pub first: Option<u32>,
    /// `max`: page size.
    pub max: Option<u32>,
}

impl ResourceQuery {
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let text = [
            ("_id", &self.id),
            ("name", &self.name),
            ("uri", &self.uri),
            ("owner", &self.owner),
            ("type", &self.resource_type),
            ("scope", &self.scope),
        ];
        let flags = [
            ("matchingUri", self.matching_uri),
            ("exactName", self.exact_name),
            ("deep", self.deep),
        ];
        let numbers = [("first", self.first), ("max", self.max)];
        let mut out = Vec::new();
        out.extend(text.into_iter().filter_map(|(k, v)| Some((k, v.clone()?))));
        out.extend(
            flags
                .into_iter()
                .filter_map(|(k, v)| Some((k, v?.to_string()))),
        );
        out.extend(
            numbers
                .into_iter()
                .filter_map(|(k, v)| Some((k, v?.to_string()))),
        );
        out
    }
}

/// `POST endpoint` with the description as JSON (UMAF §3.2.1).
pub fn create_resource_request(
    endpoint: &Url,
    pat: &AccessToken,
    resource: &ResourceDescription,
) -> Result<http::Request<Vec<u8>>, ProtectionError> {
    wire::pat_request(Method::POST, endpoint, pat, Some(resource.to_body()?))
}

/// `GET endpoint/{id}` (UMAF §3.2.2).
pub fn read_resource_request(
    endpoint: &Url,
    pat: &AccessToken,
    id: &str,
) -> Result<http::Request<Vec<u8>>, ProtectionError> {
    wire::pat_request(Method::GET, &resource_url(endpoint, id)?, pat, None)
}

/// `PUT endpoint/{id}` with the full replacement description (UMAF §3.2.3).
pub fn update_resource_request(
    endpoint: &Url,
    pat: &AccessToken,
    id: &str,
    resource: &ResourceDescription,
) -> Result<http::Request<Vec<u8>>, ProtectionError> {
    let url = resource_url(endpoint, id)?;
    wire::pat_request(Method::PUT, &url, pat, Some(resource.to_body()?))
}

/// `DELETE endpoint/{id}` (UMAF §3.2.4).
pub fn delete_resource_request(
    endpoint: &Url,
    pat: &AccessToken,
    id: &str,
) -> Result<http::Request<Vec<u8>>, ProtectionError> {
    wire::pat_request(Method::DELETE, &resource_url(endpoint, id)?, pat, None)
}

/// `GET endpoint` with optional filters appended to any query the endpoint already has (UMAF §3.2.5).
pub fn list_resources_request(
    endpoint: &Url,
    pat: &AccessToken,
    query: &ResourceQuery,
) -> Result<http::Request<Vec<u8>>, ProtectionError> {
    let mut url = endpoint.clone();
    url.set_fragment(None);
    let pairs = query.pairs();
    if !pairs.is_empty() {
        let mut serializer = url.query_pairs_mut();
        for (k, v) in &pairs {
            serializer.append_pair(k, v);
        }
    }
    wire::pat_request(Method::GET, &url, pat, None)
}

/// The outcome of a create.
#[derive(Clone, Debug, PartialEq)]
pub struct CreatedResource {
    /// The new resource's `_id`: from the body, or else the last segment of `Location`.
    pub id: String,
    /// The `Location` header as sent (often relative; absent from Keycloak and Gluu).
    pub location: Option<String>,
    /// `user_access_policy_uri`, if sent.
    pub user_access_policy_uri: Option<String>,
    /// The body as a description (Keycloak returns the full object; the spec and Gluu only `_id`).
    pub resource: ResourceDescription,
}

/// Parses the answer to [`create_resource_request`]: spec 201 + `Location` + `{"_id"}`, Keycloak 201
/// with the full object and no `Location`, Gluu 201 `{"_id"}`; 200 is tolerated.
pub fn parse_create_resource_response(
    response: &http::Response<Vec<u8>>,
) -> Result<CreatedResource, ProtectionError> {
    check_status(response, &[StatusCode::CREATED, StatusCode::OK], OPERATION)?;
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let resource: ResourceDescription = if response.body().iter().all(u8::is_ascii_whitespace) {
        ResourceDescription::default()
    } else {
        parse_object(response.body(), OPERATION)?
    };
    let id = resource
        .id
        .clone()
        .filter(|id| !id.is_empty())
        .or_else(|| location.as_deref().and_then(last_segment))
        .ok_or_else(|| ProtectionError::InvalidBody {
            operation: OPERATION,
            reason: "no `_id` in the body and no Location header".to_owned(),
        })?;
    Ok(CreatedResource {
        id,
        location,
        user_access_policy_uri: resource.user_access_policy_uri.clone(),
        resource,
    })
}

/// The last non-empty path segment of a Location value, percent-decoded.
fn last_segment(location: &str) -> Option<String> {
    let path = location.split(['?', '#']).next()?;
    let segment = path.rsplit('/').find(|s| !s.is_empty())?;
    percent_decode(segment).filter(|s| !s.is_empty())
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Parses the answer to [`read_resource_request`] (200 with the description and `_id`).
pub fn parse_read_resource_response(
    response: &http::Response<Vec<u8>>,
) -> Result<ResourceDescription, ProtectionError> {
    check_status(response, &[StatusCode::OK], OPERATION)?;
    parse_object(response.body(), OPERATION)
}

/// The outcome of an update.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdatedResource {
    /// `_id` from the body (spec, Gluu); `None` after Keycloak's 204.
    pub id: Option<String>,
    /// `user_access_policy_uri`, if sent.
    pub user_access_policy_uri: Option<String>,
}

/// Parses the answer to [`update_resource_request`]: spec/Gluu 200 `{"_id"}`, Keycloak 204.
pub fn parse_update_resource_response(
    response: &http::Response<Vec<u8>>,
) -> Result<UpdatedResource, ProtectionError> {
    check_status(
        response,
        &[StatusCode::OK, StatusCode::NO_CONTENT, StatusCode::CREATED],
        OPERATION,
    )?;
    if response.body().iter().all(u8::is_ascii_whitespace) {
        return Ok(UpdatedResource::default());
    }
    let resource: ResourceDescription = parse_object(response.body(), OPERATION)?;
    Ok(UpdatedResource {
        id: resource.id,
        user_access_policy_uri: resource.user_access_policy_uri,
    })
}

/// Parses the answer to [`delete_resource_request`]: 200 or 204, body ignored.
pub fn parse_delete_resource_response(
    response: &http::Response<Vec<u8>>,
) -> Result<(), ProtectionError> {
    check_status(
        response,
        &[StatusCode::OK, StatusCode::NO_CONTENT],
        OPERATION,
    )
}

/// A list of resources.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResourceList {
    /// Every listed `_id`, in order.
    pub ids: Vec<String>,
    /// Full descriptions, when the server returned objects (Keycloak `deep=true`); else empty.
    pub resources: Vec<ResourceDescription>,
}

/// Parses the answer to [`list_resources_request`]: a JSON array of `_id` strings (UMAF §3.2.5), or of
/// objects (Keycloak `deep=true`).
pub fn parse_list_resources_response(
    response: &http::Response<Vec<u8>>,
) -> Result<ResourceList, ProtectionError> {
    check_status(response, &[StatusCode::OK], OPERATION)?;
    let items: Vec<Value> = parse_json(response.body(), OPERATION)?;
    let mut list = ResourceList::default();
    for item in items {
        match item {
            Value::String(id) => list.ids.push(id),
            Value::Object(_) => {
                let resource: ResourceDescription =
                    serde_json::from_value(item).map_err(|e| ProtectionError::InvalidBody {
                        operation: OPERATION,
                        reason: super::error::redact_json_error(&e),
                    })?;
                if let Some(id) = &resource.id {
                    list.ids.push(id.clone());
                }
                list.resources.push(resource);
            }
            _ => {
                return Err(ProtectionError::InvalidBody {
                    operation: OPERATION,
                    reason: "a list item is neither an id nor an object".to_owned(),
                });
            }
        }
    }
    Ok(list)
}
