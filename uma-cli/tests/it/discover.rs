//! `uma discover` against the embedded AS.

use crate::common::{kit, uma};
use uma_testkit::{Dialect, Endpoint};

#[test]
fn prints_validated_metadata_in_each_dialect() {
    for dialect in [Dialect::Spec, Dialect::keycloak(), Dialect::Gluu] {
        let kit = kit(dialect);
        let issuer = kit.issuer();
        let run = uma(&["discover", &issuer, "--allow-insecure-http"]);
        assert_eq!(run.code, 0, "{}", run.all());
        let doc = run.json();
        assert_eq!(doc["issuer"], issuer.trim_end_matches('/'));
        assert_eq!(
            doc["token_endpoint"].as_str(),
            kit.endpoint_url(Endpoint::Token).as_deref()
        );
        assert!(doc["grant_types_supported"].is_array(), "{doc}");
        assert!(doc.get("permission_endpoint").is_some(), "{doc}");
    }
}

#[test]
fn http_issuer_refused_before_anything_is_sent() {
    let kit = kit(Dialect::Spec);
    let run = uma(&["discover", &kit.issuer()]);
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(run.stderr.contains("does not use https"), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1);
    assert_eq!(kit.count_endpoint(Endpoint::Discovery), 0);
}

#[test]
fn lying_issuer_is_refused() {
    let kit = kit(Dialect::Spec);
    kit.set_discovery_issuer(Some(kit.hostile_issuer()));
    let run = uma(&["discover", &kit.issuer(), "--allow-insecure-http"]);
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(run.stderr.contains("does not match"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
}

#[test]
fn bad_issuer_and_unreachable_issuer() {
    let run = uma(&["discover", "https://as.example/x?y=1"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("query"), "{}", run.stderr);
    // Port 9 on loopback: nothing listens (connection refused).
    let run = uma(&["discover", "http://127.0.0.1:9", "--allow-insecure-http"]);
    assert_eq!(run.code, 4, "{}", run.all());
}

#[test]
fn timeout_is_reported() {
    let kit = kit(Dialect::Spec);
    kit.set_fault(Endpoint::Discovery, Some(uma_testkit::Fault::NeverAnswer));
    let run = uma(&[
        "discover",
        &kit.issuer(),
        "--allow-insecure-http",
        "--timeout",
        "0.3",
    ]);
    assert_eq!(run.code, 4, "{}", run.all());
    assert!(run.stderr.contains("timeout"), "{}", run.stderr);
}
