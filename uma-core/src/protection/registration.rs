//! OAuth 2.0 dynamic client registration (RFC 7591), with UMA's `claims_redirect_uris` (UMAG §2).

use http::{StatusCode, header};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use super::error::ProtectionError;
use super::wire::{check_status, lenient, parse_object, to_json};
use crate::auth::{ClientAuthMethod, ClientCredentials, bearer_authorization};
use crate::grant::UMA_TICKET_GRANT;
use crate::secret::{AccessToken, ClientSecret};

const OPERATION: &str = "client registration endpoint";

/// Client metadata to register (RFC 7591 §2). Empty lists and unset fields are not sent.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ClientRegistration {
    /// `client_name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// `redirect_uris`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redirect_uris: Vec<String>,
    /// `claims_redirect_uris`: where the AS may send the requesting party back after interactive
    /// claims gathering (UMAG §2, §3.3.2).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub claims_redirect_uris: Vec<String>,
    /// `grant_types`, e.g. `client_credentials` and [`UMA_TICKET_GRANT`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub grant_types: Vec<String>,
    /// `response_types`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub response_types: Vec<String>,
    /// `token_endpoint_auth_method`, e.g. `client_secret_basic`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<String>,
    /// `scope`, space-separated (e.g. `"openid uma_protection"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// `contacts`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<String>,
    /// `client_uri`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    /// `logo_uri`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    /// `jwks_uri`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// `software_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software_id: Option<String>,
    /// `software_version`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software_version: Option<String>,
    /// Any other metadata (e.g. OIDC `subject_type`), sent as is; typed fields win on a clash.
    #[serde(skip_serializing)]
    pub extra: Map<String, Value>,
}

impl ClientRegistration {
    /// A confidential UMA client for the EOEPCA-style flow: grant types `client_credentials` and the
    /// uma-ticket grant, `client_secret_basic`, no redirect URIs.
    pub fn uma_client(name: impl Into<String>) -> Self {
        Self {
            client_name: Some(name.into()),
            grant_types: vec!["client_credentials".to_owned(), UMA_TICKET_GRANT.to_owned()],
            token_endpoint_auth_method: Some("client_secret_basic".to_owned()),
            ..Self::default()
        }
    }

    fn to_body(&self) -> Result<Vec<u8>, ProtectionError> {
        #[derive(Serialize)]
        struct Outgoing<'a> {
            #[serde(flatten)]
            registration: &'a ClientRegistration,
            #[serde(flatten)]
            extra: Map<String, Value>,
        }
        // Typed fields win on a clash: a leftover is sent only if its typed field is unset.
        let typed = serde_json::to_value(self).map_err(|_| {
            ProtectionError::InvalidInput("the client metadata cannot be serialised")
        })?;
        let extra = self
            .extra
            .iter()
            .filter(|(k, _)| typed.get(k.as_str()).is_none())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        to_json(&Outgoing {
            registration: self,
            extra,
        })
    }
}

/// `POST endpoint` with the metadata as JSON (RFC 7591 §3.1), with the initial access token as
/// Bearer when the AS requires one (RFC 7591 §3).
pub fn registration_request(
    endpoint: &Url,
    registration: &ClientRegistration,
    initial_access_token: Option<&AccessToken>,
) -> Result<http::Request<Vec<u8>>, ProtectionError> {
    let mut builder = http::Request::post(endpoint.as_str())
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json");
    if let Some(token) = initial_access_token {
        builder = builder.header(header::AUTHORIZATION, bearer_authorization(token.secret())?);
    }
    builder.body(registration.to_body()?).map_err(|_| {
        ProtectionError::InvalidInput("the endpoint URL is not a valid request target")
    })
}

/// A registered client (RFC 7591 §3.2.1). `Debug` shows no secret: the secret and the registration
/// access token are redacted newtypes.
#[derive(Clone, Debug)]
pub struct RegisteredClient {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`, for confidential clients.
    pub client_secret: Option<ClientSecret>,
    /// `registration_access_token` (RFC 7592), to read or update the registration later.
    pub registration_access_token: Option<AccessToken>,
    /// `registration_client_uri` (RFC 7592).
    pub registration_client_uri: Option<String>,
    /// `client_id_issued_at` (seconds since the epoch).
    pub client_id_issued_at: Option<i64>,
    /// `client_secret_expires_at`: 0 means never (RFC 7591 §3.2.1).
    pub client_secret_expires_at: Option<i64>,
    /// `token_endpoint_auth_method` as registered.
    pub token_endpoint_auth_method: Option<String>,
    /// The other metadata the AS echoed back.
    pub metadata: Map<String, Value>,
}

impl RegisteredClient {
    /// Credentials for the token endpoint, using the registered authentication method when it is
    /// one this crate speaks (`client_secret_post`, `none`), else `client_secret_basic` when a secret
    /// was issued, else a public client.
    pub fn credentials(&self) -> ClientCredentials {
        let method = match (
            self.token_endpoint_auth_method.as_deref(),
            &self.client_secret,
        ) {
            (Some("client_secret_post"), Some(_)) => ClientAuthMethod::ClientSecretPost,
            (Some("none"), _) | (_, None) => ClientAuthMethod::None,
            (_, Some(_)) => ClientAuthMethod::ClientSecretBasic,
        };
        ClientCredentials {
            client_id: self.client_id.clone(),
            client_secret: match method {
                ClientAuthMethod::None => None,
                _ => self.client_secret.clone(),
            },
            method,
        }
    }
}

#[derive(Deserialize)]
struct RawRegistered {
    client_id: String,
    #[serde(default)]
    client_secret: Option<Value>,
    #[serde(default)]
    registration_access_token: Option<Value>,
    #[serde(default)]
    registration_client_uri: Option<Value>,
    #[serde(default, deserialize_with = "lenient::numeric_date")]
    client_id_issued_at: Option<i64>,
    #[serde(default, deserialize_with = "lenient::numeric_date")]
    client_secret_expires_at: Option<i64>,
    #[serde(default)]
    token_endpoint_auth_method: Option<Value>,
    #[serde(flatten)]
    metadata: Map<String, Value>,
}

fn non_empty(v: Option<Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    }
}

/// Parses the answer to [`registration_request`]: 201 (200 tolerated; Gluu) with the client
/// information. Errors carry the RFC 7591 §3.2.2 codes (`invalid_redirect_uri`,
/// `invalid_client_metadata`, …) in [`ProtectionError::code`].
pub fn parse_registration_response(
    response: &http::Response<Vec<u8>>,
) -> Result<RegisteredClient, ProtectionError> {
    check_status(response, &[StatusCode::CREATED, StatusCode::OK], OPERATION)?;
    let raw: RawRegistered = parse_object(response.body(), OPERATION)?;
    if raw.client_id.is_empty() {
        return Err(ProtectionError::InvalidBody {
            operation: OPERATION,
            reason: "the client_id is empty".to_owned(),
        });
    }
    // A secret or token of the wrong JSON type is dropped, never echoed.
    Ok(RegisteredClient {
        client_id: raw.client_id,
        client_secret: non_empty(raw.client_secret).map(ClientSecret::new),
        registration_access_token: non_empty(raw.registration_access_token).map(AccessToken::new),
        registration_client_uri: non_empty(raw.registration_client_uri),
        client_id_issued_at: raw.client_id_issued_at,
        client_secret_expires_at: raw.client_secret_expires_at,
        token_endpoint_auth_method: non_empty(raw.token_endpoint_auth_method),
        metadata: raw.metadata,
    })
}
