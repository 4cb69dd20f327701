//! [`Flow`]: one application request, driven through the UMA dance.
//!
//! ```text
//!             ┌──────────────── 2xx/3xx/4xx without UMA challenge ───────────────► Done(response)
//!  start ──► Resource ──401/403 UMA──► [trusted as_uri?] ──no──► Failed(Untrusted, response)
//!             ▲   │                         │yes
//!             │   │                         ▼
//!             │   │   (another flow exchanging for this request?) ──yes──► Park ──landed──► Resource
//!             │   │                         │no
//!             │   │                         ▼
//!             │   │   (another flow upgrading this origin's RPT?) ──yes──► Park ──landed──┐
//!             │   │                         │no                                          │
//!             │   │                         ▼◄─────────────── same ticket, current RPT ──┘
//!             │   │         Discovery (unless cached) ──► Token (uma-ticket grant)
//!             │   │                                          │ ok: store RPT (upgrade/replace)
//!             └───┴──────────── retry with the RPT ◄─────────┘
//!                  need_info → push claim once · request_submitted → Wait, poll · dead ticket → one fresh
//!                  challenge · denial → Failed(Denied) · every loop bounded
//! ```

// One file per `State`: Resource in resource.rs (with redirect.rs, trust.rs), Discovery in discovery.rs,
// Token and Sleeping in grant.rs, Refresh in refresh.rs, Parked in herd.rs; shared.rs answers a grant
// from a shared store.
mod discovery;
mod grant;
mod herd;
mod redirect;
mod refresh;
mod resource;
mod shared;
mod trust;

pub use resource::resource_body_limit;
// The driving API lives in `crate::machine`; it stays reachable here, where it was first defined.
pub use crate::machine::{Machine, Outgoing, RequestId, RequestKind, Step};

use std::time::Instant;

use http::{HeaderMap, Method, Uri, Version};

use crate::cache::{ExchangeKey, Party, SharedFailure};
use crate::client::Client;
use crate::discovery::Issuer;
use crate::error::{Error, Failure};
use crate::secret::{AccessToken, Ticket};

/// Status, version and headers of `response`, with an empty body: what a driver keeps of an answer it
/// hands to a flow, to report it if the flow cannot go on.
pub fn response_head<B>(response: &http::Response<B>) -> http::Response<Vec<u8>> {
    let mut head = http::Response::new(Vec::new());
    *head.status_mut() = response.status();
    *head.version_mut() = response.version();
    *head.headers_mut() = response.headers().clone();
    head
}

/// The application's request, kept so that it can be replayed byte for byte.
#[derive(Clone)]
pub(crate) struct StoredRequest {
    pub method: Method,
    pub uri: Uri,
    pub version: Version,
    pub headers: HeaderMap,
    /// The body when the flow holds it (empty when the driver does).
    pub body: Vec<u8>,
    /// Whether the driver holds the body and attaches it to every send ([`Flow::for_head`]).
    pub driver_body: bool,
}

/// The RPT a resource request carried.
#[derive(Clone, Debug)]
pub(crate) struct SentRpt {
    pub entry: u64,
    pub issuer: Issuer,
    pub token: AccessToken,
}

/// One ticket exchange in progress.
#[derive(Clone, Debug)]
pub(crate) struct Grant {
    pub issuer: Issuer,
    pub key: ExchangeKey,
    pub ticket: Ticket,
    pub rpt: Option<SentRpt>,
    pub push_claim: bool,
    pub use_pct: bool,
    pub use_scope: bool,
}

/// Whose token a refresh renews.
#[derive(Clone, Debug)]
pub(crate) enum RefreshTarget {
    Rpt { entry: u64, issuer: Issuer },
    Identity { issuer: Issuer },
}

/// What to do once metadata is known.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)] // one per flow, moved rarely
pub(crate) enum AfterDiscovery {
    Grant(Grant),
    Refresh {
        key: ExchangeKey,
        target: RefreshTarget,
    },
}

/// What to do when a parked flow may go on.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)] // one per flow, moved rarely
pub(crate) enum AfterPark {
    Resend,
    Continue(AfterDiscovery),
    /// This flow leads the exchange for its request and waits for the RPT key: run the grant once it is
    /// free, with the ticket it holds (no resend).
    Exchange(Grant),
}

#[derive(Debug)]
pub(crate) enum State {
    Idle,
    Resource {
        id: u64,
        refetch: Option<Grant>,
    },
    Discovery {
        id: u64,
        issuer: Issuer,
        then: AfterDiscovery,
    },
    Token {
        id: u64,
        grant: Grant,
    },
    Refresh {
        id: u64,
        key: ExchangeKey,
        target: RefreshTarget,
    },
    Sleeping {
        until: Instant,
        grant: Grant,
    },
    Parked {
        key: ExchangeKey,
        seen: u64,
        then: Box<AfterPark>,
    },
    Done,
}

