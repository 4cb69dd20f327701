//! The testkit's own tests, in one binary (one link instead of one per file): a module per dialect or
//! area. `common` is a plain-HTTP helper, deliberately not the project's UMA client. Add a new area as
//! `<area>.rs` here and a `mod <area>;` line below.

mod common;

mod eoepca_pep;
mod gluu_dialect;
mod keycloak_dialect;
mod keycloak_peer_compat;
mod keycloak_sharing;
mod keycloak_wire;
mod rs_faults_tls;
mod spec_dialect;
