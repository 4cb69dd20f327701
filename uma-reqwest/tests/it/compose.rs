//! `UmaMiddleware` composes with reqwest-retry and reqwest-tracing, each in either order.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::*;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware};
use reqwest_retry::RetryTransientMiddleware;
use reqwest_retry::policies::ExponentialBackoff;
use reqwest_tracing::TracingMiddleware;
use uma_testkit::{Dialect, Endpoint, Fault, Kit, KitConfig};

fn retry() -> RetryTransientMiddleware<ExponentialBackoff> {
    let policy = ExponentialBackoff::builder()
        .retry_bounds(Duration::from_millis(1), Duration::from_millis(10))
        .build_with_max_retries(3);
    RetryTransientMiddleware::new_with_policy(policy)
}

/// `outer`, then `inner`, over the application's client.
fn two(kit: &Kit, outer: impl Middleware, inner: impl Middleware) -> ClientWithMiddleware {
    ClientBuilder::new(app_client(kit))
        .with(outer)
        .with(inner)
        .build()
}

/// Each resource-server request: (carried an `Authorization`, body length).
fn attempts(kit: &Kit) -> Vec<(bool, usize)> {
    rs_requests(kit)
        .iter()
        .map(|r| (r.header("authorization").is_some(), r.body_len))
        .collect()
}

/// Retry outside: a transient 503 from the resource server is retried, and the retry runs the dance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_before_uma() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    kit.set_fault_times(Endpoint::RsResource, Fault::Status(503), 1);
    let client = two(&kit, retry(), uma_for(&kit));
    let response = client.get(kit.rs_url("/api/a")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    // The 503, the challenge, the replay with the RPT.
    assert_eq!(attempts(&kit), [(false, 0), (false, 0), (true, 0)]);
    assert_eq!(count(&kit, Endpoint::Token), 1);
}

/// Retry inside: each resource attempt is retried on its own, the RPT-carrying replay included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_uma() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    kit.set_fault_times(Endpoint::RsResource, Fault::Status(503), 1);
    let uma = uma_for(&kit);
    let client = two(&kit, uma.clone(), retry());
    let response = client.get(kit.rs_url("/api/a")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(attempts(&kit), [(false, 0), (false, 0), (true, 0)]);
    // Warm: a 503 on the request carrying the cached RPT is retried with it; no new exchange.
    kit.clear_log();
    kit.set_fault_times(Endpoint::RsResource, Fault::Status(503), 1);
    let response = client.get(kit.rs_url("/api/a")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(attempts(&kit), [(true, 0), (true, 0)]);
    assert_eq!(uma.stats().token_requests, 1);
}

/// A subscriber that counts reqwest-tracing's spans: those carrying `http.request.method`, except
/// uma's own (target `uma`, which use the same OpenTelemetry field names).
struct CountHttpSpans(Arc<AtomicUsize>, AtomicU64);

impl tracing::Subscriber for CountHttpSpans {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let metadata = span.metadata();
        if metadata.target() != "uma" && metadata.fields().field("http.request.method").is_some() {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
        tracing::span::Id::from_u64(self.1.fetch_add(1, Ordering::SeqCst) + 1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Runs a cold request through `client` on this thread and counts the HTTP spans made.
async fn spans_for_cold_request(kit: &Kit, client: &ClientWithMiddleware) -> usize {
    let spans = Arc::new(AtomicUsize::new(0));
    let subscriber = CountHttpSpans(Arc::clone(&spans), AtomicU64::new(0));
    let _guard = tracing::subscriber::set_default(subscriber);
    let response = client.get(kit.rs_url("/api/a")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(rs_requests(kit).len(), 2);
    assert_eq!(count(kit, Endpoint::Token), 1);
    spans.load(Ordering::SeqCst)
}

/// Tracing outside: one span for the application request, whatever the dance inside.
#[tokio::test(flavor = "current_thread")]
async fn tracing_before_uma() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    let client = two(&kit, TracingMiddleware::default(), uma_for(&kit));
    assert_eq!(spans_for_cold_request(&kit, &client).await, 1);
}

/// Tracing inside: one span per resource-server attempt (the challenge and the replay); the AS calls
/// go on the inner client, outside the chain, so they make none.
#[tokio::test(flavor = "current_thread")]
async fn tracing_after_uma() {
    let kit = start(KitConfig::new(Dialect::Spec), false);
    let client = two(&kit, uma_for(&kit), TracingMiddleware::default());
    assert_eq!(spans_for_cold_request(&kit, &client).await, 2);
}
