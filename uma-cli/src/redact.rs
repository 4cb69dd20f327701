//! A second line of defence for everything `uma` writes to stderr: the secrets the user gave on the
//! command line, and any `ticket=` query value, are replaced by `[redacted]`.
//!
//! The primary defence is upstream: uma-core's errors and `ExchangeEvent` lines carry no secret. This
//! catches what a server might echo back (an `error_description` quoting a token, a `redirect_user`
//! URL carrying the new ticket, docs/protocol.md §11.6).

/// Known secret strings to scrub.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

const REDACTED: &str = "[redacted]";

impl Redactor {
    /// Scrubs these values (empty ones are ignored).
    pub fn new<'a>(secrets: impl IntoIterator<Item = Option<&'a str>>) -> Self {
        let mut secrets: Vec<String> = secrets
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        // Longest first, so a secret that contains another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Self { secrets }
    }

    /// `text` with every known secret and every `ticket=` value replaced.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        scrub_ticket_params(&out)
    }
}

/// Replaces the value of every `ticket=` parameter: a quoted one up to its closing quote, otherwise up
/// to `&`, whitespace, a quote or `)`.
fn scrub_ticket_params(text: &str) -> String {
    const KEY: &str = "ticket=";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(KEY) {
        let (head, tail) = rest.split_at(pos + KEY.len());
        out.push_str(head);
        // A quoted value (a challenge echoed back) is redacted up to its closing quote.
        if let Some(quoted) = tail.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            out.push('"');
            out.push_str(REDACTED);
            rest = &quoted[end..];
            continue;
        }
        let end = tail
            .find(|c: char| matches!(c, '&' | '"' | ')' | ',') || c.is_whitespace())
            .unwrap_or(tail.len());
        if end > 0 {
            out.push_str(REDACTED);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_known_secrets_and_tickets() {
        let r = Redactor::new([Some("s3cret"), None, Some(""), Some("tok")]);
        assert_eq!(
            r.scrub("id=app&secret=s3cret tok"),
            "id=app&secret=[redacted] [redacted]"
        );
        assert_eq!(
            r.scrub("at https://as/claims?client_id=a&ticket=abc-1&state=x (x)"),
            "at https://as/claims?client_id=a&ticket=[redacted]&state=x (x)"
        );
        assert_eq!(
            r.scrub("ticket=\"t\" then ticket=z, ticket=\"open"),
            "ticket=\"[redacted]\" then ticket=[redacted], ticket=\"[redacted]"
        );
        assert_eq!(r.scrub("no secrets"), "no secrets");
    }
}
