//! Redirects to another origin never carry `Authorization`, cookies or the RPT (config.rs
//! `max_redirects` doc, design.md §3), not even the ones set in `Config::default_headers`:
//! `follow_redirect` strips credential headers from the stored request, and `send_resource_with` must not
//! add them back for the new origin.

use crate::support::*;
use http::HeaderValue;

#[test]
fn default_credential_headers_do_not_follow_a_cross_origin_redirect() {
    let mut cfg = config();
    cfg.max_redirects = 1;
    cfg.default_headers.insert(
        "authorization",
        HeaderValue::from_static("Basic YXBpOmtleQ=="),
    );
    cfg.default_headers
        .insert("cookie", HeaderValue::from_static("session=s3cr3t"));
    let mut d = Driver::new(uma_core::Client::new(cfg));

    let mut flow = uma_core::Flow::new(get("/a"));
    let step = d.start(&mut flow);
    let uma_core::Step::Send(first) = &step else {
        panic!("{step:?}")
    };
    // Same origin: the user's default headers are sent, as configured.
    assert!(first.request.headers().contains_key("authorization"));

    let redirect = response(302, &[("location", "https://other.example.com/x")], "");
    let step = d.feed(&mut flow, step, redirect);
    let uma_core::Step::Send(second) = &step else {
        panic!("{step:?}")
    };
    assert_eq!(second.request.uri(), "https://other.example.com/x");
    let leaked: Vec<_> = ["authorization", "cookie", "proxy-authorization"]
        .into_iter()
        .filter(|h| second.request.headers().contains_key(*h))
        .collect();
    assert!(
        leaked.is_empty(),
        "credential headers sent to the redirect target on another origin: {leaked:?}"
    );
}
