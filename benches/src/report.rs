//! Runs every benchmark and writes the Markdown report, each table with its method and machine.

use std::fmt::Write as _;
use std::time::Instant;

use uma_testkit::Dialect;

use crate::bodies::{self, BodyResult};
use crate::herd::{self, HerdRun};
use crate::machine::Machine;
use crate::memory::{self, MemoryFigure};
use crate::micro::{self, MicroResult};
use crate::roundtrips::{self, STEP_CACHED_A, STEP_CACHED_B, STEP_COLD, STEP_NEW, StepCount};
use crate::warm::{self, WarmResult};
use crate::{Params, Report};

const WARM_GOAL: f64 = 0.95;

struct Collected {
    warm: Vec<WarmResult>,
    bodies: Vec<BodyResult>,
    steps: Vec<StepCount>,
    herds: Vec<HerdRun>,
    micro: Vec<MicroResult>,
    memory: Vec<MemoryFigure>,
    errors: Vec<String>,
}

fn collect(params: &Params, progress: &mut dyn FnMut(&str)) -> Collected {
    let mut c = Collected {
        warm: Vec::new(),
        bodies: Vec::new(),
        steps: Vec::new(),
        herds: Vec::new(),
        micro: Vec::new(),
        memory: Vec::new(),
        errors: Vec::new(),
    };
    if params.runs("micro") {
        progress("micro-benchmarks");
        c.micro = micro::all(params.micro_batches, params.micro_batch);
    }
    if params.runs("memory") {
        progress("memory");
        let n = params.memory_n;
        c.memory = vec![
            memory::per_rpt(n, 43),
            memory::per_rpt(n, 1200),
            memory::per_started_flow(n),
            memory::per_parked_flow(n),
        ];
    }
    if params.runs("roundtrips") {
        progress("round trips");
        for result in [
            roundtrips::with_hyper(Dialect::Spec),
            roundtrips::with_ureq(Dialect::Spec),
            roundtrips::with_hyper(Dialect::Gluu),
        ] {
            match result {
                Ok(steps) => c.steps.extend(steps),
                Err(e) => c.errors.push(format!("round trips: {e}")),
            }
        }
    }
    let warm_kit = if params.runs("warm") || params.runs("bodies") {
        Some(warm::start_kit())
    } else {
        None
    };
    match warm_kit {
        None => {}
        Some(Ok(kit)) if !params.runs("warm") => {
            progress("large bodies");
            let (results, errors) = bodies::all(&kit, params.body_bytes, params.body_rounds);
            c.bodies = results;
            c.errors.extend(errors);
        }
        Some(Ok(kit)) => {
            if params.runs("bodies") {
                progress("large bodies");
                let (results, errors) = bodies::all(&kit, params.body_bytes, params.body_rounds);
                c.bodies = results;
                c.errors.extend(errors);
            }
            for &conc in &params.hyper_concurrency {
                progress(&format!("warm path: uma-hyper vs hyper-util, {conc} tasks"));
                match warm::hyper(&kit, params.warm_rounds, params.warm_requests, conc) {
                    Ok(r) => c.warm.push(r),
                    Err(e) => c.errors.push(format!("warm uma-hyper: {e}")),
                }
            }
            for &threads in &params.ureq_threads {
                progress(&format!("warm path: uma-ureq vs ureq, {threads} threads"));
                match warm::ureq(&kit, params.warm_rounds, params.warm_requests, threads) {
                    Ok(r) => c.warm.push(r),
                    Err(e) => c.errors.push(format!("warm uma-ureq: {e}")),
                }
            }
        }
        Some(Err(e)) => c.errors.push(format!("warm path kit: {e}")),
    }
    let herds = if params.runs("herd") {
        &[1, 10][..]
    } else {
        &[]
    };
    for &resources in herds {
        for round in 0..params.herd_rounds {
            progress(&format!(
                "herd: {} tasks over {resources} resource(s), round {}",
                params.herd_tasks,
                round + 1
            ));
            match herd::run(params.herd_tasks, resources) {
                Ok(r) => c.herds.push(r),
                Err(e) => c.errors.push(format!("herd: {e}")),
            }
        }
    }
    c
}

