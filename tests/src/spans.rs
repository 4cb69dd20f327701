//! A `tracing` subscriber that records every span and event with all its field values, for the
//! adapters' span tests, and the checks those tests share: the expected spans exist, and no recorded
//! value contains a secret the kit saw on the wire.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

use crate::{Kit, Server};

/// One recorded span (or event, named `event`), its fields in recording order.
#[derive(Clone, Debug)]
pub struct CapturedSpan {
    /// The span's id, unique within its [`Capture`].
    pub id: u64,
    /// The span's name.
    pub name: &'static str,
    /// The enclosing span, when there was one.
    pub parent: Option<u64>,
    /// `(field, value)` pairs; a field recorded twice appears twice.
    pub fields: Vec<(String, String)>,
}

impl CapturedSpan {
    /// The last value recorded for `field`.
    pub fn field(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .rev()
            .find(|(name, _)| name == field)
            .map(|(_, value)| value.as_str())
    }
}

/// The subscriber. Install it with `tracing::subscriber::set_default` on the thread that drives the
/// requests (a current-thread runtime for async adapters).
#[derive(Clone, Default)]
pub struct Capture {
    spans: Arc<Mutex<HashMap<u64, CapturedSpan>>>,
    next: Arc<AtomicU64>,
}

thread_local! {
    static ENTERED: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

struct Values<'a>(&'a mut Vec<(String, String)>);

impl Visit for Values<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

impl Capture {
    /// Everything recorded so far, spans in creation order.
    pub fn spans(&self) -> Vec<CapturedSpan> {
        let mut spans: Vec<_> = self.spans.lock().unwrap().values().cloned().collect();
        spans.sort_by_key(|s| s.id);
        spans
    }

    fn current() -> Option<u64> {
        ENTERED.with(|stack| stack.borrow().last().copied())
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, attributes: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let parent = if attributes.is_root() {
            None
        } else {
            attributes.parent().map(Id::into_u64).or_else(Self::current)
        };
        let mut fields = Vec::new();
        attributes.record(&mut Values(&mut fields));
        let span = CapturedSpan {
            id,
            name: attributes.metadata().name(),
            parent,
            fields,
        };
        self.spans.lock().unwrap().insert(id, span);
        Id::from_u64(id)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        if let Some(span) = self.spans.lock().unwrap().get_mut(&span.into_u64()) {
            values.record(&mut Values(&mut span.fields));
        }
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut fields = Vec::new();
        event.record(&mut Values(&mut fields));
        let parent = event.parent().map(Id::into_u64).or_else(Self::current);
        let span = CapturedSpan {
            id,
            name: "event",
            parent,
            fields,
        };
        self.spans.lock().unwrap().insert(id, span);
    }

    fn enter(&self, span: &Id) {
        ENTERED.with(|stack| stack.borrow_mut().push(span.into_u64()));
    }

    fn exit(&self, span: &Id) {
        ENTERED.with(|stack| {
            let mut stack = stack.borrow_mut();
            if let Some(at) = stack.iter().rposition(|id| *id == span.into_u64()) {
                stack.remove(at);
            }
        });
    }
}

/// Every credential the kit saw on the wire (authorization header values and their token part, and the
/// credential form parameters), plus `extra` (passwords, client secrets known to the test).
pub fn secrets_seen(kit: &Kit, extra: &[&str]) -> Vec<String> {
    const FORM: [&str; 10] = [
        "token",
        "ticket",
        "rpt",
        "pct",
        "claim_token",
        "refresh_token",
        "password",
        "client_secret",
        "client_assertion",
        "subject_token",
    ];
    let mut secrets: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
    for request in kit.log() {
        if let Some(value) = request.header("authorization") {
            secrets.push(value.to_owned());
            if let Some((_, token)) = value.split_once(' ') {
                secrets.push(token.to_owned());
            }
        }
        for name in FORM {
            if let Some(value) = request.form_value(name) {
                secrets.push(value.to_owned());
            }
        }
    }
    // Tokens are long; a short value would match by accident.
    secrets.retain(|s| s.len() >= 6);
    secrets.sort();
    secrets.dedup();
    secrets
}

/// Asserts that no recorded field value contains any of `secrets`, and that the capture holds a
/// `uma.request` span with `uma.outcome` = `ok` whose `uma.exchange` children cover the steps `steps`
/// (a login request span with discovery, then the resource request's challenge, token and retry), with the
/// OpenTelemetry HTTP client fields.
pub fn assert_flow_spans(capture: &Capture, kit: &Kit, secrets: &[String]) {
    let spans = capture.spans();
    let requests: Vec<&CapturedSpan> = spans.iter().filter(|s| s.name == "uma.request").collect();
    // The login.
    assert!(
        requests.iter().any(|r| {
            r.field("uma.outcome") == Some("ok")
                && steps_of(&spans, r).contains(&"login".to_owned())
        }),
        "a login request span: {spans:#?}"
    );
    assert_request_spans(capture, kit, secrets);
}

/// The `uma.step` of each `uma.exchange` child of `request`.
fn steps_of(spans: &[CapturedSpan], request: &CapturedSpan) -> Vec<String> {
    spans
        .iter()
        .filter(|s| s.name == "uma.exchange" && s.parent == Some(request.id))
        .map(|s| s.field("uma.step").unwrap_or("?").to_owned())
        .collect()
}

