//! Limits and hooks of a [`UmaAgent`](crate::UmaAgent).

use std::sync::Arc;
use std::time::Duration;

use uma_core::trace::ExchangeEvent;

/// Called once per HTTP exchange (resource, discovery or token request) with a secret-free description:
/// the CLI's `-v` prints [`ExchangeEvent::line`], `--stats` counts them.
pub type Observer = Arc<dyn Fn(&ExchangeEvent) + Send + Sync>;

/// Default [`Options::exchange_timeout`]: 30 seconds.
pub const DEFAULT_EXCHANGE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default [`Options::request_timeout`]: 3 minutes, enough for the core's default `request_submitted`
/// polling budget (2 minutes) plus the exchanges around it.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(180);
/// Default [`Options::max_replay_body`]: 4 MiB.
pub const DEFAULT_MAX_REPLAY_BODY: usize = 4 * 1024 * 1024;

/// Limits and hooks. Start from [`Options::default`] and adjust with the `with_*` methods.
///
/// ```
/// use std::time::Duration;
/// let options = uma_ureq::Options::default()
///     .with_exchange_timeout(Some(Duration::from_secs(5)))
///     .with_request_timeout(Some(Duration::from_secs(20)))
///     .with_observer(|event| eprintln!("{}", event.line()));
/// assert_eq!(options.max_authorization_server_body, 1024 * 1024);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct Options {
    /// Budget of every single HTTP exchange, authorization-server calls included: connect, send, and
    /// receive the answer (an authorization server's whole body; a resource answer's head, its body being
    /// the caller's to read). A streamed request body (a file, a reader) is sent under the agent's own
    /// `timeout_send_body`, not this budget: a large upload may take longer than any exchange. `None`:
    /// only the agent's own timeouts apply.
    pub exchange_timeout: Option<Duration>,
    /// Budget of one call to [`UmaAgent::send`](crate::UmaAgent::send) (or a login), UMA dance,
    /// `request_submitted` waits and herd waits included. `None`: unbounded in time (every loop is still
    /// bounded in count by the core).
    pub request_timeout: Option<Duration>,
    /// Largest discovery or token response read, in bytes (default
    /// [`uma_core::grant::MAX_RESPONSE_BYTES`], 1 MiB). A larger one fails with
    /// [`Error::BodyTooLarge`](crate::Error::BodyTooLarge) without being buffered.
    pub max_authorization_server_body: usize,
    /// Largest request body read from a reader to be replayed after a challenge (default
    /// [`DEFAULT_MAX_REPLAY_BODY`], 4 MiB); a longer reader is read once, with `Expect: 100-continue`.
    /// Bytes are replayed whatever their size; a file ([`RequestBuilder::body_file`](crate::RequestBuilder::body_file))
    /// is opened again. Resource answers are never read by `uma`: they come back as they stream.
    pub max_replay_body: usize,
    /// Called once per HTTP exchange.
    pub observer: Option<Observer>,
    /// A store shared with other replicas, consulted on cold exchanges only (`None` by default).
    pub shared_store: Option<crate::store::SharedStore>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            exchange_timeout: Some(DEFAULT_EXCHANGE_TIMEOUT),
            request_timeout: Some(DEFAULT_REQUEST_TIMEOUT),
            max_authorization_server_body: uma_core::grant::MAX_RESPONSE_BYTES,
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
            .field(
                "observer",
                &self.observer.as_ref().map(|_| "Fn(&ExchangeEvent)"),
            )
            .field("shared_store", &self.shared_store)
            .finish()
    }
}

impl Options {
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
    pub fn with_shared_store(mut self, store: crate::store::SharedStore) -> Self {
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
