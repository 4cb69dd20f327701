//! Concurrency: a herd shares one exchange; a cancelled request leaves the middleware usable.

use std::time::Duration;

use crate::common::*;
use uma_testkit::{Dialect, Endpoint, Fault, KitConfig, Server};

/// 1,000 tasks on one resource while the token endpoint takes 1.5 s: one discovery, one token request,
/// the other tasks parked on it and woken when it lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_tasks_one_token_request() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    kit.set_fault(
        Endpoint::Token,
        Some(Fault::Delay(Duration::from_millis(1500))),
    );
    let uma = uma_for(&kit);
    let client = chain(&kit, &uma);
    let url = kit.rs_url("/api/a");
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move { client.get(&url).send().await.map(|r| r.status().as_u16()) })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), 200);
    }
    assert_eq!(kit.count_endpoint(Endpoint::Discovery), 1);
    assert_eq!(kit.count_endpoint(Endpoint::Token), 1);
    // Each task: one challenged request and one retry with the shared RPT. Never a third.
    let rs = kit.count(Server::Rs, "/api/a");
    assert!(
        (1000..=2000).contains(&rs),
        "{rs} RS requests, {:?}",
        uma.stats()
    );
    assert!(uma.stats().parked >= 750, "{:?}", uma.stats());
}

/// A request dropped while it runs the exchange releases it: the next request runs its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_exchange_leaves_middleware_usable() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    kit.set_fault_times(Endpoint::Token, Fault::NeverAnswer, 1);
    let uma = uma_for(&kit);
    let client = chain(&kit, &uma);
    let url = kit.rs_url("/api/a");
    let cancelled = tokio::time::timeout(Duration::from_millis(500), client.get(&url).send()).await;
    assert!(
        cancelled.is_err(),
        "the first request hangs on the token endpoint"
    );
    let response = tokio::time::timeout(Duration::from_secs(10), client.get(&url).send())
        .await
        .expect("not stuck behind the dropped exchange")
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(kit.count_endpoint(Endpoint::Token), 2);
}
