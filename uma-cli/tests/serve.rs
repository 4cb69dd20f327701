//! `uma serve`: the embedded servers stand alone for other clients; `uma fetch` gets through them, and the
//! request log printed shows each request without a secret.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn serve_answers_another_client_and_logs_its_requests() {
    let mut serve = Command::new(env!("CARGO_BIN_EXE_uma"))
        .args(["serve", "--dialect", "spec", "--for", "3"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(serve.stdout.take().unwrap()).lines();
    let mut field = |prefix: &str| loop {
        let line = lines.next().expect("serve printed its URLs").unwrap();
        if let Some(rest) = line.strip_prefix(prefix) {
            break rest.trim().to_owned();
        }
    };
    let issuer = field("authorization server issuer:");
    let rs = field("resource server:");
    let fetch = Command::new(env!("CARGO_BIN_EXE_uma"))
        .args([
            "fetch",
            "--allow-insecure-http",
            "--issuer",
            &issuer,
            "--client-id",
            "app",
        ])
        .env("UMA_CLIENT_SECRET", "app-secret")
        .arg(format!("{rs}/api/a"))
        .output()
        .unwrap();
    assert!(
        fetch.status.success(),
        "{}",
        String::from_utf8_lossy(&fetch.stderr)
    );
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(serve.wait().unwrap().success());
    // The banner names the (public, test-only) credentials; the request log after it must not.
    let log = rest.join("\n");
    let log = log
        .split("requests received:")
        .nth(1)
        .expect("the log header")
        .to_owned();
    assert!(log.contains("Rs GET /api/a [RsResource]"), "{log}");
    assert!(log.contains("As POST /token [Token]"), "{log}");
    assert!(!log.contains("app-secret"), "{log}");
}
