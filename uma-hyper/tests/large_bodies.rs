//! A 1 GiB download and a 512 MiB upload through the client, in bounded memory: bodies stream, nothing
//! is held whole. Alone in its binary, so the process's peak resident set is this test's.

mod common;

use std::pin::Pin;
use std::task::{Context, Poll};

use common::*;
use http_body_util::BodyExt;
use hyper::body::{Bytes, Frame};
use sha2::{Digest, Sha256};
use uma_testkit::{Dialect, GrantedBody, KitConfig, pattern_chunk, pattern_sha256};

const DOWN: u64 = 1 << 30;
const UP: u64 = 512 << 20;
const PEAK_LIMIT_KIB: u64 = 64 * 1024;

/// `len` bytes of the testkit's pattern, produced as they are sent.
struct Pattern {
    offset: u64,
    len: u64,
}

impl hyper::body::Body for Pattern {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.offset >= self.len {
            return Poll::Ready(None);
        }
        let left = usize::try_from(self.len - self.offset).unwrap_or(usize::MAX);
        let chunk = pattern_chunk(self.offset, left);
        self.offset += chunk.len() as u64;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(chunk)))))
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.len - self.offset)
    }
}

/// The process's peak resident set so far, in KiB (Linux).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gibibyte_down_and_half_up_in_bounded_memory() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    let client = client_for(&kit);

    // Down: cold (challenge, discovery, token, retry), then 1 GiB streamed and hashed frame by frame.
    kit.set_granted_body(GrantedBody::Pattern(DOWN));
    let mut response = client.get(&kit.rs_url("/api/a")).await.unwrap();
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
        .send_with_body(head, || Pattern { offset: 0, len: UP })
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
