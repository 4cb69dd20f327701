//! What the blocking API adds, end to end: streamed resource bodies, request bodies from readers and
//! files, aborts that wake parked requests, the observer. (Hostile servers, herds and limits are the
//! testkit's conformance suite.)

use std::time::{Duration, Instant};

use std::io::Read;

use crate::common::*;
use sha2::{Digest, Sha256};
use uma_testkit::{Dialect, Endpoint, Fault, GrantedBody};
use uma_ureq::{Error, UmaClient};

/// A resource answer streams untouched at any size: 64 MiB read through `as_reader`, hashed.
fn large_resource_streams_untouched(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let len: u64 = 64 * 1024 * 1024;
    kit.set_granted_body(GrantedBody::Pattern(len));
    let agent = agent(&kit);
    let mut response = agent.get(&kit.rs_url("/api/a")).send().expect("GET");
    assert_eq!(response.status(), 200);
    let mut hasher = Sha256::new();
    let read = std::io::copy(
        &mut response.body_mut().as_reader(),
        &mut HashWriter(&mut hasher),
    )
    .expect("the whole body");
    assert_eq!(read, len);
    assert_eq!(hex(&hasher.finalize()), uma_testkit::pattern_sha256(len));
}

/// The exchange budget ends with the answer's head: a body read for longer than the budget is the
/// caller's and reads to its end.
fn slow_reader_outlives_the_exchange_budget(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let len: u64 = 16 * 1024 * 1024;
    kit.set_granted_body(GrantedBody::Pattern(len));
    let agent = UmaClient::from_ureq(ureq_agent(&kit), config(&kit, server(&kit)))
        .with_options(options().with_exchange_timeout(Some(Duration::from_secs(1))));
    let mut response = agent.get(&kit.rs_url("/api/a")).send().expect("GET");
    let started = Instant::now();
    let mut reader = response.body_mut().as_reader();
    let (mut buf, mut read) = (vec![0u8; 64 * 1024], 0u64);
    loop {
        let n = reader.read(&mut buf).expect("the body, read slowly");
        if n == 0 {
            break;
        }
        if read == 0 {
            // Longer than the whole exchange budget, half-way through the body.
            std::thread::sleep(Duration::from_millis(1500));
        }
        read += n as u64;
    }
    assert_eq!(read, len);
    assert!(
        started.elapsed() > Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

/// A body cut short, with a `Content-Length` or chunked, is a read error, never a short success.
fn truncated_resource_is_an_error(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let agent = agent(&kit);
    for body in [
        GrantedBody::Truncated(200_000),
        GrantedBody::TruncatedChunked(200_000),
    ] {
        kit.set_granted_body(body);
        let mut response = agent.get(&kit.rs_url("/api/a")).send().expect("GET");
        assert_eq!(response.status(), 200, "{body:?}");
        let read = std::io::copy(&mut response.body_mut().as_reader(), &mut std::io::sink());
        assert!(read.is_err(), "{body:?}: {read:?}");
    }
}

/// A challenge carrying 512 MiB costs the usual four round trips and is never read whole.
fn huge_challenge_body_is_not_read(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    kit.set_challenge_body(Some(512 * 1024 * 1024));
    let agent = agent(&kit);
    let response = agent.get(&kit.rs_url("/api/a")).send().expect("GET");
    assert_eq!(response.status(), 200);
    assert_eq!(kit.log().len(), 4);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !kit.challenge_bodies().iter().all(|b| b.ended) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let challenges = kit.challenge_bodies();
    assert_eq!(challenges.len(), 1);
    assert!(challenges[0].sent < 64 * 1024 * 1024, "{challenges:?}");
}

/// A reader longer than the replay limit goes with `Expect: 100-continue`: a server that challenges
/// before reading leaves it unread, and the retry sends it once, whole.
fn one_shot_reader_survives_a_challenge_with_expect(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let agent = UmaClient::from_ureq(ureq_agent(&kit), config(&kit, server(&kit)))
        .with_options(options().with_max_replay_body(1000));
    let len = 3 * 1024 * 1024;
    let mut response = agent
        .post(&kit.rs_url("/api/echo"), Vec::new())
        .body_reader(std::io::repeat(7).take(len))
        .send()
        .expect("POST");
    assert_eq!(response.status(), 200);
    let echoed: serde_json::Value =
        serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(echoed["len"], len);
    let rs = rs_log(&kit);
    assert_eq!(rs.len(), 2);
    assert!(
        !rs[0].body_read && rs[0].body_len == 0,
        "{:?}",
        rs[0].body_len
    );
    assert_eq!(rs[1].body_len as u64, len);
}

/// A server that reads the body before challenging: the reader is spent, the call ends typed, and nothing
/// is asked of the authorization server.
fn one_shot_reader_read_before_the_challenge_is_typed(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    kit.set_rs_ignore_expect(true);
    let agent = UmaClient::from_ureq(ureq_agent(&kit), config(&kit, server(&kit)))
        .with_options(options().with_max_replay_body(1000));
    let error = agent
        .post(&kit.rs_url("/api/echo"), Vec::new())
        .body_reader(std::io::repeat(7).take(100_000))
        .send()
        .expect_err("the body went once");
    assert!(
        matches!(error, Error::BodyNotReplayable { .. }),
        "{error:?}"
    );
    assert_eq!(error.response().map(|r| r.status().as_u16()), Some(401));
    assert_eq!(discoveries(&kit) + tokens(&kit), 0);
}

/// A file is opened again for the retry, never held in memory; over 1 MiB it goes with
/// `Expect: 100-continue`, so the challenge comes before its bytes and it is sent once.
fn file_body_is_opened_again(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let dir = std::env::temp_dir().join(format!("uma-ureq-body-{}-{tls}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("upload.bin");
    std::fs::write(&path, vec![3u8; 2_000_000]).unwrap();
    let agent = agent(&kit);
    let response = agent
        .post(&kit.rs_url("/api/echo"), Vec::new())
        .body_file(&path)
        .send()
        .expect("POST");
    assert_eq!(response.status(), 200);
    let rs = rs_log(&kit);
    assert_eq!(rs.len(), 2);
    assert!(!rs[0].body_read && rs[0].body_len == 0);
    assert_eq!(rs[1].body_len, 2_000_000);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `std::io::Write` into a SHA-256.
struct HashWriter<'a>(&'a mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A request that gives up (timeout) releases its exchange: the request parked on it runs its own at once
/// instead of waiting out the core's claim timeout.
fn abort_wakes_parked_requests(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    // The first token request hangs; later ones answer.
    kit.set_fault_times(Endpoint::Token, Fault::NeverAnswer, 1);
    let impatient = UmaClient::from_ureq(ureq_agent(&kit), config(&kit, server(&kit)))
        .with_options(options().with_exchange_timeout(Some(Duration::from_millis(600))));
    let url = kit.rs_url("/api/a");
    let first = {
        let agent = impatient.clone();
        let url = url.clone();
        std::thread::spawn(move || agent.get(&url).send())
    };
    // Let the first request claim the exchange, then start the second on the same agent.
    let deadline = Instant::now() + Duration::from_secs(5);
    while tokens(&kit) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let started = Instant::now();
    let second = impatient.get(&url).send();
    let first = first.join().expect("thread");
    assert!(first.as_ref().is_err_and(Error::is_timeout), "{first:?}");
    assert_eq!(second.expect("second GET").status(), 200);
    // Well under the core's 60 s claim timeout: it was woken by the abort.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(tokens(&kit), 2);
    assert!(impatient.stats().parked >= 1);
}

/// The observer sees every exchange once, secret-free.
fn observer_sees_each_exchange(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let (options, events) = recording();
    let agent =
        UmaClient::from_ureq(ureq_agent(&kit), config(&kit, server(&kit))).with_options(options);
    agent
        .get(&kit.rs_url("/api/a"))
        .send()
        .expect("GET")
        .buffered();
    agent
        .get(&kit.rs_url("/api/a"))
        .send()
        .expect("GET")
        .buffered();
    let events = events.lock().expect("events").clone();
    let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
    use uma_core::RequestKind::*;
    assert_eq!(kinds, [Resource, Discovery, Token, Resource, Resource]);
    assert_eq!(events.len() as u64, agent.stats().http_exchanges());
    let statuses: Vec<_> = events.iter().map(|e| e.status).collect();
    assert_eq!(
        statuses,
        [Some(401), Some(200), Some(200), Some(200), Some(200)]
    );
    let shown = format!("{events:?}");
    assert!(!shown.contains("app-secret"));
    for request in kit.log() {
        if let Some(auth) = request.header("authorization") {
            let token = auth.split(' ').nth(1).unwrap_or_default();
            assert!(!shown.contains(token), "secret in {shown}");
        }
    }
}

both_transports!(
    large_resource_streams_untouched,
    truncated_resource_is_an_error,
    slow_reader_outlives_the_exchange_budget,
    huge_challenge_body_is_not_read,
    one_shot_reader_survives_a_challenge_with_expect,
    one_shot_reader_read_before_the_challenge_is_typed,
    file_body_is_opened_again,
    abort_wakes_parked_requests,
    observer_sees_each_exchange,
);

#[test]
fn agent_is_send_sync_and_cheap_to_clone() {
    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync::<UmaClient>();
    fn assert_error<T: std::error::Error + Send + Sync + 'static>() {}
    assert_error::<Error>();
}
