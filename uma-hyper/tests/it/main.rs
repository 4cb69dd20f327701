//! uma-hyper's integration tests, in one binary (one link on CI): the testkit's conformance suite, and
//! what is particular to the async adapter (tower layer, PEP layer, axum example, herds of tasks…).
//! `large_bodies.rs` is its own binary (it measures the process's peak memory).

#[macro_use]
mod common;

mod axum_pep;
mod conformance;
mod dialects;
mod eoepca_walk;
mod herd;
mod keycloak_ticketless;

mod pep_layer;
mod protection;
mod spans;
mod timeouts;
mod tls_errors;
mod tower_and_limits;
