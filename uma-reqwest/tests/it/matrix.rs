//! The end-to-end matrix through a `reqwest_middleware` chain, asserting the server-side log.

use crate::common::*;
use sha2::{Digest, Sha256};
use uma_core::Party;
use uma_core::config::ClaimPushing;
use uma_core::grant::PushedClaim;
use uma_core::secret::ClaimToken;
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

/// Warm: one round trip per request with the cached RPT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_rpt_one_round_trip() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    let client = chain(&kit, &uma_for(&kit));
    for _ in 0..5 {
        let response = client.get(kit.rs_url("/api/a")).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(count(&kit, Endpoint::Discovery), 1);
    assert_eq!(count(&kit, Endpoint::Token), 1);
    // One challenge, then five requests with the cached RPT.
    assert_eq!(rs_requests(&kit).len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_across_two_resources() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    let client = chain(&kit, &uma_for(&kit));
    for path in ["/api/a", "/api/b", "/api/a", "/api/b"] {
        let response = client.get(kit.rs_url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    let grants = tokens(&kit);
    assert_eq!(grants.len(), 2);
    assert!(grants[0].form_value("rpt").is_none());
    assert!(
        grants[1].form_value("rpt").is_some(),
        "the second grant upgrades"
    );
    assert_eq!(count(&kit, Endpoint::Discovery), 1);
}

/// A denial is a `Middleware` error wrapping the shared `Error`, with the 401 it ended on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denial() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    let mut server = server_for(&kit);
    server.claim = Some(PushedClaim::id_token(ClaimToken::new(
        kit.id_token_for("bob"),
    )));
    let mut config = config_for(&kit);
    config.authorization_servers = vec![server];
    config.claim_pushing = ClaimPushing::Always;
    let client = chain(&kit, &uma_with(&kit, config));
    let error = client
        .post(kit.rs_url("/api/a"))
        .body("bob writes")
        .send()
        .await
        .unwrap_err();
    let uma = uma_reqwest::uma_error(&error).expect("a UMA error");
    assert!(uma.is_denied(), "{uma}");
    assert_eq!(uma.response().map(|r| r.status().as_u16()), Some(401));
    assert_eq!(count(&kit, Endpoint::Token), 1);
    assert_eq!(rs_requests(&kit).len(), 1);
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

/// A body in memory is replayed byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_replayed_intact() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    let client = chain(&kit, &uma_for(&kit));
    let body: Vec<u8> = (0..1_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let digest: String = Sha256::digest(&body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let response = client
        .post(kit.rs_url("/api/echo"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let echoed = json(&response.bytes().await.unwrap());
    assert_eq!(echoed["len"], 1_000_000);
    assert_eq!(echoed["sha256"], digest);
    let rs = rs_requests(&kit);
    assert_eq!(rs.len(), 2);
    assert!(
        rs.iter()
            .all(|r| r.body_len == 1_000_000 && r.method == "POST")
    );
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
