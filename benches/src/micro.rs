//! The core micro-benchmarks as a quick in-process loop (criterion runs the same workloads in
//! `cargo bench -p uma-bench`): time per operation over several timed batches, and allocations per
//! operation from the counting allocator.

use std::hint::black_box;
use std::time::Instant;

use uma_core::Client;

use crate::alloc;
use crate::stats::Summary;
use crate::workloads::{self, Responder, Shape};

/// One micro-benchmark.
#[derive(Debug, Clone)]
pub struct MicroResult {
    /// What was measured.
    pub what: String,
    /// Nanoseconds per operation over the batches.
    pub ns: Summary,
    /// Allocations per operation (`None` without the counting allocator).
    pub allocs: Option<f64>,
    /// Input size in bytes, where meaningful.
    pub input_bytes: Option<usize>,
}

/// Times `batches` batches of `batch` calls of `op` on inputs made by `setup` (not timed), then counts
/// the allocations of one more batch.
fn bench<I, O>(
    what: String,
    input_bytes: Option<usize>,
    batches: usize,
    batch: usize,
    mut setup: impl FnMut() -> I,
    mut op: impl FnMut(I) -> O,
) -> MicroResult {
    let mut ns = Vec::with_capacity(batches);
    // One unmeasured batch warms caches and the branch predictor.
    for round in 0..=batches {
        let inputs: Vec<I> = (0..batch).map(|_| setup()).collect();
        let started = Instant::now();
        for input in inputs {
            black_box(op(black_box(input)));
        }
        if round > 0 {
            ns.push(started.elapsed().as_nanos() as f64 / batch.max(1) as f64);
        }
    }
    let inputs: Vec<I> = (0..batch).map(|_| setup()).collect();
    let mut outputs = Vec::with_capacity(batch);
    alloc::enable();
    let before = alloc::snapshot();
    for input in inputs {
        outputs.push(op(input));
    }
    let after = alloc::snapshot();
    alloc::disable();
    drop(outputs);
    MicroResult {
        what,
        ns: Summary::of(&ns),
        allocs: alloc::installed()
            .then(|| (after.allocs - before.allocs) as f64 / batch.max(1) as f64),
        input_bytes,
    }
}

/// The label of the warm-step row (the core's work alone, inputs built outside the timed region).
pub const WARM_STEP: &str =
    "warm step, core only (Flow::new + start + handle_response, cached RPT)";

/// Every micro-benchmark: parsing each challenge shape, a cold canned flow and a warm one.
pub fn all(batches: usize, batch: usize) -> Vec<MicroResult> {
    let mut out = Vec::new();
    for shape in Shape::ALL {
        let headers = shape.headers();
        let len = shape.header_value().len();
        out.push(bench(
            format!("parse challenge: {}", shape.label()),
            Some(len),
            batches,
            batch,
            || (),
            |()| workloads::parse(black_box(&headers)),
        ));
    }
    let mut responder = Responder::new(43);
    out.push(bench(
        "cold flow on a fresh client (4 exchanges, canned answers)".to_string(),
        None,
        batches,
        batch / 4,
        || Client::new(workloads::config()),
        |mut client| workloads::cold_flow(&mut client, &mut responder),
    ));
    let mut responder = Responder::new(43);
    let mut client = workloads::warm_client(&mut responder);
    out.push(bench(
        "warm flow, cached RPT (1 exchange, canned answer)".to_string(),
        None,
        batches,
        batch,
        || (),
        |()| workloads::warm_flow(&mut client, &mut responder),
    ));
    let mut client = workloads::warm_client(&mut responder);
    out.push(bench(
        WARM_STEP.to_string(),
        None,
        batches,
        batch,
        workloads::warm_step_inputs,
        |inputs| workloads::warm_step(&mut client, inputs),
    ));
    out
}
