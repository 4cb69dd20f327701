//! The in-process cache stays within its configured bounds however many requesting parties pass through
//! it: a million distinct parties, each running a canned ticket flow on a fake clock.

use std::time::Duration;

use crate::support::*;
use uma_core::{Flow, Machine, Party, Step};

type S = Step<http::Response<Vec<u8>>>;

fn send_id(step: &S) -> uma_core::RequestId {
    match step {
        Step::Send(out) => out.id,
        other => panic!("expected a request, got {other:?}"),
    }
}

/// One party's whole flow: challenge, ticket grant (metadata is cached after the first), retry with
/// the RPT. RPTs of `rpt_len` bytes live `ttl` seconds.
fn run_party(d: &mut Driver, i: usize, rpt_len: usize, ttl: u64) {
    let mut flow = Flow::for_party(get("/a"), Party::new(format!("user-{i}")));
    let mut step = flow.start(&mut d.client, d.now);
    loop {
        let response = match &step {
            Step::Send(out) => match out.kind {
                uma_core::RequestKind::Discovery => metadata(),
                uma_core::RequestKind::Token => {
                    let rpt = format!("{i:0>width$}", width = rpt_len);
                    token_json(&format!(
                        r#"{{"access_token":"{rpt}","token_type":"Bearer","expires_in":{ttl}}}"#
                    ))
                }
                _ if out.request.headers().contains_key("authorization") => ok("{}"),
                _ => challenge("t"),
            },
            Step::Done(r) => {
                assert_eq!(r.status(), 200);
                break;
            }
            other => panic!("party {i}: {other:?}"),
        };
        let id = send_id(&step);
        step = flow.handle_response(&mut d.client, id, response, d.now);
    }
    while d.client.poll_finished_exchange().is_some() {}
}

fn parties() -> usize {
    // A million by default; UMA_CACHE_PARTIES=… for a quicker run.
    std::env::var("UMA_CACHE_PARTIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

#[test]
fn a_million_parties_stay_within_the_bounds() {
    const RPT_LEN: usize = 200;
    let mut config = config();
    config.max_cached_rpts = 2_000;
    config.max_cached_token_bytes = 300 * 1024; // binds first: 1 536 RPTs of 200 bytes
    let mut d = Driver::new(uma_core::Client::new(config));
    let n = parties();
    let mut peak = (0, 0);
    for i in 0..n {
        run_party(&mut d, i, RPT_LEN, 120);
        // 1 ms of fake time per party: RPTs of the first parties expire while the last arrive.
        d.advance(Duration::from_millis(1));
        if i % 1000 == 0 || i + 1 == n {
            let usage = d.client.cache_usage();
            assert!(usage.rpts <= 2_000, "{usage:?}");
            assert!(usage.token_bytes <= 300 * 1024, "{usage:?}");
            peak = (peak.0.max(usage.rpts), peak.1.max(usage.token_bytes));
        }
    }
    let stats = d.client.stats();
    assert_eq!(stats.token_requests as usize, n);
    let usage = d.client.cache_usage();
    assert_eq!(usage.rpts, usage.rpt_sets, "one RPT per party");
    if n >= 10_000 {
        assert_eq!(
            peak.1 / RPT_LEN,
            300 * 1024 / RPT_LEN,
            "the byte bound was reached"
        );
        assert!(stats.rpts_evicted > 0, "{stats:?}");
    }
    if n >= 200_000 {
        // 120-second RPTs, one party per fake millisecond: the sweep finds expired ones.
        assert!(stats.rpts_swept > 0 || stats.rpts_evicted as usize >= n - usage.rpts);
    }
    assert_eq!(
        stats.rpts_evicted + stats.rpts_swept + usage.rpts as u64,
        n as u64,
        "every RPT is held, evicted or swept"
    );
    eprintln!("{n} parties: peak {peak:?} (RPTs, token bytes), {stats:?}");
}

#[test]
fn expired_rpts_are_swept_without_eviction_pressure() {
    let mut d = Driver::new(client());
    for i in 0..2_000 {
        run_party(&mut d, i, 40, 1);
        d.advance(Duration::from_millis(10));
    }
    let stats = d.client.stats();
    assert_eq!(stats.rpts_evicted, 0);
    assert!(stats.rpts_swept > 1_000, "{stats:?}");
    assert!(d.client.cache_usage().rpts < 1_000);
    d.advance(Duration::from_secs(2));
    d.client.sweep(d.now);
    assert_eq!(d.client.cache_usage().rpts, 0);
    assert_eq!(d.client.cache_usage().rpt_sets, 0);
}
