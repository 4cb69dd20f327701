//! uma-cli's integration tests, in one binary (one link instead of one per file): a module per area,
//! named by the behaviour it checks, running the built `uma` (`env!("CARGO_BIN_EXE_uma")`). `common`
//! holds the helpers. Add a new area as `<area>.rs` here and a `mod <area>;` line below.

mod common;

mod cache;
mod challenge;
mod curl_habits;
mod demo;
mod discover;
mod error_labels;
mod fetch;
mod readme_quickstarts;
mod secrets;
mod serve;
mod stats;
mod streaming;
