//! A 1 GiB download and a 512 MiB upload through the agent, in bounded memory: bodies stream, nothing is
//! held whole. Alone in its binary, so the process's peak resident set is this test's.

#[path = "it/common/mod.rs"]
mod common;

use common::*;
use sha2::{Digest, Sha256};
use uma_testkit::{Dialect, GrantedBody, PatternSource, pattern_sha256, peak_rss_kib};

const DOWN: u64 = 1 << 30;
const UP: u64 = 512 << 20;
const PEAK_LIMIT_KIB: u64 = 64 * 1024;

/// `std::io::Write` into a SHA-256.
struct Hashing(Sha256);

impl std::io::Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_gibibyte_down_and_half_up_in_bounded_memory() {
    let kit = kit(Dialect::Spec, false);
    let agent = agent(&kit);

    // Down: cold (challenge, discovery, token, retry), then 1 GiB read through `as_reader` and hashed.
    kit.set_granted_body(GrantedBody::Pattern(DOWN));
    let mut response = agent.get(&kit.rs_url("/api/a")).send().expect("GET");
    assert_eq!(response.status(), 200);
    let mut hashing = Hashing(Sha256::new());
    let read = std::io::copy(&mut response.body_mut().as_reader(), &mut hashing).expect("body");
    assert_eq!(read, DOWN);
    let digest: String = hashing
        .0
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(digest, pattern_sha256(DOWN));
    assert_eq!(kit.log().len(), 4);

    // Up: 512 MiB opened again for the retry after the challenge (write scope: no RPT for it yet).
    kit.set_granted_body(GrantedBody::Json);
    kit.clear_log();
    let head = http::Request::post(kit.rs_url("/api/echo"))
        .header("content-length", UP)
        .body(())
        .unwrap();
    let mut response = agent
        .send_with_body(head, || Ok(PatternSource::new(UP)))
        .expect("POST");
    assert_eq!(response.status(), 200);
    let echoed: serde_json::Value =
        serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(echoed["len"], UP);
    assert_eq!(echoed["sha256"], pattern_sha256(UP));
    // The challenge came before the body (`Expect: 100-continue`): 512 MiB sent once.
    let rs = rs_log(&kit);
    assert_eq!(rs.len(), 2);
    assert!(!rs[0].body_read && rs[0].body_len == 0);
    assert_eq!(rs[1].body_len as u64, UP);

    let peak = peak_rss_kib();
    assert!(peak < PEAK_LIMIT_KIB, "peak resident set {peak} KiB");
    eprintln!("peak resident set: {peak} KiB");
}
