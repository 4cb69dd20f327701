//! The token endpoint: UMA grant requests (UMAG §3.3.1), Keycloak's ticketless variant, refresh, client
//! credentials and password grants, and the parsing of every answer into a typed result
//! (`docs/protocol.md` §2.5, §2.9, §3, §4, §6, §7).
//!
//! Builders return `http::Request<Vec<u8>>` and never perform I/O. Parsers take the whole
//! `http::Response<Vec<u8>>`; the status is checked before the body is trusted (requests-oauthlib-uma B12).

mod claims;
mod error;
mod request;
mod response;

pub use claims::{ClaimsRedirectError, claims_redirect_url};
pub use error::{Outcome, RequiredClaim, TokenError, UmaError};
pub use request::{
    BuildError, KeycloakPermission, PushedClaim, RESERVED_PARAMETERS, ResponseMode, UmaGrant,
    client_credentials_request, password_request, refresh_request, ticketless_request,
    uma_grant_request,
};
pub use response::{
    GrantedPermission, MAX_RESPONSE_BYTES, TokenResponse, parse_decision, parse_permissions,
    parse_token_response,
};

/// The UMA grant type (UMAG §3.3.1).
pub const UMA_TICKET_GRANT: &str = "urn:ietf:params:oauth:grant-type:uma-ticket";
/// The OpenID Connect ID-token claim-token format. `http://`, not `https://`: Keycloak and Gluu compare it
/// as an exact string (`docs/protocol.md` §3.1).
pub const ID_TOKEN_FORMAT: &str = "http://openid.net/specs/openid-connect-core-1_0.html#IDToken";
/// Keycloak's JWT claim-token format: `claim_token` is base64url(JSON claims) (`docs/protocol.md` §5.1).
pub const JWT_CLAIMS_FORMAT: &str = "urn:ietf:params:oauth:token-type:jwt";
