//! The one error type of the adapter: [`uma_core::driver::Error`], shared with `uma-hyper`. A
//! transport failure's source is a boxed [`ureq::Error`].

pub use uma_core::driver::{BodyKind, BoxError, Deadline, Error};

/// `scheme://host[:port]/path` of a URI: the query may carry credentials on a badly built server.
pub(crate) fn display_url(uri: &http::Uri) -> String {
    uma_core::trace::redacted_url(uri)
}
