//! Blocking UMA 2.0 client over ureq 3.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod agent;
mod driver;
mod error;
mod options;
mod transport;

pub use agent::{RequestBuilder, UmaAgent};
pub use error::{Error, Kind, TimeoutKind};
pub use options::{
    DEFAULT_EXCHANGE_TIMEOUT, DEFAULT_MAX_RESOURCE_BODY, DEFAULT_REQUEST_TIMEOUT, Observer, Options,
};
pub use uma_core;
pub use ureq;
