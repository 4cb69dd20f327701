//! What `uma fetch` prints: responses (with `-i`), one-line errors, and the `--stats` object.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use serde_json::{Map, Value, json};
use uma_core::Error as Core;

use crate::output::CliError;

/// One-line description of a failed request; `context` says which (`GET https://rs/x`).
///
/// Built from uma-core and uma-ureq errors, which carry no secret; `need_info`'s `redirect_user` is
/// the exception (Gluu puts the new ticket in it), so its ticket is removed here and the caller's
/// redactor scrubs any `ticket=` left.
pub fn describe(context: &str, e: &uma_ureq::Error) -> CliError {
    use uma_ureq::Error as E;
    match e {
        E::Uma(failure) if matches!(failure.error.root(), Core::TooManyRedirects { .. }) => {
            let root = failure.error.root();
            CliError::Status(format!(
                "{context}: too many redirects: {root} (raise --max-redirs)"
            ))
        }
        E::Uma(failure) => {
            let root = failure.error.root();
            CliError::Uma(format!(
                "{context}: {}: {}",
                label(root),
                core_message(root)
            ))
        }
        E::Timeout { .. } => CliError::Transport(format!("{context}: timeout: {e}")),
        E::Transport { .. } => CliError::Transport(format!("{context}: no response: {e}")),
        E::BodyTooLarge { .. } => CliError::Transport(format!("{context}: {e}")),
        E::InvalidRequest(_) | E::RequestBody(_) => CliError::Usage(format!("{context}: {e}")),
        E::BodyNotReplayable { .. } => CliError::Transport(format!(
            "{context}: {e} (standard input is read once: send a file with --data-binary @FILE)"
        )),
        other => CliError::Transport(format!("{context}: {other}")),
    }
}

/// A short word for what went wrong, first on the line so scripts and people can grep it.
fn label(e: &Core) -> &'static str {
    match e {
        Core::UntrustedAuthorizationServer { .. } | Core::NoAuthorizationServer => "untrusted AS",
        Core::InsecureAuthorizationServer { .. } => "insecure AS",
        Core::Denied { .. } => "denied",
        Core::NeedInfo { .. } => "needs interaction",
        Core::ApprovalPending { .. } => "approval pending",
        Core::MaxFlowsReached { .. } => "max flows",
        Core::DeadTicket { .. } | Core::TicketNotRotated { .. } => "ticket rejected",
        Core::ClientAuthentication { .. } => "client authentication failed",
        Core::AccessTokenRejected { .. } => "access token rejected",
        Core::LoginRefused { .. } => "login failed",
        Core::Discovery { .. } => "discovery failed",
        Core::Challenge(_) => "bad challenge",
        Core::TokenEndpoint { .. } | Core::MalformedTokenResponse { .. } => "token endpoint error",
        _ => "UMA flow failed",
    }
}

fn core_message(e: &Core) -> String {
    match e {
        Core::NeedInfo { issuer, error } => {
            let claims: Vec<&str> = error
                .required_claims
                .iter()
                .filter_map(|c| c.friendly_name.as_deref().or(c.name.as_deref()))
                .collect();
            let mut msg = format!("{issuer} needs more information about the requesting party");
            if !claims.is_empty() {
                msg.push_str(&format!(" (claims: {})", claims.join(", ")));
            }
            match &error.redirect_user {
                Some(url) => {
                    let url = match &error.ticket {
                        Some(t) if !t.is_empty() => url.replace(t.secret(), "[redacted]"),
                        _ => url.clone(),
                    };
                    msg.push_str(&format!("; interaction at {url}"));
                }
                None => msg.push_str("; push a claim token with --claim-token"),
            }
            msg
        }
        other => other.to_string(),
    }
}

