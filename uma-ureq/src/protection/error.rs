//! The typed errors of the protection handle: [`uma_core::driver::ProtectionCallError`], shared with
//! `uma-hyper`. A transport failure's source is a boxed [`ureq::Error`].

pub use uma_core::driver::ProtectionCallError as Error;
