//! Runs every benchmark and writes the Markdown report, each table with its method and machine.

use std::fmt::Write as _;
use std::time::Instant;

use uma_testkit::Dialect;

use crate::bodies::{self, BodyResult};
use crate::callgrind::{self, Counted};
use crate::cli::{self, CliResult};
use crate::herd::{self, HerdRun};
use crate::machine::Machine;
use crate::memory::{self, MemoryFigure};
use crate::micro::{self, MicroResult};
use crate::peer::{self, PeerRun};
use crate::roundtrips::{self, StepCount};
use crate::warm::{self, WarmResult};
use crate::{Params, Report};

const WARM_GOAL: f64 = 0.95;

struct Collected {
    warm: Vec<WarmResult>,
    bodies: Vec<BodyResult>,
    steps: Vec<StepCount>,
    herds: Vec<HerdRun>,
    micro: Vec<MicroResult>,
    counted: Vec<Counted>,
    memory: Vec<MemoryFigure>,
    cli: Option<CliResult>,
    peer: Option<PeerRun>,
    errors: Vec<String>,
}

fn collect(params: &Params, progress: &mut dyn FnMut(&str)) -> Collected {
    let mut c = Collected {
        warm: Vec::new(),
        bodies: Vec::new(),
        steps: Vec::new(),
        herds: Vec::new(),
        micro: Vec::new(),
        counted: Vec::new(),
        memory: Vec::new(),
        cli: None,
        peer: None,
        errors: Vec::new(),
    };
    if params.runs("micro") {
        progress("micro-benchmarks");
        c.micro = micro::all(params.micro_batches, params.micro_batch);
    }
    if params.runs("callgrind") {
        progress("instructions per operation (valgrind --tool=callgrind)");
        let (counted, errors) = callgrind::all(params.callgrind_iterations, params.callgrind_runs);
        c.counted = counted;
        c.errors.extend(errors);
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
    if params.runs("peer") {
        progress("round trips: the Python peer and uma-ureq on a Keycloak-dialect kit");
        match peer::run() {
            Ok(run) => c.peer = Some(run),
            Err(e) => c.errors.push(format!("Python peer: {e}")),
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
    if params.runs("cli") {
        progress("the CLI against curl");
        match warm::start_kit()
            .map_err(|e| e.to_string())
            .and_then(|kit| cli::run(&kit, params.cli_rounds, params.cli_requests))
        {
            Ok(r) => c.cli = Some(r),
            Err(e) => c.errors.push(format!("CLI against curl: {e}")),
        }
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
        cli_section(c.cli.as_ref()),
        steps_section(&c.steps, c.peer.as_ref(), &mut missed),
        herd_section(&c.herds, params, &mut missed),
        micro_section(&c.micro, &c.counted, params, &mut missed),
        memory_section(&c.memory, &c.herds, &mut missed),
        bodies::section(&c.bodies, &mut missed),
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
         only: the embedded testkit servers run in the same process on their own 2-thread runtime), with \
         the `uma` binary built beside it (`cargo build --release -p uma-cli`), valgrind and curl \
         installed, and a Python that imports `requests_oauthlib_uma` as `$UMA_BENCH_PYTHON` (default \
         `python3`). Criterion runs of the core micro-benchmarks: `cargo bench -p uma-bench`.\n",
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
         process layout, taken before the core changes measured in §5; not re-measured by this runner): the whole process (client and in-process server) \
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

fn steps_section(steps: &[StepCount], peer: Option<&PeerRun>, missed: &mut Vec<String>) -> String {
    let mut md =
        String::from("## 3. Round trips per step (goals: cold 4, new resource 3, cached 1)\n\n");
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
    md.push_str(&peer_table(peer));
    md
}

/// The Python peer, re-run in this run against a Keycloak-dialect kit, next to uma-ureq on another.
fn peer_table(peer: Option<&PeerRun>) -> String {
    let Some(run) = peer else {
        return "\nThe Python peer `requests-oauthlib-uma` was not run (see \"Measurements that failed\").\n\n"
            .to_string();
    };
    let mut md = format!(
        "\nThe Python peer `requests-oauthlib-uma` ({}), re-run here: one `UMA2Session` driven a step at a \
         time by a small script (`benches/peer/`), against a fresh Keycloak-dialect kit (the peer \
         authenticates its RPT requests with the user's access token as a Bearer token, which only \
         Keycloak accepts), next to uma-ureq against another fresh Keycloak-dialect kit; the same steps \
         as above plus {} alternating GETs. Requests are everything the kit logged during the step. What \
         the peer does and why it costs more is written up in the project's peer notes \
         (`requests-oauthlib-uma.md`, §3.8 and §5 B10, B18): it repeats discovery for every flow (the \
         \"new resource\" row), and it keeps one token per session, which ping-pongs between two resources \
         only when the authorization server does not fold the old permissions into the new RPT; this \
         kit's Keycloak dialect does (the peer sends its current token as `rpt=`), so the alternating row \
         costs it one request per GET here.\n\n\
         | step | GETs | uma-ureq requests | Python peer requests | uma-ureq statuses | peer statuses |\n\
         |---|---:|---:|---:|---|---|\n",
        run.versions,
        peer::ALTERNATING
    );
    for s in &run.steps {
        let _ = writeln!(
            md,
            "| {} | {} | **{}** | **{}** | {} | {} |",
            s.step, s.gets, s.uma.0, s.peer.0, s.uma.1, s.peer.1
        );
    }
    md.push('\n');
    md
}

fn cli_section(cli: Option<&CliResult>) -> String {
    let mut md = String::from("## 2. The CLI against curl\n\n");
    let Some(r) = cli else {
        md.push_str("Not measured in this run (see \"Measurements that failed\").\n\n");
        return md;
    };
    let _ = write!(
        md,
        "Method: the warm-path kit of §1 serves `GET /api/a`. Each round runs, in alternating order, \
         `uma fetch --repeat {n}` (one process: a cold start, whose discovery and token request \
         are 2 of its {n2} requests, then {m} GETs with the cached RPT over one kept-alive connection) \
         and one `curl` process ({cv}) fetching the same URL {n} times from a config file with a static \
         `Authorization: Bearer <RPT>` header (it reuses its connection); both write every body to standard output, which is /dev/null. Client \
         CPU is the child process's user + system time as the kernel accounts it (bash's `times`, to the millisecond); \
         the servers run inside the bench process and are not counted. Per GET = per run ÷ {n}. Ratios \
         are uma ÷ curl of the same round (lower is better for uma).\n\n\
         | | curl | uma | uma ÷ curl |\n|---|---:|---:|---:|\n\
         | client CPU µs per GET | {} | {} | **{}** |\n\
         | wall-clock ms per run of {n} GETs | {} | {} | **{}** |\n\n",
        r.curl_cpu_us.show(1),
        r.uma_cpu_us.show(1),
        show_ratio(&r.cpu_ratio),
        r.curl_wall_ms.show(1),
        r.uma_wall_ms.show(1),
        show_ratio(&r.wall_ratio),
        n = r.requests,
        n2 = r.requests + 2,
        m = r.requests.saturating_sub(1),
        cv = r.curl_version,
    );
    md
}

fn show_ratio(s: &crate::stats::Summary) -> String {
    format!("{:.2} ({:.2}–{:.2}, n={})", s.median, s.min, s.max, s.n)
}

fn herd_section(herds: &[HerdRun], params: &Params, missed: &mut Vec<String>) -> String {
    let mut md = format!(
        "## 4. Herd: {} concurrent cold requests through one uma-hyper client (goal: one exchange per resource)\n\n",
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

/// The core's hot-path goals (issue 18 item 2): label prefix, ns, allocations.
const MICRO_GOALS: [(&str, f64, f64); 3] = [
    ("parse challenge: spec", 400.0, 3.0),
    ("parse challenge: Keycloak", 1000.0, 3.0),
    (micro::WARM_STEP, 400.0, 4.0),
];

fn micro_section(
    results: &[MicroResult],
    counted: &[Counted],
    params: &Params,
    missed: &mut Vec<String>,
) -> String {
    let mut md = String::from(
        "## 5. Core micro-benchmarks (goals: warm step ≤ 400 ns and ≤ 4 allocations; challenge parse ≤ 400 ns \
         (spec) and ≤ 1 µs (Keycloak JWT ticket), ≤ 3 allocations)\n\n",
    );
    let _ = write!(
        md,
        "Method: in-process loop in the runner: inputs prepared outside the timed region, then timed batches, \
         interleaved — one batch of every benchmark per round, after one unmeasured round — so that a burst of \
         other work on the shared machine spreads over all rows instead of spoiling one; ns/op is the batch \
         time ÷ batch size, as `median (min–max, n=batches)`. Allocations per operation are counted by the bench binary's counting global allocator \
         over one more batch (deterministic). Instructions per operation are counted by `valgrind \
         --tool=callgrind`: the runner starts itself under callgrind, which counts only inside the measured \
         function (`--toggle-collect`), {} operations per run, {} runs (`median (min–max, n=runs)`; the count \
         repeats from run to run where time does not). \"parse challenge\" is \
         `uma_core::challenge::uma_candidates` on a 401 with one `WWW-Authenticate` line (RFC 9110 parsing, UMA \
         extraction and validation, lax mode). The warm step is the core's work alone for one request with a \
         cached RPT: `Flow::new`, `start` (the request goes out with the RPT), `handle_response` with a canned \
         `200` built outside the timed region, and dropping what the flow hands back. The flows run \
         `uma_core::Flow` against canned answers (building the request and those answers is inside the timed \
         region; the cold flow also drops its client). `cargo bench -p uma-bench` measures the same workloads \
         with criterion.\n\n",
        params.callgrind_iterations, params.callgrind_runs
    );
    md.push_str(
        "| benchmark | input bytes | ns/op | instructions/op | allocations/op |\n|---|---:|---:|---:|---:|\n",
    );
    for r in results {
        let instructions = counted
            .iter()
            .find(|c| c.what == r.what)
            .map_or("–".to_string(), |c| c.instructions.show(0));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            r.what,
            r.input_bytes.map_or("–".to_string(), |b| b.to_string()),
            r.ns.show(0),
            instructions,
            r.allocs.map_or("n/a".to_string(), |a| format!("{a:.1}"))
        );
    }
    for (prefix, ns_goal, alloc_goal) in MICRO_GOALS {
        let Some(r) = results.iter().find(|r| r.what.starts_with(prefix)) else {
            continue;
        };
        let instructions = counted
            .iter()
            .find(|c| c.what == r.what)
            .map_or(String::new(), |c| {
                format!(", {:.0} instructions", c.instructions.median)
            });
        if r.ns.median > ns_goal {
            missed.push(format!(
                "{}: {:.0} ns (min {:.0}{instructions}; goal ≤ {ns_goal:.0} ns) — see §5",
                r.what, r.ns.median, r.ns.min
            ));
        }
        if let Some(a) = r.allocs.filter(|a| *a > alloc_goal) {
            missed.push(format!(
                "{}: {a:.0} allocations (goal ≤ {alloc_goal:.0}) — see §5",
                r.what
            ));
        }
    }
    md.push('\n');
    md.push_str(MICRO_NOTES);
    md
}

/// What limits the micro-benchmarks, as found with callgrind's per-function counts.
const MICRO_NOTES: &str = "What the figures are made of (callgrind's per-function counts of the same \
operations, read with `callgrind_annotate --inclusive=yes`): **parse** allocates exactly what \
`uma_candidates` returns — the `Vec<UmaChallenge>` and the three strings each candidate owns (`as_uri`, \
`ticket`, `realm`), 4 for every shape here, so the ≤ 3 goal cannot be met without changing the public \
`UmaChallenge` type; the parser itself borrows from the header and allocates nothing for up to 4 challenges \
and 8 parameters. A plain `as_uri` (`http(s)://labels[:port][/path]`) is validated without \
`url::Url::parse`; the Keycloak shape's 600-byte ticket is scanned 8 bytes at a time (closing quote, \
visible ASCII), then checked as UTF-8 and copied out. **The warm step** allocates the new flow's origin \
string, the `Authorization` value, and the outgoing request's header map (index and entries: 2). About a \
quarter of its instructions are malloc/free, a third dropping the `http` request and response types \
(header maps, URI, parts; overlapping with free), a tenth moving the `Flow`, `Step` and request by value \
(memcpy), 8 % SipHash of the origin for the two RPT-cache lookups (send, then the path hint on success), and \
13 % building the origin string: what is left is the `http` types' own cost, which the core cannot avoid \
while it hands the driver an owned `http::Request` per exchange.\n\n";

fn memory_section(figures: &[MemoryFigure], herds: &[HerdRun], missed: &mut Vec<String>) -> String {
    let mut md = String::from(
        "## 6. Memory (goals: cached RPT entry ≤ 600 bytes beyond the token itself; in-flight flow ≤ 1 KB)\n\n",
    );
    md.push_str(
        "Method: the counting allocator's net heap growth while N items are created and held, divided by N \
         (hash-map capacity steps make this depend a little on N). RPT entries are created by canned cold \
         flows on N distinct resource-server origins of one client whose AS metadata is already cached; the \
         figure covers the cache slot, the RPT set, its path hint and the per-key exchange bookkeeping; \
         \"beyond the token\" subtracts the token's own bytes. In-flight flows are created by `Flow::start` \
         on a `GET` without body and held in a vector together with the `Outgoing` a driver keeps while the \
         exchange runs (the requests they were made from are allocated before and moved in); parked flows \
         are a herd on one origin where the first flow runs discovery and the others park. Deterministic: \
         spread 0.\n\n",
    );
    md.push_str("| item | N | heap bytes each | beyond the token |\n|---|---:|---:|---:|\n");
    for f in figures {
        let beyond = f.token_bytes.map_or("–".to_string(), |t| {
            format!("{:.0}", f.bytes_each - t as f64)
        });
        let _ = writeln!(
            md,
            "| {} | {} | {:.0} | {beyond} |",
            f.what, f.n, f.bytes_each
        );
        if let Some(t) = f.token_bytes {
            let beyond = f.bytes_each - t as f64;
            if beyond > 600.0 {
                missed.push(format!(
                    "{}: {beyond:.0} bytes beyond the token (goal ≤ 600) — see §6",
                    f.what
                ));
            }
        } else if f.what.starts_with(memory::IN_FLIGHT) && f.bytes_each > 1024.0 {
            missed.push(format!(
                "{}: {:.0} bytes (goal ≤ 1024) — see §6",
                f.what, f.bytes_each
            ));
        }
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
            "\nPeak RSS of the herd runs (whole process, see §4): {}.",
            peaks.join(", ")
        );
    }
    md.push('\n');
    md
}
