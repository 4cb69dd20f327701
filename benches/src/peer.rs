//! The Python peer `requests-oauthlib-uma` (UMA2Session), re-run: the same steps as
//! [`crate::roundtrips`], plus alternating two resources, through the peer and through uma-ureq against
//! one fresh Keycloak-dialect testkit each (the peer authenticates its RPT requests with the user's
//! access token as a Bearer token, which only the Keycloak dialect accepts). Requests are counted
//! from the kit's log.
//!
//! The interpreter is `$UMA_BENCH_PYTHON` (default `python3`); it must import `requests_oauthlib_uma`
//! (`pip install requests-oauthlib-uma`).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use uma_testkit::{Dialect, Kit, KitConfig};
use uma_ureq::UmaClient;

use crate::warm::uma_config;

/// The driver script, run with `python -c`.
const SCRIPT: &str = include_str!("../peer/requests_oauthlib_uma_steps.py");

/// Alternating GETs counted for the ping-pong row.
pub const ALTERNATING: usize = 6;

/// One step through both clients.
#[derive(Debug, Clone)]
pub struct PeerStep {
    /// What the step was.
    pub step: &'static str,
    /// GETs the application made in the step.
    pub gets: usize,
    /// Requests the kit received through uma-ureq, and the final statuses.
    pub uma: (usize, String),
    /// Requests the kit received through the peer, and the final statuses.
    pub peer: (usize, String),
}

/// The run.
#[derive(Debug, Clone)]
pub struct PeerRun {
    /// `Python 3.x, requests-oauthlib-uma 0.y.z`.
    pub versions: String,
    /// The steps, in order.
    pub steps: Vec<PeerStep>,
}

/// The steps: (label, paths GETted in order).
fn steps() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut alternating = Vec::new();
    for i in 0..ALTERNATING {
        alternating.push(if i % 2 == 0 { "/api/b" } else { "/api/a" });
    }
    vec![
        ("cold start (GET /api/a)", vec!["/api/a"]),
        ("new resource, known AS (GET /api/b)", vec!["/api/b"]),
        (
            "cached RPT, same resource (GET /api/b again)",
            vec!["/api/b"],
        ),
        (
            "cached RPT, the other resource (GET /api/a again)",
            vec!["/api/a"],
        ),
        ("alternating two resources (b, a, b, a, b, a)", alternating),
    ]
}

/// Runs every step with `send` against `kit`: requests logged and statuses per step.
fn scenario(
    kit: &Kit,
    mut send: impl FnMut(&str) -> Result<String, String>,
) -> Result<Vec<(usize, String)>, String> {
    let mut out = Vec::new();
    for (_, paths) in steps() {
        let before = kit.log().len();
        let mut statuses = Vec::new();
        for path in paths {
            statuses.push(send(&kit.rs_url(path))?);
        }
        statuses.dedup();
        out.push((kit.log().len() - before, statuses.join("/")));
    }
    Ok(out)
}

fn keycloak_kit() -> Result<Kit, String> {
    Kit::start(KitConfig::new(Dialect::keycloak())).map_err(|e| e.to_string())
}

/// Runs the steps through uma-ureq and through the peer.
pub fn run() -> Result<PeerRun, String> {
    let kit = keycloak_kit()?;
    let agent = UmaClient::from_ureq(ureq::Agent::new_with_defaults(), uma_config(&kit));
    // Both act for alice: the Keycloak-dialect resource server issues tickets to requests that carry
    // her access token.
    agent.set_access_token(kit.access_token_for("alice"));
    let uma = scenario(&kit, |url| {
        agent
            .get(url)
            .send()
            .map(|r| r.status().as_u16().to_string())
            .map_err(|e| format!("uma-ureq: {e}"))
    })?;
    drop(kit);

    let kit = keycloak_kit()?;
    let python = std::env::var("UMA_BENCH_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let mut child = Command::new(&python)
        .arg("-c")
        .arg(SCRIPT)
        .arg(kit.access_token_for("alice"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill();
        return Err("no pipes to the Python peer".into());
    };
    let mut lines = BufReader::new(stdout).lines();
    let ready = lines.next().and_then(Result::ok).unwrap_or_default();
    let Some(versions) = ready.strip_prefix("ready ") else {
        let _ = child.kill();
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut err);
        }
        let _ = child.wait();
        let last = err.lines().last().unwrap_or("no output").to_string();
        return Err(format!("the Python peer did not start ({python}): {last}"));
    };
    let (py, pkg) = versions.split_once(' ').unwrap_or((versions, "?"));
    let versions = format!("Python {py}, requests-oauthlib-uma {pkg}");
    let peer = scenario(&kit, |url| {
        writeln!(stdin, "{url}").map_err(|e| format!("peer: {e}"))?;
        stdin.flush().map_err(|e| format!("peer: {e}"))?;
        lines
            .next()
            .and_then(Result::ok)
            .ok_or_else(|| "the Python peer stopped".to_string())
    });
    drop(stdin);
    let _ = child.wait();
    let peer = peer?;
    let steps = steps()
        .into_iter()
        .zip(uma)
        .zip(peer)
        .map(|(((step, paths), uma), peer)| PeerStep {
            step,
            gets: paths.len(),
            uma,
            peer,
        })
        .collect();
    Ok(PeerRun { versions, steps })
}
