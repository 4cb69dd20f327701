//! `uma challenge`: parse `WWW-Authenticate` field values offline and print what a client would see.
//!
//! Pure: no network. Output shape (issue 6):
//! `{"challenges":[{"scheme":"uma","params":{…}} | {"scheme":…,"token68":"…"}, …],
//!   "uma": {"as_uri":…,"ticket":…,"realm":…} | null}`.

use http::{HeaderMap, HeaderValue, StatusCode, header::WWW_AUTHENTICATE};
use serde_json::{Map, Value, json};
use uma_core::challenge::{self, Challenge, Strictness, UmaChallenge};

use crate::args::ChallengeArgs;
use crate::output::{CliError, print_json};

/// Exit status when no usable UMA challenge was found.
const EXIT_NOT_FOUND: u8 = 1;

/// Runs the command: prints the JSON document; when no usable UMA challenge was found, says why on
/// stderr and exits 1.
pub fn run(args: &ChallengeArgs) -> Result<(), CliError> {
    let input = input(args)?;
    let (doc, problem) = analyse(&input, args.body.as_deref())?;
    print_json(&doc)?;
    if doc["uma"].is_null() {
        let why = problem.unwrap_or_else(|| {
            "no challenge has the UMA scheme with an as_uri and a ticket".to_owned()
        });
        eprintln!("uma: no usable UMA challenge: {why}");
        return Err(CliError::Reported(EXIT_NOT_FOUND));
    }
    Ok(())
}

/// The status and the field values to parse, from the arguments or, for `-`, standard input.
pub struct Input {
    /// The response status.
    pub status: u16,
    /// `WWW-Authenticate` field values, prefixes removed.
    pub values: Vec<String>,
}

fn input(args: &ChallengeArgs) -> Result<Input, CliError> {
    let mut status = None;
    let mut values = Vec::new();
    for value in &args.values {
        if value == "-" {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut text)
                .map_err(|e| CliError::Usage(format!("cannot read standard input: {e}")))?;
            let (line_status, lines) = from_text(&text);
            status = status.or(line_status);
            values.extend(lines);
        } else {
            values.push(strip_field_name(value).to_owned());
        }
    }
    Ok(Input {
        status: args.status.or(status).unwrap_or(401),
        values,
    })
}

/// `value` without a pasted `WWW-Authenticate:` prefix (the field name in any case).
fn strip_field_name(value: &str) -> &str {
    const NAME: &str = "www-authenticate:";
    let trimmed = value.trim_start();
    match trimmed.get(..NAME.len()) {
        Some(head) if head.eq_ignore_ascii_case(NAME) => trimmed[NAME.len()..].trim_start(),
        _ => value,
    }
}

/// Field values from text: one per line, a line starting with whitespace continues the previous one
/// (obsolete folding). A pasted response head works too: its status line gives the status, its other
/// header fields are skipped, and the blank line before the body ends it.
fn from_text(text: &str) -> (Option<u16>, Vec<String>) {
    let mut status = None;
    let mut values: Vec<String> = Vec::new();
    // Whether the last line kept was a WWW-Authenticate value (continuation lines extend it).
    let mut open = false;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            if !values.is_empty() || status.is_some() {
                break;
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if open {
                if let Some(last) = values.last_mut() {
                    last.push(' ');
                    last.push_str(line.trim());
                }
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("HTTP/") {
            status = rest.split_whitespace().nth(1).and_then(|s| s.parse().ok());
            open = false;
            continue;
        }
        let stripped = strip_field_name(line);
        open = stripped.len() != line.len() || !is_other_field(line);
        if open {
            values.push(stripped.to_owned());
        }
    }
    (status, values)
}

/// Whether `line` is a header field other than `WWW-Authenticate` (`Name: value`, the name a token).
/// A bare challenge never has a colon right after its first token.
fn is_other_field(line: &str) -> bool {
    line.split_once(':').is_some_and(|(name, _)| {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    })
}

/// The JSON document and, when `uma` is null because a UMA challenge was unusable, the reason.
pub fn analyse(input: &Input, body: Option<&str>) -> Result<(Value, Option<String>), CliError> {
    let status = StatusCode::from_u16(input.status)
        .map_err(|_| CliError::Usage(format!("invalid status {}", input.status)))?;
    let mut headers = HeaderMap::new();
    for value in &input.values {
        // Obsolete line folding (§8.2 rule 7) is a CRLF followed by whitespace; a header value cannot
        // hold CR or LF, so unfold here the way a receiver would.
        let unfolded = value.replace("\r\n", " ").replace(['\r', '\n'], " ");
        let header = HeaderValue::from_bytes(unfolded.as_bytes()).map_err(|_| {
            CliError::Usage("a header value contains characters HTTP does not allow".to_owned())
        })?;
        headers.append(WWW_AUTHENTICATE, header);
    }
    let challenges = challenge::parse_headers(&headers);
    let body = body.unwrap_or("").as_bytes();
    let (uma, problem) = match challenge::uma_candidates(status, &headers, body, Strictness::Lax) {
        Ok(found) => (found.first().map(uma_json).unwrap_or(Value::Null), None),
        Err(e) => (Value::Null, Some(e.to_string())),
    };
    let doc = json!({
        "challenges": challenges.iter().map(challenge_json).collect::<Vec<_>>(),
        "uma": uma,
    });
    Ok((doc, problem))
}

fn challenge_json(ch: &Challenge) -> Value {
    let mut obj = Map::new();
    obj.insert("scheme".into(), Value::String(ch.scheme.clone()));
    if let Some(t) = &ch.token68 {
        obj.insert("token68".into(), Value::String(t.clone()));
    } else {
        let mut params = Map::new();
        for (name, value) in &ch.params {
            // A repeated name keeps its first value, as `Challenge::param` does.
            params
                .entry(name.clone())
                .or_insert_with(|| Value::String(value.clone()));
        }
        obj.insert("params".into(), Value::Object(params));
    }
    Value::Object(obj)
}

fn uma_json(c: &UmaChallenge) -> Value {
    // The user handed us this ticket to inspect; printing it back is the point of the command.
    json!({
        "as_uri": c.as_uri,
        "ticket": c.ticket.secret(),
        "realm": c.realm,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_prefix_is_removed_in_any_case() {
        assert_eq!(strip_field_name("WWW-Authenticate: UMA a=b"), "UMA a=b");
        assert_eq!(strip_field_name("www-authenticate:UMA a=b"), "UMA a=b");
        assert_eq!(strip_field_name("UMA a=b"), "UMA a=b");
    }

    #[test]
    fn response_head_from_text() {
        let text = "HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nWWW-Authenticate: UMA a=\"b\",\r\n  c=\"d\"\r\nBearer x=y\r\n\r\nbody: not a header\n";
        let (status, values) = from_text(text);
        assert_eq!(status, Some(403));
        assert_eq!(values, ["UMA a=\"b\", c=\"d\"", "Bearer x=y"]);
    }
}
