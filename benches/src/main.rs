//! `cargo run --release -p uma-bench [-- --smoke] [--out PATH] [--no-write]`: runs the benchmark suite,
//! prints the report and writes it to `BENCHMARKS.md` at the workspace root (or `PATH`).
#![deny(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use uma_bench::alloc::CountingAlloc;
use uma_bench::{Params, run};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const USAGE: &str = "usage: uma-bench [--smoke] [--only SECTION]... [--out PATH] [--no-write]
  --smoke     a few iterations of everything (proves the runner works; figures meaningless)
  --only S    run only section S (micro, callgrind, memory, roundtrips, warm, bodies, cli, peer, herd,
              fleet); implies --no-write; fleet (needs redis-server and `uma` beside this binary) runs only so
  --out PATH  where to write the report (default: BENCHMARKS.md at the workspace root)
  --no-write  print only
  --callgrind-op OP N  run operation OP N times and exit (what the runner counts under callgrind)";

fn main() -> ExitCode {
    let mut smoke = false;
    let mut write = true;
    let mut out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../BENCHMARKS.md");
    let mut only = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            // A child process of the fleet section (uma_bench::fleet).
            "--fleet-worker" => {
                return match uma_bench::fleet::worker() {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("uma-bench --fleet-worker: {e}");
                        ExitCode::FAILURE
                    }
                };
            }
            "--smoke" => smoke = true,
            "--callgrind-op" => {
                // The child side of the callgrind counts (see uma_bench::callgrind).
                let (Some(op), Some(n)) = (args.next(), args.next().and_then(|n| n.parse().ok()))
                else {
                    eprintln!("{USAGE}");
                    return ExitCode::from(2);
                };
                return match uma_bench::callgrind::run_op(&op, n) {
                    Some(sum) => {
                        println!("{sum}");
                        ExitCode::SUCCESS
                    }
                    None => {
                        eprintln!("unknown operation {op:?}");
                        ExitCode::from(2)
                    }
                };
            }
            "--no-write" => write = false,
            "--only" => match args.next() {
                Some(section) => {
                    only.push(section);
                    write = false;
                }
                None => {
                    eprintln!("{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--out" => match args.next() {
                Some(p) => out = PathBuf::from(p),
                None => {
                    eprintln!("{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => {
                eprintln!("unknown argument {arg:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    if cfg!(debug_assertions) && !smoke {
        eprintln!("warning: debug build; use `cargo run --release -p uma-bench` for real figures");
    }
    let mut params = if smoke {
        Params::smoke()
    } else {
        Params::full()
    };
    params.only = only;
    let report = run(&params, &mut |what| eprintln!("uma-bench: {what}…"));
    println!("{}", report.markdown);
    if write && !smoke {
        // The fleet section runs only by name (`--only fleet`): keep the one the file already has.
        let mut markdown = report.markdown.clone();
        if let Ok(old) = std::fs::read_to_string(&out)
            && let Some(at) = old.find("\n## 8. Fleet")
        {
            let end = old[at + 1..]
                .find("\n## ")
                .map_or(old.len(), |e| at + 1 + e);
            markdown.push_str(&old[at + 1..end]);
        }
        if let Err(e) = std::fs::write(&out, &markdown) {
            eprintln!("uma-bench: cannot write {}: {e}", out.display());
            return ExitCode::FAILURE;
        }
        eprintln!("uma-bench: wrote {}", out.display());
    }
    if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
