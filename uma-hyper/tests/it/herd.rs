//! Concurrency: herds share one exchange, expiry under load, cancellation, lock recovery.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::*;
use uma_testkit::{Dialect, Endpoint, Fault, KitConfig, ResourceDef, Server};

both!(
    thousand_tasks_one_exchange,
    thousand_tasks_ten_resources,
    rpt_expiry_under_load,
    cancelled_exchange_leaves_client_usable,
);

/// A truly cold herd (no warm pool, no slow token endpoint): challenges trickle back before and after
/// the exchange lands; the late ones resend with the landed RPT instead of exchanging again.
mod cold {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn thousand_cold_tasks_one_exchange_http() {
        super::thousand_cold(false, None).await
    }
}

/// 1,000 tasks on one resource while the token endpoint takes 1.5 s, so every challenge meets the
/// exchange in flight: one discovery, one token request, 999 parked tasks woken by it.
async fn thousand_tasks_one_exchange(tls: bool) {
    thousand_cold(tls, Some(Duration::from_millis(1500))).await
}

/// 1,000 tasks over 10 resources: all succeed with one discovery, exactly one exchange per resource, and
/// about two resource-server requests per task (challenge, retry): a task waits only on the exchange for
/// its own resource, so landings for the other nine do not send it back to be challenged again.
async fn thousand_tasks_ten_resources(tls: bool) {
    ten_resources(tls).await
}

/// Opens (up to) 1,000 pooled connections with requests to an unprotected path, so that the herd's
/// challenges come back together instead of trickling in behind 1,000 handshakes.
async fn warm_connections(client: &Client, url: &str) {
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let (client, url) = (client.clone(), url.to_owned());
            tokio::spawn(async move { client.get(&url).send().await.map(|r| r.status().as_u16()) })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), 404);
    }
}

/// The herds run one at a time: 1,000 connections each on a shared 2-core machine.
static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn thousand_cold(tls: bool, token_delay: Option<Duration>) {
    let _one_at_a_time = HEAVY.lock().await;
    let kit = start(KitConfig::new(Dialect::Spec), tls);
    if let Some(delay) = token_delay {
        kit.set_fault(Endpoint::Token, Some(Fault::Delay(delay)));
    }
    let client = client_for(&kit);
    if token_delay.is_some() {
        warm_connections(&client, &kit.rs_url("/unprotected")).await;
        kit.clear_log();
    }
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
    // Each task: one challenged request and one retry with the shared RPT — or a single request when it
    // started after the RPT landed. Never a third.
    let rs = kit.count(Server::Rs, "/api/a");
    assert!(
        (1000..=2000).contains(&rs),
        "{rs} RS requests, {:?}",
        client.stats()
    );
    if token_delay.is_some() {
        // Every challenge met the exchange in flight.
        assert!(client.stats().parked >= 900, "{:?}", client.stats());
    }
}

async fn ten_resources(tls: bool) {
    let _one_at_a_time = HEAVY.lock().await;
    let mut config = KitConfig::new(Dialect::Spec);
    config.resources = (0..10)
        .map(|i| ResourceDef::read_write(&format!("r{i}"), &format!("R{i}"), &format!("/api/r{i}")))
        .collect();
    let kit = start(config, tls);
    // RPTs are per resource-server origin: the ten exchanges run one after the other (each upgrading the
    // RPT, which the kit's AS revokes), so a task may wait for up to ten of them (within the default
    // `max_parks`).
    let client = client_for(&kit);
    let tasks: Vec<_> = (0..1000)
        .map(|i| {
            let client = client.clone();
            let url = kit.rs_url(&format!("/api/r{}", i % 10));
            tokio::spawn(async move { client.get(&url).send().await.map(|r| r.status().as_u16()) })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), 200);
    }
    let rs: usize = (0..10)
        .map(|i| kit.count(Server::Rs, &format!("/api/r{i}")))
        .sum();
    let grants = kit.count_endpoint(Endpoint::Token);
    eprintln!("ten resources: {grants} token requests, {rs} RS requests");
    assert_eq!(kit.count_endpoint(Endpoint::Discovery), 1);
    assert_eq!(grants, 10, "one exchange per resource");
    // The floor is 2,000 (every task challenged once, then retried); 5% slack for tasks whose challenge
    // was overtaken by a landing and resent once.
    assert!(
        (1000..=2100).contains(&rs),
        "{rs} RS requests, {:?}",
        client.stats()
    );
    // The ten exchanges upgraded one RPT in turn, none racing another: it holds every permission, so each
    // resource answers to it at once.
    assert_eq!(client.with_core(|c| c.rpt_count()), 1);
    for i in 0..10 {
        let url = kit.rs_url(&format!("/api/r{i}"));
        assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    }
    assert_eq!(kit.count_endpoint(Endpoint::Token), 10);
    let after: usize = (0..10)
        .map(|i| kit.count(Server::Rs, &format!("/api/r{i}")))
        .sum();
    assert_eq!(after, rs + 10, "one request per resource, no challenge");
}