pub(crate) fn run(params: &Params, progress: &mut dyn FnMut(&str)) -> Report {
    let started = Instant::now();
    let machine = Machine::detect();
    let mut c = collect(params, progress);
    // Only by name: it needs redis-server (and the `uma` binary beside this one).
    let fleet = params
        .only
        .iter()
        .any(|s| s == "fleet")
        .then(|| crate::fleet::run(&params.fleet, progress));
    let mut missed = Vec::new();
    let mut body = [
        warm_section(&c.warm, &mut missed),
        bodies::section(&c.bodies, &mut missed),
        steps_section(&c.steps, &mut missed),
        herd_section(&c.herds, params, &mut missed),
        micro_section(&c.micro),
        memory_section(&c.memory, &c.herds),
    ]
    .concat();
    if let Some(fleet) = &fleet {
        body.push_str(&crate::fleet::section(fleet, &params.fleet, &mut missed));
        c.errors.extend(fleet.errors.iter().cloned());
    }

    let mut md = String::new();
    let _ = writeln!(md, "# Benchmarks\n");
    let _ = writeln!(
        md,
        "Produced by `cargo run --release -p uma-bench` (the whole suite, about {:.0} s here; loopback \
         only: the embedded testkit servers run in the same process on their own 2-thread runtime). \
         Criterion runs of the core micro-benchmarks: `cargo bench -p uma-bench`.\n",
        started.elapsed().as_secs_f64()
    );
    let _ = writeln!(
        md,
        "**Machine:** {}. Load average (1/5/15 min) at start: {}; at end: {} (the machine is shared with \
         other work).\n",
        machine.line(),
        machine.loadavg,
        crate::machine::loadavg()
    );
    let _ = writeln!(
        md,
        "Spreads are `median (min–max, n=rounds)`. On a shared 2-core machine, client and servers compete \
         for the same cores, so absolute rates are low and noisy; the ratios of interleaved rounds are the \
         figures to read.\n"
    );
    md.push_str(&goals_section(&missed));
    md.push_str(&body);
    if !c.errors.is_empty() {
        let _ = writeln!(md, "## Measurements that failed\n");
        for e in &c.errors {
            let _ = writeln!(md, "- {e}");
        }
        md.push('\n');
    }
    Report {
        markdown: md,
        missed_goals: missed,
        errors: c.errors,
    }
}

fn goals_section(missed: &[String]) -> String {
    let mut md = String::from("## Goals\n\n");
    if missed.is_empty() {
        md.push_str("Every goal below was met in this run.\n\n");
    } else {
        md.push_str("Goals **not met** in this run:\n\n");
        for m in missed {
            let _ = writeln!(md, "- {m}");
        }
        md.push('\n');
    }
    md
}

