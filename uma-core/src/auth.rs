//! Client authentication at the authorization server's token endpoint, and the form encoding it needs.
//!
//! One method per request (RFC 6749 §2.3). `client_secret_basic` form-encodes the id and secret before
//! base64 (RFC 6749 §2.3.1 and Appendix B; `docs/protocol.md` §2.5), which naive clients get wrong for
//! secrets containing `:` or non-ASCII characters.

use http::HeaderValue;

use crate::secret::{AccessToken, ClientSecret};

/// How the client proves its identity to the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ClientAuthMethod {
    /// HTTP Basic with the form-encoded client id and secret (RFC 6749 §2.3.1). The OAuth default.
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body (EOEPCA, Gluu).
    ClientSecretPost,
    /// The requesting party's access token as `Authorization: Bearer` (Keycloak, `docs/protocol.md` §2.5 d).
    RequestingPartyBearer,
    /// A public client: `client_id` in the body, no secret.
    None,
}

impl ClientAuthMethod {
    /// The RFC 8414 / CLI name of the method.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::RequestingPartyBearer => "bearer",
            Self::None => "none",
        }
    }
}

/// The client's registration at one authorization server.
#[derive(Clone, Debug)]
pub struct ClientCredentials {
    /// The OAuth `client_id`.
    pub client_id: String,
    /// The client secret, for confidential clients.
    pub client_secret: Option<ClientSecret>,
    /// How to authenticate at the token endpoint.
    pub method: ClientAuthMethod,
}

impl ClientCredentials {
    /// A confidential client using `client_secret_basic`.
    pub fn basic(client_id: impl Into<String>, secret: impl Into<ClientSecret>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: Some(secret.into()),
            method: ClientAuthMethod::ClientSecretBasic,
        }
    }

    /// A confidential client using `client_secret_post`.
    pub fn post(client_id: impl Into<String>, secret: impl Into<ClientSecret>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: Some(secret.into()),
            method: ClientAuthMethod::ClientSecretPost,
        }
    }

    /// A public client (no secret).
    pub fn public(client_id: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: None,
            method: ClientAuthMethod::None,
        }
    }

    /// A client that authenticates ticket grants with the requesting party's access token (Keycloak);
    /// its own grants (login, refresh) go as a public client.
    pub fn bearer(client_id: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: None,
            method: ClientAuthMethod::RequestingPartyBearer,
        }
    }

    /// Like [`ClientCredentials::bearer`] for a confidential client: ticket grants carry the requesting
    /// party's token, the client's own grants (login, refresh) authenticate with the secret over Basic.
    pub fn bearer_confidential(
        client_id: impl Into<String>,
        secret: impl Into<ClientSecret>,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: Some(secret.into()),
            method: ClientAuthMethod::RequestingPartyBearer,
        }
    }

    /// Adds this client's authentication to a token-endpoint request under construction.
    ///
    /// `bearer` is the requesting party's access token, used only by
    /// [`ClientAuthMethod::RequestingPartyBearer`].
    pub(crate) fn apply(
        &self,
        bearer: Option<&AccessToken>,
        request: &mut FormRequest,
    ) -> Result<(), AuthError> {
        match self.method {
            ClientAuthMethod::ClientSecretBasic => {
                let secret = self
                    .client_secret
                    .as_ref()
                    .ok_or(AuthError::MissingSecret)?;
                request.authorization = Some(basic_authorization(&self.client_id, secret.secret()));
            }
            ClientAuthMethod::ClientSecretPost => {
                let secret = self
                    .client_secret
                    .as_ref()
                    .ok_or(AuthError::MissingSecret)?;
                request.push("client_id", &self.client_id);
                request.push("client_secret", secret.secret());
            }
            ClientAuthMethod::RequestingPartyBearer => {
                let token = bearer.ok_or(AuthError::MissingAccessToken)?;
                request.authorization = Some(bearer_authorization(token.secret())?);
            }
            ClientAuthMethod::None => request.push("client_id", &self.client_id),
        }
        Ok(())
    }
}

/// Why client authentication could not be added.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The method needs a client secret and none is configured.
    #[error("client authentication needs a client secret, and none is configured")]
    MissingSecret,
    /// The bearer method needs the requesting party's access token and the client holds none.
    #[error(
        "client authentication by bearer token needs the requesting party's access token, and none is held"
    )]
    MissingAccessToken,
    /// The token contains bytes that cannot appear in an HTTP header.
    #[error("the access token contains characters that cannot be sent in an HTTP header")]
    InvalidHeaderToken,
}

/// A form-encoded POST under construction: ordered parameters plus an optional `Authorization` value.
#[derive(Default)]
pub(crate) struct FormRequest {
    params: Vec<(String, String)>,
    /// The `Authorization` header value, marked sensitive.
    pub authorization: Option<HeaderValue>,
}

impl std::fmt::Debug for FormRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values may be secrets; names are enough to debug.
        let names: Vec<&str> = self.params.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("FormRequest")
            .field("params", &names)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

