//! Property: whatever the servers answer, a flow terminates within its bounds, sends nothing to an
//! untrusted origin, sends the RPT only to its resource server, and never shows a secret in an error.

use std::time::Duration;

use crate::support::*;
use proptest::prelude::*;
use uma_core::{Flow, Machine, RequestKind, Step};

#[derive(Clone, Debug)]
enum Answer {
    Ok,
    Plain401,
    Challenge(u8),
    HostileChallenge,
    BearerInvalidToken,
    Metadata,
    BadMetadata,
    Token {
        expires: Option<u8>,
        refresh: bool,
        upgraded: bool,
    },
    NeedInfo(u8),
    Submitted(u8, Option<u8>),
    Denied,
    Dead,
    InvalidRpt,
    InvalidPct,
    Html500,
    Garbage,
    Redirect,
}

fn answer() -> impl Strategy<Value = Answer> {
    prop_oneof![
        Just(Answer::Ok),
        Just(Answer::Plain401),
        any::<u8>().prop_map(Answer::Challenge),
        Just(Answer::HostileChallenge),
        Just(Answer::BearerInvalidToken),
        Just(Answer::Metadata),
        Just(Answer::BadMetadata),
        (
            proptest::option::of(any::<u8>()),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(expires, refresh, upgraded)| Answer::Token {
                expires,
                refresh,
                upgraded
            }),
        any::<u8>().prop_map(Answer::NeedInfo),
        (any::<u8>(), proptest::option::of(0u8..20)).prop_map(|(t, i)| Answer::Submitted(t, i)),
        Just(Answer::Denied),
        Just(Answer::Dead),
        Just(Answer::InvalidRpt),
        Just(Answer::InvalidPct),
        Just(Answer::Html500),
        Just(Answer::Garbage),
        Just(Answer::Redirect),
    ]
}

fn render(a: &Answer, n: usize) -> http::Response<Vec<u8>> {
    match a {
        Answer::Ok => ok("{}"),
        Answer::Plain401 => response(401, &[], "no"),
        Answer::Challenge(t) => challenge(&format!("tk-SECRET-{t}")),
        Answer::HostileChallenge => challenge_from(HOSTILE, "tk-SECRET-h"),
        Answer::BearerInvalidToken => response(
            401,
            &[("www-authenticate", "Bearer error=\"invalid_token\"")],
            "",
        ),
        Answer::Metadata => metadata(),
        Answer::BadMetadata => ok(&format!(
            r#"{{"issuer":"{HOSTILE}","token_endpoint":"{HOSTILE}/t"}}"#
        )),
        Answer::Token {
            expires,
            refresh,
            upgraded,
        } => {
            let mut json = format!(
                r#"{{"access_token":"rpt-SECRET-{n}","token_type":"Bearer","upgraded":{upgraded}"#
            );
            if let Some(e) = expires {
                json.push_str(&format!(r#","expires_in":{e}"#));
            }
            if *refresh {
                json.push_str(&format!(r#","refresh_token":"rt-SECRET-{n}""#));
            }
            json.push('}');
            ok(&json)
        }
        Answer::NeedInfo(t) => error(
            403,
            &format!(r#"{{"error":"need_info","ticket":"tk-SECRET-n{t}"}}"#),
        ),
        Answer::Submitted(t, i) => {
            let interval = i.map(|i| format!(r#","interval":{i}"#)).unwrap_or_default();
            error(
                403,
                &format!(r#"{{"error":"request_submitted","ticket":"tk-SECRET-s{t}"{interval}}}"#),
            )
        }
        Answer::Denied => error(403, r#"{"error":"request_denied"}"#),
        Answer::Dead => error(400, r#"{"error":"invalid_grant"}"#),
        Answer::InvalidRpt => error(400, r#"{"error":"invalid_rpt"}"#),
        Answer::InvalidPct => error(401, r#"{"error":"invalid_pct"}"#),
        Answer::Html500 => response(500, &[("content-type", "text/html")], "<html>down</html>"),
        Answer::Garbage => response(200, &[], "\u{0}\u{1}{{{{"),
        Answer::Redirect => response(302, &[("location", "https://other.example.com/x")], ""),
    }
}

/// Runs one flow against the scripted answers (then a looping challenger). Returns the number of steps.
fn drive(d: &mut Driver, answers: &[Answer]) -> usize {
    let mut flow = Flow::new(get("/a"));
    let mut step = d.start(&mut flow);
    let mut n = 0;
    loop {
        n += 1;
        assert!(n < 200, "the flow did not terminate");
        step = match step {
            Step::Send(out) => {
                let host = out.request.uri().host().unwrap().to_owned();
                match out.kind {
                    RequestKind::Resource => {
                        assert!(host == "rs.example.org" || host == "other.example.com")
                    }
                    _ => assert_eq!(
                        host, "as.example.org",
                        "authorization-server request to {host}"
                    ),
                }
                let auth = out
                    .request
                    .headers()
                    .get("authorization")
                    .map(|v| v.to_str().unwrap().to_owned());
                if let Some(auth) = &auth {
                    if auth.contains("rpt-SECRET") {
                        assert_eq!(out.kind, RequestKind::Resource);
                        assert_eq!(host, "rs.example.org", "RPT sent to {host}");
                    }
                }
                let a = answers
                    .get(n - 1)
                    .cloned()
                    .unwrap_or(Answer::Challenge(n as u8));
                flow.handle_response(&mut d.client, out.id, render(&a, n), d.now)
            }
            Step::Wait { until } | Step::Park { until, .. } => {
                assert!(until > d.now || matches!(step, Step::Park { .. }));
                d.now = until.max(d.now);
                flow.resume(&mut d.client, d.now)
            }
            Step::Done(_) => return n,
            Step::Failed(f) => {
                let shown = format!("{} {:?} {}", f.error, f.error, f);
                for secret in ["SECRET", "app-secret"] {
                    assert!(!shown.contains(secret), "secret in error: {shown}");
                }
                return n;
            }
        };
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn flows_terminate_and_keep_secrets(answers in proptest::collection::vec(answer(), 0..40),
                                        second in proptest::collection::vec(answer(), 0..20),
                                        gap in 0u64..400) {
        let mut cfg = config();
        cfg.max_redirects = 2;
        cfg.max_flows = 2;
        let mut d = Driver::new(uma_core::Client::new(cfg));
        drive(&mut d, &answers);
        // A second request on the same client starts from whatever the first left in the cache.
        d.advance(Duration::from_secs(gap));
        drive(&mut d, &second);
    }
}
