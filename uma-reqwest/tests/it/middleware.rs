//! What is particular to the middleware, through a `reqwest_middleware` chain: the final URL and the
//! counters of a cold request, parties from request extensions, answers passed through, in-memory
//! bodies replayed whatever their size. (The flow's branches and hostile servers are the testkit's
//! conformance suite, `conformance.rs`.)

use crate::common::*;
use uma_core::Party;
use uma_testkit::{Dialect, Endpoint, KitConfig};

/// Challenge, discovery, token, retry through the chain; the retry carries the RPT.
async fn cold(tls: bool) {
    let kit = start(KitConfig::new(Dialect::Spec), tls);
    let uma = uma_for(&kit);
    let response = chain(&kit, &uma)
        .get(kit.rs_url("/api/a"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.url().as_str(), kit.rs_url("/api/a"));
    assert_eq!(json(&response.bytes().await.unwrap())["scope"], "read");
    let rs = rs_requests(&kit);
    assert_eq!(rs.len(), 2, "{rs:#?}");
    assert!(rs[0].header("authorization").is_none());
    assert!(
        rs[1]
            .header("authorization")
            .is_some_and(|a| a.starts_with("Bearer "))
    );
    assert_eq!(count(&kit, Endpoint::Discovery), 1);
    assert_eq!(count(&kit, Endpoint::Token), 1);
    assert_eq!(
        tokens(&kit)[0].form_value("grant_type"),
        Some(uma_testkit::UMA_GRANT)
    );
    let stats = uma.stats();
    assert_eq!(
        (
            stats.resource_requests,
            stats.discovery_requests,
            stats.token_requests
        ),
        (2, 1, 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_request_http() {
    cold(false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_request_tls() {
    cold(true).await
}

/// The party comes from the request's extensions: one RPT per party.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn party_per_request() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    let client = chain(&kit, &uma_for(&kit));
    for party in ["alice", "bob", "alice", "bob"] {
        let response = client
            .get(kit.rs_url("/api/a"))
            .with_extension(Party::new(party))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(count(&kit, Endpoint::Token), 2, "one exchange per party");
    assert_eq!(rs_requests(&kit).len(), 6);
}

/// An answer that is no challenge comes back as it came, nothing sent to the AS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unprotected_answer_passes_through() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    let uma = uma_for(&kit);
    let response = chain(&kit, &uma)
        .get(kit.rs_url("/unprotected"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.url().as_str(), kit.rs_url("/unprotected"));
    assert_eq!(kit.log().len(), 1);
    assert_eq!(uma.stats().token_requests, 0);
}

/// A body in memory is replayed whatever its size, as in the other adapters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_memory_body_replayed_whatever_its_size() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    let uma = uma_for(&kit).with_options(uma_reqwest::Options::default().with_max_replay_body(10));
    let response = chain(&kit, &uma)
        .post(kit.rs_url("/api/echo"))
        .body(vec![5u8; 300_000])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let rs = kit.log_of(uma_testkit::Server::Rs);
    assert_eq!(rs.len(), 2);
    assert!(rs.iter().all(|r| r.body_len == 300_000));
}