impl FormRequest {
    /// An empty form.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one parameter (repeatable names are kept in order).
    pub fn push(&mut self, name: &str, value: &str) {
        self.params.push((name.to_owned(), value.to_owned()));
    }

    /// The `application/x-www-form-urlencoded` body.
    pub fn encode(&self) -> String {
        form_encode(&self.params)
    }

    /// Builds the POST to `url` with `Accept: application/json`. Fails on a URL that `http::Uri` refuses
    /// (endpoint URLs come from the network).
    pub fn into_request(
        self,
        url: &url::Url,
    ) -> Result<http::Request<Vec<u8>>, http::uri::InvalidUri> {
        let uri = http::Uri::try_from(url.as_str())?;
        let mut request = http::Request::new(self.encode().into_bytes());
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        headers.insert(
            http::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        if let Some(authorization) = self.authorization {
            headers.insert(http::header::AUTHORIZATION, authorization);
        }
        Ok(request)
    }
}

/// `application/x-www-form-urlencoded` encoding of ordered pairs (`serde_urlencoded`: unreserved bytes
/// `A-Z a-z 0-9 - . _ *` as is, space as `+`, the rest percent-encoded).
pub(crate) fn form_encode(pairs: &[(String, String)]) -> String {
    serde_urlencoded::to_string(pairs).expect("a sequence of string pairs always serializes")
}

/// Form-escapes one value, as [`form_encode`] does (`url::form_urlencoded`, which `serde_urlencoded` uses).
pub(crate) fn form_escape(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// `Basic base64(form(id) ":" form(secret))`, marked sensitive.
pub(crate) fn basic_authorization(client_id: &str, secret: &str) -> HeaderValue {
    let raw = format!("{}:{}", form_escape(client_id), form_escape(secret));
    let mut value = HeaderValue::from_str(&format!("Basic {}", base64_encode(raw.as_bytes())))
        .expect("base64 is a valid header value");
    value.set_sensitive(true);
    value
}

/// `Bearer <token>`, marked sensitive.
pub(crate) fn bearer_authorization(token: &str) -> Result<HeaderValue, AuthError> {
    // Visible ASCII only: RFC 6750's b64token is stricter, but the UMA spec's own sample RPT has a `(`
    // (docs/protocol.md §2.7). No space, tab, control or non-ASCII byte ever reaches a header.
    if !is_visible_ascii(token) {
        return Err(AuthError::InvalidHeaderToken);
    }
    let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| AuthError::InvalidHeaderToken)?;
    value.set_sensitive(true);
    Ok(value)
}

/// Non-empty and only `0x21..=0x7E`: what an opaque token may contain to be sent as `Bearer <token>`.
pub(crate) fn is_visible_ascii(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// Standard base64 with padding (RFC 4648 §4), by the `base64` crate.
pub fn base64_encode(input: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_vectors() {
        // RFC 4648 §10.
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_encode(i.as_bytes()), o);
        }
    }

    #[test]
    fn basic_form_encodes_before_base64() {
        // RFC 6749 §2.3.1 example credentials.
        assert_eq!(
            basic_authorization("s6BhdRkqt3", "gX1fBat3bV"),
            "Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW"
        );
        // A colon and a space in the secret are escaped first: "a%3Ab+c".
        let v = basic_authorization("id", "a:b c");
        assert_eq!(
            v,
            format!("Basic {}", base64_encode(b"id:a%3Ab+c")).as_str()
        );
        assert!(v.is_sensitive());
    }

    #[test]
    fn form_encoding_matches_spec_examples() {
        let pairs = vec![(
            "grant_type".to_owned(),
            "urn:ietf:params:oauth:grant-type:uma-ticket".to_owned(),
        )];
        assert_eq!(
            form_encode(&pairs),
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Auma-ticket"
        );
        assert_eq!(
            form_escape("Resource A#view,edit"),
            "Resource+A%23view%2Cedit"
        );
    }

    #[test]
    fn apply_each_method() {
        let mut r = FormRequest::new();
        ClientCredentials::post("c", "s")
            .apply(None, &mut r)
            .unwrap();
        assert_eq!(r.encode(), "client_id=c&client_secret=s");
        assert!(r.authorization.is_none());

        let mut r = FormRequest::new();
        ClientCredentials::public("c").apply(None, &mut r).unwrap();
        assert_eq!(r.encode(), "client_id=c");

        let mut r = FormRequest::new();
        let e = ClientCredentials::bearer("c")
            .apply(None, &mut r)
            .unwrap_err();
        assert_eq!(e, AuthError::MissingAccessToken);
        ClientCredentials::bearer("c")
            .apply(Some(&AccessToken::new("at")), &mut r)
            .unwrap();
        assert_eq!(r.authorization.as_ref().unwrap(), "Bearer at");
        assert_eq!(r.encode(), "");

        let mut r = FormRequest::new();
        let creds = ClientCredentials {
            client_secret: None,
            ..ClientCredentials::basic("c", "s")
        };
        assert_eq!(
            creds.apply(None, &mut r).unwrap_err(),
            AuthError::MissingSecret
        );
    }
}
