//! Hostile servers (issue 7): servers that lie, stall, flood, redirect, loop or send control characters.
//! Every case asserts a typed failure ([`Class`]), no panic, a time bound, and from the servers' logs that
//! nothing went where it must not (docs/protocol.md §11).

use std::time::Duration;

use super::checks::{assert_clean, assert_nothing_astray, downgraded, sixty_kib};
use super::raw::{RawServer, challenge_answer, fake_as, json_answer};
use super::{
    Adapter, BOUND, Class, Deadline, Outcome, SHORT, SHORT_BOUND, Setup, Subject, bounded, class,
    failure, get, kit, start,
};
use crate::{ChallengeStyle, Dialect, Endpoint, Fault, Kit, KitConfig, Server};

fn subject(adapter: &dyn Adapter, kit: &Kit) -> Box<dyn Subject> {
    adapter.subject(&Setup::for_kit(kit))
}

fn fetch(subject: &dyn Subject, url: &str, bound: Duration) -> Outcome {
    bounded(bound, || subject.send(get(url)))
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
pub fn untrusted_as_uri(adapter: &dyn Adapter, tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let client = subject(adapter, &kit);
    let user_token = kit.access_token_for("alice");
    client.set_access_token(&user_token);
    kit.set_challenge_as_uri(Some(kit.hostile_issuer()));
    let outcome = fetch(&*client, &kit.rs_url("/api/a"), BOUND);
    assert!(
        matches!(class(&outcome), Class::Untrusted { as_uri } if *as_uri == kit.hostile_issuer()),
        "{outcome:?}"
    );
    let error = failure(&outcome);
    assert_eq!(error.status(), Some(401));
    assert_eq!(kit.log_of(Server::HostileAs).len(), 0);
    assert_eq!(kit.log_of(Server::As).len(), 0);
    assert_eq!(kit.log_of(Server::Rs).len(), 1);
    assert!(!error.shown.contains(&user_token));
    assert_nothing_astray(&kit);
}

/// B3: an `as_uri` built to forge a request (query, fragment) is refused before any discovery.
pub fn as_uri_request_forgery(adapter: &dyn Adapter, tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let client = subject(adapter, &kit);
    for forged in [
        format!("{}/admin/delete?id=7&x=", kit.issuer()),
        format!("{}/admin/reset#", kit.issuer()),
        format!("{}/a b", kit.issuer()),
    ] {
        kit.set_challenge_as_uri(Some(forged.clone()));
        let outcome = fetch(&*client, &kit.rs_url("/api/a"), BOUND);
        assert!(
            matches!(
                class(&outcome),
                Class::InvalidAsUri | Class::Untrusted { .. }
            ),
            "{forged}: {outcome:?}"
        );
    }
    assert_eq!(kit.log_of(Server::As).len(), 0);
    assert_nothing_astray(&kit);
}

/// Discovery whose `issuer` names the hostile AS: refused (mix-up defence), no token request anywhere.
pub fn issuer_mismatch(adapter: &dyn Adapter, tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    kit.set_discovery_issuer(Some(kit.hostile_issuer()));
    let client = subject(adapter, &kit);
    let outcome = fetch(&*client, &kit.rs_url("/api/a"), BOUND);
    assert!(
        matches!(class(&outcome), Class::IssuerMismatch),
        "{outcome:?}"
    );
    assert_eq!(kit.count_endpoint(Endpoint::Discovery), 1);
    assert_eq!(kit.count_endpoint(Endpoint::Token), 0);
    assert_eq!(kit.log_of(Server::HostileAs).len(), 0);
    assert_nothing_astray(&kit);
}

/// Discovery that moves the token endpoint to the hostile AS: refused, the secret never goes there.
pub fn token_endpoint_on_hostile_origin(adapter: &dyn Adapter, tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    kit.set_discovery_token_endpoint(Some(format!("{}/token", kit.hostile_issuer())));
    let client = subject(adapter, &kit);
    let outcome = fetch(&*client, &kit.rs_url("/api/a"), BOUND);
    assert!(
        matches!(class(&outcome), Class::CrossOriginEndpoint { field } if field == "token_endpoint"),
        "{outcome:?}"
    );
    assert_eq!(kit.log_of(Server::HostileAs).len(), 0);
    assert_eq!(kit.count_endpoint(Endpoint::Token), 0);
    assert_nothing_astray(&kit);
}

/// An https issuer whose metadata lists an http token endpoint: refused without the insecure opt-in, even
/// with cross-origin endpoints allowed; the plain-http host gets nothing.
pub fn http_token_endpoint_without_opt_in(adapter: &dyn Adapter, tls: bool) {
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
        let setup = Setup {
            allow_cross_origin_token_endpoint: true,
            ..Setup::for_kit(&kit)
        };
        let client = adapter.subject(&setup);
        let outcome = fetch(&*client, &kit.rs_url("/api/a"), BOUND);
        assert!(
            matches!(class(&outcome), Class::InsecureEndpoint { field } if field == "token_endpoint"),
            "{endpoint}: {outcome:?}"
        );
    }
    assert_eq!(kit.count_endpoint(Endpoint::Token), 0);
    assert_eq!(plain.requests().len(), 0);
    assert_nothing_astray(&kit);
}

