//! Herds: many concurrent cold requests through one uma-hyper client. Counts the token and discovery
//! requests the AS received and the latency of each request, and the memory the run took.

use std::time::{Duration, Instant};

use uma_hyper::{Options, UmaClient};
use uma_testkit::{Dialect, Endpoint, Kit, KitConfig, ResourceDef};

use crate::alloc;
use crate::machine;
use crate::stats::percentile;
use crate::warm::uma_config;

/// One herd run.
#[derive(Debug, Clone)]
pub struct HerdRun {
    /// Concurrent requests.
    pub tasks: usize,
    /// Distinct resources they target.
    pub resources: usize,
    /// Token-endpoint requests the AS received.
    pub token_requests: usize,
    /// Discovery requests the AS received.
    pub discovery_requests: usize,
    /// Requests the RS received.
    pub rs_requests: usize,
    /// Requests that did not end in `200`.
    pub failures: usize,
    /// The first failure's error (secret-free `Display`) or status.
    pub first_failure: Option<String>,
    /// Median latency, ms (from the herd's release to each response).
    pub p50_ms: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
    /// Wall time of the whole herd, ms.
    pub wall_ms: f64,
    /// Peak RSS of the process during the run (KiB), when the kernel let us reset the mark first.
    pub peak_rss_kib: Option<u64>,
    /// Peak heap growth during the run (counting allocator; client and in-process servers), bytes.
    pub peak_heap_bytes: Option<isize>,
}

fn kit(resources: usize) -> std::io::Result<Kit> {
    let mut config = KitConfig::new(Dialect::Spec);
    config.rpt_lifetime = None;
    config.refresh_tokens = false;
    if resources > 1 {
        config.resources = (0..resources)
            .map(|i| {
                ResourceDef::read_write(
                    &format!("res-{i}"),
                    &format!("Resource {i}"),
                    &format!("/api/r{i}"),
                )
            })
            .collect();
    }
    Kit::start(config)
}

/// `tasks` cold requests at once, spread round-robin over `resources` resources, through one fresh client.
pub fn run(tasks: usize, resources: usize) -> Result<HerdRun, String> {
    let kit = kit(resources).map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let client = UmaClient::new(uma_config(&kit))
        .map_err(|e| e.to_string())?
        .with_options(
            Options::default()
                .with_exchange_timeout(Some(Duration::from_secs(20)))
                .with_request_timeout(Some(Duration::from_secs(60))),
        );
    let urls: Vec<String> = if resources > 1 {
        (0..resources)
            .map(|i| kit.rs_url(&format!("/api/r{i}")))
            .collect()
    } else {
        vec![kit.rs_url("/api/a")]
    };

    let rss_reset = machine::reset_peak_rss();
    alloc::enable();
    alloc::reset_peak();
    let heap_before = alloc::snapshot();
    let (latencies, (failures, first_failure), wall) = rt.block_on(async {
        let started = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|i| {
                let client = client.clone();
                let url = urls[i % urls.len()].clone();
                tokio::spawn(async move {
                    let failure = match client.get(&url).send().await {
                        Ok(r) if r.status() == 200 => None,
                        Ok(r) => Some(format!("status {}", r.status())),
                        Err(e) => Some(e.to_string()),
                    };
                    (failure, started.elapsed())
                })
            })
            .collect();
        let mut latencies = Vec::with_capacity(tasks);
        let mut failures = 0;
        let mut first_failure = None;
        for handle in handles {
            match handle.await {
                Ok((failure, elapsed)) => {
                    if let Some(f) = failure {
                        failures += 1;
                        first_failure.get_or_insert(f);
                    }
                    latencies.push(elapsed.as_secs_f64() * 1000.0);
                }
                Err(e) => {
                    failures += 1;
                    first_failure.get_or_insert(e.to_string());
                }
            }
        }
        (latencies, (failures, first_failure), started.elapsed())
    });
    let heap_after = alloc::snapshot();
    alloc::disable();
    let peak_rss_kib = if rss_reset {
        machine::peak_rss_kib()
    } else {
        None
    };
    let peak_heap_bytes =
        alloc::installed().then_some(heap_after.peak.saturating_sub(heap_before.live));
    Ok(HerdRun {
        tasks,
        resources,
        token_requests: kit.count_endpoint(Endpoint::Token),
        discovery_requests: kit.count_endpoint(Endpoint::Discovery),
        rs_requests: kit.count_endpoint(Endpoint::RsResource),
        failures,
        first_failure,
        p50_ms: percentile(&latencies, 50.0),
        p99_ms: percentile(&latencies, 99.0),
        wall_ms: wall.as_secs_f64() * 1000.0,
        peak_rss_kib,
        peak_heap_bytes,
    })
}
