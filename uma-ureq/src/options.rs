//! Limits and hooks of a [`UmaClient`](crate::UmaClient): [`uma_core::driver::Options`] over a
//! blocking shared store, the same names, types and defaults as `uma-hyper`'s.

use uma_core::store::RptStore;

pub use uma_core::driver::{
    DEFAULT_EXCHANGE_TIMEOUT, DEFAULT_MAX_AUTHORIZATION_SERVER_BODY, DEFAULT_MAX_REPLAY_BODY,
    DEFAULT_REQUEST_TIMEOUT, Observer,
};

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
pub type Options = uma_core::driver::Options<dyn RptStore>;
