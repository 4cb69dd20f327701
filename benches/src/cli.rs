//! The CLI against curl: `uma fetch --repeat N` and one curl process fetching the same URL N times with
//! a static `Authorization: Bearer …` header, against the same embedded resource server, rounds
//! interleaved. Client CPU is the child's user + system time (bash's `times`, which reads the
//! kernel's accounting of waited-for children); the servers run in this process and are not counted.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use uma_testkit::{Kit, Server};

use crate::stats::Summary;

/// The comparison's figures.
#[derive(Debug, Clone)]
pub struct CliResult {
    /// GETs per process run.
    pub requests: usize,
    /// curl: client CPU µs per GET, per round.
    pub curl_cpu_us: Summary,
    /// uma: client CPU µs per GET, per round.
    pub uma_cpu_us: Summary,
    /// uma ÷ curl CPU per GET, per round.
    pub cpu_ratio: Summary,
    /// curl: wall-clock ms per run.
    pub curl_wall_ms: Summary,
    /// uma: wall-clock ms per run.
    pub uma_wall_ms: Summary,
    /// uma ÷ curl wall-clock, per round.
    pub wall_ratio: Summary,
    /// `curl --version`, first line.
    pub curl_version: String,
}

/// Where the `uma` binary is: next to this one (`cargo build --release -p uma-cli`).
fn uma_binary() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = exe.parent().ok_or("no directory for the bench binary")?;
    let uma = dir.join("uma");
    if uma.is_file() {
        Ok(uma)
    } else {
        Err("the `uma` binary is not built next to uma-bench (run `cargo build --release -p uma-cli` first)".into())
    }
}

/// Runs `program args…` under `bash -c '…; times'` (bash's `times` reads `getrusage`, to the millisecond): returns the child's CPU seconds (user + system),
/// the wall-clock time and whether it exited 0.
fn timed(program: &Path, args: &[String], env: &[(&str, &str)]) -> Result<(f64, Duration), String> {
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(r#""$@" >/dev/null 2>&1; s=$?; times; exit $s"#)
        .arg("bash")
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let output = cmd.output().map_err(|e| format!("cannot run bash: {e}"))?;
    let wall = started.elapsed();
    if !output.status.success() {
        return Err(format!(
            "{} exited with {}",
            program.display(),
            output.status
        ));
    }
    // `times` prints two lines: the shell's user and system time, then its children's.
    let text = String::from_utf8_lossy(&output.stdout);
    let children = text
        .lines()
        .filter(|l| l.contains('m') && l.contains('s'))
        .nth(1)
        .ok_or_else(|| format!("no `times` output: {text:?}"))?;
    let cpu: f64 = children
        .split_whitespace()
        .map(shell_seconds)
        .collect::<Option<Vec<f64>>>()
        .ok_or_else(|| format!("cannot read `times` output {children:?}"))?
        .iter()
        .sum();
    Ok((cpu, wall))
}

/// `1m2.345s` → 62.345.
fn shell_seconds(s: &str) -> Option<f64> {
    let (m, rest) = s.split_once('m')?;
    let secs = rest.strip_suffix('s')?;
    Some(m.parse::<f64>().ok()? * 60.0 + secs.parse::<f64>().ok()?)
}

/// `curl --version`, first line.
fn curl_version() -> Result<String, String> {
    let out = Command::new("curl")
        .arg("--version")
        .output()
        .map_err(|e| format!("curl is not installed: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or("curl")
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" "))
}

/// Runs `rounds` interleaved rounds of `requests` GETs each side against `kit`'s `/api/a`.
pub fn run(kit: &Kit, rounds: usize, requests: usize) -> Result<CliResult, String> {
    let uma = uma_binary()?;
    let curl_version = curl_version()?;
    let url = kit.rs_url("/api/a");
    let uma_args: Vec<String> = [
        "fetch",
        "--issuer",
        &kit.issuer(),
        "--client-id",
        "app",
        "--allow-insecure-http",
        "-s",
        "--repeat",
        &requests.to_string(),
        &url,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let env = [("UMA_CLIENT_SECRET", "app-secret")];
    // One unmeasured uma run obtains an RPT (no expiry, no use limit); curl sends it as it is.
    timed(&uma, &uma_args, &env)?;
    let bearer = kit
        .log_of(Server::Rs)
        .last()
        .and_then(|r| r.header("authorization").map(str::to_owned))
        .ok_or("no RPT seen by the RS")?;
    // One curl process, N URLs (it reuses the connection), every body read and thrown away.
    let config = std::env::temp_dir().join(format!("uma-bench-curl-{}.conf", std::process::id()));
    {
        let mut f = std::fs::File::create(&config).map_err(|e| e.to_string())?;
        let mut text = format!("silent\nfail\nheader = \"Authorization: {bearer}\"\n");
        for _ in 0..requests {
            // No `output`: bodies go to standard output, which is /dev/null (no file opened per URL).
            text.push_str(&format!("url = \"{url}\"\n"));
        }
        f.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
    }
    let curl = PathBuf::from("curl");
    let curl_args = vec!["--config".to_string(), config.display().to_string()];
    let result = (|| {
        timed(&curl, &curl_args, &[])?;
        let (mut c_cpu, mut u_cpu, mut cpu_ratio) = (Vec::new(), Vec::new(), Vec::new());
        let (mut c_wall, mut u_wall, mut wall_ratio) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            let (c, u) = if round % 2 == 0 {
                let c = timed(&curl, &curl_args, &[])?;
                (c, timed(&uma, &uma_args, &env)?)
            } else {
                let u = timed(&uma, &uma_args, &env)?;
                (timed(&curl, &curl_args, &[])?, u)
            };
            let per = |cpu: f64| cpu * 1e6 / requests.max(1) as f64;
            c_cpu.push(per(c.0));
            u_cpu.push(per(u.0));
            cpu_ratio.push(u.0 / c.0.max(1e-6));
            c_wall.push(c.1.as_secs_f64() * 1e3);
            u_wall.push(u.1.as_secs_f64() * 1e3);
            wall_ratio.push(u.1.as_secs_f64() / c.1.as_secs_f64().max(1e-9));
        }
        Ok(CliResult {
            requests,
            curl_cpu_us: Summary::of(&c_cpu),
            uma_cpu_us: Summary::of(&u_cpu),
            cpu_ratio: Summary::of(&cpu_ratio),
            curl_wall_ms: Summary::of(&c_wall),
            uma_wall_ms: Summary::of(&u_wall),
            wall_ratio: Summary::of(&wall_ratio),
            curl_version: curl_version.clone(),
        })
    })();
    let _ = std::fs::remove_file(&config);
    result
}
