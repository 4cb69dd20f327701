//! Target `flow`: an arbitrary sequence of resource-server and authorization-server answers fed to
//! a [`Flow`] with one trusted issuer and a fake clock (docs/protocol.md §2, §11). After the first
//! request ends, a second one to another origin runs on the same client, so cached RPTs and
//! metadata are in play.
//!
//! Input: one configuration byte, then responses separated by `\n--\n`, each in the
//! `support::decode_response` form (status line, header lines such as `WWW-Authenticate: …`,
//! body). The n-th response answers the n-th request, whatever it is. In responses, `@T` expands
//! to a fresh credential-like value (`SECRETMARK-<n>Z`); the literal marker is removed from the
//! input first, so every occurrence of it in the output comes from an expansion.
//!
//! Invariants: the flow ends within [`MAX_SENDS`] requests and a few steps per request; requests
//! go only to the resource server (or a redirect target it named), the trusted issuer's discovery
//! URL, and the token endpoint of a metadata document that validates; `Authorization` on resource
//! requests carries only an RPT obtained for that origin or the configured user token, never the
//! client secret; no credential (client secret, claim token, user token, or an expansion that
//! arrived as a ticket or token) appears in the error's `Display` or `Debug`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use http::header::{AUTHORIZATION, LOCATION};
use uma_core::auth::ClientCredentials;
use uma_core::challenge::parse_headers;
use uma_core::discovery::{EndpointPolicy, Issuer, discovery_url, parse_metadata};
use uma_core::grant::{PushedClaim, parse_token_response};
use uma_core::secret::{AccessToken, ClaimToken};
use uma_core::{
    AuthorizationServer, Client, Config, Flow, Identity, Machine, Party, RequestKind, Step,
};

use super::support::{SECRET_MEMBERS, decode_response, secret_members};

/// Requests a flow may emit before it counts as not terminating. Every configuration below allows
/// at most 3 UMA flows, 2 redirects, 5 polls and one need_info round, far below this.
pub const MAX_SENDS: usize = 64;
/// Non-`Send` steps in a row (waits, parks) before it counts as a livelock.
const MAX_IDLE_STEPS: usize = 16;

const ISSUER: &str = "https://as.example.org/realms/demo";
const RESOURCE: &str = "https://rs.example.org/photos/1";
const OTHER_RESOURCE: &str = "https://api.example.net/v1/items";
const MARKER: &str = "SECRETMARK";
const CLIENT_SECRET: &str = "SECRETMARK-client-secretZ";
const CLAIM_TOKEN: &str = "SECRETMARK-claim-tokenZ";
const USER_TOKEN: &str = "SECRETMARK-user-tokenZ";

/// Options chosen by the first input byte.
struct Options {
    max_flows: u32,
    max_redirects: u32,
    claim: bool,
    user_token: bool,
    post_auth: bool,
}

impl Options {
    fn from_byte(b: u8) -> Self {
        Self {
            max_flows: 1 + u32::from(b & 3) % 3,
            max_redirects: u32::from((b >> 2) & 3) % 3,
            claim: b & 0x10 != 0,
            user_token: b & 0x20 != 0,
            post_auth: b & 0x40 != 0,
        }
    }
}

/// Splits the input into responses and expands `@T`; returns them with the expansions.
fn responses(data: &[u8]) -> Vec<Vec<u8>> {
    let text = String::from_utf8_lossy(data).replace(MARKER, "xxxxxxxxxx");
    let mut n = 0;
    text.split("\n--\n")
        .take(MAX_SENDS + 8)
        .map(|part| {
            let mut out = String::with_capacity(part.len());
            let mut pieces = part.split("@T");
            out.push_str(pieces.next().unwrap_or_default());
            for piece in pieces {
                n += 1;
                out.push_str(&format!("{MARKER}-{n}Z"));
                out.push_str(piece);
            }
            out.into_bytes()
        })
        .collect()
}

