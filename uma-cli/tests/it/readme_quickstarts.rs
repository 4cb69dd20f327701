//! The README's Rust blocks compile in a new project outside the workspace, as pasted, with the
//! `[dependencies]` lines the README gives (their `path = "../uma/…"` pointed at this checkout); the
//! testkit example runs, and the quickstarts written for `uma serve --port 8080` run against a running
//! `uma serve` with the environment their `cargo run` lines set, printing what those lines say.
//!
//! One project holds every block as an example target. It lives in the workspace's target directory and
//! keeps its own build there, so only the first run compiles the dependencies (offline, from the registry
//! cache, pinned by a copy of the workspace's Cargo.lock); the examples are then run from their binaries,
//! without cargo. The one change made to a block: `uma serve` listens on a free pair of ports instead of
//! 8080 and 8081 (which another program may hold), so `127.0.0.1:8080`/`:8081` are replaced by those.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The longest the build (and run) may take, the first time included.
const BOUND: Duration = Duration::from_secs(20 * 60);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// Fenced blocks: (language line, text).
fn blocks(markdown: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in markdown.lines() {
        match (&mut current, line.strip_prefix("```")) {
            (None, Some(lang)) => current = Some((lang.trim().to_owned(), String::new())),
            (Some(_), Some(_)) => out.push(current.take().unwrap()),
            (Some((_, text)), None) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, None) => {}
        }
    }
    out
}