/// [`assert_flow_spans`] without the login, for an adapter that has none (a middleware): no recorded
/// value contains a secret, and a `uma.request` span of a `GET` with the whole dance (challenge,
/// discovery, token, retry) has the OpenTelemetry HTTP client fields.
pub fn assert_request_spans(capture: &Capture, kit: &Kit, secrets: &[String]) {
    let spans = capture.spans();
    assert!(
        secrets.len() >= 4,
        "the flow should have put credentials on the wire: {secrets:?}"
    );
    assert_no_secret(capture, secrets);
    let requests: Vec<&CapturedSpan> = spans.iter().filter(|s| s.name == "uma.request").collect();
    let steps = |request: &CapturedSpan| steps_of(&spans, request);
    // The resource request with the whole dance.
    let rs = kit.rs_base();
    let flow = requests
        .iter()
        .find(|r| steps(r).contains(&"retry".to_owned()))
        .unwrap_or_else(|| panic!("a request span with a retry: {spans:#?}"));
    assert_eq!(flow.field("uma.outcome"), Some("ok"));
    assert_eq!(flow.field("http.request.method"), Some("GET"));
    assert_eq!(flow.field("http.response.status_code"), Some("200"));
    let url = flow.field("url.full").expect("url.full");
    assert!(url.starts_with(&rs) && !url.contains('?'), "{url} {rs}");
    assert!(flow.field("server.address").is_some());
    assert!(flow.field("server.port").is_some());
    let flow_steps = steps(flow);
    for step in ["challenge", "token", "retry"] {
        assert!(
            flow_steps.contains(&step.to_owned()),
            "{step} in {flow_steps:?}"
        );
    }
    // Discovery runs once, in whichever request needed the metadata first (the login here).
    let all_steps: Vec<String> = requests.iter().flat_map(|r| steps(r)).collect();
    assert!(all_steps.contains(&"discovery".to_owned()), "{all_steps:?}");
    let exchanges: Vec<&CapturedSpan> = spans
        .iter()
        .filter(|s| s.name == "uma.exchange" && s.parent == Some(flow.id))
        .collect();
    for exchange in &exchanges {
        for field in [
            "http.request.method",
            "url.full",
            "server.address",
            "server.port",
            "http.response.status_code",
        ] {
            assert!(exchange.field(field).is_some(), "{field} in {exchange:?}");
        }
    }
    let challenge = exchanges
        .iter()
        .find(|e| e.field("uma.step") == Some("challenge"))
        .unwrap();
    assert_eq!(challenge.field("http.response.status_code"), Some("401"));
    assert_eq!(challenge.field("http.request.resend_count"), None);
    let retry = exchanges
        .iter()
        .find(|e| e.field("uma.step") == Some("retry"))
        .unwrap();
    assert_eq!(retry.field("http.request.resend_count"), Some("1"));
    assert_eq!(retry.field("http.response.status_code"), Some("200"));
    // Something went to the resource server and something to the AS.
    assert!(kit.count(Server::Rs, "/api/a") >= 2);
}

/// Asserts that no recorded field value (of any span or event) contains any of `secrets`.
pub fn assert_no_secret(capture: &Capture, secrets: &[String]) {
    for span in capture.spans() {
        for (field, value) in &span.fields {
            for secret in secrets {
                assert!(
                    !value.contains(secret.as_str()),
                    "span {} field {field} = {value:?} contains a secret",
                    span.name
                );
            }
        }
    }
}

/// Asserts that no recorded value contains any of `secrets`, and that the protection calls were traced:
/// `uma.request` spans (no application request: no URL) whose `uma.exchange` children cover `steps`
/// (e.g. `login` for the PAT, `permission endpoint`, `introspection endpoint`), every exchange with the
/// OpenTelemetry HTTP client fields and a status, every request span with an `uma.outcome`.
pub fn assert_protection_spans(capture: &Capture, secrets: &[String], steps: &[&str]) {
    assert!(
        !secrets.is_empty(),
        "the calls should have put credentials on the wire"
    );
    assert_no_secret(capture, secrets);
    let spans = capture.spans();
    // An application request's span has a URL; a protection call's has none.
    let requests: Vec<&CapturedSpan> = spans
        .iter()
        .filter(|s| s.name == "uma.request" && s.field("url.full").is_none())
        .collect();
    let exchanges: Vec<&CapturedSpan> = spans
        .iter()
        .filter(|s| s.name == "uma.exchange" && requests.iter().any(|r| s.parent == Some(r.id)))
        .collect();
    let seen: Vec<&str> = exchanges
        .iter()
        .map(|e| e.field("uma.step").unwrap_or("?"))
        .collect();
    for step in steps {
        assert!(seen.contains(step), "step {step} in {seen:?}: {spans:#?}");
    }
    for exchange in &exchanges {
        for field in [
            "http.request.method",
            "url.full",
            "server.address",
            "server.port",
            "http.response.status_code",
        ] {
            assert!(exchange.field(field).is_some(), "{field} in {exchange:?}");
        }
        assert!(!exchange.field("url.full").unwrap().contains('?'));
    }
    for request in &requests {
        assert!(
            request.field("uma.outcome").is_some(),
            "outcome of {request:?}"
        );
    }
}
