//! The typed errors of the protection handle: [`uma_core::driver::ProtectionCallError`], shared with
//! `uma-ureq`. A transport failure's source is hyper-util's error, boxed.

pub use uma_core::driver::ProtectionCallError as Error;
