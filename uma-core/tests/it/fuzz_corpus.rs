//! Replays every committed fuzz input on stable: `fuzz/corpus/<target>/*` (the seeds and the
//! minimised corpus) and `fuzz/regressions/<target>/*` (inputs that once crashed). The harness
//! is the very file the libFuzzer targets use, so an invariant that fails under `cargo fuzz`
//! fails here too.

#[path = "../../../fuzz/harness/mod.rs"]
mod harness;

use std::fs;
use std::panic;
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// Files of `dir`, sorted; none when it does not exist.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs every input of every target, collecting failures instead of stopping at the first.
fn replay(kind: &str) -> usize {
    let mut failures = Vec::new();
    let mut count = 0;
    for target in harness::TARGETS {
        let dir = fuzz_dir().join(kind).join(target.name);
        for file in inputs(&dir) {
            let data = fs::read(&file).expect("corpus file is readable");
            count += 1;
            if panic::catch_unwind(|| (target.run)(&data)).is_err() {
                failures.push(file.display().to_string());
            }
        }
    }
    assert!(
        failures.is_empty(),
        "harness invariants failed on {failures:#?}"
    );
    count
}

#[test]
fn seed_corpus_replays_clean() {
    let count = replay("corpus");
    // Every target has seeds; an empty replay would mean the paths are wrong.
    assert!(
        count >= harness::TARGETS.len() * 5,
        "only {count} corpus inputs found"
    );
    for target in harness::TARGETS {
        let dir = fuzz_dir().join("corpus").join(target.name);
        assert!(
            !inputs(&dir).is_empty(),
            "no seed corpus for target {}",
            target.name
        );
    }
}

#[test]
fn regressions_replay_clean() {
    replay("regressions");
}
