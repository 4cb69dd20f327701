//! The one-line errors say what happened: a refused login, a rejected access token, and a resource server
//! that wants a token before it issues a ticket.

use crate::common::{app_flags, fetch, kit};
use uma_testkit::Dialect;

#[test]
fn wrong_password_reads_login_failed() {
    let kit = kit(Dialect::Spec);
    let run = fetch(
        &app_flags(&kit),
        &["-u", "alice:wrong-pw-42", &kit.rs_url("/api/a")],
    );
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(run.stderr.contains(": login failed: "), "{}", run.stderr);
    assert!(run.stderr.contains("refused the login"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("token endpoint error"),
        "{}",
        run.stderr
    );
    assert!(!run.all().contains("wrong-pw-42"), "{}", run.all());
}

#[test]
fn bogus_access_token_reads_access_token_rejected() {
    let kit = kit(Dialect::keycloak());
    let run = fetch(
        &app_flags(&kit),
        &[
            "--client-auth",
            "bearer",
            "--access-token",
            "bogus-token-1234",
            &kit.rs_url("/api/a"),
        ],
    );
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(
        run.stderr.contains("access token rejected"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("client authentication failed"),
        "{}",
        run.stderr
    );
    assert!(!run.all().contains("bogus-token-1234"), "{}", run.all());
}

#[test]
fn plain_bearer_401_says_a_token_is_needed_first() {
    let kit = kit(Dialect::keycloak());
    let run = fetch(&app_flags(&kit), &[&kit.rs_url("/api/a")]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("HTTP 401"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("wants a token first (use -u USER, or --grant password"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}