/// Per-request counters; every loop is bounded by one of them.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub flows: u32,
    pub parks: u32,
    pub redirects: u32,
    pub need_info_rounds: u32,
    pub polls: u32,
    pub first_poll_at: Option<Instant>,
    pub fresh_challenge_used: bool,
    pub retried_without_rpt: bool,
    pub retried_without_pct: bool,
    pub retried_without_scope: bool,
    pub dropped_rejected_rpt: bool,
    pub refreshed_after_rejection: bool,
    pub refreshed_before_send: bool,
    pub refreshed_identity: bool,
    /// A redirect took the request to another origin: only credentials minted there and then may follow.
    pub crossed_origin: bool,
    pub superseded_resends: u32,
    /// Extra exchanges granted because the RPT refused had served this very path before (retired by a
    /// use limit, or revoked), whoever obtained it.
    pub retired_rpts: u32,
}

/// One application request driven through the UMA flow. Create it with [`Flow::new`] (the flow holds the
/// body and replays it byte for byte) or [`Flow::for_head`] (the driver holds the body: it may stream it,
/// re-create it or send it once), then drive it through the [`Machine`] interface.
///
/// Resource-server answers are decided from their status and headers. A driver that streams them hands
/// the flow the head with an empty body, except where [`resource_body_limit`] asks for a small body (a
/// UMA 1.0 ticket in a JSON body); when the flow finishes with `Done`, the response it returns is the last
/// head it was given, so the driver reattaches that body untouched.
pub struct Flow {
    pub(crate) id: u64,
    pub(crate) party: Party,
    pub(crate) request: StoredRequest,
    pub(crate) origin: String,
    pub(crate) state: State,
    pub(crate) next_request: u64,
    pub(crate) counters: Counters,
    pub(crate) held: Vec<ExchangeKey>,
    /// Boxed, as the other rarely used fields: an in-flight flow stays small.
    pub(crate) last_response: Option<Box<http::Response<Vec<u8>>>>,
    pub(crate) sent_rpt: Option<SentRpt>,
    pub(crate) invalid: Option<String>,
    /// The dead-ticket exchange to resume once an interposed refresh is done.
    pub(crate) pending_refetch: Option<Box<Grant>>,
}

