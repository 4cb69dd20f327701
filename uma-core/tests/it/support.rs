//! Canned servers and a fake clock for driving flows in tests.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use uma_core::auth::ClientCredentials;
use uma_core::discovery::Issuer;
use uma_core::{AuthorizationServer, Client, Config, Flow, Machine, Outgoing, RequestKind, Step};

pub const AS: &str = "https://as.example.org";
pub const RS: &str = "https://rs.example.org";
pub const HOSTILE: &str = "https://evil.example.net";

pub fn issuer() -> Issuer {
    Issuer::parse(AS).unwrap()
}

pub fn config() -> Config {
    Config::new().with_authorization_server(AuthorizationServer::new(
        issuer(),
        ClientCredentials::basic("app", "app-secret"),
    ))
}

pub fn client() -> Client {
    Client::new(config())
}

pub fn get(path: &str) -> http::Request<Vec<u8>> {
    http::Request::get(format!("{RS}{path}"))
        .body(Vec::new())
        .unwrap()
}

pub fn response(status: u16, headers: &[(&str, &str)], body: &str) -> http::Response<Vec<u8>> {
    let mut b = http::Response::builder().status(status);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(body.as_bytes().to_vec()).unwrap()
}

pub fn challenge(ticket: &str) -> http::Response<Vec<u8>> {
    challenge_from(AS, ticket)
}

pub fn challenge_from(as_uri: &str, ticket: &str) -> http::Response<Vec<u8>> {
    let value = format!(r#"UMA realm="rs", as_uri="{as_uri}", ticket="{ticket}""#);
    response(401, &[("www-authenticate", &value)], "")
}

/// An answer with `status` and `body` and no header field.
pub fn bare_response(status: u16, body: &str) -> http::Response<Vec<u8>> {
    response(status, &[], body)
}

/// An answer with `status`, `content-type: application/json` and `body`.
pub fn json_response(status: u16, body: &str) -> http::Response<Vec<u8>> {
    response(status, &[("content-type", "application/json")], body)
}

/// The request's header fields as (name, value) pairs, in order, for exact assertions.
pub fn headers(r: &http::Request<Vec<u8>>) -> Vec<(String, String)> {
    r.headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect()
}

pub fn ok(body: &str) -> http::Response<Vec<u8>> {
    json_response(200, body)
}

pub fn metadata() -> http::Response<Vec<u8>> {
    ok(&format!(
        r#"{{"issuer":"{AS}","token_endpoint":"{AS}/token","introspection_endpoint":"{AS}/introspect",
            "permission_endpoint":"{AS}/perm","resource_registration_endpoint":"{AS}/rreg"}}"#
    ))
}

pub fn token(rpt: &str) -> http::Response<Vec<u8>> {
    ok(&format!(
        r#"{{"access_token":"{rpt}","token_type":"Bearer","upgraded":false}}"#
    ))
}

pub fn token_json(json: &str) -> http::Response<Vec<u8>> {
    ok(json)
}

pub fn error(status: u16, json: &str) -> http::Response<Vec<u8>> {
    json_response(status, json)
}

/// A description of one emitted request, for exact sequence assertions.
pub fn describe(out: &Outgoing) -> String {
    let r = &out.request;
    let auth = r
        .headers()
        .get("authorization")
        .map(|v| format!(" auth={}", v.to_str().unwrap()))
        .unwrap_or_default();
    let body = if r.body().is_empty() {
        String::new()
    } else {
        format!(" body={}", String::from_utf8_lossy(r.body()))
    };
    format!("{:?} {} {}{}{}", out.kind, r.method(), r.uri(), auth, body)
}

/// Drives one flow: each call feeds a response and returns the next step.
pub struct Driver {
    pub client: Client,
    pub now: Instant,
    pub sent: Vec<String>,
}

impl Driver {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            now: Instant::now(),
            sent: Vec::new(),
        }
    }

    pub fn advance(&mut self, d: Duration) {
        self.now += d;
    }

    pub fn start(&mut self, flow: &mut Flow) -> Step<http::Response<Vec<u8>>> {
        let step = flow.start(&mut self.client, self.now);
        self.record(&step);
        step
    }

    pub fn feed(
        &mut self,
        flow: &mut Flow,
        step: Step<http::Response<Vec<u8>>>,
        response: http::Response<Vec<u8>>,
    ) -> Step<http::Response<Vec<u8>>> {
        let Step::Send(out) = step else {
            panic!("expected a request, got {step:?}")
        };
        let next = flow.handle_response(&mut self.client, out.id, response, self.now);
        self.record(&next);
        next
    }

    pub fn resume(&mut self, flow: &mut Flow) -> Step<http::Response<Vec<u8>>> {
        let step = flow.resume(&mut self.client, self.now);
        self.record(&step);
        step
    }

    fn record(&mut self, step: &Step<http::Response<Vec<u8>>>) {
        if let Step::Send(out) = step {
            self.sent.push(describe(out));
        }
    }

    /// Runs a flow that must end in a 200 (setting the scene for the step under test).
    pub fn prime(
        &mut self,
        request: http::Request<Vec<u8>>,
        responses: Vec<http::Response<Vec<u8>>>,
    ) {
        let step = self.run(request, responses);
        assert_eq!(done_status(&step), 200);
    }

    /// Runs a fresh flow for `request` against `responses` in order; returns the final step.
    pub fn run(
        &mut self,
        request: http::Request<Vec<u8>>,
        responses: Vec<http::Response<Vec<u8>>>,
    ) -> Step<http::Response<Vec<u8>>> {
        let mut flow = Flow::new(request);
        let mut step = self.start(&mut flow);
        for r in responses {
            step = self.feed(&mut flow, step, r);
        }
        step
    }
}

pub fn kind(step: &Step<http::Response<Vec<u8>>>) -> Option<RequestKind> {
    match step {
        Step::Send(out) => Some(out.kind),
        _ => None,
    }
}

pub fn done_status(step: &Step<http::Response<Vec<u8>>>) -> u16 {
    match step {
        Step::Done(r) => r.status().as_u16(),
        other => panic!("expected Done, got {other:?}"),
    }
}
