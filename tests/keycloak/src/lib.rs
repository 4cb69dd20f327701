//! Support for the suites that run `uma` against a real Keycloak (`tests/keycloak/run` starts it and
//! sets `UMA_KC_BASE`): the realm's names, a recording proxy in front of Keycloak, the project's own
//! resource server (a PEP over the protection API), and small raw-HTTP helpers for the set-up steps
//! that are not `uma`'s job (a user's password login, an owner's approval).
//!
//! Every test starts its own [`Proxy`]: Keycloak in development mode names its issuer after the
//! request's `Host`, so each test has its own issuer, its own counts and no state shared with others.

#![allow(missing_docs)]

pub mod background;
pub mod java_pep;
pub mod pep;
pub mod proxy;
pub mod script;
pub mod shapes;

use std::time::Duration;

use serde_json::Value;

pub use pep::ResourceServer;
pub use proxy::{Exchange, Proxy};

pub const REALM: &str = "uma";
pub const RS_CLIENT: &str = "uma-rs";
pub const RS_SECRET: &str = "rs-secret";
pub const RS_SHORT_CLIENT: &str = "uma-rs-short";
pub const RS_SHORT_SECRET: &str = "rs-short-secret";
pub const PUBLIC_CLIENT: &str = "uma-public";
pub const APP_CLIENT: &str = "uma-app";
pub const APP_SECRET: &str = "app-secret";
pub const SHORT_CLIENT: &str = "uma-short";
pub const UMA_TICKET: &str = "urn:ietf:params:oauth:grant-type:uma-ticket";

/// The Keycloak under test, from the environment `tests/keycloak/run` sets.
#[derive(Clone, Debug)]
pub struct Keycloak {
    /// `http://127.0.0.1:PORT`, Keycloak itself (tests talk to it through a [`Proxy`]).
    pub base: String,
    /// The version, e.g. `26.7.3`.
    pub version: String,
}

impl Keycloak {
    /// Reads `UMA_KC_BASE` and `UMA_KC_VERSION`. These suites are `#[ignore]`d in a plain
    /// `cargo test`; run with `--ignored` without a Keycloak and they fail here, saying how to start one.
    pub fn from_env() -> Keycloak {
        let base = std::env::var("UMA_KC_BASE").unwrap_or_else(|_| {
            panic!(
                "UMA_KC_BASE is not set: these tests need a real Keycloak; run tests/keycloak/run"
            )
        });
        Keycloak {
            base: base.trim_end_matches('/').to_owned(),
            version: std::env::var("UMA_KC_VERSION").unwrap_or_else(|_| "unknown".into()),
        }
    }

    /// `major.minor` as numbers (0.0 when unknown).
    pub fn minor(&self) -> (u32, u32) {
        let mut parts = self.version.split('.').map(|p| p.parse().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
    }

    /// A fresh recording proxy in front of this Keycloak.
    pub fn proxy(&self) -> Proxy {
        Proxy::start(&self.base)
    }

    /// A fresh proxy, and the project's resource server using the realm through it.
    pub fn proxy_and_resource_server(&self) -> (Proxy, ResourceServer) {
        let proxy = self.proxy();
        let rs = ResourceServer::start(&proxy.issuer());
        (proxy, rs)
    }
}

/// A plain HTTP agent for set-up calls: statuses are answers, no redirects.
pub fn raw_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .new_agent()
}

/// A form POST; the status and the body parsed as JSON (`Value::Null` when it is not JSON).
pub fn post_form(url: &str, authorization: Option<&str>, form: &[(&str, &str)]) -> (u16, Value) {
    let mut request = raw_agent().post(url);
    if let Some(auth) = authorization {
        request = request.header("authorization", auth);
    }
    let mut response = request.send_form(form.iter().copied()).expect("POST");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// `Basic base64(id:secret)`.
pub fn basic(client_id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        uma_core::auth::base64_encode(format!("{client_id}:{secret}").as_bytes())
    )
}

/// A user's access token from the password grant of `client` (public when `secret` is `None`).
pub fn user_token(issuer: &str, client: &str, secret: Option<&str>, user: &str) -> String {
    let password = format!("{user}-pw");
    let url = format!("{issuer}/protocol/openid-connect/token");
    let auth = secret.map(|s| basic(client, s));
    let mut form = vec![
        ("grant_type", "password"),
        ("username", user),
        ("password", password.as_str()),
    ];
    if secret.is_none() {
        form.push(("client_id", client));
    }
    let (status, body) = post_form(&url, auth.as_deref(), &form);
    assert_eq!(status, 200, "password grant for {user}: {body}");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// The payload of a JWT (no signature check: tests read what Keycloak put in).
pub fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64url_decode(payload);
    serde_json::from_slice(&bytes).expect("JSON claims")
}

fn base64url_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|&c| c != b'=') {
        let v = ALPHABET.iter().position(|&a| a == c).expect("base64url") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// The uma-cli binary: `UMA_BIN`, or `target/<profile>/uma` next to this test executable.
pub fn uma_bin() -> std::path::PathBuf {
    if let Ok(path) = std::env::var("UMA_BIN") {
        return path.into();
    }
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir");
    let bin = profile_dir.join("uma");
    assert!(
        bin.exists(),
        "{} not found: build it first (cargo build -p uma-cli) or set UMA_BIN",
        bin.display()
    );
    bin
}

/// Reads a streamed uma-ureq answer whole, for assertions on its body.
pub trait Buffered {
    /// The same answer with its body read to the end.
    fn buffered(self) -> http::Response<Vec<u8>>;
}

impl Buffered for http::Response<uma_ureq::ureq::Body> {
    fn buffered(self) -> http::Response<Vec<u8>> {
        let (head, mut body) = self.into_parts();
        let bytes = body
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()
            .expect("the answer's body");
        http::Response::from_parts(head, bytes)
    }
}