impl std::fmt::Debug for Flow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flow")
            .field("id", &self.id)
            .field("method", &self.request.method)
            .field("origin", &self.origin)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Flow {
    /// A flow for `request` on behalf of the default requesting party. The URI must be absolute.
    pub fn new(request: http::Request<Vec<u8>>) -> Self {
        Self::for_party(request, Party::default())
    }

    /// A flow for `request` on behalf of `party`.
    pub fn for_party(request: http::Request<Vec<u8>>, party: Party) -> Self {
        let (parts, body) = request.into_parts();
        Self::build(parts, body, false, party)
    }

    /// A flow for a request whose body stays with the driver, on behalf of `party`: every resource request
    /// the flow emits has [`Outgoing::attach_body`] set (until a redirect turns it into a `GET`), and the
    /// driver attaches the body (replayed, re-created, or sent once).
    ///
    /// ```
    /// use uma_core::{Client, Config, Flow, Machine, Party, Step};
    ///
    /// let (head, _body) = http::Request::put("https://rs.example/upload")
    ///     .body(())
    ///     .unwrap()
    ///     .into_parts();
    /// let mut flow = Flow::for_head(head, Party::default());
    /// let mut client = Client::new(Config::new());
    /// match flow.start(&mut client, std::time::Instant::now()) {
    ///     Step::Send(out) => assert!(out.attach_body && out.request.body().is_empty()),
    ///     other => panic!("{other:?}"),
    /// }
    /// ```
    pub fn for_head(head: http::request::Parts, party: Party) -> Self {
        Self::build(head, Vec::new(), true, party)
    }

    fn build(parts: http::request::Parts, body: Vec<u8>, driver_body: bool, party: Party) -> Self {
        let origin = origin_of(&parts.uri);
        let invalid = match &origin {
            Some(_) => None,
            None => Some(format!(
                "the request URI `{}` is not an absolute http(s) URI",
                parts.uri
            )),
        };
        Self {
            id: 0,
            party,
            origin: origin.unwrap_or_default(),
            request: StoredRequest {
                method: parts.method,
                uri: parts.uri,
                version: parts.version,
                headers: parts.headers,
                body,
                driver_body,
            },
            state: State::Idle,
            next_request: 0,
            counters: Counters::default(),
            held: Vec::new(),
            last_response: None,
            sent_rpt: None,
            invalid,
            pending_refetch: None,
        }
    }

    /// The resource-server origin (`scheme://host:port`) this flow currently targets.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// UMA flows (ticket exchanges) run so far.
    pub fn flows_used(&self) -> u32 {
        self.counters.flows
    }

    pub(crate) fn next_id(&mut self) -> u64 {
        self.next_request += 1;
        self.next_request
    }

    /// Ends the flow with `error`, releasing every exchange it holds.
    pub(crate) fn fail(
        &mut self,
        client: &mut Client,
        error: Error,
    ) -> Step<http::Response<Vec<u8>>> {
        let shared = sharing(&error).map(|per_request| SharedFailure {
            error: Error::Shared(Box::new(error.root().clone())),
            request: per_request.then(|| self.request_line()),
        });
        for key in std::mem::take(&mut self.held) {
            client.release(&key, self.id, shared.clone());
        }
        self.state = State::Done;
        Step::Failed(Failure {
            error,
            response: self.last_response.take().map(|r| *r),
        })
    }

    pub(crate) fn hold(&mut self, key: &ExchangeKey) {
        if !self.held.contains(key) {
            self.held.push(key.clone());
        }
    }

    /// Ends this flow's exchange for `key` well (or without a verdict the waiters should share).
    pub(crate) fn release(&mut self, client: &mut Client, key: &ExchangeKey) {
        self.held.retain(|k| k != key);
        client.release(key, self.id, None);
    }

    /// Pushes the deadline of every exchange this flow holds (long token requests and polls).
    pub(crate) fn extend_held(&self, client: &mut Client, until: Instant) {
        for key in &self.held {
            client.extend_claim(key, self.id, until);
        }
    }

    /// Ends this flow's exchange `grant`: the RPT key and the permission key of the request it leads for.
    pub(crate) fn release_grant(&mut self, client: &mut Client, grant: &Grant) {
        self.release(client, &grant.key);
        let id = self.id;
        self.held.retain(|k| {
            let permission = matches!(k, ExchangeKey::Permission { .. });
            if permission {
                client.release(k, id, None);
            }
            !permission
        });
    }

    /// `METHOD path`: what a shared per-request verdict applies to.
    pub(crate) fn request_line(&self) -> String {
        format!("{} {}", self.request.method, self.request.uri.path())
    }
}

/// Whether the flows waiting on the same exchange would meet this error too: `Some(false)` for errors about
/// the authorization server or the client (shared with every waiter), `Some(true)` for verdicts about this
/// request's permissions (shared only with waiters for the same request), `None` for errors of this flow
/// alone (its ticket, its redirects, its response).
fn sharing(error: &Error) -> Option<bool> {
    match error.root() {
        Error::Discovery { .. }
        | Error::ClientAuthentication { .. }
        | Error::AccessTokenRejected { .. }
        | Error::LoginRefused { .. }
        | Error::TokenEndpoint { .. }
        | Error::MalformedTokenResponse { .. }
        | Error::Build(_) => Some(false),
        Error::Denied { .. } | Error::NeedInfo { .. } | Error::ApprovalPending { .. } => Some(true),
        _ => None,
    }
}

/// `scheme://host[:port]` of an absolute http(s) URI, lower-cased, with the port only when not default.
///
/// One allocation, of the final size (this runs once per application request).
pub(crate) fn origin_of(uri: &Uri) -> Option<String> {
    let scheme = uri.scheme_str()?;
    let https = scheme.eq_ignore_ascii_case("https");
    if !https && !scheme.eq_ignore_ascii_case("http") {
        return None;
    }
    // What `Uri::host` and `Uri::port_u16` return, read in one pass over the authority.
    let authority = uri.authority()?.as_str();
    let bytes = authority.as_bytes();
    let start = bytes
        .iter()
        .rposition(|&b| b == b'@')
        .map_or(0, |at| at + 1);
    let host_port = &bytes[start..];
    let host_len = if host_port.first() == Some(&b'[') {
        host_port
            .iter()
            .position(|&b| b == b']')
            .map_or(host_port.len(), |i| i + 1)
    } else {
        host_port
            .iter()
            .position(|&b| b == b':')
            .unwrap_or(host_port.len())
    };
    let host = authority.get(start..start + host_len)?;
    let port = bytes
        .iter()
        .rposition(|&b| b == b':')
        .and_then(|i| authority.get(i + 1..)?.parse::<u16>().ok());
    let default = if https { 443 } else { 80 };
    let port = port.filter(|p| *p != default);
    let scheme = if https { "https://" } else { "http://" };
    // ":" and at most five digits.
    let mut origin = String::with_capacity(scheme.len() + host.len() + 6);
    origin.push_str(scheme);
    origin.push_str(host);
    origin[scheme.len()..].make_ascii_lowercase();
    if let Some(port) = port {
        use std::fmt::Write as _;
        let _ = write!(origin, ":{port}");
    }
    Some(origin)
}

