//! uma-core's integration tests, in one binary (one link instead of one per file): a module per
//! area, named by the behaviour it checks. `support` holds the canned servers and the fake clock.
//! Add a new area as `<area>.rs` here and a `mod <area>;` line below, not a new `tests/*.rs`.

mod support;

mod cache_bounds;
mod challenge_parser;
mod challenge_props;
mod challenge_vectors;
mod discovery_issuer;
mod discovery_metadata;
mod discovery_proptest;
mod flow_dead_ticket;
mod flow_herd;
mod flow_props;
mod flow_retired_rpts;
mod flow_scenarios;
mod fuzz_corpus;
mod grant_errors;
mod grant_proptest;
mod grant_requests;
mod grant_responses;
mod late_challenge_and_userinfo;
mod panics;
mod protection_dialect;
mod protection_introspection;
mod protection_machine;
mod protection_pat;
mod protection_pep;
mod protection_pep_resources;
mod protection_permission;
mod protection_registration;
mod protection_resource;
mod protection_robustness;
mod redirects;
mod secrets;
