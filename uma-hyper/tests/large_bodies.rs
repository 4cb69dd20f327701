//! A 1 GiB download and a 512 MiB upload through the client, in bounded memory: bodies stream, nothing
//! is held whole. Alone in its binary, so the process's peak resident set is this test's.

#[path = "it/common/mod.rs"]
mod common;

use common::*;
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};
use uma_testkit::{Dialect, GrantedBody, KitConfig, PatternSource, pattern_sha256, peak_rss_kib};

const DOWN: u64 = 1 << 30;
const UP: u64 = 512 << 20;
const PEAK_LIMIT_KIB: u64 = 64 * 1024;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gibibyte_down_and_half_up_in_bounded_memory() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    let client = client_for(&kit);

    // Down: cold (challenge, discovery, token, retry), then 1 GiB streamed and hashed frame by frame.
    kit.set_granted_body(GrantedBody::Pattern(DOWN));
    let mut response = client.get(&kit.rs_url("/api/a")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let (mut hasher, mut read) = (Sha256::new(), 0u64);
    while let Some(frame) = response.body_mut().frame().await {
        if let Ok(data) = frame.expect("the whole body").into_data() {
            hasher.update(&data);
            read += data.len() as u64;
        }
    }
    assert_eq!(read, DOWN);
    assert_eq!(hex(&hasher.finalize()), pattern_sha256(DOWN));
    assert_eq!(kit.log().len(), 4);

    // Up: 512 MiB re-created for the retry after the challenge of a resource this party has no RPT
    // for yet (write scope), never held in memory.
    kit.set_granted_body(GrantedBody::Json);
    kit.clear_log();
    let head = http::Request::post(kit.rs_url("/api/echo"))
        .body(())
        .unwrap();
    let response = client
        .send_with_body(head, || PatternSource::new(UP))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let echoed = json(&body_of(response).await);
    assert_eq!(echoed["len"], UP);
    assert_eq!(echoed["sha256"], pattern_sha256(UP));
    let rs = rs_requests(&kit);
    assert_eq!(rs.len(), 2);
    assert_eq!(rs[1].body_len as u64, UP);

    let peak = peak_rss_kib();
    assert!(peak < PEAK_LIMIT_KIB, "peak resident set {peak} KiB");
    eprintln!("peak resident set: {} KiB", peak);
}
