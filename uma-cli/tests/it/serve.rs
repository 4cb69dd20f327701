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

/// The exit status a `try (…, exit N):` label announces; 0 without one.
fn expected_exit(label: &str) -> i32 {
    label
        .split("exit ")
        .nth(1)
        .map_or(0, |n| n.trim_end_matches(')').parse().unwrap())
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
                let expected = expected_exit(&label);
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

/// A field of the banner (`issuer` / `rs`), by its label.
fn banner_field(banner: &[String], prefix: &str) -> String {
    banner
        .iter()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix} in {banner:?}"))
        .trim()
        .to_owned()
}

/// `uma fetch` of `/api/a` through the servers of `banner` as the app client, with `extra` flags.
fn fetch_a(banner: &[String], extra: &[&str]) -> std::process::Output {
    let issuer = banner_field(banner, "authorization server issuer:");
    let rs = banner_field(banner, "resource server:");
    Command::new(env!("CARGO_BIN_EXE_uma"))
        .args(["fetch", "--allow-insecure-http", "--issuer", &issuer])
        .args(["--client-id", "app", "--client-secret", "app-secret"])
        .args(extra)
        .arg(format!("{rs}/api/a"))
        .env_remove("UMA_CLIENT_SECRET")
        .env_remove("SSL_CERT_FILE")
        .output()
        .unwrap()
}

/// One line on stderr, starting `uma: ` and containing `what`.
fn one_line_error(out: &std::process::Output, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("uma: ") && stderr.contains(what),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn slow_ms_delays_every_resource_answer_and_fetch_times_out_in_one_line() {
    let (mut serve, banner) = serve_banner(&["--slow-ms", "800"], "30");
    assert!(
        banner
            .iter()
            .any(|l| l.starts_with("fault:") && l.contains("800 ms")),
        "{banner:?}"
    );
    let out = fetch_a(&banner, &["--timeout", "0.3"]);
    assert_eq!(out.status.code(), Some(4));
    one_line_error(&out, "timeout");
    // With time enough, the flow goes through: challenge and retry each wait 800 ms.
    let started = std::time::Instant::now();
    let out = fetch_a(&banner, &["--timeout", "10"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(started.elapsed() >= std::time::Duration::from_millis(1600));
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"scope\":\"read\""));
    serve.kill().ok();
    serve.wait().ok();
}

#[test]
fn large_body_streams_whole_to_standard_output() {
    let (mut serve, banner) = serve_banner(&["--large-body", "3000000"], "30");
    assert!(
        banner
            .iter()
            .any(|l| l.starts_with("fault:") && l.contains("3000000 bytes")),
        "{banner:?}"
    );
    let out = fetch_a(&banner, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), 3_000_000);
    assert!(out.stdout.iter().all(|b| *b == b'a'));
    serve.kill().ok();
    serve.wait().ok();

    // Past the 64 MiB that once bounded a resource body: streamed, whole.
    let (mut serve, banner) = serve_banner(&["--large-body", "70000000"], "30");
    let out = fetch_a(&banner, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), 70_000_000);
    serve.kill().ok();
    serve.wait().ok();
}

#[test]
fn truncate_body_cuts_granted_answers_and_fetch_reports_it_in_one_line() {
    let (mut serve, banner) = serve_banner(&["--truncate-body"], "30");
    assert!(
        banner
            .iter()
            .any(|l| l.starts_with("fault:") && l.contains("65536")),
        "{banner:?}"
    );
    let out = fetch_a(&banner, &[]);
    assert_eq!(out.status.code(), Some(4));
    // At most the half that arrived reaches stdout, never the announced length.
    assert!(out.stdout.len() < 65536, "{}", out.stdout.len());
    one_line_error(&out, "GET http");
    // The try line says what to expect, and does it.
    let tries = try_lines(&banner);
    assert!(tries[0].0.contains("exit 4"), "{tries:?}");
    assert_eq!(paste(&tries[0].1).status.code(), Some(4));
    serve.kill().ok();
    serve.wait().ok();
}

#[test]
fn a_reader_that_goes_away_ends_serve_and_fetch_quietly() {
    // `uma serve | head`: the banner fits the pipe; the next log line finds it closed.
    let mut serve = Command::new(env!("CARGO_BIN_EXE_uma"))
        .args(["serve", "--for", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(serve.stdout.take().unwrap()).lines();
    let mut banner = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line == "requests received:" {
            break;
        }
        banner.push(line);
    }
    drop(lines);
    // A request makes serve print a log line into the closed pipe.
    let _ = fetch_a(&banner, &["--timeout", "5"]);
    let status = wait_at_most(&mut serve, 10);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut serve.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(status.code(), Some(141), "{stderr}");

    // `uma fetch … | head -c 10` with a body larger than the pipe.
    let (mut serve, banner) = serve_banner(&["--large-body", "3000000"], "30");
    let issuer = banner_field(&banner, "authorization server issuer:");
    let rs = banner_field(&banner, "resource server:");
    let mut fetch = Command::new(env!("CARGO_BIN_EXE_uma"))
        .args(["fetch", "--allow-insecure-http", "--issuer", &issuer])
        .args(["--client-id", "app", "--client-secret", "app-secret"])
        .arg(format!("{rs}/api/a"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 10];
    std::io::Read::read_exact(fetch.stdout.as_mut().unwrap(), &mut head).unwrap();
    drop(fetch.stdout.take());
    let status = wait_at_most(&mut fetch, 10);
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut fetch.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(&head, b"aaaaaaaaaa");
    assert_eq!(stderr, "");
    assert_eq!(status.code(), Some(141));
    serve.kill().ok();
    serve.wait().ok();
}

/// Waits for `child`, killing it after `seconds` (then the test fails on its status).
fn wait_at_most(child: &mut std::process::Child, seconds: u64) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().ok();
            return child.wait().unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
