//! A tiny plain-HTTP helper for the kit's own tests (ureq with statuses as values and no
//! redirects). Deliberately not the project's UMA client: the kit is an independent referee.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use uma_testkit::Kit;

/// One answer: status, every header (lower-case names), body text.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

pub fn agent_for(kit: &Kit) -> ureq::Agent {
    let mut cfg = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(10)));
    if let Some(der) = kit.ca_certificate_der() {
        let cert = ureq::tls::Certificate::from_der(&der).to_owned();
        cfg = cfg.tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![cert])))
                .build(),
        );
    }
    ureq::Agent::new_with_config(cfg.build())
}

fn answer(resp: Result<http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut resp = resp.expect("request failed at transport level");
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = resp.body_mut().read_to_string().unwrap_or_default();
    Answer {
        status,
        headers,
        body,
    }
}

pub fn get(agent: &ureq::Agent, url: &str, auth: Option<&str>) -> Answer {
    let mut req = agent.get(url);
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    answer(req.call())
}

pub fn post_form(
    agent: &ureq::Agent,
    url: &str,
    auth: Option<&str>,
    form: &[(&str, &str)],
) -> Answer {
    let mut req = agent.post(url);
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    answer(req.send_form(form.iter().copied()))
}

pub fn send_json(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    auth: Option<&str>,
    body: &Value,
) -> Answer {
    let req = http::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json");
    let req = match auth {
        Some(a) => req.header("authorization", a),
        None => req,
    };
    let req = req.body(body.to_string()).expect("request");
    answer(agent.run(req))
}

pub fn delete(agent: &ureq::Agent, url: &str, auth: Option<&str>) -> Answer {
    let mut req = agent.delete(url);
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    answer(req.call())
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Basic credentials per RFC 6749 §2.3.1 (form-encode, then base64).
pub fn basic(id: &str, secret: &str) -> String {
    let enc = |s: &str| serde_urlencoded::to_string([("", s)]).unwrap()[1..].to_string();
    format!(
        "Basic {}",
        uma_testkit::tokens::b64std(format!("{}:{}", enc(id), enc(secret)).as_bytes())
    )
}

/// Extracts a parameter from a challenge, quoted or not.
pub fn param(challenge: &str, name: &str) -> Option<String> {
    let start = challenge.find(&format!("{name}="))? + name.len() + 1;
    let rest = &challenge[start..];
    if let Some(q) = rest.strip_prefix('"') {
        Some(q[..q.find('"')?].to_string())
    } else {
        Some(rest.split(',').next()?.trim().to_string())
    }
}

/// The ticket of the RS's challenge for a tokenless GET of `path` (401 expected).
pub fn challenge_ticket(kit: &Kit, agent: &ureq::Agent, path: &str, auth: Option<&str>) -> String {
    let a = get(agent, &kit.rs_url(path), auth);
    assert_eq!(a.status, 401, "expected a challenge: {a:?}");
    let ch = a.headers_named("www-authenticate").join(", ");
    param(&ch, "ticket").expect("ticket in challenge")
}

pub fn token_url(kit: &Kit) -> String {
    kit.endpoint_url(uma_testkit::Endpoint::Token).unwrap()
}

pub const UMA: &str = uma_testkit::UMA_GRANT;

/// A PAT from the resource-server client via client credentials.
pub fn pat(kit: &Kit, agent: &ureq::Agent) -> String {
    let a = post_form(
        agent,
        &token_url(kit),
        Some(&basic("rs", "rs-secret")),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "uma_protection"),
        ],
    );
    assert_eq!(a.status, 200, "{a:?}");
    a.json()["access_token"].as_str().unwrap().to_string()
}
