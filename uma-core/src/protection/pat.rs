//! Obtaining a PAT (UMAF §1.3; `docs/protocol.md` §9.1) and knowing when to renew it.
//!
//! The token-response parser here is deliberately minimal (access token, type, lifetime, scope). It
//! reads the same RFC 6749 §5.1 shape as the grant module's parser and can be replaced by it.

use std::time::{Duration, Instant};

use http::StatusCode;
use serde::Deserialize;
use url::Url;

use super::error::ProtectionError;
use super::wire::{check_status, parse_object};
use crate::auth::{ClientCredentials, FormRequest};
use crate::secret::AccessToken;

const OPERATION: &str = "token endpoint";

/// The PAT request: `grant_type=client_credentials` with a scope, authenticated as `client`.
///
/// `scope`: `None` sends the default `scope=uma_protection` (Gluu requires it, `docs/protocol.md`
/// §9.1); `Some("")` sends no scope at all, for servers that reject unknown scope values (Keycloak
/// grants `uma_protection` as a client role and may answer `invalid_scope` to the parameter);
/// `Some(s)` sends `s` (e.g. EOEPCA's `"openid uma_protection permission"`).
///
/// ```
/// use uma_core::{ClientCredentials, protection::pat_request};
/// let url = url::Url::parse("https://auth.eoepca.example/oxauth/restv1/token")?;
/// let request = pat_request(&url, &ClientCredentials::post("pep", "s3cret"), None)?;
/// assert_eq!(
///     request.body(),
///     b"grant_type=client_credentials&scope=uma_protection&client_id=pep&client_secret=s3cret"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn pat_request(
    token_endpoint: &Url,
    client: &ClientCredentials,
    scope: Option<&str>,
) -> Result<http::Request<Vec<u8>>, ProtectionError> {
    let mut form = FormRequest::new();
    form.push("grant_type", "client_credentials");
    match scope {
        None => form.push("scope", "uma_protection"),
        Some("") => {}
        Some(scope) => form.push("scope", scope),
    }
    // A PAT is the RS's own token: authenticating with somebody else's bearer token makes no sense,
    // and `apply` reports that as `MissingAccessToken`.
    client.apply(None, &mut form)?;
    form.into_request(token_endpoint).map_err(|_| {
        ProtectionError::InvalidInput("the token endpoint URL is not a valid request URI")
    })
}

/// A successful PAT response (RFC 6749 §5.1), reduced to what the RS needs.
#[derive(Clone, Debug)]
pub struct PatResponse {
    /// The PAT.
    pub access_token: AccessToken,
    /// Lifetime from the response (`expires_in`), if the server sent one.
    pub expires_in: Option<Duration>,
    /// The granted scope, if the server said.
    pub scope: Option<String>,
}

/// Parses the token endpoint's answer to [`pat_request`]. Error bodies (RFC 6749 §5.2) become
/// [`ProtectionError::Server`]; a token type other than `Bearer` is refused because the protection
/// API uses RFC 6750 bearer tokens.
pub fn parse_pat_response(
    response: &http::Response<Vec<u8>>,
) -> Result<PatResponse, ProtectionError> {
    #[derive(Deserialize)]
    struct Raw {
        access_token: String,
        token_type: Option<String>,
        #[serde(default, deserialize_with = "super::wire::lenient::numeric_date")]
        expires_in: Option<i64>,
        scope: Option<String>,
    }
    check_status(response, &[StatusCode::OK], OPERATION)?;
    let raw: Raw = parse_object(response.body(), OPERATION)?;
    let invalid = |reason: &str| ProtectionError::InvalidBody {
        operation: OPERATION,
        reason: reason.to_owned(),
    };
    if raw.access_token.is_empty() {
        return Err(invalid("the access_token is empty"));
    }
    if let Some(kind) = &raw.token_type {
        if !kind.eq_ignore_ascii_case("bearer") {
            return Err(invalid("the token_type is not Bearer"));
        }
    }
    Ok(PatResponse {
        access_token: AccessToken::new(raw.access_token),
        // A negative lifetime is nonsense; read it as "already expired".
        expires_in: raw
            .expires_in
            .map(|s| Duration::from_secs(u64::try_from(s).unwrap_or(0))),
        scope: raw.scope,
    })
}

