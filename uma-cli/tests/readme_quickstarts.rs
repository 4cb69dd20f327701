//! The README's Rust blocks compile in a new project outside the workspace, as pasted, with the
//! `[dependencies]` lines the README gives (their `path = "../uma/…"` pointed at this checkout), and the
//! testkit example runs.
//!
//! One project holds every block as an example target. It lives in the workspace's target directory and
//! keeps its own build there, so only the first run compiles the dependencies (offline, from the registry
//! cache, pinned by a copy of the workspace's Cargo.lock).

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
fn readme_rust_blocks_build_in_a_new_project_and_the_testkit_one_runs() {
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
    let mut runnable = Vec::new();
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
        std::fs::write(examples.join(format!("{name}.rs")), source).unwrap();
        if !lang.contains("no_run") && text.contains("Kit::start") {
            runnable.push(name);
        }
    }
    assert!(!runnable.is_empty(), "the testkit block runs");

    let (ok, log) = cargo(&dir, &["build", "--offline", "--examples"], started);
    assert!(ok, "the README blocks do not build as pasted:\n{log}");
    for name in runnable {
        let (ok, log) = cargo(&dir, &["run", "--offline", "--example", &name], started);
        assert!(ok, "example {name} failed:\n{log}");
    }
}
