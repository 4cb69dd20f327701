//! In-memory workloads shared by the criterion benches and the runner: challenge headers in the three
//! shapes servers send, and canned UMA flows through [`uma_core::Flow`] with no I/O at all.

use std::time::Instant;

use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, StatusCode};
use uma_core::auth::ClientCredentials;
use uma_core::challenge::{Strictness, uma_candidates};
use uma_core::discovery::Issuer;
use uma_core::{AuthorizationServer, Client, Config, Flow, Machine, Outgoing, RequestKind, Step};

/// The canned authorization server's issuer.
pub const ISSUER: &str = "https://as.example.org";

/// The shapes of `WWW-Authenticate` challenges seen in the wild (docs/protocol.md §8.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `UMA realm="api", as_uri="…", ticket="…"` with an opaque ticket (UMAG §3.2.1).
    Spec,
    /// Keycloak's policy enforcer: no spaces after commas, a JWT as the ticket.
    Keycloak,
    /// The EOEPCA PEP: unquoted values, a UUID ticket.
    Eoepca,
}

impl Shape {
    /// All shapes, in table order.
    pub const ALL: [Shape; 3] = [Shape::Spec, Shape::Keycloak, Shape::Eoepca];

    /// A short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Shape::Spec => "spec (quoted, opaque ticket)",
            Shape::Keycloak => "Keycloak (no spaces, JWT ticket)",
            Shape::Eoepca => "EOEPCA (unquoted, UUID ticket)",
        }
    }

    /// The header value.
    pub fn header_value(self) -> String {
        match self {
            Shape::Spec => format!(
                "UMA realm=\"api\", as_uri=\"{ISSUER}\", ticket=\"016f84e8-f9b9-11e0-bd6f-0021cc6004de\""
            ),
            Shape::Keycloak => format!(
                "UMA realm=\"demo\",as_uri=\"{ISSUER}/realms/demo\",ticket=\"{}\"",
                keycloak_ticket()
            ),
            Shape::Eoepca => format!(
                "UMA realm=eoepca,as_uri={ISSUER},ticket=6f1c1c5e-8a3b-4b7e-9a52-1d2c3e4f5a6b"
            ),
        }
    }

    /// A header map holding just this challenge.
    pub fn headers(self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&self.header_value()) {
            headers.insert(WWW_AUTHENTICATE, v);
        }
        headers
    }
}

/// A ticket shaped like Keycloak's: a signed JWT of about 600 bytes (three base64url parts).
fn keycloak_ticket() -> String {
    let header = "eyJhbGciOiJSUzI1NiIsInR5cCIgOiAiSldUIiwia2lkIiA6ICJ4Z3NfU0NkT0ZCQ2xjQ1NnZ2VnM0tfRzNFOFdUbXdQbjJ2c2l6Tm5YZVhVIn0";
    let payload: String = "eyJleHAiOjE3MDAwMDAwMDAsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiYWJjZGVmIiwiYXVkIjoicnMiLCJwZXJtaXNzaW9ucyI6W3sicnNpZCI6InJlcy1hIiwic2NvcGVzIjpbInJlYWQiXX1dfQ"
        .repeat(3);
    let signature: String =
        "c2lnbmF0dXJlLWJ5dGVzLXNpZ25hdHVyZS1ieXRlcy1zaWduYXR1cmUtYnl0ZXM".repeat(3);
    format!("{header}.{payload}.{signature}")
}

/// Extracts the usable UMA challenges (RFC 9110 parsing plus UMA validation, lax mode as deployed);
/// returns how many were found so the work cannot be optimised away.
pub fn parse(headers: &HeaderMap) -> usize {
    uma_candidates(StatusCode::UNAUTHORIZED, headers, b"", Strictness::Lax)
        .map(|found| found.len())
        .unwrap_or(0)
}

/// The configuration of every canned client: one trusted AS, basic client authentication.
pub fn config() -> Config {
    let issuer = Issuer::parse(ISSUER).ok();
    match issuer {
        Some(issuer) => Config::new().with_authorization_server(AuthorizationServer::new(
            issuer,
            ClientCredentials::basic("app", "app-secret"),
        )),
        None => Config::new(),
    }
}

/// A `GET` of `/photo` on `origin`.
pub fn request(origin: &str) -> http::Request<Vec<u8>> {
    http::Request::get(format!("{origin}/photo"))
        .body(Vec::new())
        .unwrap_or_default()
}

/// Answers every canned request like a well-behaved AS and RS would: a challenge for a resource
/// request without `Authorization`, metadata, a fresh RPT (`rpt_len` bytes), then the resource.
#[derive(Debug)]
pub struct Responder {
    next_rpt: u64,
    rpt_len: usize,
}

