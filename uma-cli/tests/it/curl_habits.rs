//! What a curl user types works as in curl: `-d @file`, `--data-binary`, `--json`, `-u`, `-I`, `-s`/`-S`,
//! `--cacert` (and `SSL_CERT_FILE`); `-k` is refused with its reason.

use crate::common::{self, app_flags, fetch, kit, temp_dir, uma, uma_env, uma_stdin};
use uma_testkit::{Dialect, Endpoint, Kit, KitConfig, Server};

fn with(flags: &[String], extra: &[&str]) -> Vec<String> {
    let mut all = vec!["fetch".to_owned()];
    all.extend(flags.iter().cloned());
    all.extend(extra.iter().map(|s| s.to_string()));
    all
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn d_at_file_reads_the_file_without_newlines_as_curl_does() {
    let kit = kit(Dialect::Spec);
    let dir = temp_dir("d-at-file");
    let file = dir.join("form.txt");
    std::fs::write(&file, b"a=1\r\nb=2\n").unwrap();
    let at_file = format!("@{}", file.display());
    let echo = kit.rs_url("/api/echo");
    let from_file = fetch(&app_flags(&kit), &["-d", &at_file, &echo]);
    let literal = fetch(&app_flags(&kit), &["--data-binary", "a=1b=2", &echo]);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(from_file.code, 0, "{}", from_file.all());
    assert!(
        from_file.stdout.contains("\"len\":6"),
        "{}",
        from_file.stdout
    );
    // Same bytes, same digest.
    assert_eq!(from_file.stdout, literal.stdout);
}

#[test]
fn repeated_d_are_joined_with_ampersand_and_literal_text_stays_as_is() {
    let kit = kit(Dialect::Spec);
    let echo = kit.rs_url("/api/echo");
    let joined = fetch(&app_flags(&kit), &["-d", "a=1", "-d", "b=2", &echo]);
    let literal = fetch(&app_flags(&kit), &["--data-binary", "a=1&b=2", &echo]);
    assert_eq!(joined.code, 0, "{}", joined.all());
    assert_eq!(joined.stdout, literal.stdout);
}

#[test]
fn at_dash_reads_standard_input() {
    let kit = kit(Dialect::Spec);
    let echo = kit.rs_url("/api/echo");
    let d = uma_stdin(
        &strs(&with(&app_flags(&kit), &["-d", "@-", &echo])),
        b"x=1\ny=2\n",
        &[],
    );
    assert_eq!(d.code, 0, "{}", d.all());
    assert!(
        d.stdout.contains("\"len\":6"),
        "-d strips newlines: {}",
        d.stdout
    );
    let binary = uma_stdin(
        &strs(&with(&app_flags(&kit), &["--data-binary", "@-", &echo])),
        b"x=1\ny=2\n",
        &[],
    );
    assert_eq!(binary.code, 0, "{}", binary.all());
    assert!(
        binary.stdout.contains("\"len\":8"),
        "--data-binary keeps them: {}",
        binary.stdout
    );
}

#[test]
fn json_sets_content_type_and_accept_and_reads_files() {
    let kit = kit(Dialect::Spec);
    let echo = kit.rs_url("/api/echo");
    let run = fetch(&app_flags(&kit), &["--json", "{\"a\": 1}", &echo]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("\"len\":8"), "{}", run.stdout);
    let last = kit.log_of(Server::Rs).pop().unwrap();
    assert_eq!(last.method, "POST");
    assert_eq!(last.header("content-type"), Some("application/json"));
    assert_eq!(last.header("accept"), Some("application/json"));

    // @file, and -H wins over the defaults.
    let dir = temp_dir("json-file");
    let file = dir.join("body.json");
    std::fs::write(&file, b"{\n \"b\": 2\n}\n").unwrap();
    let at_file = format!("@{}", file.display());
    let run = fetch(
        &app_flags(&kit),
        &[
            "--json",
            &at_file,
            "-H",
            "Content-Type: application/merge-patch+json",
            &echo,
        ],
    );
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("\"len\":12"), "{}", run.stdout);
    let last = kit.log_of(Server::Rs).pop().unwrap();
    assert_eq!(
        last.header("content-type"),
        Some("application/merge-patch+json")
    );
    assert_eq!(last.header("accept"), Some("application/json"));
}

