//! The protection API: the resource server's side of UMA, sans-IO.
//!
//! A resource server (RS) is an OAuth client of the authorization server (AS). With a protection API
//! access token (PAT) it registers resources, asks for permission tickets and introspects RPTs
//! (Federated Authorization for UMA 2.0, "UMAF"; `docs/protocol.md` §9). It may also register itself, or a
//! UMA client, with OAuth dynamic client registration (RFC 7591).
//!
//! Every operation is a pair of pure functions: a builder returning the `http::Request<Vec<u8>>` to
//! send, and a parser taking the `http::Response<Vec<u8>>` that came back. Nothing here does I/O or reads
//! a clock: time-dependent helpers take `now` as an argument.
//!
//! | Operation | Builder | Parser |
//! |---|---|---|
//! | PAT | [`pat_request`] | [`parse_pat_response`], then [`PatCache`] |
//! | Resource registration | [`create_resource_request`], [`read_resource_request`], [`update_resource_request`], [`delete_resource_request`], [`list_resources_request`] | [`parse_create_resource_response`], [`parse_read_resource_response`], [`parse_update_resource_response`], [`parse_delete_resource_response`], [`parse_list_resources_response`] |
//! | Permission ticket | [`permission_request`] | [`parse_permission_response`] |
//! | Keycloak's permission requests (approve, deny) | [`list_permission_requests_request`], [`answer_permission_request_request`] | [`parse_list_permission_requests_response`], [`parse_answer_permission_request_response`] |
//! | Introspection | [`introspection_request`] | [`parse_introspection_response`], then [`Introspection::allows`] |
//! | Client registration | [`registration_request`] | [`parse_registration_response`] |
//! | PEP challenge | [`Pep::permission_request`] | [`Pep::challenge`] |
//! | EOEPCA PEP resource API (ID token as Bearer, not a PAT) | [`create_pep_resource_request`], [`list_pep_resources_request`], [`read_pep_resource_request`], [`delete_pep_resource_request`] | [`parse_create_pep_resource_response`], [`parse_list_pep_resources_response`], [`parse_read_pep_resource_response`], [`parse_delete_pep_resource_response`] |
//!
//! The operations that need a PAT are also machines over a shared [`ProtectionClient`] (metadata, PAT,
//! herd control), driven like a [`Flow`](crate::Flow) through [`Machine`](crate::Machine):
//! [`ProtectionCall`] for one operation (discovery if stale → PAT if missing or due → the call → on
//! 401 renew the PAT once and retry), [`Challenge`] and [`Enforce`] for the PEP. The adapters'
//! `Protection` handles are drive loops around them.
//!
//! Servers differ (`docs/protocol.md` §12): Keycloak wants permission requests as arrays, answers resource
//! creation without `Location` and updates with 204, and introspects with client credentials and
//! `token_type_hint=requesting_party_token`; Gluu wants `scope=uma_protection` on the PAT request. Where the
//! wire differs, the choice is an explicit argument (see [`Dialect`]), never a guess.
//!
//! ```
//! use uma_core::protection::{self, PermissionBody, PermissionRequest, Dialect};
//! use uma_core::secret::AccessToken;
//!
//! let endpoint = url::Url::parse("https://kc.example.org/realms/demo/authz/protection/permission")?;
//! let pat = AccessToken::new("pat-value");
//! let body = PermissionBody::for_dialect(
//!     Dialect::Keycloak,
//!     vec![PermissionRequest::new("photo-album", ["view"])],
//! )?;
//! let request = protection::permission_request(&endpoint, &pat, &body)?;
//! assert_eq!(request.body(), br#"[{"resource_id":"photo-album","resource_scopes":["view"]}]"#);
//!
//! // ... send it, then:
//! let response = http::Response::builder()
//!     .status(201)
//!     .body(br#"{"ticket":"016f84e8"}"#.to_vec())?;
//! let ticket = protection::parse_permission_response(&response)?;
//! assert_eq!(ticket.secret(), "016f84e8");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod call;
mod client;
mod enforce;
mod error;
mod introspection;
mod operations;
mod pat;
mod pep;
mod pep_resource_error;
mod pep_resources;
mod permission;
mod registration;
mod requests;
mod resource;
mod wire;

