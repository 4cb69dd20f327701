//! The vocabulary every adapter shares, defined once: the options a driver takes
//! ([`Options`]), the one error a request ends in ([`Error`]) and the protection handle's
//! ([`ProtectionCallError`]), the shared-store handle ([`SharedStore`]), and the request deadline
//! arithmetic ([`RequestDeadline`]). Plain data and pure functions: no I/O, no clock.
//!
//! `uma-ureq` (blocking) and `uma-hyper` (async) re-export these under the same names, so moving
//! between them means adding `.await`:
//!
//! ```
//! use std::time::Duration;
//! use uma_core::driver::{Options, DEFAULT_REQUEST_TIMEOUT};
//! use uma_core::store::RptStore;
//!
//! // `uma_ureq::Options` is `Options<dyn RptStore>`; `uma_hyper::Options` is `Options<dyn AsyncRptStore>`.
//! let options: Options<dyn RptStore> = Options::default()
//!     .with_exchange_timeout(Some(Duration::from_secs(5)))
//!     .with_observer(|event| eprintln!("{}", event.line()));
//! assert_eq!(options.request_timeout, Some(DEFAULT_REQUEST_TIMEOUT));
//! ```

mod deadline;
mod error;
mod options;
mod protection_error;
mod protection_settings;
mod shared_store;

pub use deadline::{RequestDeadline, claim_until};
pub use error::{BodyKind, BoxError, Deadline, Error};
pub use options::{
    DEFAULT_EXCHANGE_TIMEOUT, DEFAULT_MAX_AUTHORIZATION_SERVER_BODY, DEFAULT_MAX_REPLAY_BODY,
    DEFAULT_REQUEST_TIMEOUT, Observer, Options,
};
pub use protection_error::ProtectionCallError;
pub use protection_settings::ProtectionSettings;
pub use shared_store::{SharedStore, StoreObserver};

use crate::RequestKind;

impl std::fmt::Display for RequestKind {
    /// `resource`, `discovery`, `token`, or the protection endpoint's name: the word errors use.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RequestKind::Resource => "resource",
            RequestKind::Discovery => "discovery",
            RequestKind::Token => "token",
            RequestKind::Protection(endpoint) => endpoint,
        })
    }
}
