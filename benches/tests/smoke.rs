//! The runner in smoke mode: every benchmark runs a few iterations and the report has every section.
//! No timing is asserted; only that each measurement was taken.
#![deny(unsafe_code)]

use uma_bench::alloc::CountingAlloc;
use uma_bench::{Params, run};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

#[test]
fn smoke_run_produces_every_section() {
    let report = run(&Params::smoke(), &mut |_| {});
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    for heading in [
        "## 1. Warm-path overhead",
        "## 2. Round trips per step",
        "## 3. Herd",
        "## 4. Core micro-benchmarks",
        "## 5. Memory",
        "Python peer",
    ] {
        assert!(report.markdown.contains(heading), "missing {heading}");
    }
    // The counting allocator was installed, so allocation figures are numbers, not "n/a".
    assert!(uma_bench::alloc::installed());
    assert!(!report.markdown.contains("| n/a |"), "{}", report.markdown);
}