async fn rpt_expiry_under_load(tls: bool) {
    let mut config = KitConfig::new(Dialect::Spec);
    config.rpt_lifetime = Some(Duration::from_secs(1));
    let kit = start(config, tls);
    let _one_at_a_time = HEAVY.lock().await;
    let client = client_for(&kit);
    let url = kit.rs_url("/api/a");
    // Warm: this test is about expiry, not the cold herd.
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    let started = Instant::now();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move {
                let mut ok = 0u32;
                // Bounded in time and count.
                for _ in 0..1000 {
                    if started.elapsed() > Duration::from_millis(2300) {
                        break;
                    }
                    let status = client.get(&url).send().await.map(|r| r.status().as_u16());
                    assert_eq!(status.unwrap(), 200);
                    ok += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                ok
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    assert!(total > 500, "{total} requests");
    let grants: Vec<String> = tokens(&kit)
        .iter()
        .map(|t| t.form_value("grant_type").unwrap_or("").to_owned())
        .collect();
    // One grant, then one refresh per expiry (about every 0.9 s over 2.3 s).
    assert_eq!(grants[0], uma_testkit::UMA_GRANT);
    let refreshes = grants.iter().filter(|g| *g == "refresh_token").count();
    assert!((1..=3).contains(&refreshes), "{grants:?}");
    assert_eq!(grants.len(), 1 + refreshes, "{grants:?}");
    assert_eq!(kit.count_endpoint(Endpoint::Discovery), 1);
}

/// Polls `done` every 5 ms for at most `limit`.
async fn until(limit: Duration, done: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(done(), "condition not met within {limit:?}");
}

async fn cancelled_exchange_leaves_client_usable(tls: bool) {
    let kit = start(KitConfig::new(Dialect::Spec), tls);
    // The first token request hangs for 3 s; later ones are prompt.
    kit.set_fault_times(Endpoint::Token, Fault::Delay(Duration::from_secs(3)), 1);
    let client = client_for(&kit);
    let url = kit.rs_url("/api/a");
    let runner = {
        let (client, url) = (client.clone(), url.clone());
        tokio::spawn(async move { client.get(&url).send().await })
    };
    until(Duration::from_secs(5), || {
        kit.count_endpoint(Endpoint::Token) == 1
    })
    .await;
    // A second request meets the same challenge and parks on the runner's exchange.
    let waiter = {
        let (client, url) = (client.clone(), url.clone());
        tokio::spawn(async move { client.get(&url).send().await })
    };
    until(Duration::from_secs(5), || client.stats().parked >= 1).await;
    let cancelled_at = Instant::now();
    runner.abort();
    assert!(runner.await.unwrap_err().is_cancelled());
    // The waiter is woken by the abort and runs its own exchange, long before the 3 s delay or the
    // core's 60 s claim timeout.
    let response = tokio::time::timeout(Duration::from_secs(2), waiter)
        .await
        .expect("the waiter proceeds")
        .unwrap()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(cancelled_at.elapsed() < Duration::from_secs(2));
    assert_eq!(kit.count_endpoint(Endpoint::Token), 2);
    // And the client goes on with the cached RPT.
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    assert_eq!(kit.count_endpoint(Endpoint::Token), 2);
}

#[tokio::test]
async fn poisoned_lock_is_recovered() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    let client = Arc::new(client_for(&kit));
    let poisoner = Arc::clone(&client);
    let panicked = std::thread::spawn(move || {
        poisoner.with_core(|_| panic!("a panic while the core is locked"));
    })
    .join();
    assert!(panicked.is_err());
    assert_eq!(
        client
            .get(&kit.rs_url("/api/a"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}
