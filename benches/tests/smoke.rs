//! The runner in smoke mode: every benchmark runs a few iterations and the report has every section.
//! No timing is asserted; only that each measurement was taken.
#![deny(unsafe_code)]

use uma_bench::alloc::CountingAlloc;
use uma_bench::{Params, run};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

#[test]
fn smoke_run_produces_every_section() {
    // Every section that needs nothing outside this process: callgrind (valgrind and the uma-bench
    // binary), the CLI comparison (curl and a release `uma`), the Python peer (a venv) and the fleet
    // (redis-server) run in the full report only.
    let mut params = Params::smoke();
    params.only = ["micro", "memory", "roundtrips", "warm", "bodies", "herd"]
        .map(String::from)
        .to_vec();
    let report = run(&params, &mut |_| {});
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    for heading in [
        "## 1. Warm-path overhead",
        "## 3. Round trips per step",
        "## 4. Herd",
        "## 5. Core micro-benchmarks",
        "## 6. Memory",
        "## 7. Large bodies",
    ] {
        assert!(report.markdown.contains(heading), "missing {heading}");
    }
    // The counting allocator was installed, so allocation figures are numbers, not "n/a".
    assert!(uma_bench::alloc::installed());
    assert!(!report.markdown.contains("| n/a |"), "{}", report.markdown);
}
