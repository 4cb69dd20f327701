//! libFuzzer entry point; the logic and invariants live in `harness/flow.rs`.
// No `forbid(unsafe_code)`: `fuzz_target!` expands to a `#[no_mangle]` extern function.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| uma_fuzz::flow::run(data));
