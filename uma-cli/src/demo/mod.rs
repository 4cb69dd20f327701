//! `uma demo`: the whole UMA 2.0 story on a fresh machine, with no configuration and no network.
//!
//! Starts the testkit's authorization server and resource server on 127.0.0.1 in the spec, Keycloak
//! and EOEPCA (Gluu) dialects and walks through the flows with [`uma_ureq::UmaClient`], printing every
//! HTTP exchange from the observer's secret-free [`uma_core::trace::ExchangeEvent`] lines. Each step
//! checks what it shows (a cached RPT costs one request, an upgrade three…); a failed check ends the
//! demo with a non-zero exit status. The last section walks EOEPCA's DemoClient sequence (client
//! registration, password login, the PEP resource API, UMA with `X-User-Id`, the Workspace API).

mod demo_client;
mod walk;

use crate::output::outln;
use std::time::Duration;

use uma_core::auth::ClientCredentials;
use uma_core::config::ClaimPushing;
use uma_core::discovery::Issuer;
use uma_core::grant::PushedClaim;
use uma_core::secret::ClaimToken;
use uma_core::{AuthorizationServer, Config};
use uma_testkit::{Dialect, Kit, KitConfig, RequiredClaim};
use uma_ureq::UmaClient;

use crate::args::DemoArgs;
use crate::output::CliError;
use crate::redact::Redactor;
use walk::{Expect, Recorder, Walk};

/// The kit's confidential client (a demo value, but still never printed).
const CLIENT_ID: &str = "app";
const CLIENT_SECRET: &str = "app-secret";
/// RPT lifetime of the refresh step: short, so the demo stays fast (`expires_in` counts whole
/// seconds, so one second is the shortest the client can be told).
const SHORT_RPT: Duration = Duration::from_secs(1);
/// The client refreshes an RPT within a tenth of its lifetime of expiry (uma_core::cache::refresh_skew).
const REFRESH_AFTER: Duration = Duration::from_millis(950);

/// Runs the demo.
pub fn run(_args: &DemoArgs) -> Result<(), CliError> {
    outln!(
        "uma demo: UMA 2.0 end to end against an embedded authorization server (AS) and resource \
         server (RS) on 127.0.0.1. No configuration, no network; secrets never printed."
    );
    let walks = [spec()?, keycloak()?, eoepca()?, demo_client::run()?];
    let summary: Vec<String> = walks
        .iter()
        .map(|w| {
            let steps: Vec<String> = w.trips.iter().map(|(l, n)| format!("{l} {n}")).collect();
            format!("{}: {}", w.name, steps.join(", "))
        })
        .collect();
    outln!("\nround trips per step: {}", summary.join(" | "));
    Ok(())
}

fn start(config: KitConfig) -> Result<Kit, CliError> {
    Kit::start(config).map_err(|e| CliError::Transport(format!("cannot start the testkit: {e}")))
}

fn issuer(kit: &Kit) -> Result<Issuer, CliError> {
    Issuer::parse(&kit.issuer()).map_err(|e| CliError::Uma(format!("testkit issuer: {e}")))
}

/// An agent trusting the kit's AS with `credentials`; `tweak` adjusts the configuration.
fn agent(
    kit: &Kit,
    credentials: ClientCredentials,
    recorder: &Recorder,
    tweak: impl FnOnce(&mut Config, &mut AuthorizationServer),
) -> Result<UmaClient, CliError> {
    let mut server = AuthorizationServer::new(issuer(kit)?, credentials);
    let mut config = Config::new().allow_insecure_http(true);
    tweak(&mut config, &mut server);
    let config = config.with_authorization_server(server);
    let ureq = ureq::Agent::new_with_config(ureq::Agent::config_builder().build());
    Ok(UmaClient::from_ureq(ureq, config).with_options(recorder.options()))
}

fn get(kit: &Kit, path: &str) -> Result<http::Request<Vec<u8>>, CliError> {
    let mut request = http::Request::new(Vec::new());
    *request.uri_mut() = kit
        .rs_url(path)
        .parse()
        .map_err(|_| CliError::Uma(format!("testkit URL for {path} is invalid")))?;
    Ok(request)
}

fn post(kit: &Kit, path: &str) -> Result<http::Request<Vec<u8>>, CliError> {
    let mut request = get(kit, path)?;
    *request.method_mut() = http::Method::POST;
    *request.body_mut() = b"{\"note\":\"hello\"}".to_vec();
    Ok(request)
}

