//! Memory held by the core: bytes per cached RPT and per in-flight flow, measured with the counting
//! allocator as the heap growth of N of them, divided by N.

use std::time::Instant;

use uma_core::{Client, Flow, Machine, Outgoing, Step};

use crate::alloc;
use crate::workloads::{Responder, config, request, run_flow};

/// One memory figure.
#[derive(Debug, Clone)]
pub struct MemoryFigure {
    /// What was measured.
    pub what: String,
    /// How many were held at once.
    pub n: usize,
    /// Heap bytes per item.
    pub bytes_each: f64,
    /// For RPT entries: the bytes of the token itself.
    pub token_bytes: Option<usize>,
}

/// The label of the in-flight flow figure.
pub const IN_FLIGHT: &str = "in-flight flow, request sent (Flow + Outgoing)";

fn measured(what: String, n: usize, f: impl FnOnce() -> Box<dyn std::any::Any>) -> MemoryFigure {
    alloc::enable();
    let before = alloc::snapshot();
    let held = f();
    let after = alloc::snapshot();
    alloc::disable();
    drop(held);
    MemoryFigure {
        what,
        n,
        bytes_each: (after.live - before.live) as f64 / n.max(1) as f64,
        token_bytes: None,
    }
}

/// Bytes per cached RPT entry: one client gets RPTs for `n` distinct resource-server origins through
/// canned cold flows (the discovery, done once before measuring, is not counted). Includes the
/// per-origin cache slot, the RPT set, its path hint and the exchange bookkeeping kept per key.
pub fn per_rpt(n: usize, rpt_len: usize) -> MemoryFigure {
    let mut responder = Responder::new(rpt_len);
    let mut client = Client::new(config());
    // Metadata cached beforehand: every measured flow is "new origin, known AS".
    let _ = run_flow(
        &mut client,
        Flow::new(request("https://warmup.example.org")),
        &mut responder,
    );
    let what = format!("cached RPT entry ({rpt_len}-byte RPT, one per RS origin)");
    let mut holder = Some(client);
    let fig = measured(what, n, || {
        if let Some(client) = holder.as_mut() {
            for i in 0..n {
                let origin = format!("https://rs{i}.example.org");
                let _ = run_flow(client, Flow::new(request(&origin)), &mut responder);
            }
        }
        Box::new(())
    });
    drop(holder);
    MemoryFigure {
        token_bytes: Some(rpt_len),
        ..fig
    }
}

/// Bytes per in-flight flow waiting for its resource answer: the `Flow` (a GET without body) and the
/// `Outgoing` request a driver holds while the exchange runs.
pub fn per_started_flow(n: usize) -> MemoryFigure {
    let mut client = Client::new(config());
    let what = IN_FLIGHT.to_string();
    // Taken out one by one, so that freeing their vector does not offset what the flows hold.
    let mut requests: Vec<_> = (0..n)
        .map(|i| Some(request(&format!("https://rs{i}.example.org"))))
        .collect();
    let now = Instant::now();
    let fig = measured(what, n, || {
        let mut held: Vec<(Flow, Option<Outgoing>)> = Vec::with_capacity(n);
        for req in requests.iter_mut().filter_map(Option::take) {
            let mut flow = Flow::new(req);
            let out = match flow.start(&mut client, now) {
                Step::Send(out) => Some(out),
                _ => None,
            };
            held.push((flow, out));
        }
        Box::new(held)
    });
    drop(requests);
    fig
}

/// Bytes per flow parked behind another flow's exchange (a herd on one origin): `n` flows are challenged,
/// the first runs discovery, the others park.
pub fn per_parked_flow(n: usize) -> MemoryFigure {
    let mut client = Client::new(config());
    let mut responder = Responder::new(43);
    let what = "in-flight flow, parked behind a shared exchange".to_string();
    let mut requests: Vec<_> = (0..n)
        .map(|_| Some(request("https://rs.example.org")))
        .collect();
    let now = Instant::now();
    let fig = measured(what, n, || {
        let mut held: Vec<(Flow, Option<Outgoing>)> = Vec::with_capacity(n);
        for req in requests.iter_mut().filter_map(Option::take) {
            let mut flow = Flow::new(req);
            let mut step = flow.start(&mut client, now);
            // The resource answers with a challenge; the first flow then sends discovery (and keeps
            // that Outgoing), the others park.
            let mut pending = None;
            if let Step::Send(out) = step {
                let answer = responder.answer(&out);
                step = flow.handle_response(&mut client, out.id, answer, now);
            }
            if let Step::Send(out) = step {
                pending = Some(out);
            }
            held.push((flow, pending));
        }
        Box::new(held)
    });
    drop(requests);
    fig
}