impl Responder {
    /// RPTs of `rpt_len` bytes (43 is a typical opaque token; Keycloak's JWT RPTs exceed 1 KiB).
    pub fn new(rpt_len: usize) -> Self {
        Self {
            next_rpt: 0,
            rpt_len,
        }
    }

    /// The response to `out`.
    pub fn answer(&mut self, out: &Outgoing) -> http::Response<Vec<u8>> {
        let builder = http::Response::builder();
        let response = match out.kind {
            RequestKind::Discovery => builder.status(200).body(
                format!(r#"{{"issuer":"{ISSUER}","token_endpoint":"{ISSUER}/token"}}"#)
                    .into_bytes(),
            ),
            RequestKind::Token => {
                self.next_rpt += 1;
                let id = self.next_rpt.to_string();
                let pad = "r".repeat(self.rpt_len.saturating_sub(id.len()));
                builder.status(200).body(
                    format!(r#"{{"access_token":"{pad}{id}","token_type":"Bearer"}}"#).into_bytes(),
                )
            }
            _ if out.request.headers().contains_key(AUTHORIZATION) => {
                builder.status(200).body(b"the photo".to_vec())
            }
            _ => builder
                .status(401)
                .header(WWW_AUTHENTICATE, Shape::Spec.header_value())
                .body(Vec::new()),
        };
        response.unwrap_or_default()
    }
}

/// Runs `flow` to its end against `responder`; returns the HTTP exchanges it made (0 if it failed).
pub fn run_flow(client: &mut Client, mut flow: Flow, responder: &mut Responder) -> usize {
    let now = Instant::now();
    let mut exchanges = 0;
    let mut step = flow.start(client, now);
    // Bounded: a cold flow takes four exchanges; anything past 16 is a bug in the canned answers.
    for _ in 0..16 {
        step = match step {
            Step::Send(out) => {
                exchanges += 1;
                let answer = responder.answer(&out);
                flow.handle_response(client, out.id, answer, now)
            }
            Step::Wait { .. } | Step::Park { .. } => flow.resume(client, now),
            Step::Done(_) => return exchanges,
            Step::Failed(_) => return 0,
        };
    }
    0
}

/// One cold flow on a fresh client: challenge, discovery, token, retry. Returns the exchanges (4).
pub fn cold_flow(client: &mut Client, responder: &mut Responder) -> usize {
    run_flow(
        client,
        Flow::new(request("https://rs.example.org")),
        responder,
    )
}

/// A client that already holds an RPT for `https://rs.example.org`.
pub fn warm_client(responder: &mut Responder) -> Client {
    let mut client = Client::new(config());
    let _ = cold_flow(&mut client, responder);
    client
}

/// One warm flow: the cached RPT goes out with the request and the resource answers. Returns 1.
pub fn warm_flow(client: &mut Client, responder: &mut Responder) -> usize {
    run_flow(
        client,
        Flow::new(request("https://rs.example.org")),
        responder,
    )
}

/// The inputs of one warm step: the application's request and the resource server's canned `200`
/// answer, both built outside any measured region.
pub fn warm_step_inputs() -> (http::Request<Vec<u8>>, http::Response<Vec<u8>>) {
    let response = http::Response::builder()
        .status(200)
        .body(b"the photo".to_vec())
        .unwrap_or_default();
    (request("https://rs.example.org"), response)
}

/// The core's own work for one request with a cached RPT, and nothing else: `Flow::new`, `start` (the
/// RPT goes out with the request), `handle_response` with the canned answer, and dropping what the flow
/// hands back. Returns 1 (one exchange), 0 if the flow did not take the warm path.
pub fn warm_step(
    client: &mut Client,
    (request, response): (http::Request<Vec<u8>>, http::Response<Vec<u8>>),
) -> usize {
    let now = Instant::now();
    let mut flow = Flow::new(request);
    let Step::Send(out) = flow.start(client, now) else {
        return 0;
    };
    if !out.request.headers().contains_key(AUTHORIZATION) {
        return 0;
    }
    match flow.handle_response(client, out.id, response, now) {
        Step::Done(r) if r.status() == 200 => 1,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shape_parses_to_one_candidate() {
        for shape in Shape::ALL {
            assert_eq!(parse(&shape.headers()), 1, "{shape:?}");
        }
    }

    #[test]
    fn canned_flows_take_four_then_one_exchange() {
        let mut responder = Responder::new(43);
        let mut client = Client::new(config());
        assert_eq!(cold_flow(&mut client, &mut responder), 4);
        assert_eq!(warm_flow(&mut client, &mut responder), 1);
        assert_eq!(warm_step(&mut client, warm_step_inputs()), 1);
    }
}
