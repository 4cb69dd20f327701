//! RS challenge styles, echo, use limits; faults; the hostile AS; TLS; concurrency.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::common::*;
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

// ---- Streaming: patterned and truncated bodies, large challenges, `Expect: 100-continue` ----

/// A raw connection to the RS with a bounded read timeout.
fn rs_conn(kit: &Kit) -> TcpStream {
    let s = TcpStream::connect(kit.rs_base().trim_start_matches("http://")).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

/// Reads a response head (through the blank line), byte by byte, at most 64 KiB.
fn read_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
        match s.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Reads until EOF or error, hashing: (bytes, hex SHA-256, ended cleanly).
fn drain(r: &mut impl Read) -> (u64, String, bool) {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 50_000];
    let mut n = 0u64;
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => {
                h.update(&buf[..k]);
                n += k as u64;
            }
            Err(_) => return (n, String::new(), false),
        }
    }
    let hex = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    (n, hex, true)
}

#[test]
fn patterned_body_matches_pattern_sha256() {
    use sha2::Digest;
    // The pattern is not constant, repeats with its prime period, and slices agree with bytes.
    let first: Vec<u8> = (0..1000).map(uma_testkit::pattern_byte).collect();
    assert!(first.iter().any(|b| *b != first[0]));
    assert!(
        first
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
    );
    let p = uma_testkit::PATTERN_PERIOD;
    assert_eq!(uma_testkit::pattern_chunk(p + 5, 100), &first[5..105]);
    assert_eq!(
        uma_testkit::pattern_chunk(3, usize::MAX).len(),
        uma_testkit::PATTERN_CHUNK
    );
    // pattern_sha256 is the hash of the bytes; a swap of two 8 KiB blocks changes it.
    let len = 200_000u64;
    let mut bytes: Vec<u8> = (0..len).map(uma_testkit::pattern_byte).collect();
    let hex = |d: &[u8]| -> String { d.iter().map(|b| format!("{b:02x}")).collect() };
    assert_eq!(
        uma_testkit::pattern_sha256(len),
        hex(&sha2::Sha256::digest(&bytes))
    );
    let (a, b) = bytes.split_at_mut(16 * 1024);
    a[..8192].swap_with_slice(&mut b[..8192]);
    assert_ne!(
        uma_testkit::pattern_sha256(len),
        hex(&sha2::Sha256::digest(&bytes))
    );

    // Served: Content-Length, the pattern's hash, across many 64 KiB chunks.
    let (kit, agent) = spec_kit();
    let len = 3 * 1024 * 1024 + 17;
    kit.set_granted_body(uma_testkit::GrantedBody::Pattern(len));
    let rpt = kit.rpt_for("alice", &[("res-a", "read")]);
    let mut resp = agent
        .get(&kit.rs_url("/api/a"))
        .header("Authorization", &bearer(&rpt))
        .call()
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-length"], len.to_string().as_str());
    let mut reader = resp.body_mut().with_config().limit(u64::MAX).reader();
    let (n, sha, clean) = drain(&mut reader);
    assert!(clean);
    assert_eq!(n, len);
    assert_eq!(sha, uma_testkit::pattern_sha256(len));
}

#[test]
fn truncated_chunked_body_is_cut_without_terminating_chunk() {
    let (kit, agent) = spec_kit();
    kit.set_granted_body(uma_testkit::GrantedBody::TruncatedChunked(200_000));
    let rpt = kit.rpt_for("alice", &[("res-a", "read")]);

    // Raw: chunked framing, no Content-Length, the bytes, then EOF without `0\r\n\r\n`.
    let mut s = rs_conn(&kit);
    write!(
        s,
        "GET /api/a HTTP/1.1\r\nHost: kit\r\nAuthorization: Bearer {rpt}\r\n\r\n"
    )
    .unwrap();
    let head = read_head(&mut s).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    assert!(!head.contains("content-length"), "{head}");
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(rest.len() > 200_000, "{}", rest.len());
    // The chunks carry the pattern: the first one starts with its first bytes.
    let first = String::from_utf8_lossy(&rest[..rest.len().min(64)]).into_owned();
    let data = first.split("\r\n").nth(1).unwrap();
    assert_eq!(data.as_bytes(), uma_testkit::pattern_chunk(0, data.len()));
    assert!(!rest.ends_with(b"0\r\n\r\n"));

    // A plain HTTP client reports the broken body as an error.
    let mut resp = agent
        .get(&kit.rs_url("/api/a"))
        .header("Authorization", &bearer(&rpt))
        .call()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (n, _, clean) = drain(&mut resp.body_mut().with_config().limit(u64::MAX).reader());
    assert!(
        !clean,
        "a chunked body without its last chunk read as complete ({n} bytes)"
    );
}

