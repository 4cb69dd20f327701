//! Why a flow ended without a usable response. No variant's `Display` or `Debug` shows a secret.

use crate::challenge::ChallengeError;
use crate::discovery::DiscoveryError;
use crate::grant::{BuildError, UmaError};

/// Why a flow failed.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The challenge named an authorization server the user does not trust. Nothing was sent to it.
    #[error(
        "the resource server named an untrusted authorization server ({as_uri}); nothing was sent to it"
    )]
    UntrustedAuthorizationServer {
        /// The `as_uri` of the challenge.
        as_uri: String,
    },
    /// The challenge had no `as_uri` and no authorization server is configured for the resource server.
    #[error(
        "the challenge names no authorization server and none is configured for this resource server"
    )]
    NoAuthorizationServer,
    /// The authorization server is not https and insecure http was not allowed.
    #[error(
        "the authorization server {as_uri} is not https (insecure http is for development and off by default)"
    )]
    InsecureAuthorizationServer {
        /// The `as_uri` of the challenge.
        as_uri: String,
    },
    /// The resource server sent a UMA challenge that cannot be used.
    #[error("unusable UMA challenge: {0}")]
    Challenge(#[from] ChallengeError),
    /// Discovery failed or the metadata failed validation.
    #[error("discovery of {issuer} failed: {error}")]
    Discovery {
        /// The issuer.
        issuer: String,
        /// What went wrong.
        error: DiscoveryError,
    },
    /// The authorization server denied access (`request_denied`, Keycloak `access_denied`, Gluu
    /// `forbidden_by_policy`; also Keycloak's `request_submitted`, which carries no ticket to poll with).
    #[error("access denied by {issuer}: {error}")]
    Denied {
        /// The issuer.
        issuer: String,
        /// The server's answer; `error.description` may say `request_submitted` (Keycloak).
        error: Box<UmaError>,
    },
    /// The authorization server needs claims the client could not push: send the requesting party to
    /// `error.redirect_user` (or the claims interaction endpoint) with `error.ticket`.
    #[error("{issuer} needs more information about the requesting party{}", .error.redirect_user_redacted().map(|u| format!(" (interaction at {u})")).unwrap_or_default())]
    NeedInfo {
        /// The issuer.
        issuer: String,
        /// The server's answer with the new ticket, `required_claims` and `redirect_user`.
        error: Box<UmaError>,
    },
    /// The resource owner did not approve within the polling bounds.
    #[error("the resource owner has not approved the request at {issuer} after {polls} poll(s)")]
    ApprovalPending {
        /// The issuer.
        issuer: String,
        /// Polls made.
        polls: u32,
        /// The last `request_submitted` answer.
        error: Box<UmaError>,
    },
    /// A fresh ticket was rejected too (`invalid_grant`, `invalid_ticket`, `expired_ticket`).
    #[error("the permission ticket was rejected by {issuer} even after a fresh challenge: {error}")]
    DeadTicket {
        /// The issuer.
        issuer: String,
        /// The last answer.
        error: Box<UmaError>,
    },
    /// The authorization server rejected the client's credentials or the requesting party's token.
    #[error("{issuer} rejected the client's credentials: {error}")]
    ClientAuthentication {
        /// The issuer.
        issuer: String,
        /// The answer.
        error: Box<UmaError>,
    },
    /// The authorization server refused the requesting party's own access token, which the ticket grant
    /// carried as its Bearer credential (Keycloak's 401 `invalid_grant` "Invalid bearer token"): the token
    /// is bogus, expired beyond refresh, or from another server. Log in again.
    #[error("{issuer} rejected the requesting party's access token: {error}")]
    AccessTokenRejected {
        /// The issuer.
        issuer: String,
        /// The answer.
        error: Box<UmaError>,
    },
    /// A login (the initial password or client-credentials grant) was refused with `invalid_grant`: the
    /// user name or password is wrong, or the account may not log in this way. `error.outcome` is
    /// [`crate::grant::Outcome::LoginRefused`].
    #[error("{issuer} refused the login: {error}")]
    LoginRefused {
        /// The issuer.
        issuer: String,
        /// The answer.
        error: Box<UmaError>,
    },
    /// Any other error from the token endpoint.
    #[error("token endpoint of {issuer}: {error}")]
    TokenEndpoint {
        /// The issuer.
        issuer: String,
        /// The answer.
        error: Box<UmaError>,
    },
    /// The token endpoint answered with something that is neither a token nor an OAuth error.
    #[error("malformed answer from the token endpoint of {issuer} (status {status}): {reason}")]
    MalformedTokenResponse {
        /// The issuer.
        issuer: String,
        /// HTTP status.
        status: u16,
        /// What was wrong.
        reason: String,
    },
    /// `need_info` or `request_submitted` came without a new ticket, or with the same one (UMAG §5.5).
    #[error("{issuer} did not rotate the permission ticket")]
    TicketNotRotated {
        /// The issuer.
        issuer: String,
    },
    /// The resource server still answered with a challenge after the allowed number of UMA flows.
    #[error(
        "the resource server still asks for authorization after {flows} UMA flow(s) (the maximum per request)"
    )]
    MaxFlowsReached {
        /// Flows run.
        flows: u32,
    },
    /// The resource server redirected more often than allowed.
    #[error("more than {max} redirect(s)")]
    TooManyRedirects {
        /// The configured maximum.
        max: u32,
    },
    /// A token-endpoint request could not be built (missing secret, reserved extra parameter…).
    #[error("cannot build the token request: {0}")]
    Build(#[from] BuildError),
    /// The application's request cannot be sent (no absolute URL, …).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The exchange another request was running for this one failed.
    #[error("{0}")]
    Shared(Box<Error>),
}

