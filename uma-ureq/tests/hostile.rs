//! The hostile-server suite (issue 7) for the blocking adapter: servers that lie, stall, flood, redirect,
//! loop or send control characters. Every case asserts a typed error (the variant), no panic, a time bound,
//! and from the servers' logs that nothing went where it must not (docs/protocol.md §11).

mod common;
mod hostile_support;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use common::{Buffered, config, kit, server, ureq_agent};
use hostile_support::raw::{RawServer, challenge_answer, fake_as, json_answer};
use hostile_support::*;
use uma_core::auth::ClientCredentials;
use uma_core::challenge::ChallengeError;
use uma_core::discovery::{DiscoveryError, Issuer};
use uma_core::{AuthorizationServer, Config};
use uma_testkit::{Dialect, Endpoint, Fault, Kit, Server};
use uma_ureq::{Deadline, Error, Options, UmaClient};

type Outcome = Result<http::Response<Vec<u8>>, Error>;

fn options() -> Options {
    Options::default()
        .with_exchange_timeout(Some(EXCHANGE))
        .with_request_timeout(Some(REQUEST))
}

fn agent_with(kit: &Kit, config: Config, options: Options) -> UmaClient {
    UmaClient::from_ureq(ureq_agent(kit), config).with_options(options)
}

fn agent(kit: &Kit) -> UmaClient {
    agent_with(kit, config(kit, server(kit)), options())
}

/// Runs `call` and asserts it neither panics nor takes `bound` or longer.
fn bounded(bound: Duration, call: impl FnOnce() -> Outcome) -> Outcome {
    let started = Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(call)).expect("the client panicked");
    let elapsed = started.elapsed();
    assert!(elapsed < bound, "took {elapsed:?}, bound {bound:?}");
    outcome
}

fn get(agent: &UmaClient, url: &str, bound: Duration) -> Outcome {
    bounded(bound, || agent.get(url).send().map(Buffered::buffered))
}

fn uma(outcome: &Outcome) -> &uma_core::Error {
    match outcome {
        Err(error) => error
            .uma()
            .map(uma_core::Error::root)
            .unwrap_or_else(|| panic!("not a UMA error: {error:?}")),
        Ok(response) => panic!("expected an error, got {}", response.status()),
    }
}

fn discovery_error(outcome: &Outcome) -> &DiscoveryError {
    match uma(outcome) {
        uma_core::Error::Discovery { error, .. } => error,
        other => panic!("not a discovery error: {other:?}"),
    }
}

/// Bearer tokens the RS received (RPTs and the user's token): they must never reach another host.
fn rs_tokens(kit: &Kit) -> Vec<String> {
    kit.log_of(Server::Rs)
        .iter()
        .filter_map(|r| r.header("authorization"))
        .filter_map(|a| a.strip_prefix("Bearer "))
        .map(str::to_string)
        .collect()
}

/// A challenge naming an untrusted AS, with a user token held: refused, nothing sent to either AS.
fn untrusted_as_uri(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let agent = agent(&kit);
    let user_token = kit.access_token_for("alice");
    agent.set_access_token(user_token.clone());
    kit.set_challenge_as_uri(Some(kit.hostile_issuer()));
    let outcome = get(&agent, &kit.rs_url("/api/a"), BOUND);
    assert!(
        matches!(uma(&outcome), uma_core::Error::UntrustedAuthorizationServer { as_uri } if *as_uri == kit.hostile_issuer()),
        "{outcome:?}"
    );
    let error = outcome.expect_err("untrusted");
    assert_eq!(error.response().map(|r| r.status().as_u16()), Some(401));
    assert_eq!(kit.log_of(Server::HostileAs).len(), 0);
    assert_eq!(kit.log_of(Server::As).len(), 0);
    assert_eq!(kit.log_of(Server::Rs).len(), 1);
    assert!(!format!("{error} {error:?}").contains(&user_token));
    assert_nothing_astray(&kit);
}

/// B3: an `as_uri` built to forge a request (query, fragment) is refused before any discovery.
fn as_uri_request_forgery(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let agent = agent(&kit);
    for forged in [
        format!("{}/admin/delete?id=7&x=", kit.issuer()),
        format!("{}/admin/reset#", kit.issuer()),
        format!("{}/a b", kit.issuer()),
    ] {
        kit.set_challenge_as_uri(Some(forged.clone()));
        let outcome = get(&agent, &kit.rs_url("/api/a"), BOUND);
        assert!(
            matches!(
                uma(&outcome),
                uma_core::Error::Challenge(ChallengeError::InvalidAsUri { .. })
                    | uma_core::Error::UntrustedAuthorizationServer { .. }
            ),
            "{forged}: {outcome:?}"
        );
    }
    assert_eq!(kit.log_of(Server::As).len(), 0);
    assert_nothing_astray(&kit);
}