/// Waits (bounded) until the `i`-th challenge body is finished with.
fn ended_challenge(kit: &Kit, i: usize) -> uma_testkit::StreamedBody {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(b) = kit.challenge_bodies().get(i).filter(|b| b.ended) {
            return *b;
        }
        assert!(Instant::now() < deadline, "challenge body never ended");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn large_challenge_bodies_are_streamed_and_counted() {
    let (kit, agent) = spec_kit();
    // Small: read completely by a plain client, the pattern with its Content-Length.
    kit.set_challenge_body(Some(100_000));
    let mut resp = agent.get(&kit.rs_url("/api/a")).call().unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().contains_key("www-authenticate"));
    assert_eq!(resp.headers()["content-length"], "100000");
    let (n, sha, _) = drain(&mut resp.body_mut().as_reader());
    assert_eq!((n, sha), (100_000, uma_testkit::pattern_sha256(100_000)));
    let b = ended_challenge(&kit, 0);
    assert_eq!((b.announced, b.sent), (100_000, 100_000));

    // 512 MiB: the client reads the head and 100 KiB, then closes; far less than announced went out.
    let len = 512 * 1024 * 1024;
    kit.set_challenge_body(Some(len));
    let mut s = rs_conn(&kit);
    s.write_all(b"GET /api/a HTTP/1.1\r\nHost: kit\r\n\r\n")
        .unwrap();
    let head = read_head(&mut s).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 401"), "{head}");
    assert!(head.contains(&format!("content-length: {len}")), "{head}");
    let mut buf = vec![0u8; 100 * 1024];
    s.read_exact(&mut buf).unwrap();
    assert!((0..buf.len()).all(|i| buf[i] == uma_testkit::pattern_byte(i as u64)));
    drop(s);
    let b = ended_challenge(&kit, 1);
    assert_eq!(b.announced, len);
    // Bounded by the buffers between the kit and the client (see `StreamedBody::sent`).
    assert!(b.sent >= 100 * 1024 && b.sent < 64 * 1024 * 1024, "{b:?}");

    // Off again: challenges are empty and not recorded.
    kit.set_challenge_body(None);
    let resp = get(&agent, &kit.rs_url("/api/a"), None);
    assert_eq!((resp.status, resp.body.len()), (401, 0));
    assert_eq!(kit.challenge_bodies().len(), 2);
}