impl Machine for Flow {
    type Output = http::Response<Vec<u8>>;

    fn start(&mut self, client: &mut Client, now: Instant) -> Step<Self::Output> {
        if let Some(reason) = self.invalid.take() {
            return self.fail(client, Error::InvalidRequest(reason));
        }
        self.id = client.new_flow_id();
        self.send_resource(client, now, None)
    }

    fn handle_response(
        &mut self,
        client: &mut Client,
        id: RequestId,
        response: http::Response<Vec<u8>>,
        now: Instant,
    ) -> Step<Self::Output> {
        match std::mem::replace(&mut self.state, State::Idle) {
            State::Resource {
                id: expected,
                refetch,
            } if expected == id.0 => self.on_resource(client, response, refetch, now),
            State::Discovery {
                id: expected,
                issuer,
                then,
            } if expected == id.0 => self.on_discovery(client, issuer, then, response, now),
            State::Token {
                id: expected,
                grant,
            } if expected == id.0 => self.on_token(client, grant, response, now),
            State::Refresh {
                id: expected,
                key,
                target,
            } if expected == id.0 => self.on_refresh(client, key, target, response, now),
            other => {
                self.state = other;
                self.fail(
                    client,
                    Error::InvalidRequest(
                        "a response arrived for a request this flow is not awaiting".into(),
                    ),
                )
            }
        }
    }

    fn resume(&mut self, client: &mut Client, now: Instant) -> Step<Self::Output> {
        match std::mem::replace(&mut self.state, State::Idle) {
            State::Sleeping { until, grant } if now < until => {
                self.state = State::Sleeping { until, grant };
                Step::Wait { until }
            }
            State::Sleeping { grant, .. } => self.send_grant(client, grant, now),
            State::Parked {
                key, seen, then, ..
            } => self.on_unpark(client, key, seen, *then, now),
            other => {
                self.state = other;
                self.fail(
                    client,
                    Error::InvalidRequest("resume called while the flow awaits a response".into()),
                )
            }
        }
    }

    fn abort(&mut self, client: &mut Client) {
        for key in std::mem::take(&mut self.held) {
            client.release(&key, self.id, None);
        }
        self.state = State::Done;
    }

    fn shared_exchange(&self, id: RequestId) -> Option<crate::store::SharedAsk> {
        self.shared_ask(id)
    }

    fn answer_from_store(
        &mut self,
        client: &mut Client,
        id: RequestId,
        record: crate::record::RptRecord,
        now: Instant,
        now_unix: u64,
    ) -> Option<Step<Self::Output>> {
        self.adopt_shared(client, id, record, now, now_unix)
    }

    fn hold_exchange(&mut self, client: &mut Client, until: Instant) {
        self.extend_held(client, until);
    }
}

#[cfg(test)]
mod origin_tests {
    use super::*;

    /// What `origin_of` computed before it read the authority itself.
    fn reference(uri: &Uri) -> Option<String> {
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return None;
        }
        let host = uri.host()?.to_ascii_lowercase();
        let default = if scheme == "https" { 443 } else { 80 };
        Some(match uri.port_u16() {
            Some(port) if port != default => format!("{scheme}://{host}:{port}"),
            _ => format!("{scheme}://{host}"),
        })
    }

    #[test]
    fn origin_of_matches_the_uri_accessors() {
        for s in [
            "https://rs.example.org/photo",
            "HTTPS://RS.Example.ORG/photo",
            "http://rs.example.org:80/a",
            "http://rs.example.org:8080/a",
            "https://rs.example.org:443",
            "https://rs.example.org:8443/x?y=1",
            "https://user:pw@rs.example.org:9000/x",
            "https://user@rs.example.org/x",
            "http://[::1]:8080/x",
            "http://[::1]/x",
            "https://[2001:DB8::1]:443/x",
            "http://127.0.0.1:3000/api/a",
            "ftp://example.org/x",
            "/relative/path",
            "rs.example.org:8080",
        ] {
            let Ok(uri) = s.parse::<Uri>() else {
                continue;
            };
            assert_eq!(origin_of(&uri), reference(&uri), "{s}");
        }
    }
}
