//! Token-endpoint response parsers.

// `TokenError::Rejected` holds the whole `UmaError` unboxed so callers can match on it directly; errors are
// the cold path and a few hundred bytes of `Result` cost nothing next to an HTTP round trip.
#![allow(clippy::result_large_err)]

use serde_json::{Map, Value};

use crate::secret::{AccessToken, ClaimToken, Pct, RefreshToken};

use super::error::{TokenError, from_error_object, number};

/// Largest token-endpoint body parsed; adapters should stop reading well before this.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// A successful token response (RFC 6749 §5.1; UMAG §3.3.5; `docs/protocol.md` §3.3).
#[derive(Clone, Debug)]
pub struct TokenResponse {
    /// The access token (an RPT for the UMA grant).
    pub access_token: AccessToken,
    /// The token type as sent (checked to be `bearer`, case-insensitively).
    pub token_type: String,
    /// Lifetime in seconds (absent from Gluu).
    pub expires_in: Option<u64>,
    /// A refresh token (Keycloak with refresh tokens enabled; never Gluu).
    pub refresh_token: Option<RefreshToken>,
    /// Keycloak's refresh-token lifetime.
    pub refresh_expires_in: Option<u64>,
    /// A persisted claims token (Gluu always).
    pub pct: Option<Pct>,
    /// Whether the RPT carries the permissions of the RPT sent (absent: false, UMAG §3.3.5).
    pub upgraded: bool,
    /// `scope`, which the UMA AS should not send; informational.
    pub scope: Option<String>,
    /// An OpenID Connect ID token (password and other OIDC grants).
    pub id_token: Option<ClaimToken>,
}

/// A permission from Keycloak's `response_mode=permissions` (§2.9).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GrantedPermission {
    /// `rsid`: the resource id.
    pub resource_id: Option<String>,
    /// `rsname`: the resource name.
    pub resource_name: Option<String>,
    /// Granted scopes.
    pub scopes: Vec<String>,
}

/// Parses a token-endpoint answer.
///
/// Status 200 with a JSON object holding a non-empty string `access_token` and a `bearer` (or absent) `token_type`
/// (any case) is a success; `expires_in` may be a number or a numeric string; `upgraded` absent is false.
/// Any other status is never a success, even with an `access_token` (requests-oauthlib-uma B12). An
/// RFC 6749 §5.2 error body gives [`TokenError::Rejected`]; anything else (HTML, garbage, empty, 200
/// without `access_token`) gives [`TokenError::Malformed`].
///
/// ```
/// use uma_core::grant::{parse_token_response, Outcome, TokenError};
///
/// let ok = http::Response::builder().status(200)
///     .body(br#"{"access_token":"rpt","token_type":"Bearer","upgraded":true}"#.to_vec()).unwrap();
/// let token = parse_token_response(&ok).unwrap();
/// assert_eq!(token.access_token.secret(), "rpt");
/// assert!(token.upgraded);
///
/// let denied = http::Response::builder().status(403)
///     .body(br#"{"error":"request_denied"}"#.to_vec()).unwrap();
/// match parse_token_response(&denied) {
///     Err(TokenError::Rejected(e)) => assert_eq!(e.outcome, Outcome::Denied),
///     other => panic!("{other:?}"),
/// }
/// ```
pub fn parse_token_response(
    response: &http::Response<Vec<u8>>,
) -> Result<TokenResponse, TokenError> {
    let (status, body) = json_body(response)?;
    let object = body
        .as_object()
        .ok_or_else(|| malformed(status, "the body is not a JSON object"))?;
    if status != 200 {
        return Err(rejection(status, object));
    }
    let access_token = object
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| malformed(status, "a 200 response without an access_token"))?;
    if !crate::auth::is_visible_ascii(access_token) {
        // It could never be sent as a header: refuse it here rather than fail later (or, worse, inject).
        return Err(malformed(
            status,
            "the access_token contains spaces, control or non-ASCII characters",
        ));
    }
    // RFC 6749 §5.1 requires token_type, but servers that omit it mean Bearer (oauthlib, which the Python
    // peer uses, accepts it too). Any other declared type (DPoP, MAC…) is not something we can present.
    let token_type = match object.get("token_type") {
        None | Some(Value::Null) => "Bearer",
        Some(value) => value
            .as_str()
            .ok_or_else(|| malformed(status, "token_type is not a string"))?,
    };
    if !token_type.eq_ignore_ascii_case("bearer") {
        return Err(malformed(status, "token_type is not Bearer"));
    }
    let text = |name: &str| {
        object
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let upgraded = match object.get("upgraded") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    Ok(TokenResponse {
        access_token: AccessToken::new(access_token),
        token_type: token_type.to_owned(),
        expires_in: object.get("expires_in").and_then(number),
        refresh_token: text("refresh_token").map(RefreshToken::new),
        refresh_expires_in: object.get("refresh_expires_in").and_then(number),
        pct: text("pct").map(Pct::new),
        upgraded,
        scope: text("scope").map(str::to_owned),
        id_token: text("id_token").map(ClaimToken::new),
    })
}

