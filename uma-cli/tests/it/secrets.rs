//! Secrets the user typed into the URL itself never reach stderr.
//!
//! `http://user:password@host/…` is a credential (curl accepts it, and the Keycloak guide's scripts
//! use it for basic-auth fronted resource servers). uma-ureq's own errors drop the userinfo
//! (`display_url`), and so must the CLI's one-line error context (`url_without_query`).

use crate::common::*;
use uma_testkit::Dialect;

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}

#[test]
fn userinfo_password_is_not_echoed_on_transport_error() {
    let url = format!("http://alice:hunter2-pw@127.0.0.1:{}/x", closed_port());
    let run = uma(&["fetch", "-v", "--stats", &url]);
    assert_eq!(run.code, 4, "{}", run.all());
    assert!(
        !run.stderr.contains("hunter2-pw"),
        "userinfo password leaked on stderr:\n{}",
        run.stderr
    );
}

#[test]
fn userinfo_password_is_not_echoed_on_non_2xx_status() {
    let kit = kit(Dialect::Spec);
    let url = kit
        .rs_url("/nothing-here")
        .replacen("http://", "http://alice:hunter2-pw@", 1);
    let run = fetch(&app_flags(&kit), &["-v", &url]);
    assert_ne!(run.code, 0, "{}", run.all());
    assert!(
        !run.stderr.contains("hunter2-pw"),
        "userinfo password leaked on stderr:\n{}",
        run.stderr
    );
}

#[test]
fn issuer_with_userinfo_is_refused_without_echoing_the_password() {
    // Refused, rightly (RFC 8414 §2), but the message quotes the whole string back.
    for args in [
        vec!["discover", "https://u:hunter2-pw@as.example"],
        vec![
            "fetch",
            "--issuer",
            "https://u:hunter2-pw@as.example",
            "http://127.0.0.1:9/x",
        ],
    ] {
        let run = uma(&args);
        assert_eq!(run.code, 2, "{}", run.all());
        assert!(
            !run.stderr.contains("hunter2-pw"),
            "userinfo password echoed by {args:?}:\n{}",
            run.stderr
        );
    }
}
