//! The `uma` CLI against a real Keycloak, as a user would type it, through the project's resource
//! server. The password travels in the environment (UMA_PASSWORD), never on the command line.

use std::process::{Command, Output};

use serde_json::Value;
use uma_keycloak_e2e::*;

fn uma(args: &[&str], password: Option<&str>) -> Output {
    let mut command = Command::new(uma_bin());
    command.args(args).env_remove("UMA_CLIENT_SECRET");
    match password {
        Some(p) => command.env("UMA_PASSWORD", p),
        None => command.env_remove("UMA_PASSWORD"),
    };
    command.output().expect("run uma")
}

/// `uma fetch URLS… --issuer ISSUER` as bob through the public client, with `extra` arguments and
/// `password` in the environment.
fn fetch_as_bob(urls: &[&str], issuer: &str, extra: &[&str], password: &str) -> Output {
    let mut args = vec!["fetch"];
    args.extend_from_slice(urls);
    args.extend_from_slice(&[
        "--issuer",
        issuer,
        "--client-id",
        PUBLIC_CLIENT,
        "--client-auth",
        "bearer",
        "--grant",
        "password",
        "--username",
        "bob",
        "--allow-insecure-http",
    ]);
    args.extend_from_slice(extra);
    uma(&args, Some(password))
}

fn stats(output: &Output) -> Value {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no --stats line in {stderr}"));
    serde_json::from_str(line).unwrap()
}

#[test]
#[ignore = "needs a real Keycloak: tests/keycloak/run"]
fn fetch_logs_in_exchanges_reuses_and_upgrades() {
    let kc = Keycloak::from_env();
    let (proxy, rs) = kc.proxy_and_resource_server();
    let (shared, notes) = (rs.url("/docs/shared"), rs.url("/docs/notes"));
    let issuer = proxy.issuer();
    let output = fetch_as_bob(&[&shared, &shared, &notes], &issuer, &["--stats"], "bob-pw");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        stdout,
        "rs: GET /docs/sharedrs: GET /docs/sharedrs: GET /docs/notes"
    );
    let stats = stats(&output);
    assert_eq!(stats["statuses"]["200"], 3);
    // login: discovery + password grant; first: 401 + ticket grant + retry; second: 1; third
    // (upgrade): 401 + ticket grant with rpt= + retry.
    assert_eq!(stats["http_exchanges"], 2 + 3 + 1 + 3, "{stats}");
    assert_eq!(proxy.uma_grants(), 2);
    let upgrade = proxy.last_uma_grant();
    assert!(upgrade.form("rpt").is_some());
    assert_eq!(upgrade.json()["upgraded"], true);
    // Nothing secret on stderr.
    for secret in ["bob-pw", "eyJ"] {
        assert!(!stderr.contains(secret), "{secret} leaked: {stderr}");
    }
}

#[test]
#[ignore = "needs a real Keycloak: tests/keycloak/run"]
fn fetch_denied_exits_non_zero_with_one_line() {
    let kc = Keycloak::from_env();
    let (proxy, rs) = kc.proxy_and_resource_server();
    let secret = rs.url("/docs/secret");
    let issuer = proxy.issuer();
    let output = fetch_as_bob(&[&secret], &issuer, &[], "bob-pw");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success());
    assert!(
        stderr.contains("request_submitted") || stderr.contains("denied"),
        "{stderr}"
    );
    assert!(!stderr.contains("eyJ"), "a token leaked: {stderr}");
    assert_eq!(proxy.uma_grants(), 1);
}

#[test]
#[ignore = "needs a real Keycloak: tests/keycloak/run"]
fn fetch_as_a_confidential_client_with_basic() {
    let kc = Keycloak::from_env();
    let (proxy, rs) = kc.proxy_and_resource_server();
    let shared = rs.url("/docs/shared");
    let issuer = proxy.issuer();
    let output = Command::new(uma_bin())
        .args([
            "fetch",
            &shared,
            "--issuer",
            &issuer,
            "--client-id",
            APP_CLIENT,
            "--allow-insecure-http",
            "--stats",
        ])
        .env("UMA_CLIENT_SECRET", APP_SECRET)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains(APP_SECRET));
    // No login: 401, discovery, ticket grant (Basic), retry.
    assert_eq!(stats(&output)["http_exchanges"], 4);
    let grant = proxy.first_uma_grant();
    assert!(grant.auth_scheme() == Some("Basic"));
}

#[test]
#[ignore = "needs a real Keycloak: tests/keycloak/run"]
fn discover_and_challenge_read_keycloaks_answers() {
    let kc = Keycloak::from_env();
    let (proxy, rs) = kc.proxy_and_resource_server();
    let issuer = proxy.issuer();
    let output = uma(&["discover", &issuer, "--allow-insecure-http"], None);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(metadata["issuer"], issuer.as_str());
    assert!(
        metadata["permission_endpoint"]
            .as_str()
            .unwrap()
            .ends_with("/authz/protection/permission")
    );

    // The challenge our resource server answers with, as Keycloak's tickets make it.
    let answer = raw_agent().get(&rs.url("/docs/shared")).call().unwrap();
    assert_eq!(answer.status(), 401);
    let header = answer.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    let output = uma(&["challenge", &header], None);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let parsed = String::from_utf8_lossy(&output.stdout);
    let parsed: Value = serde_json::from_str(&parsed).unwrap();
    assert_eq!(parsed["uma"]["as_uri"], issuer.as_str());
    assert_eq!(parsed["uma"]["realm"], "uma");
}

#[test]
#[ignore = "needs a real Keycloak: tests/keycloak/run"]
fn wrong_password_is_a_failed_login_on_every_version() {
    // 26.4 answers 401 invalid_grant, 26.7 answers 400: the same one-line "login failed".
    let kc = Keycloak::from_env();
    let (proxy, rs) = kc.proxy_and_resource_server();
    let shared = rs.url("/docs/shared");
    let issuer = proxy.issuer();
    let output = fetch_as_bob(&[&shared], &issuer, &[], "not-bobs-password");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success());
    assert!(stderr.contains("login failed"), "{stderr}");
    assert!(stderr.contains("Invalid user credentials"), "{stderr}");
    assert!(!stderr.contains("not-bobs-password"), "{stderr}");
    let login = proxy
        .exchanges()
        .into_iter()
        .find(|e| e.grant_type().as_deref() == Some("password"))
        .unwrap();
    let expected = if kc.minor() < (26, 6) { 401 } else { 400 };
    assert_eq!(login.status, expected);
    assert_eq!(
        rs.requests(),
        0,
        "nothing reaches the resource server without a login"
    );
}
