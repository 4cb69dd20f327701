//! A panic is a bug in uma-core, never bad input: hostile numbers from the token endpoint give a typed
//! error or are clamped.
//!
//! `expires_in` is parsed as any `u64` (grant/error.rs `number`) and added to an `Instant`
//! (`now + Duration::from_secs(s)`), which panics on overflow ("overflow when adding duration to instant")
//! unless it is bounded first.

use std::time::{Duration, Instant};

use crate::support::*;
use uma_core::{Login, LoginGrant, Machine, Step};

const HUGE: &str = "18446744073709551615"; // u64::MAX

fn no_panic<T>(what: &str, f: impl FnOnce() -> T + std::panic::UnwindSafe) -> T {
    match std::panic::catch_unwind(f) {
        Ok(v) => v,
        Err(e) => {
            let msg = e
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| e.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            panic!("{what}: the flow panicked on network data: {msg}")
        }
    }
}

/// exchange.rs `store_rpt`: `expires_at: token.expires_in.map(|s| now + Duration::from_secs(s))`.
#[test]
fn huge_expires_in_on_an_rpt_does_not_panic() {
    let step = no_panic("uma-ticket grant", || {
        let mut d = Driver::new(client());
        let body = format!(r#"{{"access_token":"rpt","token_type":"Bearer","expires_in":{HUGE}}}"#);
        d.run(
            get("/a"),
            vec![challenge("t1"), metadata(), token_json(&body)],
        )
    });
    // Either the token is accepted with a clamped lifetime (a retry is sent) or the answer is refused.
    assert!(matches!(step, Step::Send(_) | Step::Failed(_)), "{step:?}");
}

/// The same overflow as a numeric string (`"expires_in":"18446744073709551615"` is accepted by `number`).
#[test]
fn huge_expires_in_as_a_string_does_not_panic() {
    no_panic("uma-ticket grant", || {
        let mut d = Driver::new(client());
        let body =
            format!(r#"{{"access_token":"rpt","token_type":"Bearer","expires_in":"{HUGE}"}}"#);
        let _ = d.run(
            get("/a"),
            vec![challenge("t1"), metadata(), token_json(&body)],
        );
    });
}

/// exchange.rs `on_refresh`: the same addition for a refreshed RPT.
#[test]
fn huge_expires_in_on_a_refresh_does_not_panic() {
    no_panic("refresh", || {
        let mut d = Driver::new(client());
        d.prime(
            get("/a"),
            vec![
                challenge("t1"),
                metadata(),
                token_json(
                    r#"{"access_token":"rpt","token_type":"Bearer","expires_in":300,"refresh_token":"rt"}"#,
                ),
                ok("{}"),
            ],
        );
        d.advance(Duration::from_secs(290)); // inside the skew: refreshed before sending
        let body =
            format!(r#"{{"access_token":"rpt2","token_type":"Bearer","expires_in":{HUGE}}}"#);
        let _ = d.run(get("/a"), vec![token_json(&body)]);
    });
}

/// login.rs: `expires_at: token.expires_in.map(|s| now + Duration::from_secs(s))`.
#[test]
fn huge_expires_in_on_a_login_does_not_panic() {
    no_panic("login", || {
        let mut c = client();
        let now = Instant::now();
        let mut login = Login::new(issuer(), LoginGrant::ClientCredentials { scope: None });
        let Step::Send(out) = login.start(&mut c, now) else {
            panic!("expected discovery")
        };
        let Step::Send(out) = login.handle_response(&mut c, out.id, metadata(), now) else {
            panic!("expected token request")
        };
        let body = format!(r#"{{"access_token":"at","token_type":"Bearer","expires_in":{HUGE}}}"#);
        let _ = login.handle_response(&mut c, out.id, token_json(&body), now);
    });
}
