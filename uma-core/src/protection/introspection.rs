//! RPT introspection (RFC 7662 with UMAF §5; `docs/protocol.md` §9.4).

use http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value};
use url::Url;

use super::error::ProtectionError;
use super::wire::{check_status, lenient, parse_object};
use crate::auth::{ClientAuthMethod, ClientCredentials, FormRequest, bearer_authorization};
use crate::secret::AccessToken;

const OPERATION: &str = "introspection endpoint";

/// How the RS authenticates to the introspection endpoint.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum IntrospectionAuth<'a> {
    /// The PAT as `Authorization: Bearer` (UMAF §5.1; Gluu).
    Pat(&'a AccessToken),
    /// The RS's own client credentials (Keycloak's guide; RFC 7662 §2.1 allows either).
    Client(&'a ClientCredentials),
}

/// The `token_type_hint` parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum TokenTypeHint {
    /// No hint.
    #[default]
    None,
    /// `access_token`: an RPT is an access token (UMAF §5.1).
    AccessToken,
    /// `requesting_party_token`: Keycloak's hint that selects its RPT view with `permissions`.
    RequestingPartyToken,
}

impl TokenTypeHint {
    fn as_str(self) -> Option<&'static str> {
        match self {
            Self::None => None,
            Self::AccessToken => Some("access_token"),
            Self::RequestingPartyToken => Some("requesting_party_token"),
        }
    }
}

/// `POST endpoint` with `token=<rpt>` and the hint, form-encoded (RFC 7662 §2.1).
///
/// ```
/// use uma_core::ClientCredentials;
/// use uma_core::protection::{introspection_request, IntrospectionAuth, TokenTypeHint};
/// use uma_core::secret::AccessToken;
///
/// let url = url::Url::parse("https://kc.example.org/realms/demo/protocol/openid-connect/token/introspect")?;
/// let rs = ClientCredentials::basic("rs", "secret");
/// let request = introspection_request(
///     &url,
///     &AccessToken::new("rpt"),
///     TokenTypeHint::RequestingPartyToken,
///     IntrospectionAuth::Client(&rs),
/// )?;
/// assert_eq!(request.body(), b"token=rpt&token_type_hint=requesting_party_token");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn introspection_request(
    endpoint: &Url,
    rpt: &AccessToken,
    hint: TokenTypeHint,
    auth: IntrospectionAuth<'_>,
) -> Result<http::Request<Vec<u8>>, ProtectionError> {
    let mut form = FormRequest::new();
    form.push("token", rpt.secret());
    if let Some(hint) = hint.as_str() {
        form.push("token_type_hint", hint);
    }
    match auth {
        IntrospectionAuth::Pat(pat) => {
            form.authorization = Some(bearer_authorization(pat.secret())?);
        }
        IntrospectionAuth::Client(client) => {
            if client.method == ClientAuthMethod::RequestingPartyBearer {
                return Err(ProtectionError::InvalidInput(
                    "introspection needs the resource server's own credentials or its PAT",
                ));
            }
            client.apply(None, &mut form)?;
        }
    }
    form.into_request(endpoint)
        .map_err(|_| ProtectionError::InvalidInput("the endpoint URL is not a valid request URI"))
}

/// An introspection answer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Introspection {
    /// Whether the token is active. Everything else is meaningful only when true.
    pub active: bool,
    /// Token expiry (seconds since the epoch).
    pub exp: Option<i64>,
    /// Token issue time.
    pub iat: Option<i64>,
    /// Token not-before time.
    pub nbf: Option<i64>,
    /// The client the token was issued to.
    pub client_id: Option<String>,
    /// The token's subject.
    pub sub: Option<String>,
    /// Audiences (a string or an array on the wire).
    pub aud: Vec<String>,
    /// Issuer.
    pub iss: Option<String>,
    /// Token identifier.
    pub jti: Option<String>,
    /// Resource owner's user name.
    pub username: Option<String>,
    /// Token type.
    pub token_type: Option<String>,
    /// The UMA permissions the RPT carries.
    pub permissions: Vec<IntrospectedPermission>,
    /// Other members (e.g. Gluu's `pct_claims`, Keycloak's `typ`, `acr`), as received.
    pub extra: Map<String, Value>,
}

/// One permission in an introspected RPT (UMAF §5.1.1).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IntrospectedPermission {
    /// `resource_id` (Keycloak also `rsid`). `None` when the server sent neither, which matches nothing.
    pub resource_id: Option<String>,
    /// Keycloak's `rsname` (or `resource_name`).
    pub resource_name: Option<String>,
    /// `resource_scopes` (Keycloak also `scopes`).
    pub resource_scopes: Vec<String>,
    /// Permission expiry.
    pub exp: Option<i64>,
    /// Permission issue time.
    pub iat: Option<i64>,
    /// Permission not-before time.
    pub nbf: Option<i64>,
    /// Other members (Keycloak `claims`, Gluu `params`), as received.
    pub extra: Map<String, Value>,
}

