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

/// A 303 turns the streamed POST into a GET without a body: that GET's challenge is answered as usual
/// (the core follows the redirect; the application's client here follows none itself).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_challenge_after_a_see_other_is_answered_though_the_stream_went_once() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    let mut config = config_for(&kit);
    config.max_redirects = 1;
    let uma = uma_with(&kit, config);
    let app = reqwest::Client::builder()
        .tls_backend_preconfigured(tls_for(&kit))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let client = reqwest_middleware::ClientBuilder::new(app)
        .with(uma)
        .build();
    kit.set_fault_times(
        Endpoint::RsResource,
        uma_testkit::Fault::SeeOther(kit.rs_url("/api/a")),
        1,
    );
    let response = client
        .post(kit.rs_url("/api/echo"))
        .body(reqwest::Body::wrap(String::from("a streamed body")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.extensions().get::<NotReplayed>().is_none());
    assert_eq!(count(&kit, Endpoint::Token), 1);
    let methods: Vec<String> = rs_requests(&kit).iter().map(|r| r.method.clone()).collect();
    assert_eq!(methods, ["POST", "GET", "GET"]);
}
