//! The tower form, body limits and the observer.

use std::sync::{Arc, Mutex};

use crate::common::*;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower::{Service, ServiceBuilder, ServiceExt};
use uma_core::{Party, RequestKind};
use uma_hyper::{BodyKind, Error, Options, RequestBody, UmaLayer};
use uma_testkit::{Dialect, Endpoint, Fault, GrantedBody, KitConfig};

both!(tower_form_happy_path);

async fn tower_form_happy_path(tls: bool) {
    let kit = start(KitConfig::new(Dialect::Spec), tls);
    // The layer shares the cache of a client built for the kit (so TLS trusts the test CA).
    let client = client_for(&kit);
    let connector = match kit.ca_certificate_der() {
        Some(der) => hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(uma_hyper::UmaClient::tls_config_trusting([der]).unwrap())
            .https_or_http()
            .enable_http1()
            .build(),
        None => hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(uma_hyper::UmaClient::tls_config_trusting([]).unwrap())
            .https_or_http()
            .enable_http1()
            .build(),
    };
    let http = Client::builder(TokioExecutor::new()).build::<_, RequestBody>(connector);
    let mut service = ServiceBuilder::new()
        .map_request(|mut r: http::Request<Full<Bytes>>| {
            r.headers_mut().insert("x-stacked", "yes".parse().unwrap());
            r
        })
        .layer(client.layer())
        .service(http);
    for _ in 0..3 {
        let request = http::Request::get(kit.rs_url("/api/a"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = service.ready().await.unwrap().call(request).await.unwrap();
        assert_eq!(response.status(), 200);
    }
    let rs = rs_requests(&kit);
    assert_eq!(rs.len(), 4);
    assert!(rs.iter().all(|r| r.header("x-stacked") == Some("yes")));
    assert_eq!(kit.count_endpoint(Endpoint::Token), 1);
    // The layer and the client share one cache.
    assert_eq!(
        client
            .get(&kit.rs_url("/api/a"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(kit.count_endpoint(Endpoint::Token), 1);
    assert_eq!(client.stats().token_requests, 1);
}

#[tokio::test]
async fn parties_do_not_share_rpts_in_the_tower_form() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    let http = Client::builder(TokioExecutor::new()).build_http::<RequestBody>();
    let layer = UmaLayer::new(config_for(&kit)).with_options(options());
    let service = ServiceBuilder::new().layer(layer.clone()).service(http);
    for party in ["alice", "bob", "alice"] {
        let mut request = http::Request::get(kit.rs_url("/api/a"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        request.extensions_mut().insert(Party::new(party));
        let response = service.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(kit.count_endpoint(Endpoint::Token), 2);
    assert_eq!(layer.stats().token_requests, 2);
}

#[tokio::test]
async fn a_stream_over_the_replay_limit_goes_once_and_a_challenge_to_it_is_typed() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    let client = client_for(&kit).with_options(options().with_max_replay_body(1000));
    let request = http::Request::post(kit.rs_url("/api/echo"))
        .body(Chunks::of(4, 1000))
        .unwrap();
    let error = client.send(request).await.unwrap_err();
    assert!(
        matches!(error, Error::BodyNotReplayable { .. }),
        "{error:?}"
    );
    assert_eq!(error.response().map(|r| r.status().as_u16()), Some(401));
    assert!(
        error.to_string().contains("can be sent only once"),
        "{error}"
    );
    // Sent once, in full; nothing asked of the authorization server.
    let rs = rs_requests(&kit);
    assert_eq!(rs.len(), 1);
    assert_eq!(kit.count_endpoint(Endpoint::Discovery), 0);
    assert_eq!(kit.count_endpoint(Endpoint::Token), 0);

    // With an RPT for the resource cached (from a replayable body), the stream goes through once.
    let warm = client
        .post(&kit.rs_url("/api/echo"), "warm-up")
        .send()
        .await
        .unwrap();
    assert_eq!(warm.status(), 200);
    kit.clear_log();
    let request = http::Request::post(kit.rs_url("/api/echo"))
        .body(Chunks::of(4, 1000))
        .unwrap();
    let response = client.send(request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(json(&body_of(response).await)["len"], 4000);
    assert_eq!(rs_requests(&kit).len(), 1);
}

#[tokio::test]
async fn an_in_memory_body_over_the_replay_limit_is_replayed() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    let client = client_for(&kit).with_options(options().with_max_replay_body(1000));
    let request = http::Request::post(kit.rs_url("/api/echo"))
        .body(Full::new(Bytes::from(vec![7u8; 5000])))
        .unwrap();
    let response = client.send(request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(json(&body_of(response).await)["len"], 5000);
    let rs = rs_requests(&kit);
    assert_eq!(rs.len(), 2);
    assert!(rs.iter().all(|r| r.body_len == 5000));
}

#[tokio::test]
async fn a_body_factory_is_called_again_for_the_retry() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    let client = client_for(&kit).with_options(options().with_max_replay_body(1000));
    let made = Arc::new(Mutex::new(0));
    let counter = Arc::clone(&made);
    let head = http::Request::post(kit.rs_url("/api/echo"))
        .body(())
        .unwrap();
    let response = client
        .send_with_body(head, move || {
            *counter.lock().unwrap() += 1;
            Chunks::of(8, 1000)
        })
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(json(&body_of(response).await)["len"], 8000);
    assert_eq!(*made.lock().unwrap(), 2);
    let rs = rs_requests(&kit);
    assert_eq!(rs.len(), 2);
    assert!(rs.iter().all(|r| r.body_len == 8000));
}

/// A body cut short, with a `Content-Length` or chunked, is an error when read, never a short success.
#[tokio::test]
async fn a_truncated_body_is_an_error_when_read() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    let client = client_for(&kit);
    for body in [
        GrantedBody::Truncated(200_000),
        GrantedBody::TruncatedChunked(200_000),
    ] {
        kit.set_granted_body(body);
        let response = client.get(&kit.rs_url("/api/a")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{body:?}");
        let read = http_body_util::BodyExt::collect(response.into_body()).await;
        assert!(read.is_err(), "{body:?}");
    }
}

/// A challenge carrying 512 MiB costs the usual four round trips and is never read whole.
#[tokio::test]
async fn a_huge_challenge_body_is_not_read() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    kit.set_challenge_body(Some(512 * 1024 * 1024));
    let client = client_for(&kit);
    let response = client.get(&kit.rs_url("/api/a")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(kit.log().len(), 4);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !kit.challenge_bodies().iter().all(|b| b.ended) && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let challenges = kit.challenge_bodies();
    assert_eq!(challenges.len(), 1);
    assert!(challenges[0].sent < 64 * 1024 * 1024, "{challenges:?}");
}

/// A marker the application puts in its request's extensions.
#[derive(Clone, Debug, PartialEq)]
struct TraceId(u32);

#[tokio::test]
async fn the_layer_keeps_extensions_and_returns_the_inner_body_type() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    let http = Client::builder(TokioExecutor::new()).build_http::<RequestBody>();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    // An inner service that records the marker, and answers with hyper's own body type.
    let inner = tower::service_fn(move |request: http::Request<RequestBody>| {
        sink.lock()
            .unwrap()
            .push(request.extensions().get::<TraceId>().cloned());
        let http = http.clone();
        async move { http.request(request).await }
    });
    let layer = UmaLayer::new(config_for(&kit)).with_options(options());
    let service = ServiceBuilder::new().layer(layer).service(inner);
    let mut request = http::Request::get(kit.rs_url("/api/a"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    request.extensions_mut().insert(TraceId(7));
    let response: http::Response<hyper::body::Incoming> = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(json(&body_of(response).await)["scope"], "read");
    // The challenge and the retry carried it; the authorization-server requests did not.
    assert_eq!(
        *seen.lock().unwrap(),
        [Some(TraceId(7)), None, None, Some(TraceId(7))]
    );
}

#[tokio::test]
async fn oversized_authorization_server_answer_is_refused() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    kit.set_fault(
        Endpoint::Discovery,
        Some(Fault::OversizedChunked(3 * 1024 * 1024)),
    );
    let client = client_for(&kit);
    let error = client.get(&kit.rs_url("/api/a")).send().await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::BodyTooLarge {
                body: BodyKind::AuthorizationServer,
                limit: 1_048_576,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(kit.count_endpoint(Endpoint::Token), 0);
    kit.set_fault(Endpoint::Discovery, None);
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

#[tokio::test]
async fn observer_sees_every_exchange_without_secrets() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let options: Options = options().with_observer(move |event| {
        sink.lock()
            .unwrap()
            .push((event.kind, event.status, event.line()));
    });
    let client = client_for(&kit).with_options(options);
    assert_eq!(
        client
            .get(&kit.rs_url("/api/a"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let seen = seen.lock().unwrap();
    let kinds: Vec<_> = seen.iter().map(|(k, s, _)| (*k, *s)).collect();
    assert_eq!(
        kinds,
        [
            (RequestKind::Resource, Some(401)),
            (RequestKind::Discovery, Some(200)),
            (RequestKind::Token, Some(200)),
            (RequestKind::Resource, Some(200)),
        ]
    );
    let ticket = tokens(&kit)[0]
        .form_value("ticket")
        .unwrap_or("")
        .to_owned();
    for (_, _, line) in seen.iter() {
        assert!(
            !line.contains("app-secret") && !line.contains(&ticket),
            "{line}"
        );
    }
}

#[tokio::test]
async fn overall_timeout_bounds_a_request() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    kit.set_fault(
        Endpoint::Discovery,
        Some(Fault::Delay(std::time::Duration::from_secs(5))),
    );
    let client = client_for(&kit)
        .with_options(options().with_request_timeout(Some(std::time::Duration::from_millis(300))));
    let started = std::time::Instant::now();
    let error = client.get(&kit.rs_url("/api/a")).send().await.unwrap_err();
    assert!(matches!(
        error,
        Error::Timeout {
            deadline: uma_hyper::Deadline::Request,
            ..
        }
    ));
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}

#[tokio::test]
async fn a_challenge_after_a_see_other_is_answered_though_the_stream_went_once() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    let mut config = config_for(&kit);
    config.max_redirects = 1;
    let client = client_with(&kit, config).with_options(options().with_max_replay_body(1000));
    kit.set_fault_times(
        Endpoint::RsResource,
        Fault::SeeOther(kit.rs_url("/api/a")),
        1,
    );
    let request = http::Request::post(kit.rs_url("/api/echo"))
        .body(Chunks::of(4, 1000))
        .unwrap();
    // The 303 makes the request a GET without a body: its challenge needs no replay of the stream.
    let response = client.send(request).await.expect("the GET needs no body");
    assert_eq!(response.status(), 200);
    assert_eq!(kit.count_endpoint(Endpoint::Token), 1);
    let rs = rs_requests(&kit);
    assert_eq!(
        rs.iter().map(|r| r.method.as_str()).collect::<Vec<_>>(),
        ["POST", "GET", "GET"]
    );
}

#[tokio::test]
async fn the_request_builder_sends_files_and_readers_through_a_challenge() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    let client = client_for(&kit);
    let dir = std::env::temp_dir().join(format!("uma-hyper-builder-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("upload.bin");
    std::fs::write(&file, vec![7u8; 200_000]).unwrap();

    // A file is opened again for the retry after the challenge: both sends carry all of it.
    let response = client
        .request(http::Method::POST, &kit.rs_url("/api/echo"))
        .header("content-type", "application/octet-stream")
        .body_file(&file)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(json(&body_of(response).await)["len"], 200_000);
    let sent: Vec<usize> = rs_requests(&kit).iter().map(|r| r.body_len).collect();
    assert_eq!(sent, [200_000, 200_000]);

    // A short reader is held and replayed (a fresh client, so there is a challenge again).
    kit.clear_log();
    let response = client_for(&kit)
        .post(&kit.rs_url("/api/echo"), Bytes::new())
        .body_reader(std::io::Cursor::new(vec![1u8; 5000]))
        .send()
        .await
        .unwrap();
    assert_eq!(json(&body_of(response).await)["len"], 5000);
    let sent: Vec<usize> = rs_requests(&kit).iter().map(|r| r.body_len).collect();
    assert_eq!(sent, [5000, 5000]);

    // A file that is not there is the request body's error, before anything is sent.
    kit.clear_log();
    let error = client
        .post(&kit.rs_url("/api/echo"), Bytes::new())
        .body_file(dir.join("missing.bin"))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(error, Error::RequestBody(_)), "{error:?}");
    assert!(rs_requests(&kit).is_empty());
    std::fs::remove_dir_all(&dir).ok();
}