/// Parses a `response_mode=decision` answer (§2.9): `200 {"result":true|false}`. A denial arrives as an
/// error status and gives [`TokenError::Rejected`] (Keycloak: 403 `access_denied`, [`Outcome::Denied`]).
///
/// [`Outcome::Denied`]: super::Outcome::Denied
///
/// ```
/// use uma_core::grant::parse_decision;
/// let r = http::Response::builder().status(200).body(br#"{"result":true}"#.to_vec()).unwrap();
/// assert!(parse_decision(&r).unwrap());
/// ```
pub fn parse_decision(response: &http::Response<Vec<u8>>) -> Result<bool, TokenError> {
    let (status, body) = json_body(response)?;
    if status != 200 {
        return Err(match body.as_object() {
            Some(object) => rejection(status, object),
            None => malformed(status, "the body is not a JSON object"),
        });
    }
    body.get("result")
        .and_then(Value::as_bool)
        .ok_or_else(|| malformed(status, "a decision without a boolean result"))
}

/// Parses a `response_mode=permissions` answer (§2.9): `200 [{"rsid":…,"rsname":…,"scopes":[…]}, …]`.
/// Unknown members are ignored; entries that are not objects are skipped.
///
/// ```
/// use uma_core::grant::parse_permissions;
/// let r = http::Response::builder().status(200)
///     .body(br#"[{"rsid":"1","rsname":"Resource A","scopes":["view"]}]"#.to_vec()).unwrap();
/// let p = parse_permissions(&r).unwrap();
/// assert_eq!(p[0].resource_name.as_deref(), Some("Resource A"));
/// ```
pub fn parse_permissions(
    response: &http::Response<Vec<u8>>,
) -> Result<Vec<super::GrantedPermission>, TokenError> {
    let (status, body) = json_body(response)?;
    if status != 200 {
        return Err(match body.as_object() {
            Some(object) => rejection(status, object),
            None => malformed(status, "the body is not a JSON object"),
        });
    }
    let items = body
        .as_array()
        .ok_or_else(|| malformed(status, "permissions are not a JSON array"))?;
    Ok(items
        .iter()
        .filter_map(Value::as_object)
        .map(|p| GrantedPermission {
            resource_id: p.get("rsid").and_then(Value::as_str).map(str::to_owned),
            resource_name: p.get("rsname").and_then(Value::as_str).map(str::to_owned),
            scopes: p
                .get("scopes")
                .and_then(Value::as_array)
                .map(|s| {
                    s.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect())
}

/// The status and the body parsed as JSON, or `Malformed`.
fn json_body(response: &http::Response<Vec<u8>>) -> Result<(u16, Value), TokenError> {
    let status = response.status().as_u16();
    let body = response.body();
    if body.is_empty() {
        return Err(malformed(status, "empty body"));
    }
    if body.len() > MAX_RESPONSE_BYTES {
        return Err(malformed(status, "body larger than the limit"));
    }
    let value =
        serde_json::from_slice(body).map_err(|_| malformed(status, "the body is not JSON"))?;
    Ok((status, value))
}

fn rejection(status: u16, object: &Map<String, Value>) -> TokenError {
    match from_error_object(status, object) {
        Some(error) => TokenError::Rejected(error),
        None if object.contains_key("access_token") => {
            malformed(status, "an access_token with a non-200 status")
        }
        None => malformed(status, "a JSON body without an error code"),
    }
}

fn malformed(status: u16, reason: &str) -> TokenError {
    TokenError::Malformed {
        status,
        reason: reason.to_owned(),
    }
}
