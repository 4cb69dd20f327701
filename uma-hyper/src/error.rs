//! The one error type of the adapter: [`uma_core::driver::Error`], shared with `uma-ureq`. A transport
//! failure's source is hyper-util's (or the inner service's) error, boxed.

pub use uma_core::driver::{BodyKind, BoxError, Deadline, Error};
