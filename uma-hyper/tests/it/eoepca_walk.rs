//! EOEPCA's DemoClient sequence through uma-hyper, refereed by the testkit's log: each step's requests,
//! `X-User-Id` on every UMA request, the ID token only where the step says; and the PEP resource API's
//! refusals, typed.

use http::HeaderValue;
use http_body_util::Full;
use hyper::body::Bytes;
use uma_hyper::UmaClient;
use uma_hyper::uma_core::auth::ClientCredentials;
use uma_hyper::uma_core::config::ClaimPushing;
use uma_hyper::uma_core::discovery::Issuer;
use uma_hyper::uma_core::grant::PushedClaim;
use uma_hyper::uma_core::protection::{ClientRegistration, Dialect, PepResource, PepResourceError};
use uma_hyper::uma_core::secret::ClaimToken;
use uma_hyper::uma_core::{AuthorizationServer, Config, Party};
use uma_testkit::demo_client::{ADES_PROCESSES, LOGIN_SCOPE, StepLog, check_walk};
use uma_testkit::{Dialect as KitDialect, Kit, KitConfig};

type Failure = Box<dyn std::error::Error>;

fn loopback() -> Config {
    Config::new().allow_insecure_http(true)
}

/// DemoClient's steps; `step` records each one. Returns the ID token.
async fn walk(kit: &Kit, mut step: impl FnMut(&str)) -> Result<ClaimToken, Failure> {
    let issuer = Issuer::parse(&kit.issuer())?;
    let registrar = UmaClient::new(loopback())?
        .protection(
            &issuer,
            ClientCredentials::public("registrar"),
            Dialect::Gluu,
        )
        .await?;
    let mut registration = ClientRegistration::uma_client("Demo Client");
    registration.grant_types.insert(1, "password".into());
    registration.token_endpoint_auth_method = Some("client_secret_post".into());
    let credentials = registrar
        .register_client(&registration, None)
        .await?
        .credentials();
    step("register_client");

    let server = AuthorizationServer::new(issuer.clone(), credentials.clone());
    let login = UmaClient::new(loopback().with_authorization_server(server))?;
    login
        .login_password(&issuer, "alice", "alice-pw", Some(LOGIN_SCOPE))
        .await?;
    let id_token = login
        .with_core(|c| c.identity(&Party::default())?.id_token.clone())
        .ok_or("no ID token")?;
    step("login");

    let pep = login.pep_resources(&kit.pep_url())?;
    let ades = PepResource::new("Alice's ADES", "/alice", ["Authenticated"]);
    pep.create_resource(&id_token, &ades).await?;
    step("register_resource");

    let mut server = AuthorizationServer::new(issuer, credentials);
    server.claim = Some(PushedClaim::id_token(id_token.clone()));
    let mut config = loopback().with_authorization_server(server);
    config.claim_pushing = ClaimPushing::Always;
    config.rpt_params.push(("scope".into(), "openid".into()));
    let mut user_id = HeaderValue::from_str(id_token.secret())?;
    user_id.set_sensitive(true);
    config.default_headers.insert("x-user-id", user_id);
    let uma = UmaClient::new(config)?;
    let processes = kit.rs_url(ADES_PROCESSES);
    assert_eq!(uma.get(&processes).send().await?.status(), 200);
    step("list_processes");

    // No UMA here: a client with UMA switched off, the ID token as plain Bearer.
    let plain = UmaClient::new(loopback().with_max_flows(0))?;
    let request = http::Request::post(format!("{}/workspaces", kit.pep_url()))
        .header("authorization", format!("Bearer {}", id_token.secret()))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(
            b"{\"preferred_name\":\"alice\"}",
        )))?;
    assert_eq!(plain.send(request).await?.status(), 201);
    step("create_workspace");

    assert_eq!(uma.get(&processes).send().await?.status(), 200);
    step("list_processes_again");
    Ok(id_token)
}

#[tokio::test]
async fn demo_clients_walk_with_user_id_and_the_id_token_only_where_due() {
    let kit = Kit::start(KitConfig::new(KitDialect::Gluu)).unwrap();
    kit.require_user_id_header(true);
    kit.clear_log();
    let mut steps = Vec::new();
    let id_token = walk(&kit, |name| {
        steps.push(StepLog {
            name: name.to_owned(),
            requests: kit.log(),
        });
        kit.clear_log();
    })
    .await
    .unwrap();
    check_walk(&steps, id_token.secret()).unwrap();
    let trips: Vec<usize> = steps.iter().map(|s| s.requests.len()).collect();
    assert_eq!(trips, [2, 2, 1, 4, 1, 1]);
}

#[tokio::test]
async fn pep_refusals_reach_the_caller_typed() {
    let kit = Kit::start(KitConfig::new(KitDialect::Gluu)).unwrap();
    let strict = UmaClient::new(Config::new()).unwrap();
    assert!(
        strict.pep_resources(&kit.pep_url()).is_err(),
        "http needs opting in"
    );
    let pep = UmaClient::new(loopback())
        .unwrap()
        .pep_resources(&kit.pep_url())
        .unwrap();
    let alice = ClaimToken::new(kit.id_token_for("alice"));
    let bob = ClaimToken::new(kit.id_token_for("bob"));
    let ades = PepResource::new("ADES", "/alice", ["Authenticated"]);
    let created = pep.create_resource(&alice, &ades).await.unwrap();
    let again = pep.create_resource(&alice, &ades).await.unwrap_err();
    assert!(matches!(
        again,
        uma_hyper::protection::Error::PepResource(PepResourceError::AlreadyExists { .. })
    ));
    let read = pep.read_resource(&alice, &created.id).await.unwrap_err();
    assert_eq!(read.status().map(|s| s.as_u16()), Some(405));
    let foreign = pep.delete_resource(&bob, &created.id).await.unwrap_err();
    assert_eq!(foreign.status().map(|s| s.as_u16()), Some(403));
    assert!(!format!("{foreign:?}{foreign}").contains(bob.secret()));
    let found = pep.list_resources(&alice, Some("/alice/x")).await.unwrap();
    assert_eq!(found[0].id, created.id);
    pep.delete_resource(&alice, &created.id).await.unwrap();
    assert!(pep.list_resources(&alice, None).await.unwrap().is_empty());
}
