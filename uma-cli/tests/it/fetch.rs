//! `uma fetch` against the embedded AS + RS: exit codes, -i, --stats, the allow-list, grants,
//! timeouts and redaction.

use crate::common::{app_flags, fetch, kit, uma, uma_env};
use uma_testkit::{Dialect, Endpoint, Fault, Server};

#[test]
fn spec_flow_succeeds_and_prints_body() {
    let kit = kit(Dialect::Spec);
    let url = kit.rs_url("/api/a");
    let run = fetch(&app_flags(&kit), &[&url]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("\"scope\":\"read\""), "{}", run.stdout);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    assert_eq!(kit.count_endpoint(Endpoint::Token), 1);
    assert_eq!(kit.count_endpoint(Endpoint::Discovery), 1);
}

#[test]
fn include_prints_status_line_and_headers() {
    let kit = kit(Dialect::Spec);
    let run = fetch(&app_flags(&kit), &["-i", &kit.rs_url("/api/a")]);
    assert_eq!(run.code, 0, "{}", run.all());
    let mut lines = run.stdout.lines();
    assert_eq!(lines.next(), Some("HTTP/1.1 200 OK"), "{}", run.stdout);
    assert!(
        run.stdout.to_lowercase().contains("content-type: "),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("\n\n{"), "{}", run.stdout);
}