#[test]
fn expect_100_continue_is_honoured_by_the_rs() {
    let (kit, _agent) = spec_kit();
    let big = 200u64 * 1024 * 1024;

    // No RPT: the 401 challenge comes at once, without `100 Continue`, and the body is not read.
    let mut s = rs_conn(&kit);
    write!(
        s,
        "POST /api/echo HTTP/1.1\r\nHost: kit\r\nContent-Length: {big}\r\nExpect: 100-continue\r\n\r\n"
    )
    .unwrap();
    let head = read_head(&mut s);
    assert!(head.starts_with("HTTP/1.1 401"), "{head}");
    assert!(!head.contains("100 Continue"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("www-authenticate: uma "),
        "{head}"
    );
    drop(s);
    let logged = kit.log_of(Server::Rs).pop().unwrap();
    assert_eq!((logged.body_read, logged.body_len), (false, 0));

    // A valid RPT: `100 Continue`, then the body is read and echoed.
    let rpt = kit.rpt_for("alice", &[("res-echo", "write")]);
    let len = 3 * 1024 * 1024 + 5;
    let mut s = rs_conn(&kit);
    write!(
        s,
        "POST /api/echo HTTP/1.1\r\nHost: kit\r\nAuthorization: Bearer {rpt}\r\n\
         Content-Length: {len}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let interim = read_head(&mut s);
    assert!(interim.starts_with("HTTP/1.1 100 Continue"), "{interim}");
    let mut pos = 0u64;
    while pos < len {
        let chunk = uma_testkit::pattern_chunk(pos, (len - pos) as usize);
        s.write_all(chunk).unwrap();
        pos += chunk.len() as u64;
    }
    let head = read_head(&mut s);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    let echo: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(echo["len"], len);
    assert_eq!(echo["sha256"], uma_testkit::pattern_sha256(len).as_str());
    let logged = kit.log_of(Server::Rs).pop().unwrap();
    assert_eq!((logged.body_read, logged.body_len), (true, len as usize));
    assert_eq!(kit.count_endpoint(Endpoint::RsResource), 2);

    // An RS that ignores `Expect`: reads first (hyper says `100 Continue` as it starts), then 401.
    kit.set_rs_ignore_expect(true);
    let mut s = rs_conn(&kit);
    s.write_all(
        b"POST /api/echo HTTP/1.1\r\nHost: kit\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n",
    )
    .unwrap();
    let interim = read_head(&mut s);
    assert!(interim.starts_with("HTTP/1.1 100 Continue"), "{interim}");
    s.write_all(&[b'x'; 1000]).unwrap();
    let head = read_head(&mut s);
    assert!(head.starts_with("HTTP/1.1 401"), "{head}");
    let logged = kit.log_of(Server::Rs).pop().unwrap();
    assert_eq!((logged.body_read, logged.body_len), (true, 1000));
}

#[test]
fn expect_100_continue_keeps_rpt_uses() {
    // The pre-check must not consume a use of a limited RPT.
    let mut cfg = KitConfig::new(Dialect::Spec);
    cfg.rpt_use_limit = Some(1);
    let kit = Kit::start(cfg).unwrap();
    let rpt = kit.rpt_for("alice", &[("res-echo", "write")]);
    let mut s = rs_conn(&kit);
    write!(
        s,
        "POST /api/echo HTTP/1.1\r\nHost: kit\r\nAuthorization: Bearer {rpt}\r\n\
         Content-Length: 3\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    assert!(read_head(&mut s).starts_with("HTTP/1.1 100 Continue"));
    s.write_all(b"abc").unwrap();
    assert!(read_head(&mut s).starts_with("HTTP/1.1 200"));
}

#[test]
fn rs_that_never_sends_100_continue() {
    let (kit, _agent) = spec_kit();
    kit.set_rs_never_continue(true);
    kit.set_rs_ignore_expect(true);
    let rpt = kit.rpt_for("alice", &[("res-echo", "write")]);
    for auth in [Some(rpt.as_str()), None] {
        let mut s = rs_conn(&kit);
        let auth = auth.map(|t| format!("Authorization: Bearer {t}\r\n"));
        write!(
            s,
            "POST /api/echo HTTP/1.1\r\nHost: kit\r\n{}Content-Length: 5\r\n\
             Expect: 100-continue\r\nConnection: close\r\n\r\n",
            auth.as_deref().unwrap_or("")
        )
        .unwrap();
        // The server is reading and says nothing; the client gives up waiting and sends the body.
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut probe = [0u8; 1];
        assert!(
            s.read(&mut probe).is_err(),
            "the RS answered before the body"
        );
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(b"hello").unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        assert!(!answer.contains("100 Continue"), "{answer}");
        let status = if auth.is_some() { "200" } else { "401" };
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{answer}"
        );
        let logged = kit.log_of(Server::Rs).pop().unwrap();
        assert_eq!((logged.body_read, logged.body_len), (true, 5));
    }
    // Back on: the interim answer comes again.
    kit.set_rs_never_continue(false);
    let mut s = rs_conn(&kit);
    write!(
        s,
        "POST /api/echo HTTP/1.1\r\nHost: kit\r\nAuthorization: Bearer {rpt}\r\n\
         Content-Length: 5\r\nExpect: 100-continue\r\n\r\n"
    )
    .unwrap();
    assert!(read_head(&mut s).starts_with("HTTP/1.1 100 Continue"));
}
