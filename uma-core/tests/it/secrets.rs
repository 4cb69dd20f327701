//! No ticket or credential in the Display/Debug of a public type (design.md §3, docs/protocol.md §11.6:
//! tickets are credentials, don't log them).

use crate::support::*;
use uma_core::auth::ClientCredentials;
use uma_core::{Error, Step};

/// Gluu's `redirect_user` carries the new ticket in its query (docs/protocol.md §5.2:
/// `<base>/uma/gather_claims?...&client_id=<id>&ticket=<new ticket>`). `UmaError`'s Debug redacts it, but
/// `Error::NeedInfo`'s Display prints `redirect_user` verbatim (error.rs:54), so `eprintln!("{err}")` or
/// `tracing::error!(%err)` logs the ticket.
#[test]
fn need_info_display_does_not_show_the_ticket_inside_redirect_user() {
    let mut d = Driver::new(client());
    let need = error(
        403,
        r#"{"error":"need_info","ticket":"gluu-secret-ticket-2",
            "redirect_user":"https://as.example.org/oxauth/restv1/uma/gather_claims?client_id=app&ticket=gluu-secret-ticket-2"}"#,
    );
    let step = d.run(get("/a"), vec![challenge("t1"), metadata(), need]);
    let Step::Failed(failure) = step else {
        panic!("expected a failure, got {step:?}")
    };
    assert!(matches!(failure.error, Error::NeedInfo { .. }));
    let display = failure.error.to_string();
    assert!(
        !display.contains("gluu-secret-ticket-2"),
        "Display shows the ticket: {display}"
    );
    let failure_display = failure.to_string();
    assert!(
        !failure_display.contains("gluu-secret-ticket-2"),
        "Failure's Display shows the ticket: {failure_display}"
    );
}

/// `Outgoing` (and so `Step`) derives Debug, which prints the whole `http::Request<Vec<u8>>`, body
/// included: the form body holds the ticket, the client secret (client_secret_post), the claim token,
/// the PCT and the RPT being upgraded. They come out as decimal bytes, trivially decoded. Any adapter that
/// writes `debug!(?step)` logs credentials.
#[test]
fn debug_of_a_token_request_step_shows_no_credential() {
    let mut cfg = config();
    cfg.authorization_servers[0].credentials = ClientCredentials::post("app", "post-secret-123");
    let mut d = Driver::new(uma_core::Client::new(cfg));
    let step = d.run(get("/a"), vec![challenge("ticket-secret-456"), metadata()]);
    assert!(matches!(kind(&step), Some(uma_core::RequestKind::Token)));
    let shown = format!("{step:?}");
    for secret in ["post-secret-123", "ticket-secret-456"] {
        let as_bytes = format!("{:?}", secret.as_bytes());
        let needle = as_bytes.trim_start_matches('[').trim_end_matches(']');
        assert!(
            !shown.contains(secret) && !shown.contains(needle),
            "Debug of the Step shows {secret:?} (as bytes `{needle}`): {shown}"
        );
    }
}