impl Error {
    /// The error itself, looking through [`Error::Shared`].
    pub fn root(&self) -> &Error {
        match self {
            Error::Shared(inner) => inner.root(),
            other => other,
        }
    }

    /// Whether the authorization server refused access (a final answer, not a fault).
    pub fn is_denied(&self) -> bool {
        matches!(self.root(), Error::Denied { .. })
    }

    /// A short, stable, secret-free name of the variant (looking through [`Error::Shared`]), e.g.
    /// `denied`, `need_info`, `token_endpoint`: the `uma.outcome` of the adapters' `tracing` spans.
    pub fn kind_name(&self) -> &'static str {
        match self.root() {
            Error::UntrustedAuthorizationServer { .. } => "untrusted_authorization_server",
            Error::NoAuthorizationServer => "no_authorization_server",
            Error::InsecureAuthorizationServer { .. } => "insecure_authorization_server",
            Error::Challenge(_) => "challenge",
            Error::Discovery { .. } => "discovery",
            Error::Denied { .. } => "denied",
            Error::NeedInfo { .. } => "need_info",
            Error::ApprovalPending { .. } => "approval_pending",
            Error::DeadTicket { .. } => "dead_ticket",
            Error::ClientAuthentication { .. } => "client_authentication",
            Error::AccessTokenRejected { .. } => "access_token_rejected",
            Error::LoginRefused { .. } => "login_refused",
            Error::TokenEndpoint { .. } => "token_endpoint",
            Error::MalformedTokenResponse { .. } => "malformed_token_response",
            Error::TicketNotRotated { .. } => "ticket_not_rotated",
            Error::MaxFlowsReached { .. } => "max_flows_reached",
            Error::TooManyRedirects { .. } => "too_many_redirects",
            Error::Build(_) => "build",
            Error::InvalidRequest(_) => "invalid_request",
            Error::Shared(_) => "shared",
        }
    }
}

/// A failed flow: the error, and the last response from the resource server when there was one (for
/// [`Error::MaxFlowsReached`], denials, untrusted servers…), so nothing is lost.
///
/// `Debug` shows the response's status, header names and body length only: its challenge carries a
/// ticket.
pub struct Failure {
    /// Why the flow failed.
    pub error: Error,
    /// The last resource-server response, if any.
    pub response: Option<http::Response<Vec<u8>>>,
}

impl std::fmt::Debug for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let response = self.response.as_ref().map(|r| {
            let headers: Vec<&str> = r.headers().keys().map(|k| k.as_str()).collect();
            format!(
                "Response {{ status: {}, headers: {headers:?}, body: <{} bytes> }}",
                r.status(),
                r.body().len()
            )
        });
        f.debug_struct("Failure")
            .field("error", &self.error)
            .field(
                "response",
                &format_args!("{}", response.as_deref().unwrap_or("None")),
            )
            .finish()
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}
