//! Fleet figures for the shared RPT store (`uma-redis`): cold herds in several processes, sequential
//! CLI runs with a cache file, and the warm path with the store enabled. Needs `redis-server` (started
//! here on a free loopback port, no persistence) and, for the CLI rows, the `uma` binary next to this
//! one (`cargo build --release -p uma-cli`). Run with `cargo run --release -p uma-bench -- --only fleet`.

use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use uma_core::record::RptRecord;
use uma_core::secret::AccessToken;
use uma_core::store::{AsyncRptStore, LockToken, Lookup, SharedKey, StoreFuture};
use uma_hyper::{Options, SharedStore, UmaClient};
use uma_redis::{Keyring, RedisStore};
use uma_testkit::{Dialect, Endpoint, Fault, Kit, KitConfig};

use crate::stats::Summary;
use crate::warm::uma_config;

/// The sealing key of the benchmark's store.
const SECRET: [u8; 32] = [0x5a; 32];

/// How much work the fleet section does.
#[derive(Debug, Clone)]
pub struct FleetParams {
    /// Processes of the cold herd.
    pub processes: usize,
    /// Concurrent cold tasks per process.
    pub tasks: usize,
    /// Sequential CLI runs.
    pub cli_runs: usize,
    /// Interleaved warm-path rounds.
    pub warm_rounds: usize,
    /// Requests per warm-path round per client.
    pub warm_requests: usize,
    /// Concurrent tasks of the warm path.
    pub warm_tasks: usize,
}

impl Default for FleetParams {
    fn default() -> Self {
        Self {
            processes: 4,
            tasks: 250,
            cli_runs: 10,
            warm_rounds: 15,
            warm_requests: 2000,
            warm_tasks: 8,
        }
    }
}

struct Redis(Child, u16);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn redis() -> Result<Redis, String> {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("redis-server: {e}"))?;
    let redis = Redis(child, port);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err("redis-server did not listen".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(redis)
}

impl Redis {
    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.1)
    }
}

/// One cold herd over several processes.
#[derive(Debug, Clone)]
pub struct HerdRow {
    /// Whether the processes shared the store.
    pub store: bool,
    /// Token requests the AS received.
    pub token_requests: usize,
    /// Requests that did not end in 200.
    pub failures: usize,
    /// Wall time from spawning the processes to the last exit, ms.
    pub wall_ms: f64,
}

/// Sequential CLI runs.
#[derive(Debug, Clone)]
pub struct CliRow {
    /// `--cache FILE` or none.
    pub cache: bool,
    /// Runs.
    pub runs: usize,
    /// Token requests the AS received.
    pub token_requests: usize,
    /// Discovery requests the AS received.
    pub discovery_requests: usize,
    /// Median wall time per run, ms.
    pub run_ms: Summary,
}

/// The warm path with and without the store.
#[derive(Debug, Clone)]
pub struct WarmRow {
    /// Requests per second without the store.
    pub without: Summary,
    /// Requests per second with the store.
    pub with: Summary,
    /// with ÷ without, per round.
    pub ratio: Summary,
    /// Store calls made during the warm rounds.
    pub store_calls: u64,
    /// Failed requests.
    pub errors: usize,
}

/// Everything the fleet section measured.
#[derive(Debug, Clone, Default)]
pub struct Fleet {
    /// Cold herds.
    pub herds: Vec<HerdRow>,
    /// CLI runs.
    pub cli: Vec<CliRow>,
    /// Warm path.
    pub warm: Option<WarmRow>,
    /// What could not be measured.
    pub errors: Vec<String>,
}

/// Runs the fleet benchmarks.
pub fn run(params: &FleetParams, progress: &mut dyn FnMut(&str)) -> Fleet {
    let mut fleet = Fleet::default();
    let redis = match redis() {
        Ok(r) => r,
        Err(e) => {
            fleet.errors.push(format!("fleet: {e}"));
            return fleet;
        }
    };
    for store in [true, false] {
        progress(&format!(
            "fleet: {} processes x {} cold tasks, store {}",
            params.processes,
            params.tasks,
            if store { "on" } else { "off" }
        ));
        match herd(&redis, params, store) {
            Ok(row) => fleet.herds.push(row),
            Err(e) => fleet.errors.push(format!("fleet herd: {e}")),
        }
    }
    for cache in [true, false] {
        progress(&format!(
            "fleet: {} sequential uma fetch runs",
            params.cli_runs
        ));
        match cli(params.cli_runs, cache) {
            Ok(row) => fleet.cli.push(row),
            Err(e) => fleet.errors.push(format!("fleet cli: {e}")),
        }
    }
    progress("fleet: warm path with and without the store");
    match warm(&redis, params) {
        Ok(row) => fleet.warm = Some(row),
        Err(e) => fleet.errors.push(format!("fleet warm: {e}")),
    }
    fleet
}

