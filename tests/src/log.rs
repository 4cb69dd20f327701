//! Observation: every request each server received, and counts per server path and endpoint.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Which of the kit's servers received a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Server {
    /// The authorization server.
    As,
    /// The resource server.
    Rs,
    /// The second, hostile authorization server.
    HostileAs,
}

/// What a request was addressed to; also the target of faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `…/.well-known/uma2-configuration` of the AS.
    Discovery,
    /// The AS token endpoint.
    Token,
    /// The AS permission endpoint (Keycloak: also the permission-ticket API below it).
    Permission,
    /// The AS resource registration endpoint (any method, with or without an id).
    ResourceRegistration,
    /// The AS introspection endpoint.
    Introspection,
    /// The AS claims interaction endpoint.
    ClaimsInteraction,
    /// The AS dynamic client registration endpoint.
    ClientRegistration,
    /// Any other AS path (404).
    AsOther,
    /// Any RS path.
    RsResource,
    /// Anything on the hostile AS.
    HostileAs,
}

/// One request as a server received it. Header values and form fields are recorded verbatim
/// (this is a test server: tests assert on the secrets a client sent and where it sent them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// Receiving server.
    pub server: Server,
    /// Classified endpoint.
    pub endpoint: Endpoint,
    /// HTTP method.
    pub method: String,
    /// Path, without the query.
    pub path: String,
    /// Raw query string.
    pub query: Option<String>,
    /// Header names (lower case) and values, in received order (repeated names repeat).
    pub headers: Vec<(String, String)>,
    /// Decoded `application/x-www-form-urlencoded` fields (empty for other bodies).
    pub form: Vec<(String, String)>,
    /// Number of body bytes the server read (0 when it answered without reading the body).
    /// Counted as `u64` and stored as `usize` for existing callers (exact on 64-bit targets).
    pub body_len: usize,
    /// Whether the server read the request body. `false` only when the RS answered a request
    /// carrying `Expect: 100-continue` without reading it (a challenge: hyper then sends no
    /// `100 Continue`, and a conforming client never sends the body).
    pub body_read: bool,
    /// Port of the receiving server.
    pub host_port: u16,
}

impl LoggedRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first value of form field `name`.
    pub fn form_value(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Most entries kept; older ones are dropped (counts stay exact).
const MAX_ENTRIES: usize = 50_000;

#[derive(Debug, Default)]
struct LogInner {
    entries: VecDeque<LoggedRequest>,
    by_path: HashMap<(Server, String), usize>,
    by_endpoint: HashMap<Endpoint, usize>,
}

/// Thread-safe request log. The lock is only held for a push or a copy, never across an await.
#[derive(Debug, Default)]
pub struct RequestLog {
    inner: Mutex<LogInner>,
}

impl RequestLog {
    fn lock(&self) -> std::sync::MutexGuard<'_, LogInner> {
        // A panic while holding this lock cannot leave the log inconsistent in a way that matters.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records one request.
    pub fn push(&self, entry: LoggedRequest) {
        let mut inner = self.lock();
        *inner
            .by_path
            .entry((entry.server, entry.path.clone()))
            .or_insert(0) += 1;
        *inner.by_endpoint.entry(entry.endpoint).or_insert(0) += 1;
        if inner.entries.len() >= MAX_ENTRIES {
            inner.entries.pop_front();
        }
        inner.entries.push_back(entry);
    }

    /// A copy of the retained entries, oldest first.
    pub fn entries(&self) -> Vec<LoggedRequest> {
        self.lock().entries.iter().cloned().collect()
    }

    /// Requests `server` received at exactly `path` since the last clear.
    pub fn count(&self, server: Server, path: &str) -> usize {
        self.lock()
            .by_path
            .get(&(server, path.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// Requests classified as `endpoint` since the last clear.
    pub fn count_endpoint(&self, endpoint: Endpoint) -> usize {
        self.lock().by_endpoint.get(&endpoint).copied().unwrap_or(0)
    }

    /// Forgets everything.
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.entries.clear();
        inner.by_path.clear();
        inner.by_endpoint.clear();
    }
}

/// A streamed response body the kit generated and observed: how much of it went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamedBody {
    /// The `Content-Length` announced.
    pub announced: u64,
    /// Bytes handed to the HTTP server so far. The bytes the client read are at most this, and at
    /// least this minus what sits in buffers between the two: hyper's write queue (up to about
    /// 400 KiB) and both sockets' kernel buffers (on Linux loopback up to a few MiB each).
    pub sent: u64,
    /// Whether the body is finished with: sent completely, or the connection ended (the client
    /// closed it, or a write failed). `sent` no longer changes once this is `true`.
    pub ended: bool,
}
