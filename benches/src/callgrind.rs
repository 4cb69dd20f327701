//! Instructions per operation, counted by `valgrind --tool=callgrind`: unlike time, the count repeats
//! from run to run on a busy machine.
//!
//! The runner starts itself again under callgrind with `--callgrind-op NAME N`; that child prepares its
//! inputs, then runs one `measured_*` function (never inlined) `N` times. Collection is switched on only
//! inside those functions (`--toggle-collect`), so the count excludes start-up, input preparation and
//! the loop itself; instructions per operation = the collected total ÷ `N`.

use std::hint::black_box;
use std::process::Command;

use uma_core::Client;

use crate::stats::Summary;
use crate::workloads::{self, Responder, Shape};

/// The operations that can be counted, in table order, with their labels.
pub const OPS: [(&str, &str); 5] = [
    (
        "parse-spec",
        "parse challenge: spec (quoted, opaque ticket)",
    ),
    (
        "parse-keycloak",
        "parse challenge: Keycloak (no spaces, JWT ticket)",
    ),
    (
        "parse-eoepca",
        "parse challenge: EOEPCA (unquoted, UUID ticket)",
    ),
    ("warm-step", crate::micro::WARM_STEP),
    (
        "warm-flow",
        "warm flow, cached RPT (1 exchange, canned answer)",
    ),
];

/// One counted operation.
#[derive(Debug, Clone)]
pub struct Counted {
    /// What was counted.
    pub what: String,
    /// Instructions per operation, over the runs.
    pub instructions: Summary,
    /// Operations per run.
    pub iterations: usize,
}

#[inline(never)]
fn measured_parse(headers: &http::HeaderMap) -> usize {
    workloads::parse(headers)
}

#[inline(never)]
fn measured_warm_step(
    client: &mut Client,
    inputs: (http::Request<Vec<u8>>, http::Response<Vec<u8>>),
) -> usize {
    workloads::warm_step(client, inputs)
}

#[inline(never)]
fn measured_warm_flow(client: &mut Client, responder: &mut Responder) -> usize {
    workloads::warm_flow(client, responder)
}

/// The child side: runs operation `name` `iterations` times. Returns the sum of the results (so that
/// nothing is optimised away), or `None` for an unknown name.
pub fn run_op(name: &str, iterations: usize) -> Option<usize> {
    let mut sum = 0;
    match name {
        "parse-spec" | "parse-keycloak" | "parse-eoepca" => {
            let shape = match name {
                "parse-spec" => Shape::Spec,
                "parse-keycloak" => Shape::Keycloak,
                _ => Shape::Eoepca,
            };
            let headers = shape.headers();
            for _ in 0..iterations {
                sum += measured_parse(black_box(&headers));
            }
        }
        "warm-step" => {
            let mut responder = Responder::new(43);
            let mut client = workloads::warm_client(&mut responder);
            // One step first: the path hint's first use is not the steady state.
            sum += workloads::warm_step(&mut client, workloads::warm_step_inputs());
            let inputs: Vec<_> = (0..iterations)
                .map(|_| workloads::warm_step_inputs())
                .collect();
            for input in inputs {
                sum += measured_warm_step(&mut client, black_box(input));
            }
        }
        "warm-flow" => {
            let mut responder = Responder::new(43);
            let mut client = workloads::warm_client(&mut responder);
            sum += workloads::warm_flow(&mut client, &mut responder);
            for _ in 0..iterations {
                sum += measured_warm_flow(&mut client, &mut responder);
            }
        }
        // Not counted by the report: a target for heap profilers (`valgrind --tool=dhat`).
        "rpt-entries" => {
            sum += crate::memory::per_rpt(iterations, 43).bytes_each as usize;
        }
        _ => return None,
    }
    Some(sum)
}

/// Whether `valgrind` can be run.
pub fn available() -> bool {
    Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Counts operation `name` under callgrind `runs` times, `iterations` operations per run.
pub fn count(name: &str, what: &str, iterations: usize, runs: usize) -> Result<Counted, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut per_op = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let output = Command::new("valgrind")
            .args([
                "--tool=callgrind",
                "--callgrind-out-file=/dev/null",
                "--toggle-collect=*callgrind::measured_*",
            ])
            .arg(&exe)
            .args(["--callgrind-op", name, &iterations.to_string()])
            .output()
            .map_err(|e| format!("cannot run valgrind: {e}"))?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            return Err(format!(
                "callgrind run of {name} failed: {}",
                stderr.lines().last().unwrap_or("")
            ));
        }
        let collected = stderr
            .lines()
            .find_map(|l| {
                l.split_once("Collected :")
                    .map(|(_, n)| n.trim().to_string())
            })
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| format!("no instruction count in callgrind's output for {name}"))?;
        if collected == 0 {
            return Err(format!(
                "callgrind counted nothing for {name} (symbols stripped?)"
            ));
        }
        per_op.push(collected as f64 / iterations.max(1) as f64);
    }
    Ok(Counted {
        what: what.to_string(),
        instructions: Summary::of(&per_op),
        iterations,
    })
}

/// Counts every operation of [`OPS`].
pub fn all(iterations: usize, runs: usize) -> (Vec<Counted>, Vec<String>) {
    let (mut out, mut errors) = (Vec::new(), Vec::new());
    if !available() {
        errors.push("callgrind: valgrind is not installed; instruction counts skipped".to_string());
        return (out, errors);
    }
    for (name, what) in OPS {
        match count(name, what, iterations, runs) {
            Ok(c) => out.push(c),
            Err(e) => errors.push(format!("callgrind: {e}")),
        }
    }
    (out, errors)
}