fn kit() -> Result<Kit, String> {
    let mut config = KitConfig::new(Dialect::Spec);
    config.rpt_lifetime = None;
    config.refresh_tokens = false;
    Kit::start(config).map_err(|e| e.to_string())
}

fn herd(redis: &Redis, params: &FleetParams, store: bool) -> Result<HerdRow, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let kit = kit()?;
    // A token endpoint as slow as a real one under load: every process's herd meets the exchange.
    kit.set_fault(
        Endpoint::Token,
        Some(Fault::Delay(Duration::from_millis(300))),
    );
    let started = Instant::now();
    let children: Vec<_> = (0..params.processes)
        .map(|_| {
            Command::new(&exe)
                .arg("--fleet-worker")
                .env("UMA_FLEET_REDIS", redis.url())
                .env("UMA_FLEET_TASKS", params.tasks.to_string())
                .env("UMA_FLEET_STORE", if store { "1" } else { "0" })
                .env("UMA_FLEET_ISSUER", kit.issuer())
                .env("UMA_FLEET_URL", kit.rs_url("/api/a"))
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
        })
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let mut failures = 0;
    for child in children {
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&out.stdout);
        let failed = text
            .lines()
            .find_map(|l| l.strip_prefix("fleet-worker failures="))
            .and_then(|n| n.trim().parse::<usize>().ok());
        failures += failed.unwrap_or(params.tasks);
    }
    Ok(HerdRow {
        store,
        token_requests: kit.count_endpoint(Endpoint::Token),
        failures,
        wall_ms: started.elapsed().as_secs_f64() * 1e3,
    })
}

/// The child process of the herd: `UMA_FLEET_TASKS` concurrent cold requests through one client,
/// sharing the store at `UMA_FLEET_REDIS` when `UMA_FLEET_STORE=1`. Prints `fleet-worker failures=N`.
pub fn worker() -> Result<(), String> {
    let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} not set"));
    let tasks: usize = var("UMA_FLEET_TASKS")?
        .parse()
        .map_err(|_| "bad UMA_FLEET_TASKS")?;
    let issuer = var("UMA_FLEET_ISSUER")?;
    let url = var("UMA_FLEET_URL")?;
    let mut options = Options::default()
        .with_exchange_timeout(Some(Duration::from_secs(30)))
        .with_request_timeout(Some(Duration::from_secs(120)));
    if var("UMA_FLEET_STORE")? == "1" {
        let store = RedisStore::open(&var("UMA_FLEET_REDIS")?, Keyring::new(1, SECRET))
            .map_err(|e| e.to_string())?
            .with_timeout(Duration::from_millis(500));
        options = options.with_shared_store(SharedStore::new(store));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let failures = runtime.block_on(async move {
        let config = match uma_core::discovery::Issuer::parse(&issuer) {
            Ok(i) => uma_core::Config::new()
                .with_authorization_server(uma_core::AuthorizationServer::new(
                    i,
                    uma_core::auth::ClientCredentials::basic("app", "app-secret"),
                ))
                .allow_insecure_http(true),
            Err(_) => uma_core::Config::new(),
        };
        let client = match UmaClient::new(config) {
            Ok(c) => c.with_options(options),
            Err(_) => return tasks,
        };
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let (client, url) = (client.clone(), url.clone());
                tokio::spawn(async move {
                    client
                        .get(&url)
                        .send()
                        .await
                        .map(|r| r.status().as_u16() == 200)
                        .unwrap_or(false)
                })
            })
            .collect();
        let mut failures = 0;
        for h in handles {
            if !h.await.unwrap_or(false) {
                failures += 1;
            }
        }
        failures
    });
    println!("fleet-worker failures={failures}");
    Ok(())
}

fn uma_binary() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let uma = exe.with_file_name(format!("uma{}", std::env::consts::EXE_SUFFIX));
    if uma.is_file() {
        Ok(uma)
    } else {
        Err(format!(
            "no `uma` binary beside {} (cargo build --release -p uma-cli)",
            exe.display()
        ))
    }
}