#[test]
fn stats_count_one_session_over_repeats_and_workers() {
    let kit = kit(Dialect::Spec);
    let a = kit.rs_url("/api/a");
    let run = fetch(
        &app_flags(&kit),
        &[
            "--stats",
            "--no-body",
            "--repeat",
            "10",
            "--concurrency",
            "3",
            &a,
        ],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    let stats = run.stats();
    assert_eq!(stats["requests"], 10, "{stats}");
    assert_eq!(
        stats["statuses"],
        serde_json::json!({"200": 10, "error": 0})
    );
    assert!(stats["elapsed_s"].as_f64().unwrap() >= 0.0);
    // One shared session: the exchanges are what the servers saw, far fewer than 10 × 4.
    let seen = kit.log().len() as u64;
    assert_eq!(stats["http_exchanges"].as_u64(), Some(seen), "{stats}");
    assert_eq!(kit.count_endpoint(Endpoint::Discovery), 1);
    assert!(seen <= 16, "{seen} exchanges for 10 fetches");
    assert!(run.stdout.is_empty(), "--no-body prints no body");
}

#[test]
fn url_list_in_order_with_one_session() {
    let kit = kit(Dialect::Spec);
    let (a, b) = (kit.rs_url("/api/a"), kit.rs_url("/api/b"));
    let run = fetch(&app_flags(&kit), &["--stats", "--repeat", "2", &a, &b]);
    assert_eq!(run.code, 0, "{}", run.all());
    // a: 4 exchanges, b: upgrade (3), then both cached (1 + 1).
    assert_eq!(run.stats()["http_exchanges"], 9, "{}", run.stderr);
    let paths: Vec<&str> = run
        .stdout
        .split("\"path\":\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap_or(""))
        .collect();
    assert_eq!(
        paths,
        ["/api/a", "/api/b", "/api/a", "/api/b"],
        "{}",
        run.stdout
    );
}

#[test]
fn non_2xx_final_response_exits_1() {
    let kit = kit(Dialect::Spec);
    let run = fetch(&app_flags(&kit), &["--stats", &kit.rs_url("/nothing-here")]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("HTTP 404"), "{}", run.stderr);
    assert_eq!(run.stats()["statuses"]["404"], 1);
}

#[test]
fn no_issuer_means_nothing_trusted() {
    let kit = kit(Dialect::Spec);
    let run = uma(&["fetch", "--stats", &kit.rs_url("/api/a")]);
    assert_eq!(run.code, 3, "{}", run.all());
    let first = run.stderr.lines().next().unwrap();
    assert!(first.contains("untrusted AS"), "{first}");
    assert_eq!(kit.log_of(Server::As).len(), 0, "nothing sent to the AS");
    assert_eq!(run.stats()["statuses"]["401"], 1);
}

#[test]
fn challenge_naming_another_as_is_refused() {
    let kit = kit(Dialect::Spec);
    kit.set_challenge_as_uri(Some(kit.hostile_issuer()));
    let run = fetch(&app_flags(&kit), &[&kit.rs_url("/api/a")]);
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(run.stderr.contains("untrusted AS"), "{}", run.stderr);
    assert_eq!(kit.log_of(Server::HostileAs).len(), 0);
    assert_eq!(kit.log_of(Server::As).len(), 0);
}

#[test]
fn denial_is_explained() {
    let kit = kit(Dialect::keycloak());
    let flags = app_flags(&kit);
    let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
    args.extend([
        "--client-auth",
        "bearer",
        "--grant",
        "password",
        "--username",
        "bob",
    ]);
    args.extend(["--password", "bob-pw", "-X", "POST", "-d", "{}"]);
    let url = kit.rs_url("/api/a");
    args.push(&url);
    let run = fetch(&[], &args);
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(run.stderr.contains("denied"), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[test]
fn keycloak_password_grant_with_bearer_client_auth() {
    let kit = kit(Dialect::keycloak());
    let flags = app_flags(&kit);
    let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
    args.extend([
        "--client-auth",
        "bearer",
        "--grant",
        "password",
        "--username",
        "alice",
    ]);
    let (a, b) = (kit.rs_url("/api/a"), kit.rs_url("/api/b"));
    args.extend(["--stats", &a, &b]);
    let run = uma_env(
        &[&["fetch"], args.as_slice()].concat(),
        &[("UMA_PASSWORD", "alice-pw")],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.stats()["statuses"]["200"], 2);
    // The ticket exchanges authenticated with alice's token, not the client secret.
    let uma_grants: Vec<_> = kit
        .log()
        .into_iter()
        .filter(|r| r.form_value("grant_type") == Some(uma_testkit::UMA_GRANT))
        .collect();
    assert!(!uma_grants.is_empty());
    assert!(
        uma_grants
            .iter()
            .all(|r| r.form_value("client_secret").is_none())
    );
}

#[test]
fn need_info_without_claim_says_interaction_and_hides_ticket() {
    let kit = kit(Dialect::Gluu);
    kit.require_claim(Some(uma_testkit::RequiredClaim::email()));
    let flags = app_flags(&kit);
    let mut args: Vec<&str> = flags.iter().map(String::as_str).collect();
    let url = kit.rs_url("/api/a");
    args.extend(["--client-auth", "post", &url]);
    let run = fetch(&[], &args);
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(run.stderr.contains("needs interaction"), "{}", run.stderr);
    assert!(run.stderr.contains("interaction at http"), "{}", run.stderr);
    assert!(run.stderr.contains("ticket=[redacted]"), "{}", run.stderr);
}

#[test]
fn pushed_claim_token_satisfies_need_info() {
    let kit = kit(Dialect::Spec);
    kit.require_claim(Some(uma_testkit::RequiredClaim::email()));
    let id_token = kit.id_token_for("alice");
    let run = fetch(
        &app_flags(&kit),
        &["--claim-token", &id_token, &kit.rs_url("/api/a")],
    );
    assert_eq!(run.code, 0, "{}", run.all());
}

#[test]
fn timeout_exits_4_with_one_line() {
    let kit = kit(Dialect::Spec);
    kit.set_fault(Endpoint::Token, Some(Fault::NeverAnswer));
    let run = fetch(
        &app_flags(&kit),
        &["--timeout", "0.3", &kit.rs_url("/api/a")],
    );
    assert_eq!(run.code, 4, "{}", run.all());
    assert!(run.stderr.contains("timeout"), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[test]
fn max_flows_reached() {
    let kit = kit(Dialect::Spec);
    kit.set_rs_always_401(true);
    let run = fetch(
        &app_flags(&kit),
        &["--max-flows", "1", &kit.rs_url("/api/a")],
    );
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(run.stderr.contains("max flows"), "{}", run.stderr);
}

#[test]
fn verbose_traces_each_exchange_without_secrets() {
    let kit = kit(Dialect::keycloak());
    let access_token = kit.access_token_for("alice");
    let id_token = kit.id_token_for("alice");
    let url = kit.rs_url("/api/a");
    // A client secret given in the environment, an access token and a claim token on the line.
    let run = uma_env(
        &[
            "fetch",
            "-v",
            "--issuer",
            &kit.issuer(),
            "--client-id",
            "app",
            "--client-auth",
            "bearer",
            "--access-token",
            &access_token,
            "--claim-token",
            &id_token,
            "--allow-insecure-http",
            &url,
        ],
        &[("UMA_CLIENT_SECRET", "app-secret")],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    let trace: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(trace.len(), 4, "{}", run.stderr);
    for (line, kind) in trace
        .iter()
        .zip(["resource", "discovery", "token", "resource"])
    {
        assert!(line.starts_with(&format!("* {kind}")), "{line}");
    }
    // No secret in the trace: the values the kit minted and received.
    let mut secrets = vec!["app-secret".to_owned(), access_token, id_token];
    for r in kit.log() {
        secrets.extend(r.form_value("ticket").map(str::to_owned));
    }
    let rs_auth: Vec<String> = kit
        .log_of(Server::Rs)
        .iter()
        .filter_map(|r| {
            r.header("authorization")
                .map(|v| v.trim_start_matches("Bearer ").to_owned())
        })
        .collect();
    secrets.extend(rs_auth);
    for secret in &secrets {
        assert!(
            !run.stderr.contains(secret.as_str()),
            "secret leaked: {}",
            run.stderr
        );
    }
}

#[test]
fn errors_never_show_the_password_or_secret() {
    let kit = kit(Dialect::Spec);
    // Wrong password: the login fails; neither the password nor the secret is echoed.
    let run = uma(&[
        "fetch",
        "-v",
        "--issuer",
        &kit.issuer(),
        "--client-id",
        "app",
        "--client-secret",
        "app-secret",
        "--grant",
        "password",
        "--username",
        "alice",
        "--password",
        "wrong-pw-123",
        "--allow-insecure-http",
        "--stats",
        &kit.rs_url("/api/a"),
    ]);
    assert_eq!(run.stats()["statuses"]["error"], 1, "{}", run.stderr);
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(!run.all().contains("wrong-pw-123"), "{}", run.all());
    assert!(!run.all().contains("app-secret"), "{}", run.all());
    // Help shows the environment variables but never their values.
    let help = uma_env(&["fetch", "--help"], &[("UMA_CLIENT_SECRET", "env-s3cret")]);
    assert!(help.stdout.contains("UMA_CLIENT_SECRET"));
    assert!(!help.stdout.contains("env-s3cret"));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(uma(&["fetch"]).code, 2);
    assert_eq!(uma(&["fetch", "not a url"]).code, 2);
    assert_eq!(
        uma(&["fetch", "-H", "novalue", "http://127.0.0.1:9/"]).code,
        2
    );
    // basic client auth without a secret is caught before anything is sent.
    let run = uma(&[
        "fetch",
        "--issuer",
        "https://as.example",
        "--client-id",
        "app",
        "http://127.0.0.1:9/",
    ]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("--client-secret"), "{}", run.stderr);
}

#[test]
fn post_body_from_file_reaches_the_resource() {
    let kit = kit(Dialect::Spec);
    let dir = std::env::temp_dir().join(format!("uma-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("body.bin");
    std::fs::write(&file, b"hello body").unwrap();
    let data = format!("@{}", file.display());
    let run = fetch(
        &app_flags(&kit),
        &["--data-binary", &data, &kit.rs_url("/api/echo")],
    );
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("\"len\":10"), "{}", run.stdout);
}
