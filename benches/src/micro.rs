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

/// One micro-benchmark being run: `run(false)` times one batch (inputs made untimed) and returns
/// ns/op; `run(true)` counts the allocations of one batch and returns allocations/op.
struct Case<'a> {
    what: String,
    input_bytes: Option<usize>,
    run: Box<dyn FnMut(bool) -> f64 + 'a>,
}

fn case<'a, I: 'a, O: 'a>(
    what: String,
    input_bytes: Option<usize>,
    batch: usize,
    mut setup: impl FnMut() -> I + 'a,
    mut op: impl FnMut(I) -> O + 'a,
) -> Case<'a> {
    let batch = batch.max(1);
    let run = move |count: bool| {
        let inputs: Vec<I> = (0..batch).map(|_| setup()).collect();
        if !count {
            let started = Instant::now();
            for input in inputs {
                black_box(op(black_box(input)));
            }
            return started.elapsed().as_nanos() as f64 / batch as f64;
        }
        let mut outputs = Vec::with_capacity(batch);
        alloc::enable();
        let before = alloc::snapshot();
        for input in inputs {
            outputs.push(op(input));
        }
        let after = alloc::snapshot();
        alloc::disable();
        drop(outputs);
        (after.allocs - before.allocs) as f64 / batch as f64
    };
    Case {
        what,
        input_bytes,
        run: Box::new(run),
    }
}

/// The label of the warm-step row (the core's work alone, inputs built outside the timed region).
pub const WARM_STEP: &str =
    "warm step, core only (Flow::new + start + handle_response, cached RPT)";

/// Every micro-benchmark: parsing each challenge shape, a cold canned flow, a warm one and the warm
/// step. The batches are interleaved (one batch of each benchmark per round, after one unmeasured
/// round), so that a burst of other work on the machine spreads over all of them rather than spoiling
/// one; then the allocations of one more batch of each are counted.
pub fn all(batches: usize, batch: usize) -> Vec<MicroResult> {
    let mut cases = Vec::new();
    for shape in Shape::ALL {
        let headers = shape.headers();
        let len = shape.header_value().len();
        cases.push(case(
            format!("parse challenge: {}", shape.label()),
            Some(len),
            batch,
            || (),
            move |()| workloads::parse(black_box(&headers)),
        ));
    }
    let mut responder = Responder::new(43);
    cases.push(case(
        "cold flow on a fresh client (4 exchanges, canned answers)".to_string(),
        None,
        batch / 4,
        || Client::new(workloads::config()),
        move |mut client| workloads::cold_flow(&mut client, &mut responder),
    ));
    let mut responder = Responder::new(43);
    let mut client = workloads::warm_client(&mut responder);
    cases.push(case(
        "warm flow, cached RPT (1 exchange, canned answer)".to_string(),
        None,
        batch,
        || (),
        move |()| workloads::warm_flow(&mut client, &mut responder),
    ));
    let mut responder = Responder::new(43);
    let mut client = workloads::warm_client(&mut responder);
    cases.push(case(
        WARM_STEP.to_string(),
        None,
        batch,
        workloads::warm_step_inputs,
        move |inputs| workloads::warm_step(&mut client, inputs),
    ));

    let mut ns: Vec<Vec<f64>> = vec![Vec::with_capacity(batches); cases.len()];
    for round in 0..=batches {
        for (i, c) in cases.iter_mut().enumerate() {
            let t = (c.run)(false);
            // The first round warms caches and the branch predictor.
            if round > 0 {
                ns[i].push(t);
            }
        }
    }
    cases
        .into_iter()
        .zip(ns)
        .map(|(mut c, ns)| {
            let allocs = alloc::installed().then(|| (c.run)(true));
            MicroResult {
                what: c.what,
                ns: Summary::of(&ns),
                allocs,
                input_bytes: c.input_bytes,
            }
        })
        .collect()
}
