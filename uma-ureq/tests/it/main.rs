//! uma-ureq's integration tests, in one binary (one link on CI): the testkit's conformance suite, and
//! what is particular to the blocking adapter. `large_bodies.rs` is its own binary (it measures the
//! process's peak memory).

#[macro_use]
mod common;

mod conformance;
mod dialects;
mod eoepca_walk;
mod error_labels;
mod hardening;
mod keycloak_ticketless;
mod logins;
mod protection;
mod secrets;
mod spans;
mod tls_pem;
