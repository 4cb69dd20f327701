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

/// Runs the command: prints the JSON document, and on stderr why a UMA-looking challenge is unusable.
pub fn run(args: &ChallengeArgs) -> Result<(), CliError> {
    let (doc, problem) = analyse(args)?;
    print_json(&doc)?;
    if let Some(problem) = problem {
        eprintln!("uma: no usable UMA challenge: {problem}");
    }
    Ok(())
}

/// The JSON document and, when `uma` is null because a UMA challenge was unusable, the reason.
pub fn analyse(args: &ChallengeArgs) -> Result<(Value, Option<String>), CliError> {
    let status = StatusCode::from_u16(args.status)
        .map_err(|_| CliError::Usage(format!("invalid status {}", args.status)))?;
    let mut headers = HeaderMap::new();
    for value in &args.values {
        // Obsolete line folding (§8.2 rule 7) is a CRLF followed by whitespace; a header value cannot
        // hold CR or LF, so unfold here the way a receiver would.
        let unfolded = value.replace("\r\n", " ").replace(['\r', '\n'], " ");
        let header = HeaderValue::from_bytes(unfolded.as_bytes()).map_err(|_| {
            CliError::Usage("a header value contains characters HTTP does not allow".to_owned())
        })?;
        headers.append(WWW_AUTHENTICATE, header);
    }
    let challenges = challenge::parse_headers(&headers);
    let body = args.body.as_deref().unwrap_or("").as_bytes();
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
