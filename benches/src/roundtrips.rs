//! Round trips per step, counted from the testkit's request log (every request any server received).

use uma_testkit::{Dialect, Endpoint, Kit, KitConfig, LoggedRequest};

use crate::warm::uma_config;

/// One step of a scenario and what the servers saw during it.
#[derive(Debug, Clone)]
pub struct StepCount {
    /// Which client and dialect.
    pub client: String,
    /// What the step was.
    pub step: &'static str,
    /// The goal (requests).
    pub goal: usize,
    /// Requests the kit received during the step.
    pub requests: usize,
    /// Their endpoints, in order, e.g. `RS → discovery → token → RS`.
    pub sequence: String,
    /// The status the application finally got.
    pub status: u16,
}

/// The steps: cold start, a new resource on a known AS, then both resources again (cached RPTs).
const STEPS: [(&str, &str, usize); 4] = [
    (STEP_COLD, "/api/a", 4),
    (STEP_NEW, "/api/b", 3),
    (STEP_CACHED_B, "/api/b", 1),
    (STEP_CACHED_A, "/api/a", 1),
];

/// Step label: the first request of a fresh client.
pub const STEP_COLD: &str = "cold start (GET /api/a)";
/// Step label: another resource on the same RS and AS.
pub const STEP_NEW: &str = "new resource, known AS (GET /api/b)";
/// Step label: the resource just obtained, again.
pub const STEP_CACHED_B: &str = "cached RPT (GET /api/b again)";
/// Step label: back to the first resource (no ping-pong).
pub const STEP_CACHED_A: &str = "cached RPT (GET /api/a again)";

fn name(endpoint: Endpoint) -> &'static str {
    match endpoint {
        Endpoint::Discovery => "discovery",
        Endpoint::Token => "token",
        Endpoint::RsResource => "RS",
        Endpoint::Permission => "permission",
        Endpoint::Introspection => "introspection",
        _ => "other",
    }
}

fn sequence(entries: &[LoggedRequest]) -> String {
    entries
        .iter()
        .map(|r| name(r.endpoint))
        .collect::<Vec<_>>()
        .join(" → ")
}

fn dialect_name(dialect: &Dialect) -> &'static str {
    match dialect {
        Dialect::Spec => "spec",
        Dialect::Keycloak { .. } => "Keycloak",
        Dialect::Gluu => "Gluu/EOEPCA",
    }
}

/// Runs the steps with `send` (one application request, returns the final status) against a fresh kit.
fn scenario(
    client: &str,
    kit: &Kit,
    mut send: impl FnMut(&str) -> Result<u16, String>,
) -> Result<Vec<StepCount>, String> {
    let mut out = Vec::new();
    for (step, path, goal) in STEPS {
        let before = kit.log().len();
        let status = send(&kit.rs_url(path))?;
        let log = kit.log();
        let during = log.get(before..).unwrap_or_default();
        out.push(StepCount {
            client: client.to_string(),
            step,
            goal,
            requests: during.len(),
            sequence: sequence(during),
            status,
        });
    }
    Ok(out)
}

fn kit_for(dialect: Dialect) -> Result<Kit, String> {
    Kit::start(KitConfig::new(dialect)).map_err(|e| e.to_string())
}

/// The scenario through uma-ureq in `dialect`.
pub fn with_ureq(dialect: Dialect) -> Result<Vec<StepCount>, String> {
    let label = format!("uma-ureq, {}", dialect_name(&dialect));
    let kit = kit_for(dialect)?;
    let agent = uma_ureq::UmaClient::from_ureq(ureq::Agent::new_with_defaults(), uma_config(&kit));
    scenario(&label, &kit, |url| {
        agent
            .get(url)
            .send()
            .map(|r| r.status().as_u16())
            .map_err(|e| e.to_string())
    })
}

/// The scenario through uma-hyper in `dialect`.
pub fn with_hyper(dialect: Dialect) -> Result<Vec<StepCount>, String> {
    let label = format!("uma-hyper, {}", dialect_name(&dialect));
    let kit = kit_for(dialect)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let client = uma_hyper::UmaClient::new(uma_config(&kit)).map_err(|e| e.to_string())?;
    scenario(&label, &kit, |url| {
        rt.block_on(client.get(url).send())
            .map(|r| r.status().as_u16())
            .map_err(|e| e.to_string())
    })
}