/// How long before expiry a token of this lifetime should be renewed: 10 % of the lifetime, clamped
/// to 1–60 s, and never more than half the lifetime.
///
/// Renewing early matters more than usual here: Keycloak permission tickets inherit the PAT's `exp`
/// (`docs/protocol.md` §9.1), so a ticket minted with a nearly expired PAT dies before the client can
/// redeem it.
pub fn renewal_skew(lifetime: Duration) -> Duration {
    (lifetime / 10)
        .clamp(Duration::from_secs(1), Duration::from_secs(60))
        .min(lifetime / 2)
}

/// A PAT with the instant it was obtained.
#[derive(Clone, Debug)]
pub struct PatState {
    token: AccessToken,
    expires_at: Option<Instant>,
    renew_at: Option<Instant>,
}

impl PatState {
    /// Records a PAT obtained at `now` (the instant the request was sent is the safe choice).
    pub fn new(response: PatResponse, now: Instant) -> Self {
        let (expires_at, renew_at) = match response.expires_in {
            Some(lifetime) => (
                now.checked_add(lifetime),
                now.checked_add(lifetime - renewal_skew(lifetime)),
            ),
            None => (None, None),
        };
        Self {
            token: response.access_token,
            expires_at,
            renew_at,
        }
    }

    /// The PAT.
    pub fn token(&self) -> &AccessToken {
        &self.token
    }

    /// When the server says it expires; `None` if it gave no lifetime.
    pub fn expires_at(&self) -> Option<Instant> {
        self.expires_at
    }

    /// When to renew it; `None` if the server gave no lifetime (renew after a 401 instead).
    pub fn renew_at(&self) -> Option<Instant> {
        self.renew_at
    }

    /// Whether it must be renewed before use at `now`.
    pub fn needs_renewal(&self, now: Instant) -> bool {
        self.renew_at.is_some_and(|at| now >= at)
    }
}

/// Holds at most one PAT and says when a new one is needed.
///
/// ```
/// use std::time::{Duration, Instant};
/// use uma_core::protection::{PatCache, PatResponse};
/// use uma_core::secret::AccessToken;
///
/// let t0 = Instant::now();
/// let mut cache = PatCache::new();
/// assert!(cache.token(t0).is_none()); // nothing yet: send `pat_request`
/// cache.store(PatResponse { access_token: AccessToken::new("pat"), expires_in: Some(Duration::from_secs(300)), scope: None }, t0);
/// assert!(cache.token(t0 + Duration::from_secs(200)).is_some());
/// // 300 s lifetime: renewed 30 s early.
/// assert!(cache.token(t0 + Duration::from_secs(270)).is_none());
/// ```
#[derive(Clone, Debug, Default)]
pub struct PatCache {
    state: Option<PatState>,
}

impl PatCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The PAT, if one is held and does not need renewal at `now`.
    pub fn token(&self, now: Instant) -> Option<&AccessToken> {
        self.state
            .as_ref()
            .filter(|s| !s.needs_renewal(now))
            .map(PatState::token)
    }

    /// Whether a new PAT must be requested before the next protection call.
    pub fn needs_renewal(&self, now: Instant) -> bool {
        self.token(now).is_none()
    }

    /// Stores a fresh PAT obtained at `now`, replacing any other.
    pub fn store(&mut self, response: PatResponse, now: Instant) {
        self.state = Some(PatState::new(response, now));
    }

    /// Drops the PAT: call when a protection endpoint rejected it
    /// ([`ProtectionError::is_unauthorized`]).
    pub fn invalidate(&mut self) {
        self.state = None;
    }

    /// When the held PAT must be renewed, for an adapter that refreshes ahead of time.
    pub fn renew_at(&self) -> Option<Instant> {
        self.state.as_ref().and_then(PatState::renew_at)
    }

    /// The held PAT's state, renewal due or not.
    pub fn state(&self) -> Option<&PatState> {
        self.state.as_ref()
    }
}
