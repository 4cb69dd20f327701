//! A body that cannot be cloned is sent once; its UMA challenge comes back tagged, nothing sent to the AS.

use crate::common::*;
use uma_reqwest::NotReplayed;
use uma_testkit::{Dialect, Endpoint, KitConfig, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_body_challenge_returned_with_reason() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    let uma = uma_for(&kit);
    let client = chain(&kit, &uma);
    let body = reqwest::Body::wrap(String::from("a streamed body"));
    let response = client
        .post(kit.rs_url("/api/echo"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.url().as_str(), kit.rs_url("/api/echo"));
    assert_eq!(
        response.extensions().get::<NotReplayed>(),
        Some(&NotReplayed::BodyNotCloneable)
    );
    assert!(
        response
            .headers()
            .get("www-authenticate")
            .is_some_and(|h| h.to_str().unwrap().starts_with("UMA ")),
        "the original challenge"
    );
    assert_eq!(kit.log_of(Server::As).len(), 0, "nothing went to the AS");
    let rs = rs_requests(&kit);
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].body_len, "a streamed body".len());

    // The same request with a body in memory goes through.
    let response = client
        .post(kit.rs_url("/api/echo"))
        .body("a streamed body")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.extensions().get::<NotReplayed>().is_none());
    assert_eq!(count(&kit, Endpoint::Token), 1);
}

/// A streaming body to a resource that needs no UMA is sent as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_body_without_challenge_passes() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    let client = chain(&kit, &uma_for(&kit));
    let response = client
        .post(kit.rs_url("/unprotected"))
        .body(reqwest::Body::wrap(String::from("data")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert!(response.extensions().get::<NotReplayed>().is_none());
    assert_eq!(rs_requests(&kit)[0].body_len, 4);
}
