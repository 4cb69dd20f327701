//! Runs the built `uma` binary and checks its output.
#![allow(dead_code)]

use std::process::{Command, Output};

use uma_testkit::{Dialect, Kit, KitConfig};

/// The result of one run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }

    /// The `--stats` object: the last stderr line.
    pub fn stats(&self) -> serde_json::Value {
        let line = self.stderr.lines().last().unwrap_or("");
        serde_json::from_str(line).unwrap_or_else(|e| panic!("no stats ({e}): {}", self.stderr))
    }

    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

fn finish(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `uma ARGS…` with a clean environment for the UMA_* variables.
pub fn uma(args: &[&str]) -> Run {
    uma_env(args, &[])
}

/// `uma ARGS…` with extra environment variables.
pub fn uma_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_uma"));
    cmd.args(args);
    for var in [
        "UMA_CLIENT_SECRET",
        "UMA_PASSWORD",
        "UMA_ACCESS_TOKEN",
        "SSL_CERT_FILE",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    finish(cmd.output().expect("run uma"))
}

pub fn kit(dialect: Dialect) -> Kit {
    Kit::start(KitConfig::new(dialect)).expect("start kit")
}

/// `fetch` flags for the confidential client `app` against the kit's issuer over http.
pub fn app_flags(kit: &Kit) -> Vec<String> {
    [
        "--issuer",
        &kit.issuer(),
        "--client-id",
        "app",
        "--client-secret",
        "app-secret",
        "--allow-insecure-http",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// `uma fetch` with `flags` and then `extra`.
pub fn fetch(flags: &[String], extra: &[&str]) -> Run {
    let mut args: Vec<&str> = vec!["fetch"];
    args.extend(flags.iter().map(String::as_str));
    args.extend_from_slice(extra);
    uma(&args)
}

/// `uma ARGS…` with `input` on standard input and extra environment variables.
pub fn uma_stdin(args: &[&str], input: &[u8], env: &[(&str, &str)]) -> Run {
    use std::io::Write;
    use std::process::Stdio;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_uma"));
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in [
        "UMA_CLIENT_SECRET",
        "UMA_PASSWORD",
        "UMA_ACCESS_TOKEN",
        "SSL_CERT_FILE",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run uma");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input).expect("write stdin");
    drop(stdin);
    finish(child.wait_with_output().expect("wait for uma"))
}

/// A fresh temporary directory for one test.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("uma-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
