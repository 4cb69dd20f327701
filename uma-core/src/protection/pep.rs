//! A policy enforcement point (PEP) helper: turn "this request lacks permission for resource R,
//! scopes S" into the UMA challenge (UMAG §3.2; `docs/protocol.md` §2.3, §9.3).
//!
//! Two steps, no I/O: [`Pep::permission_request`] gives the request for a ticket; the AS's answer
//! goes to [`Pep::challenge`], which gives the complete `401` with
//! `WWW-Authenticate: UMA realm="…", as_uri="…", ticket="…"`. If the AS could not be reached or
//! refused, answer [`Pep::unreachable`] (403, UMAG §3.2.2) instead.
//!
//! ```
//! use uma_core::protection::{Dialect, Pep, PermissionRequest};
//! use uma_core::secret::AccessToken;
//!
//! let pep = Pep::new(
//!     "https://kc.example.org/realms/demo",
//!     url::Url::parse("https://kc.example.org/realms/demo/authz/protection/permission")?,
//!     Dialect::Keycloak,
//! )?
//! .with_realm("demo")?;
//! let request = pep.permission_request(
//!     &AccessToken::new("pat"),
//!     vec![PermissionRequest::new("photo-album", ["view"])],
//! )?;
//! assert_eq!(request.body(), br#"[{"resource_id":"photo-album","resource_scopes":["view"]}]"#);
//!
//! let ticket_response = http::Response::builder().status(201).body(br#"{"ticket":"t-1"}"#.to_vec())?;
//! let challenge = pep.challenge(&ticket_response)?;
//! assert_eq!(challenge.status(), 401);
//! assert_eq!(
//!     challenge.headers()["www-authenticate"],
//!     r#"UMA realm="demo", as_uri="https://kc.example.org/realms/demo", ticket="t-1""#
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use http::{HeaderValue, StatusCode, header};
use url::Url;

use super::Dialect;
use super::error::ProtectionError;
use super::permission::{
    PermissionBody, PermissionRequest, parse_permission_response, permission_request,
};
use crate::challenge::{self, ChallengeError};
use crate::secret::{AccessToken, Ticket};

/// Why the PEP could not produce a challenge.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PepError {
    /// The permission request could not be built, or the AS did not issue a ticket.
    #[error(transparent)]
    Protection(#[from] ProtectionError),
    /// The challenge could not be rendered (unusable `as_uri`, realm or ticket).
    #[error(transparent)]
    Challenge(#[from] ChallengeError),
}

/// One resource server's enforcement settings for one authorization server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pep {
    as_uri: String,
    realm: Option<String>,
    permission_endpoint: Url,
    dialect: Dialect,
}

impl Pep {
    /// A PEP that sends clients to the AS whose issuer is `as_uri` (UMAG §3.2.1: the issuer, which
    /// clients discover from) and requests tickets at `permission_endpoint` in `dialect`'s body form.
    /// `as_uri` is checked now, so that a misconfiguration fails at start-up, not per request.
    pub fn new(
        as_uri: impl Into<String>,
        permission_endpoint: Url,
        dialect: Dialect,
    ) -> Result<Self, PepError> {
        let as_uri = as_uri.into();
        challenge::validate_as_uri(&as_uri)?;
        Ok(Self {
            as_uri,
            realm: None,
            permission_endpoint,
            dialect,
        })
    }

    /// Adds a `realm` to the challenges (checked now, like `as_uri`).
    pub fn with_realm(mut self, realm: impl Into<String>) -> Result<Self, PepError> {
        let realm = realm.into();
        // Rendering with a syntactically valid placeholder ticket checks the realm once.
        challenge::render(Some(&realm), &self.as_uri, &Ticket::new("x"))?;
        self.realm = Some(realm);
        Ok(self)
    }

    /// The AS issuer put in challenges.
    pub fn as_uri(&self) -> &str {
        &self.as_uri
    }

    /// The realm put in challenges, if any.
    pub fn realm(&self) -> Option<&str> {
        self.realm.as_deref()
    }

    /// Step 1: the permission request for what the client lacks (UMAF §4.1), authorised by `pat`.
    pub fn permission_request(
        &self,
        pat: &AccessToken,
        permissions: Vec<PermissionRequest>,
    ) -> Result<http::Request<Vec<u8>>, ProtectionError> {
        let body = PermissionBody::for_dialect(self.dialect, permissions)?;
        permission_request(&self.permission_endpoint, pat, &body)
    }

    /// Step 2: the 401 challenge from the AS's answer to [`permission_request`](Self::permission_request).
    /// On an error, answer the client with [`unreachable`](Self::unreachable) (and renew the PAT
    /// first if [`ProtectionError::is_unauthorized`]).
    pub fn challenge(
        &self,
        ticket_response: &http::Response<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, PepError> {
        let ticket = parse_permission_response(ticket_response)?;
        self.challenge_for_ticket(&ticket)
    }

    /// The 401 challenge for a ticket already in hand.
    pub fn challenge_for_ticket(
        &self,
        ticket: &Ticket,
    ) -> Result<http::Response<Vec<u8>>, PepError> {
        let value = challenge::render(self.realm.as_deref(), &self.as_uri, ticket)?;
        Ok(response(
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, value)],
        ))
    }

    /// The answer when no ticket could be obtained: 403 with
    /// `Warning: 199 - "UMA Authorization Server Unreachable"` (UMAG §3.2.2). The `Warning` field is
    /// obsolete (RFC 9111) but is what the spec names; clients treat a 403 without a challenge as final.
    pub fn unreachable() -> http::Response<Vec<u8>> {
        response(
            StatusCode::FORBIDDEN,
            [(
                header::WARNING,
                HeaderValue::from_static("199 - \"UMA Authorization Server Unreachable\""),
            )],
        )
    }
}

fn response<const N: usize>(
    status: StatusCode,
    headers: [(header::HeaderName, HeaderValue); N],
) -> http::Response<Vec<u8>> {
    let mut response = http::Response::new(Vec::new());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for (name, value) in headers {
        response.headers_mut().insert(name, value);
    }
    response
}