/// What to add to the "HTTP 401" line when the resource server's challenge is a plain `Bearer` one (no
/// ticket, nothing UMA): it wants the requesting party's access token before it issues a ticket (Keycloak's
/// policy enforcer), or it refused the one it got.
pub fn bearer_hint<B>(response: &http::Response<B>, sent_token: bool) -> Option<&'static str> {
    use uma_core::challenge::{self, Strictness};
    if response.status() != http::StatusCode::UNAUTHORIZED {
        return None;
    }
    let challenges = challenge::parse_headers(response.headers());
    let bearer = challenges.iter().any(|c| c.scheme == "bearer");
    let uma =
        challenge::uma_candidates(response.status(), response.headers(), &[], Strictness::Lax)
            .is_ok_and(|found| !found.is_empty());
    if !bearer || uma {
        return None;
    }
    Some(if sent_token {
        "the resource server refused the access token (a plain Bearer challenge, no UMA ticket)"
    } else {
        "the resource server wants a token first (use -u USER, or --grant password --username USER)"
    })
}

/// Why printing a response stopped.
#[derive(Debug)]
pub enum PrintError {
    /// The body could not be read to its end (cut short, a broken chunked encoding, a timeout).
    Read(std::io::Error),
    /// The output could not be written.
    Write(std::io::Error),
}

/// Prints the response (status line and headers with `-i`), then streams its body to `out` unless
/// `silent`. Returns the body bytes written, also counted in `written` as they go (so a failure still
/// tells how much arrived). A body that ends before its `Content-Length`, or a broken chunked body, is a
/// [`PrintError::Read`]: never a short success.
pub fn print_response(
    head: &http::response::Parts,
    body: &mut dyn std::io::Read,
    out: &mut dyn Write,
    include: bool,
    silent: bool,
    written: &mut u64,
) -> Result<u64, PrintError> {
    if include {
        let status = head.status;
        let mut text = format!(
            "{:?} {} {}\n",
            head.version,
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        )
        .into_bytes();
        for (name, value) in &head.headers {
            text.extend_from_slice(name.as_str().as_bytes());
            text.extend_from_slice(b": ");
            text.extend_from_slice(value.as_bytes());
            text.push(b'\n');
        }
        text.push(b'\n');
        out.write_all(&text).map_err(PrintError::Write)?;
    }
    *written = 0;
    if !silent {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = match body.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = out.flush();
                    return Err(PrintError::Read(e));
                }
            };
            out.write_all(&buffer[..n]).map_err(PrintError::Write)?;
            *written += n as u64;
        }
    }
    out.flush().map_err(PrintError::Write)?;
    Ok(*written)
}

/// Final statuses of the fetches (issue 6 `--stats`).
#[derive(Debug, Default)]
pub struct Tally {
    /// Count per final status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Fetches that ended without a response.
    pub errors: u64,
}

impl Tally {
    /// Adds one fetch: its final status, or `None` when there was no response.
    pub fn add(&mut self, status: Option<u16>) {
        match status {
            Some(s) => *self.statuses.entry(s).or_default() += 1,
            None => self.errors += 1,
        }
    }

    /// Total fetches.
    pub fn requests(&self) -> u64 {
        self.statuses.values().sum::<u64>() + self.errors
    }

    /// `{"requests": N, "statuses": {"200": n, …, "error": n}, "http_exchanges": M, "elapsed_s": x}`.
    pub fn stats_json(&self, http_exchanges: u64, elapsed: Duration) -> Value {
        let mut statuses = Map::new();
        for (status, n) in &self.statuses {
            statuses.insert(status.to_string(), json!(n));
        }
        statuses.insert("error".into(), json!(self.errors));
        // Milliseconds are plenty; rounding keeps the number short.
        let elapsed_s = (elapsed.as_secs_f64() * 1000.0).round() / 1000.0;
        json!({
            "requests": self.requests(),
            "statuses": statuses,
            "http_exchanges": http_exchanges,
            "elapsed_s": elapsed_s,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_shape() {
        let mut t = Tally::default();
        t.add(Some(200));
        t.add(Some(200));
        t.add(Some(403));
        t.add(None);
        let v = t.stats_json(7, Duration::from_millis(1234));
        assert_eq!(
            v,
            json!({"requests": 4, "statuses": {"200": 2, "403": 1, "error": 1},
                   "http_exchanges": 7, "elapsed_s": 1.234})
        );
    }
}
