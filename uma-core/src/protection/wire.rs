//! Helpers shared by the builders and parsers: JSON requests with a PAT, status and body checks,
//! error bodies.

use http::{Method, StatusCode, header};
use serde::de::DeserializeOwned;
use url::Url;

use super::MAX_BODY_BYTES;
use super::error::{ErrorCode, ErrorResponse, ProtectionError, redact_json_error, sanitize};
use crate::auth::bearer_authorization;
use crate::secret::AccessToken;

/// A request to a protection endpoint: `Authorization: Bearer <PAT>` (UMAF §1.3), `Accept:
/// application/json`, and a JSON body with its content type when there is one.
pub(crate) fn pat_request(
    method: Method,
    url: &Url,
    pat: &AccessToken,
    json_body: Option<Vec<u8>>,
) -> Result<http::Request<Vec<u8>>, ProtectionError> {
    json_request(method, url, bearer_authorization(pat.secret())?, json_body)
}

/// A JSON request with the given `Authorization` value (see [`pat_request`]).
pub(crate) fn json_request(
    method: Method,
    url: &Url,
    authorization: http::HeaderValue,
    json_body: Option<Vec<u8>>,
) -> Result<http::Request<Vec<u8>>, ProtectionError> {
    let mut builder = http::Request::builder()
        .method(method)
        .uri(url.as_str())
        .header(header::AUTHORIZATION, authorization)
        .header(header::ACCEPT, "application/json");
    let body = match json_body {
        Some(body) => {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
            body
        }
        None => Vec::new(),
    };
    builder.body(body).map_err(|_| {
        ProtectionError::InvalidInput("the endpoint URL is not a valid request target")
    })
}

/// Serialises a request body (our own types, so this only fails on a bug; still no panic).
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, ProtectionError> {
    serde_json::to_vec(value)
        .map_err(|_| ProtectionError::InvalidInput("the request body cannot be serialised as JSON"))
}

/// `endpoint/{id}`, with `id` as one percent-encoded path segment; a trailing `/` on the endpoint
/// (the spec writes `rreg/`) is not doubled.
pub(crate) fn resource_url(endpoint: &Url, id: &str) -> Result<Url, ProtectionError> {
    if id.is_empty() {
        return Err(ProtectionError::InvalidInput("the resource id is empty"));
    }
    let mut url = endpoint.clone();
    url.set_fragment(None);
    {
        let mut segments = url.path_segments_mut().map_err(|_| {
            ProtectionError::InvalidInput("the endpoint URL cannot have path segments")
        })?;
        segments.pop_if_empty().push(id);
    }
    Ok(url)
}

/// Checks the size, then: an expected status passes; 4xx/5xx become [`ProtectionError::Server`];
/// anything else (3xx: AS calls never follow redirects) is unexpected.
pub(crate) fn check_status(
    response: &http::Response<Vec<u8>>,
    expected: &[StatusCode],
    operation: &'static str,
) -> Result<(), ProtectionError> {
    check_size(response.body())?;
    let status = response.status();
    if expected.contains(&status) {
        return Ok(());
    }
    if status.is_client_error() || status.is_server_error() {
        return Err(ProtectionError::Server(error_response(
            status,
            response.body(),
        )));
    }
    Err(ProtectionError::UnexpectedStatus { status, operation })
}

pub(crate) fn check_size(body: &[u8]) -> Result<(), ProtectionError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ProtectionError::BodyTooLarge {
            len: body.len(),
            limit: MAX_BODY_BYTES,
        });
    }
    Ok(())
}

/// Parses an error body leniently: empty, HTML or malformed bodies still give the status.
pub(crate) fn error_response(status: StatusCode, body: &[u8]) -> ErrorResponse {
    #[derive(serde::Deserialize)]
    struct Raw {
        error: Option<serde_json::Value>,
        error_description: Option<serde_json::Value>,
        error_uri: Option<serde_json::Value>,
    }
    let raw: Option<Raw> = serde_json::from_slice(body).ok();
    let text = |v: Option<serde_json::Value>, max: usize| match v {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(sanitize(&s, max)),
        _ => None,
    };
    match raw {
        Some(raw) => ErrorResponse {
            status,
            code: text(raw.error, 64).map(|c| ErrorCode::parse(&c)),
            description: text(raw.error_description, 256),
            uri: text(raw.error_uri, 256),
        },
        None => ErrorResponse {
            status,
            code: None,
            description: None,
            uri: None,
        },
    }
}

/// Parses a JSON object body. Serde would read a struct from an array too (`[true]` as
/// `{"active":true}`); a server never means that, so anything but an object is refused.
pub(crate) fn parse_object<T: DeserializeOwned>(
    body: &[u8],
    operation: &'static str,
) -> Result<T, ProtectionError> {
    let value: serde_json::Value = parse_json(body, operation)?;
    if !value.is_object() {
        return Err(ProtectionError::InvalidBody {
            operation,
            reason: "the body is not a JSON object".to_owned(),
        });
    }
    serde_json::from_value(value).map_err(|e| ProtectionError::InvalidBody {
        operation,
        reason: redact_json_error(&e),
    })
}

/// Parses a JSON success body.
pub(crate) fn parse_json<T: DeserializeOwned>(
    body: &[u8],
    operation: &'static str,
) -> Result<T, ProtectionError> {
    check_size(body)?;
    serde_json::from_slice(body).map_err(|e| ProtectionError::InvalidBody {
        operation,
        reason: redact_json_error(&e),
    })
}

/// Serde helpers for lenient reading of server JSON.
pub(crate) mod lenient {
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    /// A string or an array of strings (`aud` in RFC 7662 / RFC 7519). Non-string items are dropped.
    pub(crate) fn string_or_seq<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        Ok(match Option::<Value>::deserialize(d)? {
            Some(Value::String(s)) => vec![s],
            Some(Value::Array(items)) => items
                .into_iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        })
    }

    /// A NumericDate: an integer, or a number with a fraction (truncated). Anything else is absent.
    pub(crate) fn numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Ok(match Option::<Value>::deserialize(d)? {
            Some(Value::Number(n)) => n.as_i64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite() && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            }),
            _ => None,
        })
    }

    /// A scope list whose items are strings or Keycloak's `{"name": …}` objects; other items dropped.
    pub(crate) fn scope_list<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<String>>, D::Error> {
        Ok(match Option::<Value>::deserialize(d)? {
            Some(Value::Array(items)) => Some(items.into_iter().filter_map(scope_name).collect()),
            Some(Value::String(s)) => Some(vec![s]),
            _ => None,
        })
    }

    fn scope_name(v: Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s),
            Value::Object(mut o) => match o.remove("name") {
                Some(Value::String(s)) => Some(s),
                _ => None,
            },
            _ => None,
        }
    }
}