fn cli(runs: usize, cache: bool) -> Result<CliRow, String> {
    let uma = uma_binary()?;
    let kit = kit()?;
    let dir = std::env::temp_dir().join(format!("uma-bench-fleet-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let file = dir.join("cache.json");
    let mut times = Vec::new();
    for _ in 0..runs {
        let mut cmd = Command::new(&uma);
        cmd.args(["fetch", "--no-body", "--issuer", &kit.issuer()])
            .args(["--client-id", "app", "--client-secret", "app-secret"])
            .arg("--allow-insecure-http")
            .env_remove("UMA_CACHE")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if cache {
            cmd.arg("--cache").arg(&file);
        }
        cmd.arg(kit.rs_url("/api/a"));
        let started = Instant::now();
        let out = cmd.output().map_err(|e| e.to_string())?;
        times.push(started.elapsed().as_secs_f64() * 1e3);
        if !out.status.success() {
            return Err(format!(
                "uma fetch failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(CliRow {
        cache,
        runs,
        token_requests: kit.count_endpoint(Endpoint::Token),
        discovery_requests: kit.count_endpoint(Endpoint::Discovery),
        run_ms: Summary::of(&times),
    })
}

/// Counts every call into the store it wraps.
struct Counting {
    inner: RedisStore,
    calls: Arc<AtomicU64>,
}

impl AsyncRptStore for Counting {
    fn get<'a>(&'a self, key: &'a SharedKey) -> StoreFuture<'a, Lookup> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.get(key)
    }
    fn put<'a>(
        &'a self,
        key: &'a SharedKey,
        record: &'a RptRecord,
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.put(key, record, ttl)
    }
    fn try_lock<'a>(
        &'a self,
        key: &'a SharedKey,
        ttl: Duration,
    ) -> StoreFuture<'a, Option<LockToken>> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.try_lock(key, ttl)
    }
    fn unlock<'a>(&'a self, key: &'a SharedKey, token: &'a LockToken) -> StoreFuture<'a, ()> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.unlock(key, token)
    }
    fn delete_if<'a>(
        &'a self,
        key: &'a SharedKey,
        token: &'a AccessToken,
    ) -> StoreFuture<'a, bool> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.delete_if(key, token)
    }
}

fn warm(redis: &Redis, params: &FleetParams) -> Result<WarmRow, String> {
    let kit = kit()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let calls = Arc::new(AtomicU64::new(0));
    let store = Counting {
        inner: RedisStore::open(&redis.url(), Keyring::new(1, SECRET))
            .map_err(|e| e.to_string())?,
        calls: Arc::clone(&calls),
    };
    let url = kit.rs_url("/api/a");
    runtime.block_on(async {
        let plain = UmaClient::new(uma_config(&kit)).map_err(|e| e.to_string())?;
        let shared = UmaClient::new(uma_config(&kit))
            .map_err(|e| e.to_string())?
            .with_options(Options::default().with_shared_store(SharedStore::new(store)));
        for c in [&plain, &shared] {
            let status = c
                .get(&url)
                .send()
                .await
                .map_err(|e| e.to_string())?
                .status();
            if status != 200 {
                return Err(format!("cold request: {status}"));
            }
        }
        let before = calls.load(Ordering::Relaxed);
        let (mut without, mut with, mut ratio, mut errors) =
            (Vec::new(), Vec::new(), Vec::new(), 0);
        for round in 0..=params.warm_rounds {
            let order = if round % 2 == 0 {
                [&plain, &shared]
            } else {
                [&shared, &plain]
            };
            let mut rates = [0.0; 2];
            for c in order {
                let (rate, failed) = rate(c, &url, params.warm_requests, params.warm_tasks).await;
                errors += failed;
                let i = usize::from(std::ptr::eq(c, &shared));
                rates[i] = rate;
            }
            if round == 0 {
                continue; // unmeasured warm-up round
            }
            without.push(rates[0]);
            with.push(rates[1]);
            ratio.push(rates[1] / rates[0]);
        }
        Ok(WarmRow {
            without: Summary::of(&without),
            with: Summary::of(&with),
            ratio: Summary::of(&ratio),
            store_calls: calls.load(Ordering::Relaxed) - before,
            errors,
        })
    })
}

type Client = UmaClient<uma_hyper::HttpsClientConnector>;