/// Pushes `user`'s ID token with every ticket exchange (who the requesting party is).
fn push_id_token(kit: &Kit, user: &str) -> impl FnOnce(&mut Config, &mut AuthorizationServer) {
    let token = kit.id_token_for(user);
    move |config, server| {
        config.claim_pushing = ClaimPushing::Always;
        server.claim = Some(PushedClaim::id_token(ClaimToken::new(token)));
    }
}

fn header(title: &str, kit: &Kit) {
    outln!(
        "\n== {title}\n   AS issuer {}  RS {}",
        kit.issuer(),
        kit.rs_base()
    );
}

fn redactor(kit: &Kit, users: &[&str]) -> Redactor {
    let mut secrets = vec![CLIENT_SECRET.to_owned(), "alice-pw".into(), "bob-pw".into()];
    for user in users {
        secrets.push(kit.id_token_for(user));
    }
    Redactor::new(secrets.iter().map(|s| Some(s.as_str())))
}

/// The UMA 2.0 recommendation: every step the spec defines.
fn spec() -> Result<Walk, CliError> {
    let mut config = KitConfig::new(Dialect::Spec);
    // `request_submitted` polling at the client's minimum interval (set below), not seconds.
    config.policy.poll_interval = 0;
    let kit = start(config)?;
    header("Spec dialect (UMA 2.0 Grant, Kantara recommendation)", &kit);
    let rec = Recorder::default();
    let mut walk = Walk::new("spec", rec.clone(), redactor(&kit, &["alice", "bob"]));
    let basic = || ClientCredentials::basic(CLIENT_ID, CLIENT_SECRET);

    let app = agent(&kit, basic(), &rec, |_, _| {})?;
    walk.step(
        "first",
        "GET /api/a with no token: challenged, discovery, ticket exchanged, retry succeeds",
        &app,
        get(&kit, "/api/a")?,
        Expect::Success(Some(4)),
    )?;
    walk.step(
        "cached",
        "GET /api/a again: the cached RPT is reused",
        &app,
        get(&kit, "/api/a")?,
        Expect::Success(Some(1)),
    )?;
    walk.step(
        "upgrade",
        "GET /api/b: the RPT lacks it, so it is upgraded (metadata cached)",
        &app,
        get(&kit, "/api/b")?,
        Expect::Success(Some(3)),
    )?;

    let bob = agent(&kit, basic(), &rec, push_id_token(&kit, "bob"))?;
    walk.step(
        "denial",
        "POST /api/a as bob, who may not write: the AS denies, and says so",
        &bob,
        post(&kit, "/api/a")?,
        Expect::Denied,
    )?;

    kit.require_claim(Some(RequiredClaim::email()));
    let token = kit.id_token_for("alice");
    let claims = agent(&kit, basic(), &rec, move |_, server| {
        server.claim = Some(PushedClaim::id_token(ClaimToken::new(token)));
    })?;
    walk.step(
        "need_info",
        "GET /api/a when the AS wants an e-mail claim: need_info, the ID token is pushed",
        &claims,
        get(&kit, "/api/a")?,
        Expect::Success(Some(5)),
    )?;
    kit.require_claim(None);

    kit.approve_after_polls(1);
    let approval = agent(&kit, basic(), &rec, |config, _| {
        config.poll.min_interval = Duration::from_millis(100);
        config.poll.default_interval = Duration::from_millis(100);
    })?;
    walk.step(
        "approval",
        "GET /api/b when the owner must approve: request_submitted, poll, approved",
        &approval,
        get(&kit, "/api/b")?,
        Expect::Success(Some(5)),
    )?;
    kit.approve_after_polls(0);
    drop(kit);

    let mut short = KitConfig::new(Dialect::Spec);
    short.rpt_lifetime = Some(SHORT_RPT);
    let kit = start(short)?;
    outln!(
        "  (a second spec AS at {} whose RPTs live {} ms)",
        kit.issuer(),
        SHORT_RPT.as_millis()
    );
    let app = agent(&kit, basic(), &rec, |_, _| {})?;
    app.send(get(&kit, "/api/a")?)
        .map_err(|e| CliError::Uma(format!("demo refresh setup failed: {e}")))?;
    walk.discard();
    outln!(
        "  (waiting {} ms, until the RPT is due for refresh)",
        REFRESH_AFTER.as_millis()
    );
    std::thread::sleep(REFRESH_AFTER);
    walk.step(
        "refresh",
        "GET /api/a as the RPT expires: refreshed with its refresh token first, no new ticket",
        &app,
        get(&kit, "/api/a")?,
        Expect::Success(Some(2)),
    )?;
    Ok(walk)
}

