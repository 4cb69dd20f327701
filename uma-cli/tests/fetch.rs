//! `uma fetch` against the embedded AS + RS.

mod common;

use common::{app_flags, fetch, kit};
use uma_testkit::{Dialect, Endpoint};

#[test]
fn spec_flow_succeeds_and_prints_body() {
    let kit = kit(Dialect::Spec);
    let url = kit.rs_url("/api/a");
    let run = fetch(&app_flags(&kit), &[&url]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("\"scope\":\"read\""), "{}", run.stdout);
    assert_eq!(kit.count_endpoint(Endpoint::Token), 1);
    assert_eq!(kit.count_endpoint(Endpoint::Discovery), 1);
}
