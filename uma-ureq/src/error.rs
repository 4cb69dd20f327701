//! The one error type of the adapter: [`uma_core::driver::Error`], shared with `uma-hyper`. A
//! transport failure's source is a boxed [`ureq::Error`].

pub use uma_core::driver::{BodyKind, BoxError, Deadline, Error};