/// Discovery whose `issuer` names the hostile AS: refused (mix-up defence), no token request anywhere.
fn issuer_mismatch(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    kit.set_discovery_issuer(Some(kit.hostile_issuer()));
    let agent = agent(&kit);
    let outcome = get(&agent, &kit.rs_url("/api/a"), BOUND);
    assert!(
        matches!(
            discovery_error(&outcome),
            DiscoveryError::IssuerMismatch { .. }
        ),
        "{outcome:?}"
    );
    assert_eq!(kit.count_endpoint(Endpoint::Discovery), 1);
    assert_eq!(kit.count_endpoint(Endpoint::Token), 0);
    assert_eq!(kit.log_of(Server::HostileAs).len(), 0);
    assert_nothing_astray(&kit);
}

/// Discovery that moves the token endpoint to the hostile AS: refused, the secret never goes there.
fn token_endpoint_on_hostile_origin(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    kit.set_discovery_token_endpoint(Some(format!("{}/token", kit.hostile_issuer())));
    let agent = agent(&kit);
    let outcome = get(&agent, &kit.rs_url("/api/a"), BOUND);
    assert!(
        matches!(
            discovery_error(&outcome),
            DiscoveryError::CrossOriginEndpoint {
                field: "token_endpoint",
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(kit.log_of(Server::HostileAs).len(), 0);
    assert_eq!(kit.count_endpoint(Endpoint::Token), 0);
    assert_nothing_astray(&kit);
}

/// An https issuer whose metadata lists an http token endpoint: refused without the insecure opt-in, even
/// with cross-origin endpoints allowed; the plain-http host gets nothing.
fn http_token_endpoint_without_opt_in(tls: bool) {
    assert!(tls, "this case needs an https issuer");
    let kit = kit(Dialect::Spec, tls);
    let plain = RawServer::start(fake_as(
        200,
        r#"{"access_token":"x","token_type":"Bearer"}"#,
    ));
    for endpoint in [
        downgraded(&kit.endpoint_url(Endpoint::Token).expect("token endpoint")),
        format!("{}/token", plain.base()),
    ] {
        kit.set_discovery_token_endpoint(Some(endpoint.clone()));
        let mut config = config(&kit, server(&kit));
        config.endpoint_policy.allow_cross_origin_token_endpoint = true;
        let agent = agent_with(&kit, config, options());
        let outcome = get(&agent, &kit.rs_url("/api/a"), BOUND);
        assert!(
            matches!(
                discovery_error(&outcome),
                DiscoveryError::InsecureEndpoint {
                    field: "token_endpoint",
                    ..
                }
            ),
            "{endpoint}: {outcome:?}"
        );
    }
    assert_eq!(kit.count_endpoint(Endpoint::Token), 0);
    assert_eq!(plain.requests().len(), 0);
    assert_nothing_astray(&kit);
}

/// An http issuer without the opt-in: refused before discovery.
fn http_issuer_without_opt_in(tls: bool) {
    assert!(!tls, "this case needs an http issuer");
    let kit = kit(Dialect::Spec, tls);
    let config = config(&kit, server(&kit)).allow_insecure_http(false);
    let agent = agent_with(&kit, config, options());
    let outcome = get(&agent, &kit.rs_url("/api/a"), BOUND);
    assert!(
        matches!(
            uma(&outcome),
            uma_core::Error::InsecureAuthorizationServer { .. }
                | uma_core::Error::Discovery {
                    error: DiscoveryError::InsecureIssuer { .. },
                    ..
                }
        ),
        "{outcome:?}"
    );
    assert_eq!(kit.log_of(Server::As).len(), 0);
    assert_nothing_astray(&kit);
}

/// 50 MB discovery and token answers, with and without `Content-Length`: `BodyTooLarge`, fast.
fn oversized_as_answers(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let agent = agent(&kit);
    for endpoint in [Endpoint::Discovery, Endpoint::Token] {
        for fault in [
            Fault::Oversized(50_000_000),
            Fault::OversizedChunked(50_000_000),
        ] {
            kit.set_fault(endpoint, Some(fault.clone()));
            let outcome = get(&agent, &kit.rs_url("/api/a"), BOUND);
            assert!(
                matches!(
                    outcome,
                    Err(Error::BodyTooLarge {
                        limit: 1_048_576,
                        ..
                    })
                ),
                "{endpoint:?} {fault:?}: {outcome:?}"
            );
            kit.set_fault(endpoint, None);
        }
    }
    assert_eq!(kit.log_of(Server::HostileAs).len(), 0);
    assert_nothing_astray(&kit);
}

/// A slow AS (discovery, then token endpoint) and a slow RS: an exchange timeout within 5× its value.
fn slow_servers(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let options = options().with_exchange_timeout(Some(SHORT));
    let agent = agent_with(&kit, config(&kit, server(&kit)), options);
    for endpoint in [Endpoint::Discovery, Endpoint::Token, Endpoint::RsResource] {
        kit.set_fault(endpoint, Some(Fault::Delay(Duration::from_secs(5))));
        let outcome = get(&agent, &kit.rs_url("/api/a"), SHORT_BOUND);
        assert!(
            matches!(
                outcome,
                Err(Error::Timeout {
                    deadline: Deadline::Exchange,
                    ..
                })
            ),
            "{endpoint:?}: {outcome:?}"
        );
        kit.set_fault(endpoint, None);
    }
    // An AS that never answers is cut by the request timeout when the exchange timeout is long.
    kit.set_fault(Endpoint::Token, Some(Fault::NeverAnswer));
    let options = Options::default()
        .with_exchange_timeout(Some(Duration::from_secs(30)))
        .with_request_timeout(Some(SHORT));
    let agent = agent_with(&kit, config(&kit, server(&kit)), options);
    let outcome = get(&agent, &kit.rs_url("/api/a"), SHORT_BOUND);
    assert!(
        matches!(
            outcome,
            Err(Error::Timeout {
                deadline: Deadline::Request,
                ..
            })
        ),
        "{outcome:?}"
    );
    assert_nothing_astray(&kit);
}

/// An AS that drops the connection (discovery, token endpoint): a transport error, then recovery.
fn as_drops_connection(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let agent = agent(&kit);
    for endpoint in [Endpoint::Discovery, Endpoint::Token] {
        kit.set_fault(endpoint, Some(Fault::DropConnection));
        let outcome = get(&agent, &kit.rs_url("/api/a"), BOUND);
        assert!(
            matches!(outcome, Err(Error::Transport { .. })),
            "{endpoint:?}: {outcome:?}"
        );
        kit.set_fault(endpoint, None);
    }
    let outcome = get(&agent, &kit.rs_url("/api/a"), BOUND);
    assert_eq!(outcome.expect("recovered").status(), 200);
    assert_nothing_astray(&kit);
}

/// HTML and garbage bodies from discovery (not JSON) and from the token endpoint (malformed).
fn html_and_garbage(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    for fault in [Fault::Html, Fault::Garbage] {
        // A fresh agent each time: a successful discovery is cached and would hide the next fault.
        let agent = agent(&kit);
        kit.set_fault(Endpoint::Discovery, Some(fault.clone()));
        let outcome = get(&agent, &kit.rs_url("/api/a"), BOUND);
        assert!(
            matches!(discovery_error(&outcome), DiscoveryError::NotJson),
            "{fault:?}: {outcome:?}"
        );
        kit.set_fault(Endpoint::Discovery, None);
        kit.set_fault(Endpoint::Token, Some(fault.clone()));
        let outcome = get(&agent, &kit.rs_url("/api/a"), BOUND);
        assert!(
            matches!(
                uma(&outcome),
                uma_core::Error::MalformedTokenResponse { status: 200, .. }
            ),
            "{fault:?}: {outcome:?}"
        );
        kit.set_fault(Endpoint::Token, None);
    }
    // Nothing reached the RS with a token: every flow stopped at the AS.
    assert!(rs_tokens(&kit).is_empty());
    assert_nothing_astray(&kit);
}

/// Discovery and token endpoint answering 307 to the hostile AS: never followed, even with resource
/// redirects enabled; the hostile AS gets nothing.
fn as_redirects_never_followed(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let mut config = config(&kit, server(&kit));
    config.max_redirects = 5;
    let agent = agent_with(&kit, config, options());
    let hostile = kit.hostile_issuer();
    kit.set_fault(
        Endpoint::Discovery,
        Some(Fault::RedirectTo(format!(
            "{hostile}/.well-known/uma2-configuration"
        ))),
    );
    let outcome = get(&agent, &kit.rs_url("/api/a"), BOUND);
    assert!(
        matches!(discovery_error(&outcome), DiscoveryError::Status(307)),
        "{outcome:?}"
    );
    kit.set_fault(Endpoint::Discovery, None);
    kit.set_fault(
        Endpoint::Token,
        Some(Fault::RedirectTo(format!("{hostile}/token"))),
    );
    let outcome = get(&agent, &kit.rs_url("/api/a"), BOUND);
    assert!(
        matches!(
            uma(&outcome),
            uma_core::Error::MalformedTokenResponse { status: 307, .. }
                | uma_core::Error::TokenEndpoint { .. }
        ),
        "{outcome:?}"
    );
    assert_eq!(kit.count_endpoint(Endpoint::Token), 1);
    assert_eq!(kit.log_of(Server::HostileAs).len(), 0);
    assert_nothing_astray(&kit);
}

/// An RS redirecting to another origin, with redirects enabled: followed, but neither the user's token
/// (before any RPT) nor the RPT (after) goes along.
fn rs_redirect_to_other_origin(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let mut config = config(&kit, server(&kit));
    config.max_redirects = 2;
    let agent = agent_with(&kit, config, options());
    let user_token = kit.access_token_for("alice");
    agent.set_access_token(user_token.clone());
    let target = format!("{}/collect", kit.hostile_issuer());
    kit.set_fault(
        Endpoint::RsResource,
        Some(Fault::RedirectTo(target.clone())),
    );
    let outcome = get(&agent, &kit.rs_url("/api/a"), BOUND);
    assert_eq!(outcome.expect("followed").status(), 404);
    kit.set_fault(Endpoint::RsResource, None);
    assert_eq!(
        get(&agent, &kit.rs_url("/api/a"), BOUND)
            .expect("GET")
            .status(),
        200
    );
    kit.set_fault(Endpoint::RsResource, Some(Fault::RedirectTo(target)));
    let outcome = get(&agent, &kit.rs_url("/api/a"), BOUND);
    assert_eq!(outcome.expect("followed").status(), 404);

    let hostile = kit.log_of(Server::HostileAs);
    assert_eq!(hostile.len(), 2, "{hostile:#?}");
    let mut tokens = rs_tokens(&kit);
    assert!(tokens.len() >= 3, "user token, then RPT: {tokens:?}");
    tokens.push(user_token);
    assert_clean(&hostile, &tokens);
}

/// An RS redirecting to itself forever: bounded by `max_redirects`.
fn rs_redirect_loop(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let mut config = config(&kit, server(&kit));
    config.max_redirects = 3;
    let agent = agent_with(&kit, config, options());
    kit.set_fault(
        Endpoint::RsResource,
        Some(Fault::RedirectTo(kit.rs_url("/api/a"))),
    );
    let outcome = get(&agent, &kit.rs_url("/api/a"), BOUND);
    assert!(
        matches!(uma(&outcome), uma_core::Error::TooManyRedirects { max: 3 }),
        "{outcome:?}"
    );
    assert_eq!(kit.log_of(Server::Rs).len(), 4);
    assert_nothing_astray(&kit);
}

/// An RS that answers 401 whatever the RPT: bounded by `max_flows`, the last 401 kept.
fn rs_loops_401(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    kit.set_rs_always_401(true);
    let config = config(&kit, server(&kit)).with_max_flows(3);
    let agent = agent_with(&kit, config, options());
    let outcome = get(&agent, &kit.rs_url("/api/a"), BOUND);
    assert!(
        matches!(uma(&outcome), uma_core::Error::MaxFlowsReached { flows: 3 }),
        "{outcome:?}"
    );
    let last = outcome
        .expect_err("loop")
        .into_response()
        .expect("last 401");
    assert_eq!(last.status(), 401);
    assert!(last.headers().contains_key("www-authenticate"));
    assert_eq!(kit.count_endpoint(Endpoint::Token), 3);
    assert_eq!(kit.log_of(Server::Rs).len(), 4);
    assert_eq!(kit.log_of(Server::HostileAs).len(), 0);
    assert_nothing_astray(&kit);
}

/// Tickets are credentials (docs/protocol.md §11.6): the error of a failed flow keeps the last 401, but its
/// `Debug` and `Display` must not print the ticket of that 401's challenge.
fn error_output_hides_the_ticket(tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    kit.set_rs_always_401(true);
    let agent = agent(&kit);
    let error = get(&agent, &kit.rs_url("/api/a"), BOUND).expect_err("loop");
    let challenge = error
        .response()
        .and_then(|r| r.headers().get("www-authenticate"))
        .and_then(|v| v.to_str().ok())
        .expect("the last 401 is kept")
        .to_string();
    let ticket = challenge
        .split("ticket=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a ticket");
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains(ticket), "the ticket is printed: {shown}");
    assert_nothing_astray(&kit);
}

/// Challenges whose ticket or `as_uri` holds a control character: a typed error (the challenge, or the
/// transport when the header line itself is illegal), nothing sent to the AS the challenge names.
fn challenge_with_control_characters(tls: bool) {
    assert!(!tls, "the raw server speaks plain http");
    let kit = kit(Dialect::Spec, tls);
    let issuer = kit.issuer();
    let cases: Vec<(Vec<u8>, bool)> = vec![
        // (challenge, whether the header line is legal HTTP so the challenge parser must reject it)
        (
            format!(r#"UMA realm="api", as_uri="{issuer}", ticket="ab	cd""#).into_bytes(),
            true,
        ),
        (
            format!(
                r#"UMA realm="api", as_uri="{issuer}", ticket="ab{}cd""#,
                '\u{7f}'
            )
            .into_bytes(),
            false,
        ),
        (
            format!(
                r#"UMA realm="api", as_uri="{issuer}", ticket="ab{}cd""#,
                '\u{1}'
            )
            .into_bytes(),
            false,
        ),
        (
            format!(
                r#"UMA realm="api", as_uri="{issuer}", ticket="ab{}""#,
                '\u{e9}'
            )
            .into_bytes(),
            true,
        ),
        (
            format!(r#"UMA realm="api", as_uri="{issuer}	/x", ticket="t1""#).into_bytes(),
            true,
        ),
    ];
    for (challenge, legal) in cases {
        let rs = RawServer::start(move |_, _| challenge_answer(&challenge.clone()));
        let agent = agent(&kit);
        let outcome = get(&agent, &format!("{}/api/a", rs.base()), BOUND);
        let shown = format!("{outcome:?}");
        match &outcome {
            Err(Error::Transport { .. }) if !legal => {}
            Err(error) => assert!(
                matches!(
                    error.uma().map(uma_core::Error::root),
                    Some(uma_core::Error::Challenge(
                        ChallengeError::InvalidTicket { .. } | ChallengeError::InvalidAsUri { .. }
                    ))
                ),
                "{shown}"
            ),
            Ok(response) => panic!("accepted: {}", response.status()),
        }
        assert_eq!(rs.requests().len(), 1, "{shown}");
    }
    assert_eq!(kit.log_of(Server::As).len(), 0);
    assert_nothing_astray(&kit);
}

/// A fake AS the kit's RS sends the client to (the client trusts it): returns `token` from its token
/// endpoint. Returns the kit, the fake AS and an agent trusting it.
fn kit_with_fake_as(token_status: u16, token: &'static str) -> (Kit, RawServer, UmaClient) {
    let kit = kit(Dialect::Spec, false);
    let fake = RawServer::start(fake_as(token_status, token));
    kit.set_challenge_as_uri(Some(fake.base()));
    let trusted = AuthorizationServer::new(
        Issuer::parse(&fake.base()).expect("issuer"),
        ClientCredentials::basic("app", "app-secret"),
    );
    let agent = agent_with(&kit, config(&kit, trusted), options());
    (kit, fake, agent)
}

/// The security half of the CR/LF token case: whatever the client does with an `access_token` holding
/// CR/LF, it never becomes (part of) a header the RS receives, and nothing is injected.
fn token_with_crlf_never_a_header(tls: bool) {
    assert!(!tls, "the raw server speaks plain http");
    for token in [
        r#"{"access_token":"rpt\r\nX-Injected: yes","token_type":"Bearer"}"#,
        r#"{"access_token":"rpt\nX-Injected: yes","token_type":"Bearer"}"#,
        r#"{"access_token":"rpt\u0000\u007f","token_type":"Bearer"}"#,
    ] {
        let (kit, fake, agent) = kit_with_fake_as(200, token);
        let outcome = get(&agent, &kit.rs_url("/api/a"), BOUND);
        assert!(outcome.is_err(), "{token}: {outcome:?}");
        let _ = uma(&outcome);
        assert_eq!(fake.requests().len(), 2, "discovery and one token request");
        for request in kit.log_of(Server::Rs) {
            assert!(request.header("x-injected").is_none(), "{request:#?}");
            assert!(request.header("authorization").is_none(), "{request:#?}");
        }
        assert_nothing_astray(&kit);
    }
}

/// The strict half: a token that cannot be a header value is a malformed token response, and nothing is
/// sent further (no second resource request).
fn token_with_crlf_rejected(tls: bool) {
    assert!(!tls, "the raw server speaks plain http");
    let (kit, fake, agent) = kit_with_fake_as(
        200,
        r#"{"access_token":"rpt\r\nX-Injected: yes","token_type":"Bearer"}"#,
    );
    let outcome = get(&agent, &kit.rs_url("/api/a"), BOUND);
    assert!(
        matches!(
            uma(&outcome),
            uma_core::Error::MalformedTokenResponse { .. }
        ),
        "{outcome:?}"
    );
    assert_eq!(fake.requests().len(), 2);
    assert_eq!(
        kit.log_of(Server::Rs).len(),
        1,
        "{:#?}",
        kit.log_of(Server::Rs)
    );
    assert_nothing_astray(&kit);
}

/// A token holding HTAB (a control character that is legal in a header value) or non-ASCII bytes is no
/// Bearer token (RFC 6750 §2.1 b64token): it must not go out in an `Authorization` header.
fn token_with_htab_or_non_ascii_never_sent(tls: bool) {
    assert!(!tls, "the raw server speaks plain http");
    for token in [
        r#"{"access_token":"rpt\tX-Injected: yes","token_type":"Bearer"}"#,
        r#"{"access_token":"rpt\u00e9","token_type":"Bearer"}"#,
    ] {
        let (kit, _fake, agent) = kit_with_fake_as(200, token);
        let outcome = get(&agent, &kit.rs_url("/api/a"), BOUND);
        assert!(outcome.is_err(), "{token}: {outcome:?}");
        let sent: Vec<_> = kit
            .log_of(Server::Rs)
            .iter()
            .filter_map(|r| r.header("authorization").map(str::to_string))
            .collect();
        assert!(sent.is_empty(), "{token} went out as {sent:?}");
        assert_nothing_astray(&kit);
    }
}

/// B12: a token answer with HTTP 500 that carries an `access_token` is not a token; the RS sees no retry.
fn token_500_with_access_token(tls: bool) {
    assert!(!tls, "the raw server speaks plain http");
    let (kit, _fake, agent) =
        kit_with_fake_as(500, r#"{"access_token":"evil-rpt","token_type":"Bearer"}"#);
    let outcome = get(&agent, &kit.rs_url("/api/a"), BOUND);
    assert!(
        matches!(
            uma(&outcome),
            uma_core::Error::MalformedTokenResponse { status: 500, .. }
                | uma_core::Error::TokenEndpoint { .. }
        ),
        "{outcome:?}"
    );
    assert_eq!(kit.log_of(Server::Rs).len(), 1);
    assert!(rs_tokens(&kit).is_empty());
    assert_nothing_astray(&kit);
}

/// B16: a token endpoint that answers with a UMA challenge of its own (naming the hostile AS) starts no
/// nested flow: an error, nothing sent to the AS that challenge names.
fn nested_challenge_at_token_endpoint(tls: bool) {
    assert!(!tls, "the raw server speaks plain http");
    let kit = kit(Dialect::Spec, false);
    let hostile = kit.hostile_issuer();
    let fake = RawServer::start(move |request, base| {
        if request.target.ends_with("/.well-known/uma2-configuration") {
            json_answer(
                200,
                &format!(r#"{{"issuer":"{base}","token_endpoint":"{base}/token"}}"#),
            )
        } else {
            challenge_answer(
                format!(r#"UMA realm="x", as_uri="{hostile}", ticket="t-nested""#).as_bytes(),
            )
        }
    });
    kit.set_challenge_as_uri(Some(fake.base()));
    let trusted = AuthorizationServer::new(
        Issuer::parse(&fake.base()).expect("issuer"),
        ClientCredentials::basic("app", "app-secret"),
    );
    let agent = agent_with(&kit, config(&kit, trusted), options());
    let outcome = get(&agent, &kit.rs_url("/api/a"), BOUND);
    assert!(
        matches!(
            uma(&outcome),
            uma_core::Error::ClientAuthentication { .. }
                | uma_core::Error::TokenEndpoint { .. }
                | uma_core::Error::MalformedTokenResponse { status: 401, .. }
        ),
        "{outcome:?}"
    );
    assert_eq!(fake.requests().len(), 2);
    assert_eq!(kit.log_of(Server::HostileAs).len(), 0);
    assert_nothing_astray(&kit);
}

/// Huge challenge headers from a raw RS: a 60 KiB ticket is refused (too long); a 60 KiB realm with a valid
/// ticket works; a header past the 64 KiB parser bound is refused or returned, never sent anywhere.
fn huge_challenge_headers(tls: bool) {
    assert!(!tls, "the raw server speaks plain http");
    let kit = kit(Dialect::Spec, false);
    let issuer = kit.issuer();

    let challenge = format!(
        r#"UMA realm="api", as_uri="{issuer}", ticket="{}""#,
        sixty_kib('t')
    );
    let rs = RawServer::start(move |_, _| challenge_answer(challenge.as_bytes()));
    let outcome = get(&agent(&kit), &format!("{}/api/a", rs.base()), BOUND);
    assert!(
        matches!(
            uma(&outcome),
            uma_core::Error::Challenge(ChallengeError::InvalidTicket { .. })
        ),
        "{outcome:?}"
    );
    assert_eq!(kit.log_of(Server::As).len(), 0);

    // Legal but huge: a 60 KiB realm around a real ticket. The retry carries the RPT and gets 200.
    let ticket = kit.ticket_for("res-a", "read").expect("ticket");
    let challenge = format!(
        r#"UMA realm="{}", as_uri="{issuer}", ticket="{ticket}""#,
        sixty_kib('r')
    );
    let rs = RawServer::start(move |request, _| match request.header("authorization") {
        Some(_) => json_answer(200, "{}"),
        None => challenge_answer(challenge.as_bytes()),
    });
    let outcome = get(&agent(&kit), &format!("{}/api/a", rs.base()), BOUND);
    assert_eq!(outcome.expect("huge realm").status(), 200);
    assert_eq!(kit.count_endpoint(Endpoint::Token), 1);

    // Past every bound: 200 KiB of challenge.
    kit.clear_log();
    let challenge = format!(
        r#"UMA realm="{}", as_uri="{issuer}", ticket="t1""#,
        "r".repeat(200 * 1024)
    );
    let rs = RawServer::start(move |_, _| challenge_answer(challenge.as_bytes()));
    let outcome = get(&agent(&kit), &format!("{}/api/a", rs.base()), BOUND);
    match &outcome {
        Ok(response) => assert_eq!(response.status(), 401),
        Err(Error::Transport { .. }) => {}
        Err(error) => assert!(
            matches!(error.uma(), Some(uma_core::Error::Challenge(_))),
            "{error:?}"
        ),
    }
    assert_eq!(kit.log_of(Server::As).len(), 0);
    assert_nothing_astray(&kit);
}

macro_rules! cases {
    (plain: [$($plain:ident),* $(,)?], tls: [$($tls:ident),* $(,)?]) => {
        mod plain {
            $( #[test] fn $plain() { super::$plain(false) } )*
        }
        mod tls {
            $( #[test] fn $tls() { super::$tls(true) } )*
        }
    };
}

cases!(
    plain: [
        untrusted_as_uri,
        as_uri_request_forgery,
        issuer_mismatch,
        token_endpoint_on_hostile_origin,
        http_issuer_without_opt_in,
        oversized_as_answers,
        slow_servers,
        as_drops_connection,
        html_and_garbage,
        as_redirects_never_followed,
        rs_redirect_to_other_origin,
        rs_redirect_loop,
        rs_loops_401,
        error_output_hides_the_ticket,
        challenge_with_control_characters,
        token_with_crlf_never_a_header,
        token_with_crlf_rejected,
        token_with_htab_or_non_ascii_never_sent,
        token_500_with_access_token,
        nested_challenge_at_token_endpoint,
        huge_challenge_headers,
    ],
    tls: [
        untrusted_as_uri,
        token_endpoint_on_hostile_origin,
        http_token_endpoint_without_opt_in,
        oversized_as_answers,
        slow_servers,
        rs_redirect_to_other_origin,
    ]
);
