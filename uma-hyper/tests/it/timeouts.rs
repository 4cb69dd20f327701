//! "No limit" spelled as `Duration::MAX` does not panic in the tower form (`UmaLayer`) either: the
//! engine's `started + exchange_timeout` and `drive`'s request deadline saturate instead of overflowing
//! `tokio::time::Instant`'s `Add` (they once panicked). The client form is the conformance suite's
//! `unbounded_timeouts_do_not_panic`.

use std::convert::Infallible;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use tower::{Layer, ServiceExt};
use uma_core::Config;
use uma_hyper::{Options, UmaLayer};

async fn get_through(options: Options) -> Result<http::StatusCode, String> {
    let inner = tower::service_fn(|_req: http::Request<uma_hyper::RequestBody>| async {
        Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from_static(b"ok"))))
    });
    let service = UmaLayer::new(Config::new().allow_insecure_http(true))
        .with_options(options)
        .layer(inner);
    let request = http::Request::get("http://127.0.0.1:9/x")
        .body(Full::new(Bytes::new()))
        .unwrap();
    // Run on its own task so a panic is reported as a failure of this call, not an abort.
    let handle = tokio::spawn(async move { service.oneshot(request).await });
    match handle.await {
        Ok(Ok(response)) => Ok(response.status()),
        Ok(Err(e)) => Err(format!("error: {e}")),
        Err(join) => Err(format!("panicked: {join}")),
    }
}

#[tokio::test]
async fn unbounded_exchange_timeout_does_not_panic() {
    let options = Options::default()
        .with_exchange_timeout(Some(Duration::MAX))
        .with_request_timeout(None);
    assert_eq!(get_through(options).await, Ok(http::StatusCode::OK));
}

#[tokio::test]
async fn unbounded_overall_timeout_does_not_panic() {
    let options = Options::default().with_request_timeout(Some(Duration::MAX));
    assert_eq!(get_through(options).await, Ok(http::StatusCode::OK));
}
