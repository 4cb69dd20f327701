//! `uma-bench`: the benchmark suite of the `uma` workspace.
//!
//! `cargo run --release -p uma-bench` runs everything once (a few minutes on two cores, loopback only,
//! bounded loops), prints the tables and writes them to `BENCHMARKS.md` at the workspace root.
//! `cargo bench -p uma-bench` runs the core micro-benchmarks under criterion.
//!
//! What is measured, and how, is written next to every table of the report ([`run`]).
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod alloc;
pub mod bodies;
pub mod callgrind;
pub mod cli;
pub mod fleet;
pub mod herd;
pub mod machine;
pub mod memory;
pub mod micro;
pub mod peer;
mod report;
pub mod roundtrips;
pub mod stats;
pub mod warm;
pub mod workloads;

/// How much work a run does.
#[derive(Debug, Clone)]
pub struct Params {
    /// Interleaved rounds per warm-path comparison.
    pub warm_rounds: usize,
    /// Requests per round per client.
    pub warm_requests: usize,
    /// Concurrent tasks for the uma-hyper comparisons.
    pub hyper_concurrency: Vec<usize>,
    /// Threads for the uma-ureq comparisons.
    pub ureq_threads: Vec<usize>,
    /// Requests per herd.
    pub herd_tasks: usize,
    /// Herd repetitions (fresh servers and client each).
    pub herd_rounds: usize,
    /// Timed batches per micro-benchmark.
    pub micro_batches: usize,
    /// Operations per batch.
    pub micro_batch: usize,
    /// Items held at once for the memory figures.
    pub memory_n: usize,
    /// Bytes per large-body transfer.
    pub body_bytes: u64,
    /// Interleaved rounds per large-body comparison.
    pub body_rounds: usize,
    /// Operations per callgrind run.
    pub callgrind_iterations: usize,
    /// Callgrind runs per operation.
    pub callgrind_runs: usize,
    /// Interleaved rounds of the CLI against curl.
    pub cli_rounds: usize,
    /// GETs per process in the CLI comparison.
    pub cli_requests: usize,
    /// Run only the sections whose name is listed (`micro`, `callgrind`, `memory`, `roundtrips`, `peer`,
    /// `warm`, `bodies`, `cli`, `herd`, `fleet`); empty runs everything but `fleet`, which needs
    /// `redis-server` and runs only by name.
    pub only: Vec<String>,
    /// The fleet section's work.
    pub fleet: fleet::FleetParams,
}

impl Params {
    /// Whether `section` runs.
    pub fn runs(&self, section: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|s| s == section)
    }
}

impl Params {
    /// The real run.
    pub fn full() -> Params {
        Params {
            warm_rounds: 15,
            warm_requests: 2000,
            hyper_concurrency: vec![1, 32],
            ureq_threads: vec![1, 2],
            herd_tasks: 1000,
            herd_rounds: 3,
            // Many short batches: on a shared machine a burst of other work spoils few of them.
            micro_batches: 21,
            micro_batch: 5_000,
            memory_n: 1000,
            body_bytes: 1 << 30,
            body_rounds: 3,
            callgrind_iterations: 2000,
            callgrind_runs: 3,
            cli_rounds: 7,
            cli_requests: 2000,
            only: Vec::new(),
            fleet: fleet::FleetParams::default(),
        }
    }

    /// A few iterations of everything: proves the runner works, not how fast anything is.
    pub fn smoke() -> Params {
        Params {
            warm_rounds: 2,
            warm_requests: 20,
            hyper_concurrency: vec![2],
            ureq_threads: vec![1],
            herd_tasks: 20,
            herd_rounds: 1,
            micro_batches: 2,
            micro_batch: 40,
            memory_n: 20,
            body_bytes: 4 << 20,
            body_rounds: 1,
            callgrind_iterations: 20,
            callgrind_runs: 1,
            cli_rounds: 2,
            cli_requests: 20,
            only: Vec::new(),
            fleet: fleet::FleetParams {
                processes: 2,
                tasks: 5,
                cli_runs: 2,
                warm_rounds: 2,
                warm_requests: 20,
                warm_tasks: 2,
            },
        }
    }
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Report {
    /// The whole report in Markdown (what `BENCHMARKS.md` holds).
    pub markdown: String,
    /// Goals not met, one line each (empty when all were met).
    pub missed_goals: Vec<String>,
    /// Measurements that could not be taken, one line each.
    pub errors: Vec<String>,
}

/// Runs every benchmark with `params`, telling `progress` what it starts.
pub fn run(params: &Params, progress: &mut dyn FnMut(&str)) -> Report {
    report::run(params, progress)
}

/// The README's Rust examples, compiled (and the runnable ones run) by `cargo test --doc -p uma-bench`:
/// this crate depends on everything they use.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeExamples;