fn warm_section(results: &[WarmResult], missed: &mut Vec<String>) -> String {
    let mut md = String::from("## 1. Warm-path overhead (goal: ratio ≥ 0.95)\n\n");
    md.push_str(
        "Method: one testkit (spec dialect, RPTs without expiry or use limit) serves `GET /api/a`. The adapter \
         makes one cold request (its RPT is then cached); the RPT it sent is read from the resource server's \
         log and the bare client sends it as a static `Authorization: Bearer …` header. Both clients are built \
         the same way (`hyper_util` legacy client over `HttpConnector`, given to `UmaClient::from_hyper` for \
         the adapter; `ureq::Agent::new_with_defaults()` for both ureq sides), both read every body to the \
         end, and both run in one process against the same server. After one unmeasured round each, rounds \
         alternate which side goes first; each round sends `requests` requests split over the tasks \
         (uma-hyper, one multi-thread runtime with 2 workers) or threads (uma-ureq). Ratio = adapter req/s ÷ \
         bare req/s of the same round.\n\n",
    );
    md.push_str(
        "| comparison | tasks/threads | requests/round | bare req/s | adapter req/s | ratio | extra µs/req (1/adapter − 1/bare) | errors |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in results {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | **{:.3}** ({:.3}–{:.3}) | {:.1} | {} |",
            r.label,
            r.concurrency,
            r.requests,
            r.raw.show(0),
            r.uma.show(0),
            r.ratio.median,
            r.ratio.min,
            r.ratio.max,
            cost_us(r.raw.median, r.uma.median),
            r.errors
        );
        if r.ratio.median < WARM_GOAL {
            missed.push(format!(
                "warm path, {} at {} tasks/threads: ratio {:.3} (goal ≥ {WARM_GOAL})",
                r.label, r.concurrency, r.ratio.median
            ));
        }
        if r.errors > 0 {
            missed.push(format!(
                "warm path, {}: {} failed requests",
                r.label, r.errors
            ));
        }
    }
    md.push_str(
        "\nWhere the time goes (a one-off `perf record` of 32 tasks × 3,000 warm requests per side, same \
         process layout; not re-measured by this runner): the whole process (client and in-process server) \
         spent about 36.7 µs of CPU per request with the bare client and 44.6 µs through uma-hyper, so the \
         adapter costs about 8 µs of CPU per request, spread thinly: moving large values (`memmove`, +0.9 µs: \
         the flow, its steps and the request/response are moved by value through the drive loop, and the \
         response body is copied once by `Vec::from(Bytes)` in `engine::exchange`), about 30 more allocations \
         (malloc/free/realloc, +0.8 µs), two tokio timers per request (the overall and the per-exchange \
         `timeout`: wheel insert/remove, clock reads, +0.7 µs; since then folded into one deadline per await), \
         SipHash lookups of the String-keyed caches (+0.35 µs; since then looked up without allocating), the core's own work (`Flow::send_resource_with`, `finish`, `rpt_set`, `origin_of`, \
         `format!` of the origin and the bearer header, ≈ 0.5 µs) and more kernel wake-ups. On loopback a \
         bare request costs only ~50 µs end to end, so these few µs show as a 0.7–0.8 ratio; across a real \
         network (≥ 0.5 ms per request) the same cost is ≤ 2 %.\n",
    );
    let diagnostics: Vec<&WarmResult> = results.iter().filter(|r| r.diagnostic.is_some()).collect();
    if !diagnostics.is_empty() {
        md.push_str(
            "\nDiagnostic side, interleaved in the same rounds (a third client, order rotated each round): \
             the bare ureq agent sending the same request with the per-request configuration uma-ureq applies \
             to every exchange. ureq 3.5's default resolver resolves the host on every request, pooled \
             connection or not, and runs the lookup on a freshly spawned thread whenever a global, per-call \
             or resolve timeout applies (`ureq::unversioned::resolver::DefaultResolver`); uma-ureq therefore \
             sets per-phase timeouts (connect, send, receive) instead of a global one. What remains is the \
             cost of a per-request configuration itself.\n\n\
             | threads | bare + per-request config req/s | adapter ÷ it |\n|---:|---:|---:|\n",
        );
        for r in diagnostics {
            if let Some((_, rate, ratio)) = &r.diagnostic {
                let _ = writeln!(
                    md,
                    "| {} | {} | **{:.3}** ({:.3}–{:.3}) |",
                    r.concurrency,
                    rate.show(0),
                    ratio.median,
                    ratio.min,
                    ratio.max
                );
            }
        }
    }
    md.push('\n');
    md
}

/// Extra time per request the adapter costs, from the median rates (`1/adapter − 1/bare`): latency at one
/// task or thread, machine time per request under concurrency.
fn cost_us(raw: f64, uma: f64) -> f64 {
    if raw <= 0.0 || uma <= 0.0 {
        return 0.0;
    }
    (1.0 / uma - 1.0 / raw) * 1e6
}

