//! RS challenge styles, echo, use limits; faults; the hostile AS; TLS; concurrency.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use uma_testkit::{ChallengeStyle, Dialect, Endpoint, Fault, Kit, KitConfig, Server};

fn spec_kit() -> (Kit, ureq::Agent) {
    let kit = Kit::start(KitConfig::new(Dialect::Spec)).unwrap();
    let agent = agent_for(&kit);
    (kit, agent)
}

#[test]
fn every_challenge_style() {
    let styles = [
        ChallengeStyle::SpecQuoted,
        ChallengeStyle::Keycloak,
        ChallengeStyle::EoepcaUnquoted,
        ChallengeStyle::BearerNoAsUri,
        ChallengeStyle::Uma1Body403,
        ChallengeStyle::TwoLines,
    ];
    for style in styles {
        let mut cfg = KitConfig::new(Dialect::Spec).with_challenge_style(style);
        cfg.realm = "api".into();
        let kit = Kit::start(cfg).unwrap();
        let agent = agent_for(&kit);
        let a = get(&agent, &kit.rs_url("/api/a"), None);
        let lines = a.headers_named("www-authenticate");
        let iss = kit.issuer();
        match style {
            ChallengeStyle::Uma1Body403 => {
                assert_eq!(a.status, 403);
                assert_eq!(lines, [format!("UMA realm=\"api\", as_uri=\"{iss}\"")]);
                assert!(a.json()["ticket"].is_string());
            }
            ChallengeStyle::TwoLines => {
                assert_eq!(a.status, 401);
                assert_eq!(lines.len(), 2);
                assert_eq!(lines[0], "Bearer realm=\"api\"");
                assert!(
                    lines[1]
                        .starts_with(&format!("UMA realm=\"api\", as_uri=\"{iss}\", ticket=\""))
                );
            }
            ChallengeStyle::BearerNoAsUri => {
                assert!(
                    lines[0].starts_with("Bearer realm=\"api\", ticket=\"")
                        && !lines[0].contains("as_uri")
                );
            }
            ChallengeStyle::EoepcaUnquoted => {
                assert!(lines[0].starts_with(&format!("UMA realm=api,as_uri={iss},ticket=")));
            }
            ChallengeStyle::Keycloak => {
                // Keycloak style defaults to ticket-only-with-bearer.
                assert_eq!(lines, ["Bearer realm=\"api\""]);
            }
            ChallengeStyle::SpecQuoted => {
                assert!(lines[0].starts_with("UMA realm=\"api\", as_uri="))
            }
        }
    }
}

#[test]
fn echo_use_limit_and_routing() {
    let mut cfg = KitConfig::new(Dialect::Spec);
    cfg.rpt_use_limit = Some(2);
    let kit = Kit::start(cfg).unwrap();
    let agent = agent_for(&kit);
    let rpt = kit.rpt_for("alice", &[("res-echo", "write"), ("res-a", "read")]);
    let body = vec![7u8; 300_000];
    let mut resp = agent
        .put(&kit.rs_url("/api/echo"))
        .header("Authorization", &bearer(&rpt))
        .send(&body[..])
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: serde_json::Value =
        serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(v["len"], 300_000);
    assert_eq!(v["sha256"], json!(uma_testkit::tokens::sha256_hex(&body)));
    assert_eq!(kit.log_of(Server::Rs)[0].body_len, 300_000);
    assert_eq!(
        get(&agent, &kit.rs_url("/api/a"), Some(&bearer(&rpt))).status,
        200
    );
    assert_eq!(
        get(&agent, &kit.rs_url("/api/a"), Some(&bearer(&rpt))).status,
        401,
        "use limit 2 spent"
    );
    assert_eq!(get(&agent, &kit.rs_url("/nothing"), None).status, 404);
    let rb = kit.rpt_for("alice", &[("res-b", "read")]);
    let head = agent
        .head(&kit.rs_url("/api/b"))
        .header("Authorization", &bearer(&rb))
        .call()
        .unwrap();
    assert_eq!(head.status(), 200, "HEAD needs read");
}