/// The dependency lines of every `toml` block, by section, `path = "../uma/DIR"` made absolute. A crate
/// named in several blocks keeps its first line (the blocks must agree, which the build checks).
fn dependencies(blocks: &[(String, String)]) -> String {
    let root = workspace();
    let mut seen = std::collections::BTreeSet::new();
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    for (lang, text) in blocks.iter().filter(|(l, _)| l == "toml") {
        assert!(lang == "toml");
        let mut section = String::new();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if line.starts_with('[') {
                section = line.to_owned();
                continue;
            }
            let name = line.split('=').next().unwrap().trim().to_owned();
            if !seen.insert(name) {
                continue;
            }
            let line = match line.split_once("path = \"../uma/") {
                Some((head, tail)) => {
                    let (dir, rest) = tail.split_once('"').unwrap();
                    format!("{head}path = \"{}\"{rest}", root.join(dir).display())
                }
                None => line.to_owned(),
            };
            match sections.iter_mut().find(|(s, _)| *s == section) {
                Some((_, lines)) => lines.push(line),
                None => sections.push((section.clone(), vec![line])),
            }
        }
    }
    sections
        .into_iter()
        .map(|(section, lines)| format!("{section}\n{}\n", lines.join("\n")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `cargo ARGS` in `dir`, killed after the time left of `BOUND`.
fn cargo(dir: &Path, args: &[&str], started: Instant) -> (bool, String) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let log = dir.join("cargo.log");
    let mut child = Command::new(cargo)
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .env_remove("RUSTFLAGS")
        .stdout(std::fs::File::create(dir.join("stdout.log")).unwrap())
        .stderr(std::fs::File::create(&log).unwrap())
        .stdin(Stdio::null())
        .spawn()
        .expect("cargo");
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let err = std::fs::read_to_string(&log).unwrap_or_default();
            return (status.success(), err);
        }
        if started.elapsed() > BOUND {
            child.kill().ok();
            child.wait().ok();
            panic!("cargo {args:?} took longer than {BOUND:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn readme_rust_blocks_build_in_a_new_project_and_run_as_printed() {
    let started = Instant::now();
    let root = workspace();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let blocks = blocks(&readme);
    let deps = dependencies(&blocks);
    for krate in ["uma-ureq", "uma-hyper", "uma-testkit", "tokio", "http"] {
        assert!(
            deps.contains(&format!("{krate} = ")),
            "README gives no {krate} line:\n{deps}"
        );
    }

    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let dir = target.join("readme-quickstarts");
    let examples = dir.join("examples");
    // Old examples go: a block removed from the README must not linger.
    std::fs::remove_dir_all(&examples).ok();
    std::fs::create_dir_all(&examples).unwrap();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/lib.rs"), "").unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"readme-quickstarts\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\
             publish = false\n\n[workspace]\n\n{deps}"
        ),
    )
    .unwrap();
    if !dir.join("Cargo.lock").exists() {
        std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    }
    // (example name, what it talks to)
    let mut runnable = Vec::new();
    let ports = free_port_pair();
    // Started at once, before the long build: other tests of this binary bind ephemeral ports too, and
    // one of them could take these while the examples build.
    // `cargo run -p uma-cli -- serve --port 8080`, on the free ports.
    let serve_line = sh_lines(&blocks)
        .into_iter()
        .find(|l| l.contains("serve --port 8080"))
        .expect("the README says how to start uma serve");
    assert!(
        serve_line.starts_with("cargo run -p uma-cli -- serve"),
        "{serve_line}"
    );
    let mut serve = Command::new(env!("CARGO_BIN_EXE_uma"))
        .args(["serve", "--port", &ports.0.to_string(), "--for", "600"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut banner = std::io::BufReader::new(serve.stdout.take().unwrap());
    let mut line = String::new();
    while std::io::BufRead::read_line(&mut banner, &mut line).unwrap() > 0 {
        if line.trim() == "requests received:" {
            break;
        }
        line.clear();
    }
    std::thread::spawn(move || std::io::copy(&mut banner, &mut std::io::sink()));
    for (i, (lang, text)) in blocks.iter().enumerate() {
        if !lang.starts_with("rust") {
            continue;
        }
        let name = format!("block_{i:02}");
        // A block that is a function rather than a program gets an empty `main`, nothing else.
        let mut source = text.clone();
        if !source.contains("fn main(") {
            source.push_str("\nfn main() {}\n");
        }
        let serve = source.contains("127.0.0.1:8080");
        if serve {
            source = source
                .replace("127.0.0.1:8080", &format!("127.0.0.1:{}", ports.0))
                .replace("127.0.0.1:8081", &format!("127.0.0.1:{}", ports.1));
        }
        std::fs::write(examples.join(format!("{name}.rs")), source).unwrap();
        if text.contains("Kit::start") {
            runnable.push((name, Target::Testkit));
        } else if serve {
            runnable.push((name, Target::Serve));
        }
    }
    let kinds = |t: Target| runnable.iter().filter(|(_, k)| *k == t).count();
    assert!(kinds(Target::Testkit) >= 1, "the testkit block runs");
    // The blocking and async quickstarts and the PEP.
    assert!(
        kinds(Target::Serve) >= 3,
        "quickstarts for uma serve: {runnable:?}"
    );

    let (ok, log) = cargo(&dir, &["build", "--offline", "--examples"], started);
    if !ok {
        serve.kill().ok();
    }
    assert!(ok, "the README blocks do not build as pasted:\n{log}");

    // The `VAR=value … cargo run    # expected` lines, in README order: one per serve quickstart.
    let runs: Vec<(Vec<(String, String)>, String)> = sh_lines(&blocks)
        .iter()
        .filter_map(|l| env_run(l))
        .collect();
    let serve_examples: Vec<&String> = runnable
        .iter()
        .filter(|(_, k)| *k == Target::Serve)
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        runs.len(),
        serve_examples.len(),
        "one cargo run line per quickstart: {runs:?}"
    );
    let bin = dir.join("target/debug/examples");
    let mut failures = Vec::new();
    for (name, (env, expected)) in serve_examples.into_iter().zip(&runs) {
        let (ok, out) = run_bounded(&bin.join(name), env, started);
        let first_word = expected.split_whitespace().next().unwrap_or_default();
        if !ok || !out.starts_with(first_word) {
            failures.push(format!("{name} (expected {expected:?}): {out}"));
        }
    }
    for (name, _) in runnable.iter().filter(|(_, k)| *k == Target::Testkit) {
        let (ok, out) = run_bounded(&bin.join(name), &[], started);
        if !ok {
            failures.push(format!("{name}: {out}"));
        }
    }
    serve.kill().ok();
    serve.wait().ok();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// Starts its own embedded servers.
    Testkit,
    /// Talks to `uma serve --port 8080`.
    Serve,
}

/// Every line of the `sh` blocks.
fn sh_lines(blocks: &[(String, String)]) -> Vec<String> {
    blocks
        .iter()
        .filter(|(l, _)| l == "sh")
        .flat_map(|(_, t)| t.lines().map(str::to_owned))
        .collect()
}

/// `A=1 B=2 cargo run    # expected output`: the variables and the expected output.
fn env_run(line: &str) -> Option<(Vec<(String, String)>, String)> {
    let (command, comment) = line.split_once('#')?;
    let words: Vec<&str> = command.split_whitespace().collect();
    if words.len() < 3 || words[words.len() - 2..] != ["cargo", "run"] {
        return None;
    }
    let env = words[..words.len() - 2]
        .iter()
        .map(|w| {
            let (k, v) = w.split_once('=')?;
            Some((k.to_owned(), v.to_owned()))
        })
        .collect::<Option<Vec<_>>>()?;
    (!env.is_empty()).then(|| (env, comment.trim().to_owned()))
}

/// Runs a built example with `env`; (success, stdout and stderr), killed after 60 s.
fn run_bounded(bin: &Path, env: &[(String, String)], started: Instant) -> (bool, String) {
    let mut child = Command::new(bin)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            return (out.status.success(), text);
        }
        if Instant::now() > deadline || started.elapsed() > BOUND {
            child.kill().ok();
            child.wait().ok();
            return (false, format!("{} took longer than 60 s", bin.display()));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Two consecutive loopback ports that were free a moment ago.
fn free_port_pair() -> (u16, u16) {
    for _ in 0..20 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if port < 65535 && std::net::TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return (port, port + 1);
        }
    }
    panic!("no free pair of loopback ports");
}
