//! The typed errors of the protection handle: [`uma_core::driver::ProtectionCallError`], shared with
//! `uma-hyper`. A transport failure's source is a boxed [`ureq::Error`].

pub use uma_core::driver::ProtectionCallError as Error;

impl crate::driver::KindName for Error {
    fn kind_name(&self) -> &'static str {
        Error::kind_name(self)
    }
}