impl Introspection {
    /// Whether the RPT grants `scope` on `resource_id` at `now` (seconds since the epoch).
    ///
    /// The token must be active; each permission's effective window is the token's and its own
    /// combined (UMAF §5.1.1): the earlier `exp` wins, the later `iat`/`nbf` win. A time in the
    /// window means `nbf <= now`, `iat <= now` and `now < exp`. No clock leeway is added: pass a
    /// shifted `now` for that.
    pub fn allows(&self, resource_id: &str, scope: &str, now: i64) -> bool {
        self.valid_permissions(resource_id, now)
            .any(|p| p.resource_scopes.iter().any(|s| s == scope))
    }

    /// Whether the RPT grants every scope in `scopes` on `resource_id` at `now`, possibly through
    /// several permission entries. With no scopes, whether any valid permission names the resource.
    pub fn allows_all(&self, resource_id: &str, scopes: &[&str], now: i64) -> bool {
        if scopes.is_empty() {
            return self.valid_permissions(resource_id, now).next().is_some();
        }
        scopes.iter().all(|s| self.allows(resource_id, s, now))
    }

    fn valid_permissions<'a>(
        &'a self,
        resource_id: &'a str,
        now: i64,
    ) -> impl Iterator<Item = &'a IntrospectedPermission> + 'a {
        self.permissions.iter().filter(move |p| {
            self.active
                && p.resource_id.as_deref() == Some(resource_id)
                && in_window(
                    earliest(self.exp, p.exp),
                    latest(self.iat, p.iat),
                    latest(self.nbf, p.nbf),
                    now,
                )
        })
    }
}

fn earliest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn latest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    a.max(b)
}

fn in_window(exp: Option<i64>, iat: Option<i64>, nbf: Option<i64>, now: i64) -> bool {
    exp.is_none_or(|exp| now < exp)
        && iat.is_none_or(|iat| iat <= now)
        && nbf.is_none_or(|nbf| nbf <= now)
}

#[derive(Deserialize)]
struct RawIntrospection {
    active: Value,
    #[serde(default, deserialize_with = "lenient::numeric_date")]
    exp: Option<i64>,
    #[serde(default, deserialize_with = "lenient::numeric_date")]
    iat: Option<i64>,
    #[serde(default, deserialize_with = "lenient::numeric_date")]
    nbf: Option<i64>,
    #[serde(default)]
    client_id: Option<Value>,
    #[serde(default)]
    sub: Option<Value>,
    #[serde(default, deserialize_with = "lenient::string_or_seq")]
    aud: Vec<String>,
    #[serde(default)]
    iss: Option<Value>,
    #[serde(default)]
    jti: Option<Value>,
    #[serde(default)]
    username: Option<Value>,
    #[serde(default)]
    token_type: Option<Value>,
    #[serde(default)]
    permissions: Option<Value>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

#[derive(Deserialize)]
struct RawPermission {
    #[serde(default)]
    resource_id: Option<Value>,
    #[serde(default)]
    rsid: Option<Value>,
    #[serde(default)]
    resource_name: Option<Value>,
    #[serde(default)]
    rsname: Option<Value>,
    #[serde(default, deserialize_with = "lenient::scope_list")]
    resource_scopes: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient::scope_list")]
    scopes: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient::numeric_date")]
    exp: Option<i64>,
    #[serde(default, deserialize_with = "lenient::numeric_date")]
    iat: Option<i64>,
    #[serde(default, deserialize_with = "lenient::numeric_date")]
    nbf: Option<i64>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

fn string(v: Option<Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) => Some(s),
        _ => None,
    }
}

/// Parses an introspection answer (200). `active` is required and must be a boolean; an entry in
/// `permissions` that is not an object makes the body invalid rather than being skipped, since the
/// RS makes access decisions from it.
pub fn parse_introspection_response(
    response: &http::Response<Vec<u8>>,
) -> Result<Introspection, ProtectionError> {
    check_status(response, &[StatusCode::OK], OPERATION)?;
    let raw: RawIntrospection = parse_object(response.body(), OPERATION)?;
    let invalid = |reason: &str| ProtectionError::InvalidBody {
        operation: OPERATION,
        reason: reason.to_owned(),
    };
    let Value::Bool(active) = raw.active else {
        return Err(invalid("`active` is not a boolean"));
    };
    let permissions = match raw.permissions {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| {
                if !item.is_object() {
                    return Err(invalid("a permission is not an object"));
                }
                let p: RawPermission = serde_json::from_value(item)
                    .map_err(|_| invalid("a permission is not an object"))?;
                Ok(IntrospectedPermission {
                    resource_id: string(p.resource_id).or_else(|| string(p.rsid)),
                    resource_name: string(p.rsname).or_else(|| string(p.resource_name)),
                    resource_scopes: p.resource_scopes.or(p.scopes).unwrap_or_default(),
                    exp: p.exp,
                    iat: p.iat,
                    nbf: p.nbf,
                    extra: p.extra,
                })
            })
            .collect::<Result<_, ProtectionError>>()?,
        Some(_) => return Err(invalid("`permissions` is not an array")),
    };
    Ok(Introspection {
        active,
        exp: raw.exp,
        iat: raw.iat,
        nbf: raw.nbf,
        client_id: string(raw.client_id),
        sub: string(raw.sub),
        aud: raw.aud,
        iss: string(raw.iss),
        jti: string(raw.jti),
        username: string(raw.username),
        token_type: string(raw.token_type),
        permissions,
        extra: raw.extra,
    })
}
