//! `--stats` counts the HTTP exchanges that really happened (issue 6: "http_exchanges": M), also when
//! the initial grant fails and no URL is fetched.

use crate::common::*;
use uma_testkit::Dialect;

#[test]
fn stats_count_the_exchanges_of_a_failed_login() {
    let kit = kit(Dialect::Spec);
    let run = uma(&[
        "fetch",
        "--issuer",
        &kit.issuer(),
        "--client-id",
        "app",
        "--client-secret",
        "not-the-secret",
        "--grant",
        "client-credentials",
        "--allow-insecure-http",
        "--stats",
        &kit.rs_url("/api/a"),
    ]);
    assert_eq!(run.code, 3, "{}", run.all());
    let stats = run.stats();
    assert_eq!(stats["statuses"]["error"], 1, "{stats}");
    // Discovery and the refused token request reached the AS.
    let seen = kit.log().len() as u64;
    assert!(seen >= 2, "the kit saw {seen} requests");
    assert_eq!(
        stats["http_exchanges"].as_u64(),
        Some(seen),
        "stats: {stats}; the kit saw {seen} requests"
    );
}