async fn rate(client: &Client, url: &str, requests: usize, tasks: usize) -> (f64, usize) {
    let started = Instant::now();
    let per_task = requests.div_ceil(tasks.max(1));
    let handles: Vec<_> = (0..tasks.max(1))
        .map(|_| {
            let (client, url) = (client.clone(), url.to_owned());
            tokio::spawn(async move {
                let mut failed = 0;
                for _ in 0..per_task {
                    match client.get(&url).send().await {
                        Ok(r) if r.status() == 200 => {}
                        _ => failed += 1,
                    }
                }
                failed
            })
        })
        .collect();
    let mut failed = 0;
    for h in handles {
        failed += h.await.unwrap_or(per_task);
    }
    let total = per_task * tasks.max(1);
    (total as f64 / started.elapsed().as_secs_f64(), failed)
}

/// The report section.
pub fn section(fleet: &Fleet, params: &FleetParams, missed: &mut Vec<String>) -> String {
    let mut md = String::from(
        "## 8. Fleet: replicas sharing RPTs through Redis (goals: one exchange per fleet, one per CLI cache, warm ratio ≥ 0.98)\n\n",
    );
    let _ = writeln!(
        md,
        "Method: `cargo run --release -p uma-bench -- --only fleet`. A real `redis-server` on a loopback \
         port (no persistence) and the testkit (spec dialect, RPTs without expiry, token endpoint delayed \
         300 ms so that every process's herd meets the exchange in flight). Herd: {} processes (this \
         binary re-run as workers), each one `UmaClient` with {} concurrent cold requests for one resource, \
         all started together, with and without `uma-redis` as shared store. CLI: {} sequential `uma fetch` \
         runs, with `--cache FILE` and without. Warm path: one `UmaClient` with the store and one without, \
         both warm, {} tasks × {} requests per round, {} interleaved rounds after one unmeasured; the \
         store is wrapped in a counter of its calls.\n",
        params.processes,
        params.tasks,
        params.cli_runs,
        params.warm_tasks,
        params.warm_requests,
        params.warm_rounds
    );
    if !fleet.herds.is_empty() {
        md.push_str("| herd | token requests | failures | wall ms |\n|---|---:|---:|---:|\n");
        for h in &fleet.herds {
            let name = format!(
                "{} processes × {} cold tasks, store {}",
                params.processes,
                params.tasks,
                if h.store { "on" } else { "off" }
            );
            let _ = writeln!(
                md,
                "| {name} | **{}** | {} | {:.0} |",
                h.token_requests, h.failures, h.wall_ms
            );
            if h.store && h.token_requests != 1 {
                missed.push(format!(
                    "fleet herd with the store: {} token requests (goal 1)",
                    h.token_requests
                ));
            }
        }
        md.push('\n');
    }
    if !fleet.cli.is_empty() {
        md.push_str(
            "| CLI | runs | token requests | discovery | ms per run |\n|---|---:|---:|---:|---:|\n",
        );
        for c in &fleet.cli {
            let name = if c.cache {
                "`uma fetch --cache FILE`"
            } else {
                "`uma fetch`"
            };
            let _ = writeln!(
                md,
                "| {name} | {} | **{}** | {} | {} |",
                c.runs,
                c.token_requests,
                c.discovery_requests,
                c.run_ms.show(1)
            );
            if c.cache && c.token_requests != 1 {
                missed.push(format!(
                    "CLI with a cache file: {} token requests (goal 1)",
                    c.token_requests
                ));
            }
        }
        md.push('\n');
    }
    if let Some(w) = &fleet.warm {
        md.push_str(
            "| warm path | without store req/s | with store req/s | ratio | store calls | errors |\n|---|---:|---:|---:|---:|---:|\n",
        );
        let _ = writeln!(
            md,
            "| uma-hyper, {} tasks | {} | {} | **{}** | {} | {} |",
            params.warm_tasks,
            w.without.show(0),
            w.with.show(0),
            w.ratio.show(3),
            w.store_calls,
            w.errors
        );
        md.push('\n');
        if w.ratio.median < 0.98 || w.store_calls != 0 {
            missed.push(format!(
                "fleet warm path: ratio {:.3}, {} store calls (goal ≥ 0.98, 0)",
                w.ratio.median, w.store_calls
            ));
        }
    }
    for e in &fleet.errors {
        let _ = writeln!(md, "- not measured: {e}");
    }
    md
}