fn keycloak_u(kit: &Kit, extra: &[&str], env: &[(&str, &str)]) -> common::Run {
    let mut args = with(&app_flags(kit), &["--client-auth", "bearer", "-v"]);
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(kit.rs_url("/api/a"));
    uma_env(&strs(&args), env)
}

#[test]
fn u_user_password_is_the_requesting_partys_login() {
    let kit = kit(Dialect::keycloak());
    let run = keycloak_u(&kit, &["-u", "alice:alice-pw"], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    let logins: Vec<_> = kit
        .log()
        .into_iter()
        .filter(|r| r.form_value("grant_type") == Some("password"))
        .collect();
    assert_eq!(logins.len(), 1);
    assert_eq!(logins[0].form_value("username"), Some("alice"));
    // The password went to the AS only, and never to the output.
    assert!(kit.log_of(Server::Rs).iter().all(|r| {
        r.header("authorization")
            .is_none_or(|v| !v.starts_with("Basic"))
    }));
    assert!(!run.all().contains("alice-pw"), "{}", run.all());
}

#[test]
fn u_user_alone_takes_the_password_from_the_environment() {
    let kit = kit(Dialect::keycloak());
    let run = keycloak_u(&kit, &["-u", "alice"], &[("UMA_PASSWORD", "alice-pw")]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!run.all().contains("alice-pw"), "{}", run.all());
}

#[test]
fn u_user_without_any_password_or_terminal_is_a_usage_error_before_sending() {
    let kit = kit(Dialect::keycloak());
    let run = keycloak_u(&kit, &["-u", "alice"], &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("UMA_PASSWORD"), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(kit.log().is_empty(), "nothing was sent");
    // -u is a password login: it does not go with another grant.
    let run = keycloak_u(
        &kit,
        &["-u", "alice:x", "--grant", "client-credentials"],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.all());
}

#[test]
fn head_prints_the_status_line_and_headers_only() {
    let kit = kit(Dialect::Spec);
    let run = fetch(&app_flags(&kit), &["-I", &kit.rs_url("/api/a")]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.starts_with("HTTP/1.1 200 OK\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.ends_with("\n\n"), "{}", run.stdout);
    assert!(!run.stdout.contains('{'), "no body: {}", run.stdout);
    assert_eq!(kit.log_of(Server::Rs).pop().unwrap().method, "HEAD");
}

#[test]
fn s_is_silent_and_s_capital_shows_errors_again() {
    let kit = kit(Dialect::Spec);
    let missing = kit.rs_url("/nothing-here");
    let silent = fetch(&app_flags(&kit), &["-s", &missing]);
    assert_eq!(silent.code, 1, "{}", silent.all());
    assert!(silent.stderr.is_empty(), "{}", silent.stderr);
    let shown = fetch(&app_flags(&kit), &["-sS", &missing]);
    assert_eq!(shown.code, 1, "{}", shown.all());
    assert!(shown.stderr.contains("HTTP 404"), "{}", shown.stderr);
    // -s no longer hides the body; --no-body does.
    let a = kit.rs_url("/api/a");
    let body = fetch(&app_flags(&kit), &["-s", &a]);
    assert!(body.stdout.contains("\"scope\""), "{}", body.stdout);
    let no_body = fetch(&app_flags(&kit), &["--no-body", &a]);
    assert_eq!(no_body.code, 0, "{}", no_body.all());
    assert!(no_body.stdout.is_empty(), "{}", no_body.stdout);
}

fn tls_flags(kit: &Kit) -> Vec<String> {
    [
        "--issuer",
        &kit.issuer(),
        "--client-id",
        "app",
        "--client-secret",
        "app-secret",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn cacert_and_ssl_cert_file_trust_a_pem_ca() {
    let kit = Kit::start(KitConfig::new(Dialect::Spec).with_tls()).unwrap();
    let other = Kit::start(KitConfig::new(Dialect::Spec).with_tls()).unwrap();
    let dir = temp_dir("cacert");
    let ca = dir.join("ca.pem");
    // Several certificates in one file: an unrelated CA first, then the kit's.
    let pem = format!(
        "{}{}",
        other.ca_certificate_pem().unwrap(),
        kit.ca_certificate_pem().unwrap()
    );
    std::fs::write(&ca, pem).unwrap();
    let ca = ca.display().to_string();
    let url = kit.rs_url("/api/a");
    assert!(url.starts_with("https://"), "{url}");

    let untrusted = fetch(&tls_flags(&kit), &[&url]);
    assert_eq!(untrusted.code, 4, "{}", untrusted.all());
    let run = fetch(&tls_flags(&kit), &["--cacert", &ca, &url]);
    assert_eq!(run.code, 0, "{}", run.all());
    let run = uma_env(
        &strs(&with(&tls_flags(&kit), &[&url])),
        &[("SSL_CERT_FILE", &ca)],
    );
    assert_eq!(run.code, 0, "{}", run.all());

    // A file without a certificate is a usage error, not "trust nothing".
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, b"not a certificate\n").unwrap();
    let run = fetch(
        &tls_flags(&kit),
        &["--cacert", &empty.display().to_string(), &url],
    );
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("--cacert"), "{}", run.stderr);
}

#[test]
fn k_is_refused_with_its_reason() {
    let kit = kit(Dialect::Spec);
    for flag in ["-k", "--insecure"] {
        let run = fetch(&app_flags(&kit), &[flag, &kit.rs_url("/api/a")]);
        assert_eq!(run.code, 2, "{}", run.all());
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(run.stderr.contains("does not skip TLS"), "{}", run.stderr);
    }
    assert!(kit.log().is_empty(), "nothing was sent");
    assert_eq!(kit.count_endpoint(Endpoint::Token), 0);
}

#[test]
fn help_lists_the_curl_flags() {
    let help = uma(&["fetch", "--help"]).stdout;
    for flag in [
        "--data-binary",
        "--json",
        "--user",
        "--head",
        "--show-error",
        "--cacert",
        "--no-body",
    ] {
        assert!(help.contains(flag), "{flag} missing from help");
    }
}

#[test]
fn d_and_data_binary_default_to_form_content_type_as_curl_does() {
    let kit = kit(Dialect::Spec);
    let echo = kit.rs_url("/api/echo");
    let content_type = |kit: &Kit| {
        let last = kit.log_of(Server::Rs).pop().unwrap();
        last.header("content-type").map(str::to_owned)
    };
    for flag in ["-d", "--data-binary"] {
        let run = fetch(&app_flags(&kit), &[flag, "a=1", &echo]);
        assert_eq!(run.code, 0, "{flag}: {}", run.all());
        assert_eq!(
            content_type(&kit).as_deref(),
            Some("application/x-www-form-urlencoded"),
            "{flag}"
        );
        // -H replaces the default rather than adding a second one.
        let run = fetch(
            &app_flags(&kit),
            &[flag, "a=1", "-H", "Content-Type: text/plain", &echo],
        );
        assert_eq!(run.code, 0, "{flag}: {}", run.all());
        let last = kit.log_of(Server::Rs).pop().unwrap();
        let types: Vec<_> = last
            .headers
            .iter()
            .filter(|(n, _)| n == "content-type")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(types, ["text/plain"], "{flag}");
    }
    // --json keeps its own.
    let run = fetch(&app_flags(&kit), &["--json", "{}", &echo]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(content_type(&kit).as_deref(), Some("application/json"));
    // No body, no Content-Type.
    let run = fetch(&app_flags(&kit), &[&echo]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(content_type(&kit), None);
}
