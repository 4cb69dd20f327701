//! Two uma-core behaviours first found through the adapters, shown sans-IO (canned responses,
//! deterministic): a late challenge reuses the RPT that landed meanwhile, and an exchange event never
//! shows a URL's userinfo.
//!
//! Two requests start cold at once. The first one's challenge comes back, it runs the exchange and lands
//! an RPT. Only then does the second one's (tokenless) challenge come back: the core starts a second
//! ticket exchange instead of replaying the request with the RPT it now holds for that origin and party.
//! Under a real herd (1,000 tasks opening connections) a few hundred challenges arrive after the first
//! exchange landed, so the cold herd costs 2-3 token requests instead of one.

use std::time::Instant;

use uma_core::auth::ClientCredentials;
use uma_core::discovery::Issuer;
use uma_core::{AuthorizationServer, Client, Config, Flow, Machine, RequestKind, Step};

fn reply(status: u16, challenge: Option<&str>, body: &str) -> http::Response<Vec<u8>> {
    let mut r = http::Response::builder().status(status);
    if let Some(c) = challenge {
        r = r.header("www-authenticate", c);
    }
    r.body(body.as_bytes().to_vec()).unwrap()
}

fn sent<T>(step: Step<T>) -> uma_core::Outgoing {
    match step {
        Step::Send(out) => out,
        _ => panic!("expected a request to send"),
    }
}

#[test]
fn late_challenge_reuses_the_rpt_landed_meanwhile() {
    let issuer = Issuer::parse("http://as.test").unwrap();
    let config = Config::new()
        .with_authorization_server(AuthorizationServer::new(
            issuer,
            ClientCredentials::basic("app", "s"),
        ))
        .allow_insecure_http(true);
    let mut core = Client::new(config);
    let now = Instant::now();
    let get = || {
        http::Request::get("http://rs.test/api/a")
            .body(Vec::new())
            .unwrap()
    };
    let (mut a, mut b) = (Flow::new(get()), Flow::new(get()));
    let a1 = sent(a.start(&mut core, now));
    let b1 = sent(b.start(&mut core, now));

    let challenge = |t: &str| format!(r#"UMA realm="api", as_uri="http://as.test", ticket="{t}""#);
    let disc = sent(a.handle_response(
        &mut core,
        a1.id,
        reply(401, Some(&challenge("t1")), ""),
        now,
    ));
    let meta = r#"{"issuer":"http://as.test","token_endpoint":"http://as.test/token"}"#;
    let token = sent(a.handle_response(&mut core, disc.id, reply(200, None, meta), now));
    let rpt = r#"{"access_token":"rpt-1","token_type":"Bearer"}"#;
    let retry = sent(a.handle_response(&mut core, token.id, reply(200, None, rpt), now));
    assert!(matches!(
        a.handle_response(&mut core, retry.id, reply(200, None, "ok"), now),
        Step::Done(_)
    ));

    // B's challenge (to its tokenless request) arrives only now.
    let next = sent(b.handle_response(
        &mut core,
        b1.id,
        reply(401, Some(&challenge("t2")), ""),
        now,
    ));
    assert_eq!(
        next.kind,
        RequestKind::Resource,
        "expected a replay with the cached RPT, got a second exchange"
    );
    assert_eq!(
        next.request.headers()["authorization"].to_str().unwrap(),
        "Bearer rpt-1"
    );
}

/// `ExchangeEvent::for_request` drops a URL's `user:password@` (it once kept `uri.authority()` whole, so a
/// `-v` trace printed the password).
#[test]
fn exchange_event_hides_userinfo() {
    let request = http::Request::get("https://user:hunter2@rs.example.org/a")
        .body(Vec::new())
        .unwrap();
    let mut client = uma_core::Client::new(uma_core::Config::new());
    let mut flow = uma_core::Flow::new(request);
    let step = uma_core::Machine::start(&mut flow, &mut client, std::time::Instant::now());
    let uma_core::Step::Send(out) = step else {
        panic!("the flow sends the request first")
    };
    let event = uma_core::trace::ExchangeEvent::for_request(&out);
    assert!(!event.line().contains("hunter2"), "{}", event.line());
}
