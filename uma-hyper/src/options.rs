//! Limits and timeouts of the adapter: [`uma_core::driver::Options`] over an async shared store, the
//! same names, types and defaults as `uma-ureq`'s (the UMA bounds themselves live in
//! [`uma_core::Config`]).

use uma_core::store::AsyncRptStore;

pub use uma_core::driver::{
    DEFAULT_EXCHANGE_TIMEOUT, DEFAULT_MAX_AUTHORIZATION_SERVER_BODY, DEFAULT_MAX_REPLAY_BODY,
    DEFAULT_REQUEST_TIMEOUT, Observer,
};

/// Timeouts, limits and hooks. Build with [`Options::default`] and the `with_*` methods.
///
/// ```
/// use std::time::Duration;
/// let options = uma_hyper::Options::default()
///     .with_exchange_timeout(Some(Duration::from_secs(5)))
///     .with_request_timeout(Some(Duration::from_secs(20)))
///     .with_observer(|event| eprintln!("{}", event.line()));
/// assert_eq!(options.max_authorization_server_body, 1024 * 1024);
/// ```
pub type Options = uma_core::driver::Options<dyn AsyncRptStore>;