fn steps_section(steps: &[StepCount], missed: &mut Vec<String>) -> String {
    let mut md =
        String::from("## 2. Round trips per step (goals: cold 4, new resource 3, cached 1)\n\n");
    md.push_str(
        "Method: a fresh testkit and client per row group; each step is one application request, and the \
         count is every request the kit's servers logged while it ran (authorization server and resource \
         server). Deterministic: run-to-run spread is 0.\n\n",
    );
    md.push_str("| client, dialect | step | goal | requests | sequence | final status |\n|---|---|---:|---:|---|---:|\n");
    for s in steps {
        let mark = if s.requests == s.goal { "" } else { " ✗" };
        let _ = writeln!(
            md,
            "| {} | {} | {} | **{}**{mark} | {} | {} |",
            s.client, s.step, s.goal, s.requests, s.sequence, s.status
        );
        if s.requests != s.goal || s.status != 200 {
            missed.push(format!(
                "round trips, {} / {}: {} requests (goal {}), status {}",
                s.client, s.step, s.requests, s.goal, s.status
            ));
        }
    }
    let measured = |step: &str| {
        steps
            .iter()
            .find(|s| s.step == step)
            .map_or("–".to_string(), |s| s.requests.to_string())
    };
    let _ = write!(
        md,
        "\nFor comparison, the Python peer `requests-oauthlib-uma` 0.1.3 (figures from \
         `../shared/peers/requests-oauthlib-uma.md` (outside the repository) §3.8 and §5, cited, not re-run here; \
         the uma column is the first row group above):\n\n\
         | step | uma | Python peer | source |\n|---|---:|---:|---|\n\
         | cold start | {} | 4 | §3.8 wire contract: GET → 401, discovery, token, retry |\n\
         | new resource, known AS | {} | 4 | §5 B18: no discovery cache, 3 resources needing 3 flows → 12 requests, 3 of them discovery (§3.8 words it \"another 3, discovery is repeated\") |\n\
         | cached RPT, same resource | {} | 1 | §3.8 |\n\
         | cached RPTs, alternating two resources | {} | 4 | §5 B10 ping-pong: one RPT per session, 6 alternating GETs → 6 flows, 24 requests |\n\n",
        measured(STEP_COLD),
        measured(STEP_NEW),
        measured(STEP_CACHED_B),
        measured(STEP_CACHED_A),
    );
    md
}

fn herd_section(herds: &[HerdRun], params: &Params, missed: &mut Vec<String>) -> String {
    let mut md = format!(
        "## 3. Herd: {} concurrent cold requests through one uma-hyper client (goal: one exchange per resource)\n\n",
        params.herd_tasks
    );
    md.push_str(
        "Method: per row a fresh testkit (spec dialect) and a fresh `UmaClient` (no warm connections, no \
         artificial delay at the token endpoint); all tasks are spawned at once on a 2-worker runtime, \
         spread round-robin over the resources. Latency is measured from the release of the herd to each \
         response (so it includes the queueing of every task on 2 cores); p50/p99 are nearest-rank. Token and \
         discovery counts are from the kit's log. Peak RSS is `VmHWM` from /proc/self/status after resetting \
         it (`/proc/self/clear_refs`) just before the herd; it covers the whole process, including the \
         in-process servers. Peak heap is the counting allocator's peak heap growth during the herd (client \
         and servers). RS requests: a task whose first request left before its resource's RPT landed needs \
         2 (challenge, retry), one that left after needs 1; more means a task was refused again (tasks wait \
         only on the exchange for their own resource; the exchanges upgrade the origin's one RPT one at a \
         time, and an RPT being upgraded is not presented, since the kit's AS revokes it).\n\n",
    );
    md.push_str(
        "| resources | tasks | token requests | discovery | RS requests | failures | p50 ms | p99 ms | wall ms | peak RSS MiB | peak heap MiB |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for h in herds {
        let rss = h
            .peak_rss_kib
            .map_or("n/a".to_string(), |k| format!("{:.1}", k as f64 / 1024.0));
        let heap = h.peak_heap_bytes.map_or("n/a".to_string(), |b| {
            format!("{:.1}", b as f64 / 1048576.0)
        });
        let _ = writeln!(
            md,
            "| {} | {} | **{}** | {} | {} | {} | {:.1} | {:.1} | {:.1} | {rss} | {heap} |",
            h.resources,
            h.tasks,
            h.token_requests,
            h.discovery_requests,
            h.rs_requests,
            h.failures,
            h.p50_ms,
            h.p99_ms,
            h.wall_ms
        );
        if h.token_requests != h.resources || h.failures > 0 {
            missed.push(format!(
                "herd over {} resource(s): {} token requests (goal {}), {} failures{}",
                h.resources,
                h.token_requests,
                h.resources,
                h.failures,
                h.first_failure
                    .as_ref()
                    .map_or(String::new(), |f| format!(" (first: {f})"))
            ));
        }
    }
    md.push('\n');
    md
}

