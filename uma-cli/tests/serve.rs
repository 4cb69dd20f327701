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

/// Starts `uma serve ARGS --for SECONDS` and returns it with the banner lines (up to the log header).
fn serve_banner(args: &[&str], seconds: &str) -> (std::process::Child, Vec<String>) {
    let mut serve = Command::new(env!("CARGO_BIN_EXE_uma"))
        .arg("serve")
        .args(args)
        .args(["--for", seconds])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut banner = Vec::new();
    let mut lines = BufReader::new(serve.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line == "requests received:" {
            break;
        }
        banner.push(line);
    }
    // Keep draining the log so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (serve, banner)
}

/// Every `try…:` line: (the label, the command as printed).
fn try_lines(banner: &[String]) -> Vec<(String, String)> {
    banner
        .iter()
        .filter(|l| l.starts_with("try"))
        .map(|l| {
            let (label, command) = l.split_once(':').unwrap();
            (label.to_owned(), command.trim().to_owned())
        })
        .collect()
}

/// Runs a printed command as pasted (the lines hold no quotes: splitting on whitespace is the shell's).
fn paste(command: &str) -> std::process::Output {
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(words[0], "uma", "{command}");
    Command::new(env!("CARGO_BIN_EXE_uma"))
        .args(&words[1..])
        .env_remove("UMA_CLIENT_SECRET")
        .env_remove("UMA_PASSWORD")
        .env_remove("SSL_CERT_FILE")
        .output()
        .unwrap()
}

#[test]
fn every_printed_try_line_works_as_pasted() {
    let dir = std::env::temp_dir().join(format!("uma-serve-try-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem").display().to_string();
    for dialect in ["spec", "keycloak", "gluu"] {
        for tls in [false, true] {
            let mut args = vec!["--dialect", dialect];
            if tls {
                args.extend(["--tls", "--ca-out", &ca]);
            }
            let (mut serve, banner) = serve_banner(&args, "20");
            let text = banner.join("\n");
            assert!(
                text.contains("rs / rs-secret"),
                "the RS's credentials: {text}"
            );
            let tries = try_lines(&banner);
            assert!(!tries.is_empty(), "{text}");
            for (label, command) in tries {
                if tls {
                    assert!(!command.contains("--allow-insecure-http"), "{command}");
                    assert!(command.contains("--cacert"), "{command}");
                }
                let out = paste(&command);
                let expected = if label.contains("exit 3") { 3 } else { 0 };
                assert_eq!(
                    out.status.code(),
                    Some(expected),
                    "{dialect} tls={tls}: {command}\n{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            serve.kill().ok();
            serve.wait().ok();
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn port_puts_the_as_there_and_the_rs_next_to_it() {
    // A port that was free a moment ago (and its neighbour); retried if another process took one.
    for _ in 0..5 {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        if port == 65535 || std::net::TcpListener::bind(("127.0.0.1", port + 1)).is_err() {
            continue;
        }
        let (mut serve, banner) = serve_banner(&["--port", &port.to_string()], "5");
        serve.kill().ok();
        let status = serve.wait().unwrap();
        if banner.is_empty() {
            assert!(!status.success());
            continue;
        }
        let text = banner.join("\n");
        assert!(text.contains(&format!("http://127.0.0.1:{port}")), "{text}");
        assert!(
            text.contains(&format!("http://127.0.0.1:{}", port + 1)),
            "{text}"
        );
        return;
    }
    panic!("no free pair of ports in 5 tries");
}
