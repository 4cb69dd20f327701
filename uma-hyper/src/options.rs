//! Limits and timeouts of the adapter (the UMA bounds themselves live in [`uma_core::Config`]).

use std::sync::Arc;
use std::time::Duration;

use uma_core::trace::ExchangeEvent;

/// A callback told about every HTTP exchange (secret-free: see [`ExchangeEvent`]).
pub type Observer = Arc<dyn Fn(&ExchangeEvent) + Send + Sync>;

/// Default [`Options::exchange_timeout`]: 30 seconds.
pub const DEFAULT_EXCHANGE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default [`Options::request_timeout`]: 3 minutes, enough for the core's default `request_submitted`
/// polling budget (2 minutes) plus the exchanges around it.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(180);
/// Default [`Options::max_replay_body`]: 4 MiB.
pub const DEFAULT_MAX_REPLAY_BODY: usize = 4 * 1024 * 1024;

/// Timeouts and size limits. Build with [`Options::default`] and the `with_*` methods.
///
/// Bodies stream. A resource answer is handed back with its body unread, whatever its size. The
/// application's request body is replayed after a challenge when it is held in memory (`Bytes`, `Full`, a
/// body that ends within [`Options::max_replay_body`]) or re-created by a factory
/// ([`crate::UmaClient::send_with_body`]); a longer stream is sent once, and a challenge to it ends in
/// [`crate::Error::BodyNotReplayable`].
#[derive(Clone)]
#[non_exhaustive]
pub struct Options {
    /// Bound on one HTTP exchange: connect, send, and the answer's head (and, for authorization-server
    /// answers, body). Reading a resource answer's body is the caller's; a streamed request body (a
    /// factory's, or a stream longer than [`Options::max_replay_body`]) is bounded by
    /// [`Options::request_timeout`] only, since a large upload may take longer than any exchange.
    /// Default 30 s; `None` for none.
    pub exchange_timeout: Option<Duration>,
    /// Bound on a whole request up to the final answer's head, every exchange, poll and wait included
    /// (reading the final answer's body is not included). Default 3 min (the core's default
    /// `request_submitted` polling budget is 2 min); `None` for none.
    pub request_timeout: Option<Duration>,
    /// Largest authorization-server answer read (discovery, token endpoint). Default 1 MiB.
    pub max_authorization_server_body: usize,
    /// Largest streamed request body buffered for replay; a longer stream is sent once. A body held in
    /// memory is replayed whatever its size (no copy). Default 4 MiB.
    pub max_replay_body: usize,
    /// Told about every exchange, if set.
    pub observer: Option<Observer>,
    /// A store shared with other replicas, consulted on cold exchanges only (`None` by default).
    pub shared_store: Option<crate::store::SharedStore>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            exchange_timeout: Some(DEFAULT_EXCHANGE_TIMEOUT),
            request_timeout: Some(DEFAULT_REQUEST_TIMEOUT),
            max_authorization_server_body: 1024 * 1024,
            max_replay_body: DEFAULT_MAX_REPLAY_BODY,
            observer: None,
            shared_store: None,
        }
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("exchange_timeout", &self.exchange_timeout)
            .field("request_timeout", &self.request_timeout)
            .field(
                "max_authorization_server_body",
                &self.max_authorization_server_body,
            )
            .field("max_replay_body", &self.max_replay_body)
            .field("observer", &self.observer.is_some())
            .field("shared_store", &self.shared_store)
            .finish()
    }
}

impl Options {
    /// Sets (or with `None` removes) the per-exchange timeout.
    pub fn with_exchange_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.exchange_timeout = timeout;
        self
    }

    /// Sets (or with `None` removes) the request timeout.
    pub fn with_request_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets the largest authorization-server answer read.
    pub fn with_max_authorization_server_body(mut self, bytes: usize) -> Self {
        self.max_authorization_server_body = bytes;
        self
    }

    /// Sets the largest streamed request body buffered for replay.
    pub fn with_max_replay_body(mut self, bytes: usize) -> Self {
        self.max_replay_body = bytes;
        self
    }

    /// Shares RPTs with other replicas through `store` (see [`crate::store`]).
    pub fn with_shared_store(mut self, store: crate::store::SharedStore) -> Self {
        self.shared_store = Some(store);
        self
    }

    /// Calls `observer` after every exchange.
    pub fn with_observer(
        mut self,
        observer: impl Fn(&ExchangeEvent) + Send + Sync + 'static,
    ) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }
}