#[test]
fn faults_on_endpoints() {
    let (kit, agent) = spec_kit();
    let disc = kit.discovery_url();
    kit.set_fault(Endpoint::Discovery, Some(Fault::Status(503)));
    let a = get(&agent, &disc, None);
    assert_eq!(a.status, 503);
    assert!(a.header("content-type").unwrap().starts_with("text/html"));
    kit.set_fault(Endpoint::Discovery, Some(Fault::Html));
    assert_eq!(get(&agent, &disc, None).status, 200);
    kit.set_fault(Endpoint::Discovery, Some(Fault::Garbage));
    assert!(serde_json::from_str::<serde_json::Value>(&get(&agent, &disc, None).body).is_err());
    kit.set_fault(
        Endpoint::Discovery,
        Some(Fault::RedirectTo(kit.hostile_issuer())),
    );
    let r = get(&agent, &disc, None);
    assert_eq!(
        (r.status, r.header("location")),
        (307, Some(kit.hostile_issuer().as_str()))
    );
    kit.set_fault(
        Endpoint::Discovery,
        Some(Fault::Delay(Duration::from_millis(300))),
    );
    let start = Instant::now();
    assert_eq!(get(&agent, &disc, None).status, 200);
    assert!(start.elapsed() >= Duration::from_millis(300));
    kit.set_fault(Endpoint::Discovery, None);

    // Counted faults: the next request fails, the one after succeeds.
    kit.set_fault_times(Endpoint::Token, Fault::Status(500), 1);
    let cc = [("grant_type", "client_credentials")];
    assert_eq!(
        post_form(
            &agent,
            &token_url(&kit),
            Some(&basic("app", "app-secret")),
            &cc
        )
        .status,
        500
    );
    assert_eq!(
        post_form(
            &agent,
            &token_url(&kit),
            Some(&basic("app", "app-secret")),
            &cc
        )
        .status,
        200
    );

    // Oversized: 50 MB announced and streamed; read only a bounded prefix.
    kit.set_fault(
        Endpoint::Introspection,
        Some(Fault::Oversized(50 * 1024 * 1024)),
    );
    let mut resp = agent
        .post(&kit.endpoint_url(Endpoint::Introspection).unwrap())
        .send("token=x")
        .unwrap();
    assert_eq!(resp.headers()["content-length"], "52428800");
    let mut prefix = Vec::new();
    resp.body_mut()
        .as_reader()
        .take(1 << 20)
        .read_to_end(&mut prefix)
        .unwrap();
    assert_eq!(prefix.len(), 1 << 20);
    assert!(prefix.starts_with(b"{\"access_token\":\""));
    drop(resp);

    // Drop and never-answer, seen through a raw socket.
    kit.set_fault(Endpoint::RsResource, Some(Fault::DropConnection));
    let mut s = TcpStream::connect(kit.rs_base().trim_start_matches("http://")).unwrap();
    s.write_all(b"GET /api/a HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = Vec::new();
    let n = s.read_to_end(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "connection closed without a response");
    kit.set_fault(Endpoint::RsResource, Some(Fault::NeverAnswer));
    let mut s = TcpStream::connect(kit.rs_base().trim_start_matches("http://")).unwrap();
    s.write_all(b"GET /api/a HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut one = [0u8; 1];
    assert!(s.read(&mut one).is_err(), "no answer within the timeout");
    kit.set_fault(Endpoint::RsResource, None);
    assert_eq!(kit.count(Server::Rs, "/api/a"), 2);
}

#[test]
fn hostile_as_and_mixup_knobs() {
    let (kit, agent) = spec_kit();
    kit.set_challenge_as_uri(Some(kit.hostile_issuer()));
    let ch = get(&agent, &kit.rs_url("/api/a"), None);
    assert_eq!(
        param(ch.header("www-authenticate").unwrap(), "as_uri"),
        Some(kit.hostile_issuer())
    );
    let hd = get(
        &agent,
        &format!("{}/.well-known/uma2-configuration", kit.hostile_issuer()),
        None,
    )
    .json();
    assert_eq!(hd["issuer"], json!(kit.hostile_issuer()));
    let stolen = post_form(
        &agent,
        &format!("{}/token", kit.hostile_issuer()),
        Some(&basic("app", "app-secret")),
        &[("grant_type", UMA), ("ticket", "t")],
    );
    assert_eq!(stolen.status, 200);
    let rpt = stolen.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        get(&agent, &kit.rs_url("/api/a"), Some(&bearer(&rpt))).status,
        401,
        "RS does not accept hostile RPTs"
    );
    let seen = kit.log_of(Server::HostileAs);
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[1].header("authorization"),
        Some(basic("app", "app-secret").as_str())
    );
    assert_eq!(seen[1].form_value("ticket"), Some("t"));
    assert_eq!(kit.count_endpoint(Endpoint::HostileAs), 2);

    kit.set_discovery_issuer(Some("https://elsewhere.example".into()));
    kit.set_discovery_token_endpoint(Some(format!("{}/token", kit.hostile_issuer())));
    let d = get(&agent, &kit.discovery_url(), None).json();
    assert_eq!(d["issuer"], "https://elsewhere.example");
    assert_eq!(
        d["token_endpoint"],
        json!(format!("{}/token", kit.hostile_issuer()))
    );

    kit.set_rs_always_401(true);
    let good = kit.rpt_for("alice", &[("res-a", "read")]);
    assert_eq!(
        get(&agent, &kit.rs_url("/api/a"), Some(&bearer(&good))).status,
        401
    );
    kit.clear_log();
    assert!(kit.log().is_empty());
    assert_eq!(kit.count(Server::Rs, "/api/a"), 0);
}

