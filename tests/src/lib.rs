//! # uma-testkit — an embedded UMA 2.0 authorization server and resource server
//!
//! Real HTTP servers on `127.0.0.1:0` that behave like the UMA 2.0 recommendation, Keycloak or
//! Gluu oxAuth (as used by EOEPCA), for testing UMA clients without a container. One [`Kit`]
//! runs three servers:
//!
//! - an **authorization server** (discovery, token endpoint with `client_credentials`,
//!   `password`, `refresh_token` and the UMA grant, permission endpoint, resource registration,
//!   introspection, claims interaction, dynamic client registration) in the configured
//!   [`Dialect`];
//! - a **resource server** with resources by path prefix and scopes per HTTP method, answering
//!   a challenge in the configured [`ChallengeStyle`] and validating RPTs against the AS state
//!   (expiry, optional use limit); `…/echo` resources answer `{"len": N, "sha256": "<hex>"}` of the
//!   body they received; in the Gluu dialect it also serves EOEPCA's PEP resource API
//!   (`/resources`, ID token as Bearer, resources owned by its `sub` and granted to their owner
//!   only) and a Workspace API stand-in (`/workspaces`), at [`Kit::pep_url`];
//! - a **hostile AS** that answers like a plausible AS and logs everything, for mix-up tests.
//!
//! [`Kit::start`] is synchronous: it binds the listeners, starts a dedicated thread running a
//! tokio runtime, and returns once everything accepts connections. It works from plain `#[test]`
//! functions and from `#[tokio::test]` alike. Dropping the [`Kit`] stops the servers.
//!
//! Runtime knobs change behaviour while the servers run: faults per endpoint ([`Kit::set_fault`]),
//! owner approval ([`Kit::approve_after_polls`]), required claims ([`Kit::require_claim`]),
//! a challenge naming the hostile AS ([`Kit::set_challenge_as_uri`]), discovery documents that
//! lie ([`Kit::set_discovery_issuer`], [`Kit::set_discovery_token_endpoint`]), an RS that always
//! says 401 ([`Kit::set_rs_always_401`]), a resource whose granted answers are large, patterned
//! or truncated ([`Kit::set_granted_body`], [`pattern_sha256`]), challenges with large bodies
//! ([`Kit::set_challenge_body`], [`Kit::challenge_bodies`]), an RS that does not honour
//! `Expect: 100-continue` ([`Kit::set_rs_ignore_expect`], [`Kit::set_rs_never_continue`]), an RS
//! that wants EOEPCA's `X-User-Id` ([`Kit::require_user_id_header`]). Every request is logged
//! ([`Kit::log`], [`Kit::count`], [`Kit::count_endpoint`]). With [`KitConfig::tls`] every server
//! speaks HTTPS with a certificate from a freshly generated CA ([`Kit::ca_certificate_pem`]).
//!
//! Defaults ([`KitConfig::new`]): client `app` / `app-secret` (confidential), `public-app`
//! (public), `rs` / `rs-secret` (its client-credentials tokens are PATs); users `alice` /
//! `alice-pw` (allowed everything) and `bob` / `bob-pw` (denied `write`); resources `/api/a`
//! (`res-a`), `/api/b` (`res-b`), `/api/echo` (`res-echo`), GET needing `read` and
//! POST/PUT/PATCH/DELETE needing `write`.
//!
//! [`conformance`] is the suite every adapter runs (hostile servers, flows, the protection API, plain
//! and over TLS), written once over small blocking traits that each adapter's tests implement.
//!
//! ## Example: the whole UMA flow against the spec dialect, with a plain HTTP client
//!
//! ```
//! use uma_testkit::{Dialect, Endpoint, Kit, KitConfig};
//!
//! let kit = Kit::start(KitConfig::new(Dialect::Spec)).unwrap();
//! let agent = ureq::Agent::new_with_config(
//!     ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build(),
//! );
//!
//! // 1. No token: 401 with a UMA challenge naming the AS issuer and a ticket.
//! let resp = agent.get(&kit.rs_url("/api/a")).call().unwrap();
//! assert_eq!(resp.status(), 401);
//! let challenge = resp.headers()["www-authenticate"].to_str().unwrap().to_string();
//! assert!(challenge.starts_with(&format!("UMA realm=\"api\", as_uri=\"{}\"", kit.issuer())));
//! let ticket = challenge.split("ticket=\"").nth(1).unwrap().trim_end_matches('"').to_string();
//!
//! // 2. Discovery at issuer + "/.well-known/uma2-configuration".
//! let mut resp = agent.get(&format!("{}/.well-known/uma2-configuration", kit.issuer())).call().unwrap();
//! let meta: serde_json::Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
//! let token_endpoint = meta["token_endpoint"].as_str().unwrap().to_string();
//!
//! // 3. Exchange the ticket for an RPT (client_secret_post here).
//! let mut resp = agent.post(&token_endpoint).send_form([
//!     ("grant_type", "urn:ietf:params:oauth:grant-type:uma-ticket"),
//!     ("ticket", ticket.as_str()),
//!     ("client_id", "app"),
//!     ("client_secret", "app-secret"),
//! ]).unwrap();
//! assert_eq!(resp.status(), 200);
//! let body: serde_json::Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
//! let rpt = body["access_token"].as_str().unwrap();
//!
//! // 4. The RPT opens the resource.
//! let mut resp = agent.get(&kit.rs_url("/api/a"))
//!     .header("Authorization", &format!("Bearer {rpt}")).call().unwrap();
//! assert_eq!(resp.status(), 200);
//! assert!(resp.body_mut().read_to_string().unwrap().contains("\"scope\":\"read\""));
//!
//! // The log saw exactly one token request, with the client's form fields.
//! assert_eq!(kit.count_endpoint(Endpoint::Token), 1);
//! let token_req = kit.log().into_iter().find(|r| r.endpoint == Endpoint::Token).unwrap();
//! assert_eq!(token_req.form_value("client_id"), Some("app"));
//! ```
#![forbid(unsafe_code)]