/// Expansions that arrived in a credential position: a `ticket` challenge parameter or a
/// credential member of a JSON body, as the whole value, and nowhere else in that response.
fn credentials_in(response: &http::Response<Vec<u8>>, raw: &[u8], out: &mut Vec<String>) {
    let raw = String::from_utf8_lossy(raw);
    let once = |s: &str| s.contains(MARKER) && raw.matches(s).count() == 1;
    for c in parse_headers(response.headers()) {
        for (name, value) in &c.params {
            if name == "ticket" && once(value) {
                out.push(value.clone());
            }
        }
    }
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(response.body()) {
        for (_, value) in secret_members(&json, SECRET_MEMBERS) {
            if once(&value) {
                out.push(value);
            }
        }
    }
}

fn origin(uri: &http::Uri) -> String {
    let scheme = uri.scheme_str().unwrap_or("").to_ascii_lowercase();
    let host = uri.host().unwrap_or("").to_ascii_lowercase();
    let default = if scheme == "https" { 443 } else { 80 };
    match uri.port_u16() {
        Some(p) if p != default => format!("{scheme}://{host}:{p}"),
        _ => format!("{scheme}://{host}"),
    }
}

fn bearer(request: &http::Request<Vec<u8>>) -> Option<String> {
    let value = request.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.to_owned())
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let options = Options::from_byte(first);
    let Ok(issuer) = Issuer::parse(ISSUER) else {
        panic!("the harness issuer is invalid");
    };
    let credentials = if options.post_auth {
        ClientCredentials::post("app", CLIENT_SECRET)
    } else {
        ClientCredentials::basic("app", CLIENT_SECRET)
    };
    let mut server = AuthorizationServer::new(issuer.clone(), credentials);
    if options.claim {
        server.claim = Some(PushedClaim::id_token(ClaimToken::new(CLAIM_TOKEN)));
    }
    let mut config = Config::new()
        .with_authorization_server(server)
        .with_max_flows(options.max_flows);
    config.max_redirects = options.max_redirects;
    let policy = config.endpoint_policy;
    let mut client = Client::new(config);
    let start = Instant::now();
    if options.user_token {
        let token = Identity::from_token(AccessToken::new(USER_TOKEN), start);
        client.set_identity(Party::default(), token);
    }

    let mut run = Run {
        issuer,
        policy,
        answers: responses(rest).into_iter(),
        secrets: vec![CLIENT_SECRET.into(), CLAIM_TOKEN.into(), USER_TOKEN.into()],
        resource_origins: Vec::new(),
        obtained: HashMap::new(),
        token_endpoint: None,
        now: start,
    };
    // A second request to another origin on the same client: cached RPTs must stay with their origin.
    for url in [RESOURCE, OTHER_RESOURCE] {
        if run.drive(&mut client, url).is_none() {
            return;
        }
    }
}

/// What one input's flows share: the answers, what was learnt from them, and the fake clock.
struct Run {
    issuer: Issuer,
    policy: EndpointPolicy,
    answers: std::vec::IntoIter<Vec<u8>>,
    /// Credentials that must not appear in errors.
    secrets: Vec<String>,
    /// Origins the current flow may send resource requests to: its own, and redirect targets named.
    resource_origins: Vec<String>,
    /// Access tokens obtained, with the resource origin the flow was serving at the time.
    obtained: HashMap<String, String>,
    /// The token endpoint of the last discovery answer that validates.
    token_endpoint: Option<String>,
    now: Instant,
}