#[test]
fn tls_with_generated_ca() {
    let kit = Kit::start(KitConfig::new(Dialect::keycloak()).with_tls()).unwrap();
    assert!(kit.issuer().starts_with("https://127.0.0.1:"));
    assert!(
        kit.ca_certificate_pem()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    let agent = agent_for(&kit);
    let d = get(
        &agent,
        &format!("{}/.well-known/uma2-configuration", kit.issuer()),
        None,
    )
    .json();
    assert_eq!(d["issuer"], json!(kit.issuer()));
    let user = kit.access_token_for("alice");
    let t = challenge_ticket(&kit, &agent, "/api/a", Some(&bearer(&user)));
    let ok = post_form(
        &agent,
        &token_url(&kit),
        Some(&bearer(&user)),
        &[("grant_type", UMA), ("ticket", &t)],
    );
    assert_eq!(ok.status, 200);
    // localhost is in the certificate too.
    let via_localhost = kit.hostile_issuer().replace("127.0.0.1", "localhost");
    assert_eq!(
        get(
            &agent,
            &format!("{via_localhost}/.well-known/uma2-configuration"),
            None
        )
        .status,
        200
    );
    // A client that does not trust the test CA fails the handshake.
    let untrusting = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build(),
    );
    assert!(untrusting.get(&kit.discovery_url()).call().is_err());
}

#[test]
fn a_thousand_concurrent_connections() {
    let (kit, _agent) = spec_kit();
    let addr = kit.rs_base().trim_start_matches("http://").to_string();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let ok = rt.block_on(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut tasks = Vec::new();
        for _ in 0..1000 {
            let addr = addr.clone();
            tasks.push(tokio::spawn(async move {
                let mut s = tokio::net::TcpStream::connect(&addr).await.ok()?;
                s.write_all(b"GET /api/a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    .await
                    .ok()?;
                let mut buf = Vec::new();
                tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut buf))
                    .await
                    .ok()?
                    .ok()?;
                Some(buf.starts_with(b"HTTP/1.1 401"))
            }));
        }
        let mut ok = 0;
        for t in tasks {
            if let Ok(Some(true)) = t.await {
                ok += 1;
            }
        }
        ok
    });
    assert_eq!(ok, 1000);
    assert_eq!(kit.count(Server::Rs, "/api/a"), 1000);
    assert!(started.elapsed() < Duration::from_secs(20));
}
