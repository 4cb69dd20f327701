//! `uma-core`: a sans-IO UMA 2.0 client engine.
//!
//! (Crate documentation with the run loop is written with the state machine.)

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod challenge;
pub mod discovery;
pub mod grant;
pub mod protection;
pub mod secret;
