//! Fuzz harnesses for `uma-core`: one module per target, each a `run(&[u8])` that feeds the input to
//! the code under test and panics when an invariant breaks (the panic is what libFuzzer reports).
//!
//! This file is the library root of the `uma-fuzz` crate (fuzz/Cargo.toml) *and* is included by
//! `uma-core/tests/it/fuzz_corpus.rs` with `#[path]`, which replays `fuzz/corpus/<target>/*` and
//! `fuzz/regressions/<target>/*` on stable. So: no libFuzzer types here, and modules refer to each
//! other through `super::`, never `crate::`.

#![forbid(unsafe_code)]

pub mod challenge;
pub mod discovery;
pub mod flow;
pub mod protection;
pub mod record;
pub mod support;
pub mod token;

/// A fuzz target: its name (the `fuzz/fuzz_targets/<name>.rs` binary and `fuzz/corpus/<name>/`
/// directory) and its harness.
pub struct Target {
    /// Binary and corpus directory name.
    pub name: &'static str,
    /// Runs one input; panics when an invariant fails.
    pub run: fn(&[u8]),
}

/// Every target, in the order `fuzz/run` fuzzes them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "challenge",
        run: challenge::run,
    },
    Target {
        name: "discovery",
        run: discovery::run,
    },
    Target {
        name: "token",
        run: token::run,
    },
    Target {
        name: "protection",
        run: protection::run,
    },
    Target {
        name: "flow",
        run: flow::run,
    },
    Target {
        name: "record",
        run: record::run,
    },
];
