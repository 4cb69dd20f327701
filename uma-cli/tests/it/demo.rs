//! `uma demo`: no configuration, exits 0, shows every step, prints no secret.

use crate::common::uma;

#[test]
fn demo_walks_every_step_and_prints_no_secret() {
    let started = std::time::Instant::now();
    let run = uma(&["demo"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let out = run.stdout.to_lowercase();
    for dialect in ["spec dialect", "keycloak dialect", "eoepca dialect"] {
        assert!(out.contains(dialect), "{dialect}: {}", run.stdout);
    }
    for step in [
        "rs challenges",
        "as discovery",
        "ticket exchanged for an rpt",
        "rs serves the resource",
        "cached rpt is reused",
        "rpt upgraded",
        "rpt refreshed",
        "refused, as it should be",
        "need_info",
        "request_submitted",
        "password grant",
    ] {
        assert!(out.contains(step), "{step}: {}", run.stdout);
    }
    let summary = run.stdout.lines().last().unwrap();
    assert!(summary.starts_with("round trips per step:"), "{summary}");
    assert!(
        summary.contains("cached 1") && summary.contains("upgrade 3"),
        "{summary}"
    );
    // EOEPCA's DemoClient sequence, refereed by the testkit's log.
    assert!(
        summary.contains(
            "eoepca-democlient: register_client 2, login 2, register_resource 1, \
             list_processes 4, create_workspace 1, list_processes_again 1"
        ),
        "{summary}"
    );
    assert!(
        out.contains("matches democlient's sequence"),
        "{}",
        run.stdout
    );
    assert!(out.contains("(id token as x-user-id)"), "{}", run.stdout);
    // The kit's client secret, passwords, JWT-shaped tokens and ticket values never appear.
    for secret in ["app-secret", "alice-pw", "bob-pw", "eyJ", "ticket="] {
        assert!(
            !run.all().contains(secret),
            "{secret} leaked: {}",
            run.all()
        );
    }
}