fn micro_section(results: &[MicroResult]) -> String {
    let mut md = String::from("## 4. Core micro-benchmarks\n\n");
    md.push_str(
        "Method: in-process loop in the runner: inputs prepared outside the timed region, then timed batches \
         (one unmeasured warm-up batch); ns/op is the batch time ÷ batch size, as `median (min–max, \
         n=batches)`. Allocations per operation are counted by the bench binary's counting global allocator \
         over one more batch. \"parse challenge\" is `uma_core::challenge::uma_candidates` on a 401 with one \
         `WWW-Authenticate` line (RFC 9110 parsing, UMA extraction and validation, lax mode). The flows run \
         `uma_core::Flow` against canned answers (building those answers is inside the timed region; the \
         cold flow also drops its client). `cargo bench -p uma-bench` measures the same workloads with \
         criterion.\n\n",
    );
    md.push_str("| benchmark | input bytes | ns/op | allocations/op |\n|---|---:|---:|---:|\n");
    for r in results {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            r.what,
            r.input_bytes.map_or("–".to_string(), |b| b.to_string()),
            r.ns.show(0),
            r.allocs.map_or("n/a".to_string(), |a| format!("{a:.1}"))
        );
    }
    md.push('\n');
    md
}

fn memory_section(figures: &[MemoryFigure], herds: &[HerdRun]) -> String {
    let mut md = String::from("## 5. Memory\n\n");
    md.push_str(
        "Method: the counting allocator's net heap growth while N items are created and held, divided by N \
         (hash-map capacity steps make this depend a little on N). RPT entries are created by canned cold \
         flows on N distinct resource-server origins of one client whose AS metadata is already cached; the \
         figure covers the cache slot, the RPT set, its path hint and the per-key exchange bookkeeping. \
         In-flight flows are created by `Flow::start` on a `GET` without body and held together with the \
         `Outgoing` a driver keeps while the exchange runs; parked flows are a herd on one origin where the \
         first flow runs discovery and the others park. Deterministic: spread 0.\n\n",
    );
    md.push_str("| item | N | heap bytes each |\n|---|---:|---:|\n");
    for f in figures {
        let _ = writeln!(md, "| {} | {} | {:.0} |", f.what, f.n, f.bytes_each);
    }
    let peaks: Vec<String> = herds
        .iter()
        .filter_map(|h| {
            h.peak_rss_kib
                .map(|k| format!("{:.1} MiB ({} resources)", k as f64 / 1024.0, h.resources))
        })
        .collect();
    if !peaks.is_empty() {
        let _ = writeln!(
            md,
            "\nPeak RSS of the herd runs (whole process, see §3): {}.",
            peaks.join(", ")
        );
    }
    md.push('\n');
    md
}
