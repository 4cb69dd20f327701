//! Timeouts, limits and hooks of a driver, one set of names, types and defaults for every adapter.

use std::sync::Arc;
use std::time::Duration;

use super::SharedStore;
use crate::trace::ExchangeEvent;

/// Called once per HTTP exchange (resource, discovery, token or protection request) with a
/// secret-free description: the CLI's `-v` prints [`ExchangeEvent::line`], `--stats` counts them.
pub type Observer = Arc<dyn Fn(&ExchangeEvent) + Send + Sync>;

/// Default [`Options::exchange_timeout`]: 30 seconds.
pub const DEFAULT_EXCHANGE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default [`Options::request_timeout`]: 3 minutes, enough for the core's default `request_submitted`
/// polling budget (2 minutes) plus the exchanges around it.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(180);
/// Default [`Options::max_authorization_server_body`]: 1 MiB
/// ([`crate::grant::MAX_RESPONSE_BYTES`]).
pub const DEFAULT_MAX_AUTHORIZATION_SERVER_BODY: usize = crate::grant::MAX_RESPONSE_BYTES;
/// Default [`Options::max_replay_body`]: 4 MiB.
pub const DEFAULT_MAX_REPLAY_BODY: usize = 4 * 1024 * 1024;

/// Timeouts, limits and hooks of an adapter (the UMA bounds themselves are in [`crate::Config`]).
/// Start from [`Options::default`] and adjust with the `with_*` methods. `Store` is the adapter's kind
/// of shared store: `dyn RptStore` for a blocking driver, `dyn AsyncRptStore` for an async one.
///
/// Bodies stream: a resource answer comes back with its body unread, whatever its size. The
/// application's request body is replayed after a challenge when it is in memory or can be opened
/// again (a file, a factory); a stream that ends within [`Options::max_replay_body`] is buffered and
/// replayed; a longer one is sent once, and a challenge to it ends in [`Error::BodyNotReplayable`](super::Error::BodyNotReplayable).
#[non_exhaustive]
pub struct Options<Store: ?Sized> {
    /// Bound on one HTTP exchange: connect, send, and the answer's head (an authorization server's
    /// whole body). Not a send that streams the application's body (a file, a reader, a factory, a
    /// stream): a large upload may take longer than any exchange, so uma-hyper and uma-reqwest bound it
    /// by [`Options::request_timeout`], uma-ureq by its agent's `timeout_send_body`. uma-ureq also
    /// waits at most this long for each read of a resource answer's body (an idle timeout: a body
    /// that stops fails instead of hanging; a slow but moving one is never cut). Default 30 s; `None`
    /// for none.
    pub exchange_timeout: Option<Duration>,
    /// Bound on one request up to its final answer's head, UMA dance, `request_submitted` waits and
    /// herd waits included (reading the final answer's body is the caller's). A wait the authorization
    /// server asks for that would end past it fails at once. Default 3 min; `None` for none (every
    /// loop is still bounded in count by the core).
    pub request_timeout: Option<Duration>,
    /// Largest authorization-server answer read (discovery, token, protection endpoints), in bytes;
    /// a larger one fails with [`Error::BodyTooLarge`](super::Error::BodyTooLarge) without being
    /// buffered. Default 1 MiB.
    pub max_authorization_server_body: usize,
    /// Largest streamed request body buffered for replay; a longer stream is sent once. A body held in
    /// memory is replayed whatever its size. Default 4 MiB.
    pub max_replay_body: usize,
    /// Told about every exchange, if set.
    pub observer: Option<Observer>,
    /// A store shared with other replicas, consulted on cold exchanges only (`None` by default).
    pub shared_store: Option<SharedStore<Store>>,
}

impl<Store: ?Sized> Default for Options<Store> {
    fn default() -> Self {
        Self {
            exchange_timeout: Some(DEFAULT_EXCHANGE_TIMEOUT),
            request_timeout: Some(DEFAULT_REQUEST_TIMEOUT),
            max_authorization_server_body: DEFAULT_MAX_AUTHORIZATION_SERVER_BODY,
            max_replay_body: DEFAULT_MAX_REPLAY_BODY,
            observer: None,
            shared_store: None,
        }
    }
}

// By hand: a derive would require `Store: Clone`, and a `dyn` store is shared through its `Arc`.
impl<Store: ?Sized> Clone for Options<Store> {
    fn clone(&self) -> Self {
        Self {
            exchange_timeout: self.exchange_timeout,
            request_timeout: self.request_timeout,
            max_authorization_server_body: self.max_authorization_server_body,
            max_replay_body: self.max_replay_body,
            observer: self.observer.clone(),
            shared_store: self.shared_store.clone(),
        }
    }
}

impl<Store: ?Sized> std::fmt::Debug for Options<Store> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("exchange_timeout", &self.exchange_timeout)
            .field("request_timeout", &self.request_timeout)
            .field(
                "max_authorization_server_body",
                &self.max_authorization_server_body,
            )
            .field("max_replay_body", &self.max_replay_body)
            .field(
                "observer",
                &self.observer.as_ref().map(|_| "Fn(&ExchangeEvent)"),
            )
            .field("shared_store", &self.shared_store)
            .finish()
    }
}

impl<Store: ?Sized> Options<Store> {
    /// Sets [`Options::exchange_timeout`].
    pub fn with_exchange_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.exchange_timeout = timeout;
        self
    }

    /// Sets [`Options::request_timeout`].
    pub fn with_request_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets [`Options::max_authorization_server_body`].
    pub fn with_max_authorization_server_body(mut self, bytes: usize) -> Self {
        self.max_authorization_server_body = bytes;
        self
    }

    /// Sets [`Options::max_replay_body`].
    pub fn with_max_replay_body(mut self, bytes: usize) -> Self {
        self.max_replay_body = bytes;
        self
    }

    /// Sets [`Options::shared_store`] (see [`crate::store`]).
    pub fn with_shared_store(mut self, store: SharedStore<Store>) -> Self {
        self.shared_store = Some(store);
        self
    }

    /// Sets [`Options::observer`].
    pub fn with_observer(
        mut self,
        observer: impl Fn(&ExchangeEvent) + Send + Sync + 'static,
    ) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }
}