impl Run {
    /// Drives one flow for `url` to its end; `None` when the answers ran out first.
    fn drive(&mut self, client: &mut Client, url: &str) -> Option<()> {
        let Ok(request) = http::Request::get(url).body(Vec::new()) else {
            panic!("the harness request is invalid");
        };
        let mut flow = Flow::new(request);
        let requested = flow.origin().to_owned();
        self.resource_origins = vec![requested.clone()];
        let mut sends = 0;
        let mut idle = 0;
        let mut step = flow.start(client, self.now);
        let failure = loop {
            step = match step {
                Step::Send(out) => {
                    sends += 1;
                    idle = 0;
                    assert!(
                        sends <= MAX_SENDS,
                        "the flow did not end within {MAX_SENDS} requests"
                    );
                    let req = &out.request;
                    let target = origin(req.uri());
                    match out.kind {
                        RequestKind::Resource => {
                            assert!(
                                self.resource_origins.contains(&target),
                                "resource request to {target}, which no response named"
                            );
                            if let Some(token) = bearer(req) {
                                let for_origin = self.obtained.get(&token);
                                let user = token == USER_TOKEN && target == requested;
                                assert!(
                                    user || for_origin == Some(&target),
                                    "a bearer token obtained for {for_origin:?} sent to {target}"
                                );
                            }
                            let auth = req.headers().get(AUTHORIZATION);
                            assert!(
                                auth.is_none_or(|v| !v.as_bytes().starts_with(b"Basic")),
                                "client credentials sent to a resource server"
                            );
                            let seen = format!(
                                "{:?} {:?}",
                                req.uri(),
                                String::from_utf8_lossy(req.body())
                            );
                            assert!(
                                !seen.contains(CLIENT_SECRET),
                                "client secret sent to a resource server"
                            );
                        }
                        RequestKind::Discovery => {
                            assert_eq!(
                                req.uri().to_string(),
                                discovery_url(&self.issuer).as_str(),
                                "discovery of another issuer"
                            );
                            assert!(
                                req.headers().get(AUTHORIZATION).is_none(),
                                "credentials on discovery"
                            );
                        }
                        RequestKind::Token => {
                            assert_eq!(
                                Some(req.uri().to_string()),
                                self.token_endpoint,
                                "token request to an endpoint no validated metadata named"
                            );
                            assert_eq!(req.method(), http::Method::POST);
                        }
                        _ => panic!("unknown request kind {:?}", out.kind),
                    }
                    let Some(raw) = self.answers.next() else {
                        // Out of answers: the driver gives up, as on a transport error.
                        flow.abort(client);
                        return None;
                    };
                    let response = decode_response(&raw, 200);
                    credentials_in(&response, &raw, &mut self.secrets);
                    match out.kind {
                        RequestKind::Resource => {
                            // Any origin a redirect names, resolved as a browser would (the flow may
                            // parse `Location` more leniently than `http::Uri`).
                            let location = response
                                .headers()
                                .get(LOCATION)
                                .filter(|_| response.status().is_redirection())
                                .map(|l| String::from_utf8_lossy(l.as_bytes()).into_owned());
                            let base = url::Url::parse(&req.uri().to_string()).ok();
                            if let Some(url) = base.zip(location).and_then(|(b, l)| b.join(&l).ok())
                            {
                                self.resource_origins
                                    .push(url.origin().ascii_serialization());
                            }
                        }
                        RequestKind::Discovery => {
                            if let Ok(meta) = parse_metadata(&self.issuer, &response, &self.policy)
                            {
                                self.token_endpoint = Some(meta.token_endpoint.to_string());
                            }
                        }
                        _ => {
                            if let Ok(t) = parse_token_response(&response) {
                                self.obtained.insert(
                                    t.access_token.secret().to_owned(),
                                    flow.origin().to_owned(),
                                );
                            }
                        }
                    }
                    self.now += Duration::from_millis(10);
                    flow.handle_response(client, out.id, response, self.now)
                }
                Step::Wait { until } | Step::Park { until, .. } => {
                    idle += 1;
                    assert!(idle <= MAX_IDLE_STEPS, "the flow waits without end");
                    assert!(
                        until <= self.now + Duration::from_secs(600),
                        "a wait of more than 10 minutes"
                    );
                    self.now = self.now.max(until);
                    flow.resume(client, self.now)
                }
                Step::Done(_) => return Some(()),
                Step::Failed(failure) => break failure,
            };
        };
        let shown = format!(
            "{} {:?} {} {:?}",
            failure.error, failure.error, failure, failure
        );
        for secret in &self.secrets {
            assert!(
                !shown.contains(secret.as_str()),
                "the credential {secret} appears in the error: {shown}"
            );
        }
        Some(())
    }
}