// Handlers return the finished error response as `Err`; its size does not matter in a test server.
#[allow(clippy::result_large_err)]
mod as_server;
pub mod config;
pub mod conformance;
pub mod demo_client;
mod eoepca;
pub mod faults;
mod hostile;
mod http;
mod kc_state;
pub mod log;
mod paths;
pub mod pattern;
mod routing;
mod rs_server;
pub mod spans;
mod state;
mod tls;
pub mod tokens;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

pub use config::{
    ChallengeStyle, ClientReg, Dialect, ID_TOKEN_FORMAT, JWT_CLAIMS_FORMAT, KitConfig, Policy,
    RequiredClaim, ResourceDef, UMA_GRANT, UserReg,
};
pub use faults::{Fault, GrantedBody};
pub use log::{Endpoint, LoggedRequest, Server, StreamedBody};
pub use pattern::{
    PATTERN_CHUNK, PATTERN_PERIOD, PatternSource, pattern_byte, pattern_chunk, pattern_sha256,
    peak_rss_kib, proc_status_kib,
};

use state::{Perms, Shared, Subject, Urls};

/// A running kit: the AS, the RS and the hostile AS. Dropping it stops them.
pub struct Kit {
    shared: Arc<Shared>,
    ca_pem: Option<String>,
    ca_der: Option<Vec<u8>>,
    shutdown: Option<tokio::sync::watch::Sender<bool>>,
    done: mpsc::Receiver<()>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Kit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kit")
            .field("as", &self.shared.urls.as_base)
            .field("rs", &self.shared.urls.rs_base)
            .field("dialect", &self.shared.cfg.dialect)
            .finish_non_exhaustive()
    }
}

