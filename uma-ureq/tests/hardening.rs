//! Concurrency, hostile servers, time and size limits, end to end.

mod common;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::*;
use uma_testkit::{Dialect, Endpoint, Fault, Server};
use uma_ureq::{Error, TimeoutKind, UmaAgent};

/// 16 threads cold on one resource: exactly one discovery and one token request.
fn herd_shares_one_exchange(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    // A slow token endpoint makes sure the herd overlaps the exchange.
    kit.set_fault(
        Endpoint::Token,
        Some(Fault::Delay(Duration::from_millis(200))),
    );
    let agent = agent(&kit);
    let barrier = Arc::new(Barrier::new(16));
    let url = kit.rs_url("/api/a");
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let agent = agent.clone();
            let barrier = Arc::clone(&barrier);
            let url = url.clone();
            std::thread::spawn(move || {
                barrier.wait();
                agent.get(&url).send().map(|r| r.status().as_u16())
            })
        })
        .collect();
    for thread in threads {
        assert_eq!(thread.join().expect("thread").expect("GET"), 200);
    }
    assert_eq!(discoveries(&kit), 1);
    assert_eq!(tokens(&kit), 1);
    assert!(agent.stats().parked >= 1, "{:?}", agent.stats());
}

/// A challenge naming a hostile AS: an error, zero requests to it, the 401 kept.
fn hostile_as_uri(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    kit.set_challenge_as_uri(Some(kit.hostile_issuer()));
    let agent = agent(&kit);
    let error = agent
        .get(&kit.rs_url("/api/a"))
        .send()
        .expect_err("untrusted");
    assert!(
        matches!(
            error.uma(),
            Some(uma_core::Error::UntrustedAuthorizationServer { .. })
        ),
        "{error:?}"
    );
    assert_eq!(error.response().map(|r| r.status().as_u16()), Some(401));
    assert_eq!(kit.count_endpoint(Endpoint::HostileAs), 0);
    assert_eq!(kit.log_of(Server::As).len(), 0);
}

/// Discovery that points the token endpoint at another host: refused, nothing sent there.
fn hostile_token_endpoint(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    kit.set_discovery_token_endpoint(Some(format!("{}/token", kit.hostile_issuer())));
    let agent = agent(&kit);
    let error = agent
        .get(&kit.rs_url("/api/a"))
        .send()
        .expect_err("refused");
    assert!(
        matches!(error.uma(), Some(uma_core::Error::Discovery { .. })),
        "{error:?}"
    );
    assert_eq!(kit.count_endpoint(Endpoint::HostileAs), 0);
    assert_eq!(tokens(&kit), 0);
}

/// A token endpoint slower than the exchange timeout: a timeout error within the bound.
fn slow_as_times_out(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    kit.set_fault(Endpoint::Token, Some(Fault::Delay(Duration::from_secs(5))));
    let options = options().with_exchange_timeout(Some(Duration::from_millis(300)));
    let agent = UmaAgent::with_options(ureq_agent(&kit), config(&kit, server(&kit)), options);
    let started = Instant::now();
    let error = agent
        .get(&kit.rs_url("/api/a"))
        .send()
        .expect_err("timeout");
    let elapsed = started.elapsed();
    assert!(
        matches!(
            error,
            Error::Timeout {
                kind: TimeoutKind::Exchange,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
    assert_eq!(tokens(&kit), 1);
}

/// A discovery that never answers is cut by the overall request timeout.
fn request_timeout_covers_as_calls(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    kit.set_fault(Endpoint::Discovery, Some(Fault::NeverAnswer));
    let options = options()
        .with_exchange_timeout(Some(Duration::from_secs(10)))
        .with_request_timeout(Some(Duration::from_millis(400)));
    let agent = UmaAgent::with_options(ureq_agent(&kit), config(&kit, server(&kit)), options);
    let started = Instant::now();
    let error = agent
        .get(&kit.rs_url("/api/a"))
        .send()
        .expect_err("timeout");
    let elapsed = started.elapsed();
    assert!(
        matches!(
            error,
            Error::Timeout {
                kind: TimeoutKind::Request,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
    assert!(error.to_string().contains("discovery"), "{error}");
}

/// A 50 MB token response fails fast with a typed error instead of being buffered.
fn oversized_token_response(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let agent = agent(&kit);
    for fault in [
        Fault::Oversized(50_000_000),
        Fault::OversizedChunked(50_000_000),
    ] {
        kit.set_fault(Endpoint::Token, Some(fault.clone()));
        let started = Instant::now();
        let error = agent
            .get(&kit.rs_url("/api/a"))
            .send()
            .expect_err("too large");
        assert!(
            matches!(
                error,
                Error::BodyTooLarge {
                    limit: 1_048_576,
                    ..
                }
            ),
            "{fault:?}: {error:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(3), "{fault:?}");
    }
}

/// A resource response over the configured limit is refused too.
fn oversized_resource_response(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let options = options().with_max_resource_body(64);
    let agent = UmaAgent::with_options(ureq_agent(&kit), config(&kit, server(&kit)), options);
    let body = vec![b'x'; 10_000];
    let error = agent
        .post(&kit.rs_url("/api/echo"), body)
        .send()
        .expect_err("echo answers more than 64 bytes");
    assert!(
        matches!(error, Error::BodyTooLarge { limit: 64, .. }),
        "{error:?}"
    );
}

/// A request that gives up (timeout) releases its exchange: the request parked on it runs its own at once
/// instead of waiting out the core's exchange timeout.
fn abort_wakes_parked_requests(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    // The first token request hangs; later ones answer.
    kit.set_fault_times(Endpoint::Token, Fault::NeverAnswer, 1);
    let impatient = UmaAgent::with_options(
        ureq_agent(&kit),
        config(&kit, server(&kit)),
        options().with_exchange_timeout(Some(Duration::from_millis(600))),
    );
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
    // Well under the core's 60 s exchange timeout: it was woken by the abort.
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
    let agent = UmaAgent::with_options(ureq_agent(&kit), config(&kit, server(&kit)), options);
    agent.get(&kit.rs_url("/api/a")).send().expect("GET");
    agent.get(&kit.rs_url("/api/a")).send().expect("GET");
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

/// Transport failures surface as typed errors without the secret-bearing parts of URLs.
fn transport_error_is_typed(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    kit.set_fault(Endpoint::Discovery, Some(Fault::DropConnection));
    let agent = agent(&kit);
    let error = agent
        .get(&format!("{}?token=s3cret", kit.rs_url("/api/a")))
        .send()
        .expect_err("dropped");
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert!(!format!("{error} {error:?}").contains("s3cret"));
    // The agent recovers once the AS behaves.
    kit.set_fault(Endpoint::Discovery, None);
    assert_eq!(
        agent
            .get(&kit.rs_url("/api/a"))
            .send()
            .expect("GET")
            .status(),
        200
    );
}

both_transports!(
    herd_shares_one_exchange,
    hostile_as_uri,
    hostile_token_endpoint,
    slow_as_times_out,
    request_timeout_covers_as_calls,
    oversized_token_response,
    oversized_resource_response,
    abort_wakes_parked_requests,
    observer_sees_each_exchange,
    transport_error_is_typed,
);

#[test]
fn agent_is_send_sync_and_cheap_to_clone() {
    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync::<UmaAgent>();
    fn assert_error<T: std::error::Error + Send + Sync + 'static>() {}
    assert_error::<Error>();
}