/// Keycloak: the policy enforcer challenges only bearer-authorised requests, and the requesting
/// party's access token authenticates the ticket exchange.
fn keycloak() -> Result<Walk, CliError> {
    let kit = start(KitConfig::new(Dialect::keycloak()))?;
    header(
        "Keycloak dialect (realm issuer, Bearer client authentication)",
        &kit,
    );
    let rec = Recorder::default();
    let bob_token = kit.access_token_for("bob");
    let secrets = [CLIENT_SECRET, "alice-pw", bob_token.as_str()];
    let mut walk = Walk::new("keycloak", rec.clone(), Redactor::new(secrets.map(Some)));

    // The password grant authenticates with the client secret; the ticket exchanges then
    // authenticate with alice's access token alone (docs/protocol.md §2.5 d).
    let login = agent(
        &kit,
        ClientCredentials::basic(CLIENT_ID, CLIENT_SECRET),
        &rec,
        |_, _| {},
    )?;
    let alice = agent(&kit, ClientCredentials::bearer(CLIENT_ID), &rec, |_, _| {})?;
    let realm = issuer(&kit)?;
    walk.login("alice logs in with the password grant", || {
        login.login_password(&realm, "alice", "alice-pw", Some("openid"))
    })?;
    let identity = login.with_core(|c| c.identity(&uma_core::Party::default()).cloned());
    let identity = identity.ok_or_else(|| CliError::Uma("demo login kept no token".into()))?;
    alice.set_identity(uma_core::Party::default(), identity);
    walk.step(
        "first",
        "GET /api/a with alice's token: challenged, discovery, ticket exchanged, retry succeeds",
        &alice,
        get(&kit, "/api/a")?,
        Expect::Success(Some(4)),
    )?;
    walk.step(
        "cached",
        "GET /api/a again: the cached RPT is reused",
        &alice,
        get(&kit, "/api/a")?,
        Expect::Success(Some(1)),
    )?;
    walk.step(
        "upgrade",
        "GET /api/b: upgraded RPT",
        &alice,
        get(&kit, "/api/b")?,
        Expect::Success(Some(3)),
    )?;
    let bob = agent(&kit, ClientCredentials::bearer(CLIENT_ID), &rec, |_, _| {})?;
    outln!("  (bob's access token is minted by the testkit directly)");
    bob.set_access_token(bob_token);
    walk.step(
        "denial",
        "POST /api/a as bob, who may not write: Keycloak answers 403 access_denied",
        &bob,
        post(&kit, "/api/a")?,
        Expect::Denied,
    )?;
    Ok(walk)
}

/// EOEPCA: a Gluu oxAuth AS behind the um-pep-engine, unquoted challenges, client_secret_post.
fn eoepca() -> Result<Walk, CliError> {
    let kit = start(KitConfig::new(Dialect::Gluu))?;
    header(
        "EOEPCA dialect (Gluu oxAuth AS, PEP with unquoted challenges, client_secret_post)",
        &kit,
    );
    let rec = Recorder::default();
    let mut walk = Walk::new("eoepca", rec.clone(), redactor(&kit, &["alice", "bob"]));
    let post_creds = || ClientCredentials::post(CLIENT_ID, CLIENT_SECRET);

    let app = agent(&kit, post_creds(), &rec, |_, _| {})?;
    walk.step(
        "first",
        "GET /api/a: challenged (unquoted UMA header), discovery, ticket exchanged, retry",
        &app,
        get(&kit, "/api/a")?,
        Expect::Success(Some(4)),
    )?;
    walk.step(
        "cached",
        "GET /api/a again: the cached RPT is reused",
        &app,
        get(&kit, "/api/a")?,
        Expect::Success(Some(1)),
    )?;
    walk.step(
        "upgrade",
        "GET /api/b: oxAuth upgrades the RPT in place",
        &app,
        get(&kit, "/api/b")?,
        Expect::Success(Some(3)),
    )?;

    kit.require_claim(Some(RequiredClaim::email()));
    let token = kit.id_token_for("alice");
    let claims = agent(&kit, post_creds(), &rec, move |_, server| {
        server.claim = Some(PushedClaim::id_token(ClaimToken::new(token)));
    })?;
    walk.step(
        "need_info",
        "GET /api/a when oxAuth wants an e-mail claim: need_info (with redirect_user), ID token pushed",
        &claims,
        get(&kit, "/api/a")?,
        Expect::Success(Some(5)),
    )?;
    kit.require_claim(None);

    let bob = agent(&kit, post_creds(), &rec, push_id_token(&kit, "bob"))?;
    walk.step(
        "denial",
        "POST /api/a as bob: oxAuth answers forbidden_by_policy",
        &bob,
        post(&kit, "/api/a")?,
        Expect::Denied,
    )?;
    Ok(walk)
}
