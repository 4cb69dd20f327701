//! EOEPCA's DemoClient, step by step, with `uma-ureq` against the embedded Gluu/EOEPCA servers: register
//! the client (RFC 7591), log alice in with the password grant, register `/alice` at the PEP, list her
//! ADES processes through UMA (`X-User-Id` on every request, the ID token pushed as claim token), create
//! a workspace with the ID token as Bearer (no UMA), and list again with the cached RPT.
//!
//! Run with `cargo run -p uma-ureq --example eoepca`. It prints the requests each step cost.

use http::HeaderValue;
use uma_core::auth::ClientCredentials;
use uma_core::config::ClaimPushing;
use uma_core::discovery::Issuer;
use uma_core::grant::{PushedClaim, UMA_TICKET_GRANT};
use uma_core::protection::{ClientRegistration, Dialect, PepResource};
use uma_core::secret::ClaimToken;
use uma_core::{AuthorizationServer, Config, Party};
use uma_testkit::{Dialect as KitDialect, Kit, KitConfig};
use uma_ureq::UmaClient;

/// DemoClient's sequence against `kit`; `step` is called after each step with its name. Returns the
/// ID token the login gave.
pub fn walk(
    kit: &Kit,
    mut step: impl FnMut(&str),
) -> Result<ClaimToken, Box<dyn std::error::Error>> {
    let issuer = Issuer::parse(&kit.issuer())?; // https://auth.<domain> in a real deployment
    let http = ureq::Agent::new_with_defaults();
    let loopback = || Config::new().allow_insecure_http(true); // the kit speaks plain http

    // 1. register_client(): RFC 7591, as eoepca-scim does it (client_secret_post).
    let registrar = UmaClient::from_ureq(http.clone(), loopback()).protection(
        &issuer,
        ClientCredentials::public("registrar"),
        Dialect::Gluu,
    )?;
    let mut registration = ClientRegistration::uma_client("Demo Client");
    registration.grant_types.insert(1, "password".into());
    registration.token_endpoint_auth_method = Some("client_secret_post".into());
    registration.scope =
        Some("openid email user_name uma_protection permission is_operator profile".into());
    registration.response_types = vec!["code".into(), "token".into(), "id_token".into()];
    registration
        .extra
        .insert("subject_type".into(), "public".into());
    debug_assert!(
        registration
            .grant_types
            .iter()
            .any(|g| g == UMA_TICKET_GRANT)
    );
    let credentials = registrar
        .register_client(&registration, None)?
        .credentials();
    step("register_client");

    // 2. get_id_token(): the password grant with DemoClient's scope; the ID token is kept.
    let server = AuthorizationServer::new(issuer.clone(), credentials.clone());
    let login = UmaClient::from_ureq(http.clone(), loopback().with_authorization_server(server));
    let scope = "openid user_name profile is_operator";
    login.login_password(&issuer, "alice", "alice-pw", Some(scope))?;
    let id_token = login
        .with_core(|c| c.identity(&Party::default())?.id_token.clone())
        .ok_or("the login answered no ID token")?;
    step("login");

    // 3. register_protected_resource(): /alice at the PEP, with the ID token as Bearer.
    let pep = login.pep_resources(&kit.pep_url())?;
    let ades = PepResource::new("Alice's ADES", "/alice", ["Authenticated"]);
    let created = pep.create_resource(&id_token, &ades)?;
    println!("  /alice registered at the PEP as {}", created.id);
    step("register_resource");

    // 4. uma_http_request(): X-User-Id on every request, the ID token pushed with every exchange,
    //    scope=openid, client_secret_post.
    let mut server = AuthorizationServer::new(issuer, credentials);
    server.claim = Some(PushedClaim::id_token(id_token.clone()));
    let mut config = loopback().with_authorization_server(server);
    config.claim_pushing = ClaimPushing::Always;
    config.rpt_params.push(("scope".into(), "openid".into()));
    let mut user_id = HeaderValue::from_str(id_token.secret())?;
    user_id.set_sensitive(true);
    config.default_headers.insert("x-user-id", user_id);
    let uma = UmaClient::from_ureq(http.clone(), config);
    let processes = kit.rs_url("/alice/wps3/processes");
    let listed = uma.get(&processes).send()?;
    println!("  ADES processes: {}", listed.status());
    step("list_processes");

    // 5. notuma_http_request(): the Workspace API takes the ID token as plain Bearer, no UMA.
    let workspace = http
        .post(&format!("{}/workspaces", kit.pep_url()))
        .header("Authorization", &format!("Bearer {}", id_token.secret()))
        .content_type("application/json")
        .send(r#"{"preferred_name":"alice","default_owner":"alice"}"#)?;
    println!("  workspace: {}", workspace.status());
    step("create_workspace");

    // 6. The RPT is cached per resource server and party: one request.
    let again = uma.get(&processes).send()?;
    println!("  ADES processes again: {}", again.status());
    step("list_processes_again");
    Ok(id_token)
}

#[allow(dead_code)] // the walk is also a test (tests/eoepca_walk.rs), which has its own main
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let kit = Kit::start(KitConfig::new(KitDialect::Gluu))?;
    kit.require_user_id_header(true);
    println!(
        "EOEPCA's DemoClient with uma-ureq (AS {}, PEP {})",
        kit.issuer(),
        kit.pep_url()
    );
    let mut trips = Vec::new();
    walk(&kit, |name| {
        let n = kit.log().len();
        kit.clear_log();
        println!("[{}] {name}: {n} request(s)", trips.len() + 1);
        trips.push(format!("{name} {n}"));
    })?;
    println!("round trips: {}", trips.join(", "));
    Ok(())
}