/// An http issuer without the opt-in: refused before discovery.
pub fn http_issuer_without_opt_in(adapter: &dyn Adapter, tls: bool) {
    assert!(!tls, "this case needs an http issuer");
    let kit = kit(Dialect::Spec, tls);
    let setup = Setup {
        allow_insecure_http: false,
        ..Setup::for_kit(&kit)
    };
    let client = adapter.subject(&setup);
    let outcome = fetch(&*client, &kit.rs_url("/api/a"), BOUND);
    assert!(
        matches!(class(&outcome), Class::InsecureIssuer),
        "{outcome:?}"
    );
    assert_eq!(kit.log_of(Server::As).len(), 0);
    assert_nothing_astray(&kit);
}

/// 50 MB discovery and token answers, with and without `Content-Length`: `BodyTooLarge`, fast.
pub fn oversized_as_answers(adapter: &dyn Adapter, tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let client = subject(adapter, &kit);
    for endpoint in [Endpoint::Discovery, Endpoint::Token] {
        for fault in [
            Fault::Oversized(50_000_000),
            Fault::OversizedChunked(50_000_000),
        ] {
            kit.set_fault(endpoint, Some(fault.clone()));
            let outcome = fetch(&*client, &kit.rs_url("/api/a"), BOUND);
            assert!(
                matches!(
                    class(&outcome),
                    Class::BodyTooLarge {
                        limit: 1_048_576,
                        from_authorization_server: true
                    }
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
pub fn slow_servers(adapter: &dyn Adapter, tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let setup = Setup {
        exchange_timeout: Some(SHORT),
        ..Setup::for_kit(&kit)
    };
    let client = adapter.subject(&setup);
    for endpoint in [Endpoint::Discovery, Endpoint::Token, Endpoint::RsResource] {
        kit.set_fault(endpoint, Some(Fault::Delay(Duration::from_secs(5))));
        let outcome = fetch(&*client, &kit.rs_url("/api/a"), SHORT_BOUND);
        assert!(
            matches!(class(&outcome), Class::Timeout(Deadline::Exchange)),
            "{endpoint:?}: {outcome:?}"
        );
        kit.set_fault(endpoint, None);
    }
    // The client stays usable once the servers recover.
    let outcome = fetch(&*client, &kit.rs_url("/api/a"), BOUND);
    assert_eq!(outcome.expect("recovered").status(), 200);
    // An AS that never answers (discovery, token endpoint) is cut by the request timeout when the
    // exchange timeout is long.
    for endpoint in [Endpoint::Discovery, Endpoint::Token] {
        kit.set_fault(endpoint, Some(Fault::NeverAnswer));
        let setup = Setup {
            exchange_timeout: Some(Duration::from_secs(30)),
            request_timeout: Some(SHORT),
            ..Setup::for_kit(&kit)
        };
        let client = adapter.subject(&setup);
        let outcome = fetch(&*client, &kit.rs_url("/api/a"), SHORT_BOUND);
        assert!(
            matches!(class(&outcome), Class::Timeout(Deadline::Request)),
            "{endpoint:?}: {outcome:?}"
        );
        kit.set_fault(endpoint, None);
    }
    assert_nothing_astray(&kit);
}

/// A UMA 1.0 challenge (`403`, the ticket in a JSON body) whose body stops after 8 of its 64 bytes: the
/// exchange timeout cuts the read, and no authorization server is asked anything.
pub fn stalled_challenge_body(adapter: &dyn Adapter, tls: bool) {
    let mut kit_config =
        KitConfig::new(Dialect::Spec).with_challenge_style(ChallengeStyle::Uma1Body403);
    kit_config.ticket_only_with_bearer = false;
    let kit = start(kit_config, tls);
    kit.set_stalled_challenge_body(Some(Duration::from_secs(10)));
    let client = adapter.subject(&Setup {
        exchange_timeout: Some(SHORT),
        ..Setup::for_kit(&kit)
    });
    let outcome = fetch(&*client, &kit.rs_url("/api/a"), SHORT_BOUND);
    assert!(
        matches!(class(&outcome), Class::Timeout(Deadline::Exchange)),
        "{outcome:?}"
    );
    assert_eq!(kit.count_endpoint(Endpoint::Discovery), 0);
    assert_eq!(kit.count_endpoint(Endpoint::Token), 0);
    // Whole again, the same client gets through.
    kit.set_stalled_challenge_body(None);
    let outcome = fetch(&*client, &kit.rs_url("/api/a"), BOUND);
    assert_eq!(outcome.expect("recovered").status(), 200);
}

/// An AS that drops the connection (discovery, token endpoint): a transport error that shows no URL
/// query, then recovery.
pub fn as_drops_connection(adapter: &dyn Adapter, tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let client = subject(adapter, &kit);
    for endpoint in [Endpoint::Discovery, Endpoint::Token] {
        kit.set_fault(endpoint, Some(Fault::DropConnection));
        let url = format!("{}?token=s3cret", kit.rs_url("/api/a"));
        let outcome = fetch(&*client, &url, BOUND);
        assert!(
            matches!(class(&outcome), Class::Transport),
            "{endpoint:?}: {outcome:?}"
        );
        // The error names no URL query (it may hold secrets).
        assert!(!failure(&outcome).shown.contains("s3cret"), "{outcome:?}");
        kit.set_fault(endpoint, None);
    }
    let outcome = fetch(&*client, &kit.rs_url("/api/a"), BOUND);
    assert_eq!(outcome.expect("recovered").status(), 200);
    assert_nothing_astray(&kit);
}

/// HTML and garbage bodies from discovery (not JSON) and from the token endpoint (malformed).
pub fn html_and_garbage(adapter: &dyn Adapter, tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    for fault in [Fault::Html, Fault::Garbage] {
        // A fresh client each time: a successful discovery is cached and would hide the next fault.
        let client = subject(adapter, &kit);
        kit.set_fault(Endpoint::Discovery, Some(fault.clone()));
        let outcome = fetch(&*client, &kit.rs_url("/api/a"), BOUND);
        assert!(
            matches!(class(&outcome), Class::DiscoveryNotJson),
            "{fault:?}: {outcome:?}"
        );
        kit.set_fault(Endpoint::Discovery, None);
        kit.set_fault(Endpoint::Token, Some(fault.clone()));
        let outcome = fetch(&*client, &kit.rs_url("/api/a"), BOUND);
        assert!(
            matches!(
                class(&outcome),
                Class::MalformedTokenResponse { status: 200 }
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
pub fn as_redirects_never_followed(adapter: &dyn Adapter, tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let client = adapter.subject(&Setup {
        max_redirects: 5,
        ..Setup::for_kit(&kit)
    });
    let hostile = kit.hostile_issuer();
    kit.set_fault(
        Endpoint::Discovery,
        Some(Fault::RedirectTo(format!(
            "{hostile}/.well-known/uma2-configuration"
        ))),
    );
    let outcome = fetch(&*client, &kit.rs_url("/api/a"), BOUND);
    assert!(
        matches!(class(&outcome), Class::DiscoveryStatus(307)),
        "{outcome:?}"
    );
    kit.set_fault(Endpoint::Discovery, None);
    kit.set_fault(
        Endpoint::Token,
        Some(Fault::RedirectTo(format!("{hostile}/token"))),
    );
    let outcome = fetch(&*client, &kit.rs_url("/api/a"), BOUND);
    assert!(
        matches!(
            class(&outcome),
            Class::MalformedTokenResponse { status: 307 } | Class::TokenEndpoint
        ),
        "{outcome:?}"
    );
    assert_eq!(kit.count_endpoint(Endpoint::Token), 1);
    assert_eq!(kit.log_of(Server::HostileAs).len(), 0);
    assert_nothing_astray(&kit);
}

/// An RS redirecting to another origin, with redirects enabled: followed, but neither the user's token
/// (before any RPT) nor the RPT (after) goes along.
pub fn rs_redirect_to_other_origin(adapter: &dyn Adapter, tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let client = adapter.subject(&Setup {
        max_redirects: 2,
        ..Setup::for_kit(&kit)
    });
    let user_token = kit.access_token_for("alice");
    client.set_access_token(&user_token);
    let target = format!("{}/collect", kit.hostile_issuer());
    kit.set_fault(
        Endpoint::RsResource,
        Some(Fault::RedirectTo(target.clone())),
    );
    let outcome = fetch(&*client, &kit.rs_url("/api/a"), BOUND);
    assert_eq!(outcome.expect("followed").status(), 404);
    kit.set_fault(Endpoint::RsResource, None);
    assert_eq!(
        fetch(&*client, &kit.rs_url("/api/a"), BOUND)
            .expect("GET")
            .status(),
        200
    );
    kit.set_fault(Endpoint::RsResource, Some(Fault::RedirectTo(target)));
    let outcome = fetch(&*client, &kit.rs_url("/api/a"), BOUND);
    assert_eq!(outcome.expect("followed").status(), 404);

    let hostile = kit.log_of(Server::HostileAs);
    assert_eq!(hostile.len(), 2, "{hostile:#?}");
    let mut tokens = rs_tokens(&kit);
    assert!(tokens.len() >= 3, "user token, then RPT: {tokens:?}");
    tokens.push(user_token);
    assert_clean(&hostile, &tokens);
}

/// An RS redirecting to itself forever: bounded by `max_redirects`.
pub fn rs_redirect_loop(adapter: &dyn Adapter, tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let client = adapter.subject(&Setup {
        max_redirects: 3,
        ..Setup::for_kit(&kit)
    });
    kit.set_fault(
        Endpoint::RsResource,
        Some(Fault::RedirectTo(kit.rs_url("/api/a"))),
    );
    let outcome = fetch(&*client, &kit.rs_url("/api/a"), BOUND);
    assert!(
        matches!(class(&outcome), Class::TooManyRedirects { max: 3 }),
        "{outcome:?}"
    );
    assert_eq!(kit.log_of(Server::Rs).len(), 4);
    assert_nothing_astray(&kit);
}

/// An RS that answers 401 whatever the RPT: bounded by `max_flows`, the last 401 kept.
pub fn rs_loops_401(adapter: &dyn Adapter, tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    kit.set_rs_always_401(true);
    let client = adapter.subject(&Setup {
        max_flows: Some(3),
        ..Setup::for_kit(&kit)
    });
    let outcome = fetch(&*client, &kit.rs_url("/api/a"), BOUND);
    assert!(
        matches!(class(&outcome), Class::MaxFlows { flows: 3 }),
        "{outcome:?}"
    );
    let last = failure(&outcome).response.as_ref().expect("last 401");
    assert_eq!(last.status(), 401);
    assert!(last.headers().contains_key("www-authenticate"));
    assert_eq!(kit.count_endpoint(Endpoint::Token), 3);
    assert_eq!(kit.log_of(Server::Rs).len(), 4);
    assert_eq!(kit.log_of(Server::HostileAs).len(), 0);
    assert_nothing_astray(&kit);
}

/// Tickets are credentials (docs/protocol.md §11.6): the error of a failed flow keeps the last 401, but its
/// `Debug` and `Display` must not print the ticket of that 401's challenge.
pub fn error_output_hides_the_ticket(adapter: &dyn Adapter, tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    kit.set_rs_always_401(true);
    let client = subject(adapter, &kit);
    let error = fetch(&*client, &kit.rs_url("/api/a"), BOUND).expect_err("loop");
    let challenge = error
        .response
        .as_ref()
        .and_then(|r| r.headers().get("www-authenticate"))
        .and_then(|v| v.to_str().ok())
        .expect("the last 401 is kept")
        .to_string();
    let ticket = challenge
        .split("ticket=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a ticket");
    let shown = &error.shown;
    assert!(!shown.contains(ticket), "the ticket is printed: {shown}");
    assert_nothing_astray(&kit);
}

/// Challenges whose ticket or `as_uri` holds a control character: a typed error (the challenge, or the
/// transport when the header line itself is illegal), nothing sent to the AS the challenge names.
pub fn challenge_with_control_characters(adapter: &dyn Adapter, tls: bool) {
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
        let client = subject(adapter, &kit);
        let outcome = fetch(&*client, &format!("{}/api/a", rs.base()), BOUND);
        let shown = format!("{outcome:?}");
        match &outcome {
            Err(error) if error.class == Class::Transport && !legal => {}
            Err(error) => assert!(
                matches!(error.class, Class::InvalidTicket | Class::InvalidAsUri),
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
/// endpoint. Returns the kit, the fake AS and a client trusting it.
fn kit_with_fake_as(
    adapter: &dyn Adapter,
    token_status: u16,
    token: &'static str,
) -> (Kit, RawServer, Box<dyn Subject>) {
    let kit = kit(Dialect::Spec, false);
    let fake = RawServer::start(fake_as(token_status, token));
    kit.set_challenge_as_uri(Some(fake.base()));
    let client = adapter.subject(&Setup::for_kit(&kit).trusting(fake.base()));
    (kit, fake, client)
}

/// The security half of the CR/LF token case: whatever the client does with an `access_token` holding
/// CR/LF, it never becomes (part of) a header the RS receives, and nothing is injected.
pub fn token_with_crlf_never_a_header(adapter: &dyn Adapter, tls: bool) {
    assert!(!tls, "the raw server speaks plain http");
    for token in [
        r#"{"access_token":"rpt\r\nX-Injected: yes","token_type":"Bearer"}"#,
        r#"{"access_token":"rpt\nX-Injected: yes","token_type":"Bearer"}"#,
        r#"{"access_token":"rpt\u0000\u007f","token_type":"Bearer"}"#,
    ] {
        let (kit, fake, client) = kit_with_fake_as(adapter, 200, token);
        let outcome = fetch(&*client, &kit.rs_url("/api/a"), BOUND);
        assert!(outcome.is_err(), "{token}: {outcome:?}");
        assert!(class(&outcome).is_flow_failure(), "{token}: {outcome:?}");
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
pub fn token_with_crlf_rejected(adapter: &dyn Adapter, tls: bool) {
    assert!(!tls, "the raw server speaks plain http");
    let (kit, fake, client) = kit_with_fake_as(
        adapter,
        200,
        r#"{"access_token":"rpt\r\nX-Injected: yes","token_type":"Bearer"}"#,
    );
    let outcome = fetch(&*client, &kit.rs_url("/api/a"), BOUND);
    assert!(
        matches!(class(&outcome), Class::MalformedTokenResponse { .. }),
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
pub fn token_with_htab_or_non_ascii_never_sent(adapter: &dyn Adapter, tls: bool) {
    assert!(!tls, "the raw server speaks plain http");
    for token in [
        r#"{"access_token":"rpt\tX-Injected: yes","token_type":"Bearer"}"#,
        r#"{"access_token":"rpt\u00e9","token_type":"Bearer"}"#,
    ] {
        let (kit, _fake, client) = kit_with_fake_as(adapter, 200, token);
        let outcome = fetch(&*client, &kit.rs_url("/api/a"), BOUND);
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
pub fn token_500_with_access_token(adapter: &dyn Adapter, tls: bool) {
    assert!(!tls, "the raw server speaks plain http");
    let (kit, _fake, client) = kit_with_fake_as(
        adapter,
        500,
        r#"{"access_token":"evil-rpt","token_type":"Bearer"}"#,
    );
    let outcome = fetch(&*client, &kit.rs_url("/api/a"), BOUND);
    assert!(
        matches!(
            class(&outcome),
            Class::MalformedTokenResponse { status: 500 } | Class::TokenEndpoint
        ),
        "{outcome:?}"
    );
    assert_eq!(kit.log_of(Server::Rs).len(), 1);
    assert!(rs_tokens(&kit).is_empty());
    assert_nothing_astray(&kit);
}

/// B16: a token endpoint that answers with a UMA challenge of its own (naming the hostile AS) starts no
/// nested flow: an error, nothing sent to the AS that challenge names.
pub fn nested_challenge_at_token_endpoint(adapter: &dyn Adapter, tls: bool) {
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
    let client = adapter.subject(&Setup::for_kit(&kit).trusting(fake.base()));
    let outcome = fetch(&*client, &kit.rs_url("/api/a"), BOUND);
    assert!(
        matches!(
            class(&outcome),
            Class::ClientAuthentication
                | Class::TokenEndpoint
                | Class::MalformedTokenResponse { status: 401 }
        ),
        "{outcome:?}"
    );
    assert_eq!(fake.requests().len(), 2);
    assert_eq!(kit.log_of(Server::HostileAs).len(), 0);
    assert_nothing_astray(&kit);
}

/// Huge challenge headers from a raw RS: a 60 KiB ticket is refused (too long); a 60 KiB realm with a valid
/// ticket works; a header past the 64 KiB parser bound is refused or returned, never sent anywhere.
pub fn huge_challenge_headers(adapter: &dyn Adapter, tls: bool) {
    assert!(!tls, "the raw server speaks plain http");
    let kit = kit(Dialect::Spec, false);
    let issuer = kit.issuer();

    let challenge = format!(
        r#"UMA realm="api", as_uri="{issuer}", ticket="{}""#,
        sixty_kib('t')
    );
    let rs = RawServer::start(move |_, _| challenge_answer(challenge.as_bytes()));
    let outcome = fetch(
        &*subject(adapter, &kit),
        &format!("{}/api/a", rs.base()),
        BOUND,
    );
    assert!(
        matches!(class(&outcome), Class::InvalidTicket),
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
    let outcome = fetch(
        &*subject(adapter, &kit),
        &format!("{}/api/a", rs.base()),
        BOUND,
    );
    assert_eq!(outcome.expect("huge realm").status(), 200);
    assert_eq!(kit.count_endpoint(Endpoint::Token), 1);

    // Past every bound: 200 KiB of challenge.
    kit.clear_log();
    let challenge = format!(
        r#"UMA realm="{}", as_uri="{issuer}", ticket="t1""#,
        "r".repeat(200 * 1024)
    );
    let rs = RawServer::start(move |_, _| challenge_answer(challenge.as_bytes()));
    let outcome = fetch(
        &*subject(adapter, &kit),
        &format!("{}/api/a", rs.base()),
        BOUND,
    );
    match &outcome {
        Ok(response) => assert_eq!(response.status(), 401),
        Err(error) => assert!(
            matches!(
                error.class,
                Class::Transport
                    | Class::InvalidTicket
                    | Class::InvalidAsUri
                    | Class::InvalidChallenge
            ),
            "{error:?}"
        ),
    }
    assert_eq!(kit.log_of(Server::As).len(), 0);
    assert_nothing_astray(&kit);
}

/// B12 and B4: AS answers with bad statuses or HTML give typed errors, and the client is not bricked:
/// the next request works.
pub fn bad_as_answers_do_not_brick(adapter: &dyn Adapter, tls: bool) {
    let kit = kit(Dialect::Spec, tls);
    let client = subject(adapter, &kit);
    kit.set_fault_times(Endpoint::Discovery, Fault::Status(500), 1);
    let outcome = fetch(&*client, &kit.rs_url("/api/a"), BOUND);
    assert_eq!(class(&outcome), &Class::DiscoveryStatus(500), "{outcome:?}");
    assert_eq!(failure(&outcome).status(), Some(401));

    kit.set_fault_times(Endpoint::Token, Fault::Html, 1);
    let outcome = fetch(&*client, &kit.rs_url("/api/a"), BOUND);
    assert!(
        matches!(class(&outcome), Class::MalformedTokenResponse { .. }),
        "{outcome:?}"
    );
    kit.set_fault_times(Endpoint::Token, Fault::Garbage, 1);
    assert!(fetch(&*client, &kit.rs_url("/api/a"), BOUND).is_err());

    for _ in 0..2 {
        let outcome = fetch(&*client, &kit.rs_url("/api/a"), BOUND);
        assert_eq!(outcome.expect("GET").status(), 200);
    }
    assert_nothing_astray(&kit);
}