pub use call::{CallError, Caller, Credentials, ProtectionCall};
pub use client::{ProtectionClient, ProtectionStats};
pub use enforce::{Challenge, Decision, Enforce, grants_all};
pub use error::{ErrorCode, ErrorResponse, ProtectionError};
pub use introspection::{
    IntrospectedPermission, Introspection, IntrospectionAuth, TokenTypeHint, introspection_request,
    parse_introspection_response,
};
pub use operations::names;
pub use pat::{PatCache, PatResponse, PatState, parse_pat_response, pat_request, renewal_skew};
pub use pep::{Pep, PepError};
pub use pep_resources::{
    PepResource, PepResourceError, PepResourceRecord, create_pep_resource_request,
    delete_pep_resource_request, list_pep_resources_request, parse_create_pep_resource_response,
    parse_delete_pep_resource_response, parse_list_pep_resources_response,
    parse_read_pep_resource_response, read_pep_resource_request,
};
pub use permission::{
    PermissionBody, PermissionRequest, parse_permission_response, permission_request,
};
pub use registration::{
    ClientRegistration, RegisteredClient, parse_registration_response, registration_request,
};
pub use requests::{
    PermissionRequestQuery, PermissionRequestRecord, answer_permission_request_request,
    list_permission_requests_request, parse_answer_permission_request_response,
    parse_list_permission_requests_response,
};
pub use resource::{
    CreatedResource, ResourceDescription, ResourceList, ResourceQuery, UpdatedResource,
    create_resource_request, delete_resource_request, list_resources_request,
    parse_create_resource_response, parse_delete_resource_response, parse_list_resources_response,
    parse_read_resource_response, parse_update_resource_response, read_resource_request,
    update_resource_request,
};

/// The largest response body the parsers accept, in bytes.
///
/// Adapters should stop reading at this size too (`design.md` §3); a parser handed a longer body
/// returns [`ProtectionError::BodyTooLarge`] instead of parsing it.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Which server's wire conventions to follow where they differ from the specification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Dialect {
    /// Federated Authorization for UMA 2.0 as written.
    #[default]
    Uma,
    /// Keycloak's protection API (`docs/protocol.md` §9, KC-PROT).
    Keycloak,
    /// Gluu oxAuth, as used by EOEPCA.
    Gluu,
}

impl Dialect {
    /// The PAT scope asked for by default: `uma_protection` (`None` for [`pat_request`]) for the
    /// recommendation and Gluu; none at all (`Some("")`) for Keycloak, where the role comes with the client
    /// and the scope parameter may be refused (`docs/protocol.md` §9.1).
    pub fn default_pat_scope(self) -> Option<&'static str> {
        match self {
            Dialect::Keycloak => Some(""),
            Dialect::Uma | Dialect::Gluu => None,
        }
    }

    /// How this dialect's introspection endpoint wants to be called (`docs/protocol.md` §9.4): Keycloak
    /// with the resource server's own client credentials and `requesting_party_token`, the others with the
    /// PAT and `access_token`.
    pub fn introspection(self) -> (IntrospectionCaller, TokenTypeHint) {
        match self {
            Dialect::Keycloak => (
                IntrospectionCaller::Client,
                TokenTypeHint::RequestingPartyToken,
            ),
            Dialect::Uma | Dialect::Gluu => (IntrospectionCaller::Pat, TokenTypeHint::AccessToken),
        }
    }
}

/// Who authenticates an introspection call (see [`Dialect::introspection`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntrospectionCaller {
    /// The PAT, as Bearer.
    Pat,
    /// The resource server's client credentials.
    Client,
}

/// The token of an incoming request's `Authorization: Bearer <token>` (scheme case-insensitive), for a PEP.
pub fn bearer_token(headers: &http::HeaderMap) -> Option<crate::secret::AccessToken> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty())
        .then(|| crate::secret::AccessToken::new(token.to_owned()))
}