fn bind(port: u16) -> std::io::Result<(std::net::TcpListener, SocketAddr)> {
    let l = std::net::TcpListener::bind(("127.0.0.1", port))?;
    l.set_nonblocking(true)?;
    let addr = l.local_addr()?;
    Ok((l, addr))
}

impl Kit {
    /// Starts the servers and returns once all of them accept connections.
    pub fn start(config: KitConfig) -> std::io::Result<Kit> {
        let pki = if config.tls {
            Some(tls::generate()?)
        } else {
            None
        };
        let scheme = if config.tls { "https" } else { "http" };
        // A fixed port puts the AS there and the RS on the next one; the hostile AS is always random.
        let (as_port, rs_port) = match config.port {
            Some(p) => (
                p,
                p.checked_add(1).ok_or_else(|| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        "port 65535 leaves none for the RS",
                    )
                })?,
            ),
            None => (0, 0),
        };
        let (as_l, as_addr) = bind(as_port)?;
        let (rs_l, rs_addr) = bind(rs_port)?;
        let (ho_l, ho_addr) = bind(0)?;
        let urls = Urls {
            as_base: format!("{scheme}://{as_addr}"),
            rs_base: format!("{scheme}://{rs_addr}"),
            hostile_base: format!("{scheme}://{ho_addr}"),
        };
        let shared = Arc::new(Shared::new(config, urls));
        let acceptor = pki.as_ref().map(|p| p.acceptor.clone());
        let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
        let (ready_tx, ready_rx) = mpsc::channel::<std::io::Result<()>>();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("uma-testkit".to_string())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                rt.block_on(async move {
                    let servers = [
                        (as_l, Server::As, as_addr.port()),
                        (rs_l, Server::Rs, rs_addr.port()),
                        (ho_l, Server::HostileAs, ho_addr.port()),
                    ];
                    for (std_listener, server, port) in servers {
                        let listener = match tokio::net::TcpListener::from_std(std_listener) {
                            Ok(l) => l,
                            Err(e) => {
                                let _ = ready_tx.send(Err(e));
                                return;
                            }
                        };
                        let shared = Arc::clone(&thread_shared);
                        let drop_continue = match server {
                            Server::Rs => Arc::clone(&shared.rs_drop_continue),
                            _ => Arc::default(),
                        };
                        let handler =
                            move |req| routing::handle(Arc::clone(&shared), server, port, req);
                        tokio::spawn(http::serve(
                            listener,
                            acceptor.clone(),
                            handler,
                            drop_continue,
                            shutdown_rx.clone(),
                        ));
                    }
                    let _ = ready_tx.send(Ok(()));
                    let mut rx = shutdown_rx;
                    let _ = rx.changed().await;
                });
                // Connections still open (NeverAnswer, keep-alive) are dropped here.
                rt.shutdown_timeout(Duration::from_millis(500));
                let _ = done_tx.send(());
            })?;
        match ready_rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(std::io::Error::other("uma-testkit: servers did not start")),
        }
        Ok(Kit {
            shared,
            ca_pem: pki.as_ref().map(|p| p.ca_pem.clone()),
            ca_der: pki.map(|p| p.ca_der),
            shutdown: Some(shutdown_tx),
            done: done_rx,
            thread: Some(thread),
        })
    }

    /// The configuration the kit runs with.
    pub fn config(&self) -> &KitConfig {
        &self.shared.cfg
    }

    /// The AS issuer, exactly as the RS's `as_uri` says it (Keycloak: `{as_base}/realms/{realm}`).
    /// Keycloak, like a real one in dev mode, builds the issuer it answers with from each request's
    /// `Host` header (`localhost:PORT` gives `http://localhost:PORT/realms/…`); this is the
    /// `127.0.0.1` form, the one the RS trusts.
    pub fn issuer(&self) -> String {
        self.shared.issuer()
    }

    /// The AS origin, e.g. `http://127.0.0.1:40000`.
    pub fn as_base(&self) -> String {
        self.shared.urls.as_base.clone()
    }

    /// The RS origin.
    pub fn rs_base(&self) -> String {
        self.shared.urls.rs_base.clone()
    }

    /// `rs_base() + path`.
    pub fn rs_url(&self, path: &str) -> String {
        format!("{}{path}", self.shared.urls.rs_base)
    }

    /// The hostile AS's issuer (also its origin).
    pub fn hostile_issuer(&self) -> String {
        self.shared.urls.hostile_base.clone()
    }

    /// `issuer() + "/.well-known/uma2-configuration"`.
    pub fn discovery_url(&self) -> String {
        format!(
            "{}{}",
            self.shared.urls.as_base, self.shared.paths.discovery
        )
    }

    /// The real URL of an AS endpoint (`None` for endpoints the dialect lacks, or non-AS ones).
    pub fn endpoint_url(&self, endpoint: Endpoint) -> Option<String> {
        let p = &self.shared.paths;
        let path = match endpoint {
            Endpoint::Discovery => Some(p.discovery.clone()),
            Endpoint::Token => Some(p.token.clone()),
            Endpoint::Permission => Some(p.permission.clone()),
            Endpoint::ResourceRegistration => Some(p.rreg.clone()),
            Endpoint::Introspection => Some(p.introspection.clone()),
            Endpoint::ClaimsInteraction => p.claims.clone(),
            Endpoint::ClientRegistration => Some(p.registration.clone()),
            Endpoint::AsOther | Endpoint::RsResource | Endpoint::HostileAs => None,
        };
        path.map(|p| format!("{}{p}", self.shared.urls.as_base))
    }

    /// The test CA certificate (PEM) when TLS is on.
    pub fn ca_certificate_pem(&self) -> Option<String> {
        self.ca_pem.clone()
    }

    /// The test CA certificate (DER) when TLS is on.
    pub fn ca_certificate_der(&self) -> Option<Vec<u8>> {
        self.ca_der.clone()
    }

    /// Every request received so far (the newest 50,000), oldest first.
    pub fn log(&self) -> Vec<LoggedRequest> {
        self.shared.log.entries()
    }

    /// Requests received by `server`, oldest first.
    pub fn log_of(&self, server: Server) -> Vec<LoggedRequest> {
        self.log()
            .into_iter()
            .filter(|r| r.server == server)
            .collect()
    }

    /// Forgets the log and the counts (and the [`Kit::challenge_bodies`] record).
    pub fn clear_log(&self) {
        self.shared.log.clear();
        self.shared
            .challenge_meters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// How many requests `server` received at exactly `path` (no query).
    pub fn count(&self, server: Server, path: &str) -> usize {
        self.shared.log.count(server, path)
    }

    /// How many requests addressed `endpoint`.
    pub fn count_endpoint(&self, endpoint: Endpoint) -> usize {
        self.shared.log.count_endpoint(endpoint)
    }

    /// Arms a fault on `target` until cleared with `None`.
    pub fn set_fault(&self, target: Endpoint, fault: Option<Fault>) {
        self.shared.faults.set(target, fault);
    }

    /// Arms a fault on `target` for the next `times` requests only.
    pub fn set_fault_times(&self, target: Endpoint, fault: Fault, times: u32) {
        self.shared.faults.set_times(target, fault, times);
    }

    /// Owner approval: the first `n` UMA grant requests of a party for the same permissions
    /// get `request_submitted` (spec: with a new ticket and `interval`; Keycloak: `access_denied`
    /// / `request_submitted`). `0` approves at once. No effect in the Gluu dialect.
    pub fn approve_after_polls(&self, n: u32) {
        self.shared.update_knobs(|k| {
            k.approve_after_polls = (n > 0).then_some(n);
        });
        self.shared.inner().approval_polls.clear();
    }

    /// A claim that must be pushed (or gathered, or known through a PCT) before anything is
    /// granted; `need_info` otherwise (Keycloak: `access_denied`). `None` lifts the requirement.
    pub fn require_claim(&self, claim: Option<RequiredClaim>) {
        self.shared.update_knobs(|k| k.required_claim = claim);
    }

    /// The `as_uri` the RS puts in its challenges (e.g. [`Kit::hostile_issuer`]); `None` restores
    /// the real issuer.
    pub fn set_challenge_as_uri(&self, as_uri: Option<String>) {
        self.shared.update_knobs(|k| k.challenge_as_uri = as_uri);
    }

    /// The `issuer` the discovery document claims; `None` restores the real one.
    pub fn set_discovery_issuer(&self, issuer: Option<String>) {
        self.shared.update_knobs(|k| k.discovery_issuer = issuer);
    }

    /// The `token_endpoint` the discovery document advertises (e.g. `hostile_issuer() + "/token"`);
    /// `None` restores the real one.
    pub fn set_discovery_token_endpoint(&self, url: Option<String>) {
        self.shared
            .update_knobs(|k| k.discovery_token_endpoint = url);
    }

    /// Makes the RS answer every request with a fresh challenge, whatever the token.
    pub fn set_rs_always_401(&self, on: bool) {
        self.shared.update_knobs(|k| k.rs_always_401 = on);
    }

    /// Keycloak enforcer behaviour: tokenless requests get `401 Bearer realm="…"` without ticket.
    pub fn set_ticket_only_with_bearer(&self, on: bool) {
        self.shared.update_knobs(|k| k.ticket_only_with_bearer = on);
    }

    /// What the RS sends as the body of the requests it grants (see [`GrantedBody`]); challenges and
    /// refusals are unchanged. [`Kit::set_fault`] on [`Endpoint::RsResource`] affects every RS answer.
    pub fn set_granted_body(&self, body: GrantedBody) {
        self.shared.update_knobs(|k| k.granted_body = body);
    }

    /// Makes every RS challenge (a `401` with `WWW-Authenticate`) carry `len` bytes of the pattern
    /// ([`pattern_chunk`]) as `text/plain` with a `Content-Length`, streamed, never held in memory;
    /// `None` restores empty challenges. UMA 1.0's `403` ([`ChallengeStyle::Uma1Body403`]) keeps
    /// its JSON ticket body. How much of each body went out: [`Kit::challenge_bodies`].
    pub fn set_challenge_body(&self, len: Option<u64>) {
        self.shared.update_knobs(|k| k.challenge_body = len);
    }

    /// Makes every RS challenge's body stop after 8 of its announced 64 bytes for `stall`, then the
    /// connection close (UMA 1.0's `403` included, whose JSON ticket a client must read); `None`
    /// restores whole bodies. A client must give up on it by its own exchange timeout.
    pub fn set_stalled_challenge_body(&self, stall: Option<std::time::Duration>) {
        self.shared
            .update_knobs(|k| k.stalled_challenge_body = stall);
    }

    /// One entry per challenge sent with a [`Kit::set_challenge_body`] body since the last
    /// [`Kit::clear_log`] (the newest 10,000), oldest first: its length and how many bytes were
    /// handed to the HTTP server (see [`StreamedBody::sent`] for the precision). Wait for
    /// [`StreamedBody::ended`] before asserting on `sent`.
    pub fn challenge_bodies(&self) -> Vec<StreamedBody> {
        self.shared
            .challenge_meters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|m| StreamedBody {
                announced: m.announced,
                sent: m.sent.load(std::sync::atomic::Ordering::SeqCst),
                ended: m.ended.load(std::sync::atomic::Ordering::SeqCst),
            })
            .collect()
    }

    /// By default the RS honours `Expect: 100-continue`: a request carrying it that would be
    /// refused for want of an acceptable RPT (challenge, ticketless `401`/`403`) is answered
    /// without reading its body, so no `100 Continue` is sent and [`LoggedRequest::body_read`] is
    /// `false`; any other request's body is read, and hyper sends `100 Continue` as it starts to.
    /// `true` makes the RS read every body first, whatever `Expect` says (a server that does not
    /// wait for its decision; hyper still sends `100 Continue` when it starts reading).
    pub fn set_rs_ignore_expect(&self, on: bool) {
        self.shared.update_knobs(|k| k.rs_ignore_expect = on);
    }

    /// Makes the RS never send `100 Continue` (hyper's automatic interim answer is cut from the
    /// connection): a client that sent `Expect: 100-continue` gets nothing until it sends the body
    /// on its own (its expect timeout) or gives up. Combine with [`Kit::set_rs_ignore_expect`] for
    /// a server that knows nothing of `Expect` (reads every body, never says `100 Continue`); alone,
    /// refused requests are still answered at once without their body.
    pub fn set_rs_never_continue(&self, on: bool) {
        self.shared
            .rs_drop_continue
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// EOEPCA: protected RS requests must carry `X-User-Id` with an ID token this kit issued, as
    /// DemoClient sends it and the uma-user-agent takes it; without one the RS answers `401` with
    /// `WWW-Authenticate: Bearer realm="…"` and no ticket. The PEP resource API and the Workspace
    /// API (Bearer ID token) are not affected.
    pub fn require_user_id_header(&self, on: bool) {
        self.shared.update_knobs(|k| k.require_user_id = on);
    }

    /// Gluu (EOEPCA): the base URL of the PEP resource API (`{pep}/resources`), which the RS
    /// serves; also the Workspace API's (`{pep}/workspaces`).
    pub fn pep_url(&self) -> String {
        self.shared.urls.rs_base.clone()
    }

    /// Use limit for RPTs issued from now on (`None`: unlimited).
    pub fn set_rpt_use_limit(&self, limit: Option<u32>) {
        self.shared.update_knobs(|k| k.rpt_use_limit = limit);
    }

    /// A JWT-shaped ID token for `user` that the AS accepts as an IDToken-format claim token.
    pub fn id_token_for(&self, user: &str) -> String {
        self.shared.id_token_for(user)
    }

    /// A user access token for `user`, issued to client `app` (Keycloak: usable as Bearer client
    /// authentication at the token endpoint).
    pub fn access_token_for(&self, user: &str) -> String {
        let iss = self.shared.issuer();
        self.shared
            .issue_access_token(&iss, Subject::User(user.to_string()), "app", false)
    }

    /// A PAT of the resource-server client.
    pub fn pat(&self) -> String {
        let rs = self.shared.cfg.resource_server_client.clone();
        let iss = self.shared.issuer();
        self.shared
            .issue_access_token(&iss, Subject::Client(rs.clone()), &rs, true)
    }

    /// A fresh permission ticket for `scope` on resource `resource_id`, as the RS would mint.
    pub fn ticket_for(&self, resource_id: &str, scope: &str) -> Option<String> {
        self.shared.ticket_for_resource(resource_id, scope)
    }

    /// Issues an RPT to `user` (via client `app`) for `(resource_id, scope)` pairs directly.
    pub fn rpt_for(&self, user: &str, permissions: &[(&str, &str)]) -> String {
        let mut perms = Perms::new();
        for (rid, scope) in permissions {
            perms
                .entry(rid.to_string())
                .or_default()
                .insert(scope.to_string());
        }
        let iss = self.shared.issuer();
        self.shared
            .issue_rpt(&iss, perms, "app", Subject::User(user.to_string()))
            .0
    }

    /// Whether the AS still knows `rpt` and it has not expired.
    pub fn rpt_is_active(&self, rpt: &str) -> bool {
        self.shared
            .inner()
            .rpts
            .get(rpt)
            .is_some_and(|r| r.active())
    }
}

impl Drop for Kit {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
        // Bounded: join only once the runtime thread said it finished.
        if self.done.recv_timeout(Duration::from_secs(3)).is_ok() {
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }
}
