//! The URL that sends the requesting party to the claims interaction endpoint (UMAG §3.3.2;
//! `docs/protocol.md` §5.2).

use url::Url;

use crate::secret::Ticket;

/// Why a claims-interaction URL could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimsRedirectError {
    /// `redirect_user` / the endpoint is not an absolute URL.
    #[error("the claims interaction URL is not an absolute URL")]
    InvalidUrl,
    /// Its scheme is not http(s) (a `javascript:` or `data:` URL must never reach a browser).
    #[error("the claims interaction URL is not http or https")]
    UnsupportedScheme,
    /// `claims_redirect_uri` is not an absolute URL without a fragment (UMAG §3.3.2).
    #[error("claims_redirect_uri must be an absolute URL without a fragment")]
    InvalidClaimsRedirectUri,
}

/// Builds the browser URL for interactive claims gathering from `redirect_user` (or the static
/// `claims_interaction_endpoint`), keeping its query: `client_id` and `ticket` are added only if absent
/// (Gluu's `redirect_user` already has them), `claims_redirect_uri` (unless empty) and `state` (if given) are
/// set. Gluu's malformed `…/gather_claims&client_id=…` (no `?`) is repaired by turning the first `&` into `?`.
///
/// This does not decide whether the URL may be shown to a user: check https and the origin against the
/// validated issuer or `claims_interaction_endpoint` first (`docs/protocol.md` §11.7).
///
/// ```
/// use uma_core::grant::claims_redirect_url;
/// use uma_core::secret::Ticket;
///
/// let url = claims_redirect_url(
///     "https://as.example.com/rqp_claims",
///     "some_client_id",
///     &Ticket::new("016f84e8-f9b9-11e0-bd6f-0021cc6004de"),
///     "https://client.example.com/redirect_claims",
///     Some("abc"),
/// ).unwrap();
/// assert_eq!(url.as_str(), "https://as.example.com/rqp_claims?client_id=some_client_id\
///     &ticket=016f84e8-f9b9-11e0-bd6f-0021cc6004de\
///     &claims_redirect_uri=https%3A%2F%2Fclient.example.com%2Fredirect_claims&state=abc");
/// ```
pub fn claims_redirect_url(
    redirect_user_or_endpoint: &str,
    client_id: &str,
    ticket: &Ticket,
    claims_redirect_uri: &str,
    state: Option<&str>,
) -> Result<Url, ClaimsRedirectError> {
    let repaired;
    let raw =
        if !redirect_user_or_endpoint.contains('?') && !redirect_user_or_endpoint.contains('#') {
            // Gluu builds "<base>/uma/gather_claims&client_id=…" when no script adds parameters (§5.2).
            repaired = redirect_user_or_endpoint.replacen('&', "?", 1);
            repaired.as_str()
        } else {
            redirect_user_or_endpoint
        };
    let mut url = Url::parse(raw).map_err(|_| ClaimsRedirectError::InvalidUrl)?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err(ClaimsRedirectError::UnsupportedScheme);
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ClaimsRedirectError::InvalidUrl);
    }
    // A fragment would swallow the parameters we add.
    url.set_fragment(None);
    if !claims_redirect_uri.is_empty() {
        let parsed = Url::parse(claims_redirect_uri)
            .map_err(|_| ClaimsRedirectError::InvalidClaimsRedirectUri)?;
        if parsed.fragment().is_some() {
            return Err(ClaimsRedirectError::InvalidClaimsRedirectUri);
        }
    }

    let existing: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let has = |name: &str| existing.iter().any(|(k, _)| k == name);
    let ours_present = has("claims_redirect_uri") || has("state");
    let mut pairs: Vec<(String, String)> = Vec::new();
    if !has("client_id") {
        pairs.push(("client_id".into(), client_id.into()));
    }
    if !has("ticket") {
        pairs.push(("ticket".into(), ticket.secret().into()));
    }
    if !claims_redirect_uri.is_empty() {
        pairs.push(("claims_redirect_uri".into(), claims_redirect_uri.into()));
    }
    if let Some(state) = state {
        pairs.push(("state".into(), state.into()));
    }

    if ours_present {
        // Replace stale values of the parameters we own; this re-encodes the existing query.
        let kept: Vec<(String, String)> = existing
            .into_iter()
            .filter(|(k, _)| {
                !(k == "claims_redirect_uri" && !claims_redirect_uri.is_empty()
                    || k == "state" && state.is_some())
            })
            .collect();
        url.set_query(None);
        url.query_pairs_mut().extend_pairs(kept).extend_pairs(pairs);
    } else if !pairs.is_empty() {
        // Appending leaves the existing query bytes untouched.
        url.query_pairs_mut().extend_pairs(pairs);
    }
    if url.query() == Some("") {
        url.set_query(None);
    }
    Ok(url)
}
