//! Criterion micro-benchmarks of the core: challenge parsing in the three deployed shapes, and canned
//! flows through `uma_core::Flow` (a cold one on a fresh client, a warm one with a cached RPT). Before
//! timing, prints the allocations per operation counted by the counting global allocator.
#![deny(unsafe_code)]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use uma_bench::alloc::{self, CountingAlloc};
use uma_bench::workloads::{self, Responder, Shape};
use uma_core::Client;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Allocations of one call of `op` (averaged over 100 calls).
fn allocations<O>(mut op: impl FnMut() -> O) -> f64 {
    alloc::enable();
    let before = alloc::snapshot();
    for _ in 0..100 {
        black_box(op());
    }
    let after = alloc::snapshot();
    alloc::disable();
    (after.allocs - before.allocs) as f64 / 100.0
}

fn parsing(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_challenge");
    for shape in Shape::ALL {
        let headers = shape.headers();
        let name = format!("{shape:?}").to_lowercase();
        eprintln!(
            "parse_challenge/{name}: {} bytes, {:.1} allocations per parse",
            shape.header_value().len(),
            allocations(|| workloads::parse(&headers))
        );
        group.bench_function(name, |b| b.iter(|| workloads::parse(black_box(&headers))));
    }
    group.finish();
}

fn flows(c: &mut Criterion) {
    let mut group = c.benchmark_group("flow");
    let mut responder = Responder::new(43);
    eprintln!(
        "flow/cold: {:.1} allocations per flow",
        allocations(|| {
            let mut client = Client::new(workloads::config());
            workloads::cold_flow(&mut client, &mut responder)
        })
    );
    group.bench_function("cold", |b| {
        b.iter_batched(
            || Client::new(workloads::config()),
            |mut client| workloads::cold_flow(&mut client, &mut responder),
            BatchSize::SmallInput,
        )
    });
    let mut client = workloads::warm_client(&mut responder);
    eprintln!(
        "flow/warm: {:.1} allocations per flow",
        allocations(|| workloads::warm_flow(&mut client, &mut responder))
    );
    group.bench_function("warm", |b| {
        b.iter(|| workloads::warm_flow(&mut client, &mut responder))
    });
    group.finish();
}

criterion_group!(benches, parsing, flows);
criterion_main!(benches);
