//! The real-Keycloak suites, in one binary (one link instead of one per file): a module per client or
//! area. All but `testkit_shapes` are `#[ignore]`d: they need the Keycloak that `tests/keycloak/run`
//! starts once per version and names in `UMA_KC_BASE`, and run with `--ignored --test-threads=2`.
//! Tests of different modules may run side by side, as tests of one module always did: each starts its
//! own proxy (its own issuer), the owner-managed resources whose approvals they change are each their
//! own (`alice-album-ureq`, `alice-album-hyper`, and `alice-album` for `recorded`), and `protection`
//! names the resources it creates uniquely per run.

mod cli;
mod hyper_client;
mod java_pep;
mod pep_layer;
mod protection;
mod recorded;
mod reqwest_client;
mod testkit_shapes;
mod ureq_client;
