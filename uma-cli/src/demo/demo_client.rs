//! `uma demo`, EOEPCA DemoClient section: DemoClient's sequence with `uma`, each step printed from the
//! embedded servers' own request log (method, path, where the ID token went; never a value) and checked
//! by the testkit's referee (`uma_testkit::demo_client`).

use http::HeaderValue;
use uma_core::auth::ClientCredentials;
use uma_core::config::ClaimPushing;
use uma_core::grant::PushedClaim;
use uma_core::protection::{ClientRegistration, Dialect as UmaDialect, PepResource};
use uma_core::secret::ClaimToken;
use uma_core::{AuthorizationServer, Config, Party};
use uma_testkit::demo_client::{ADES_PROCESSES, LOGIN_SCOPE, StepLog, check_walk};
use uma_testkit::{Dialect, Kit, KitConfig, LoggedRequest, Server};
use uma_ureq::UmaClient;

use super::walk::Walk;
use super::{header, issuer, start};
use crate::output::CliError;
use crate::redact::Redactor;

/// Prints one step from the kit's log and keeps it for the referee.
struct Steps<'a> {
    kit: &'a Kit,
    logs: Vec<StepLog>,
    walk: Walk,
}

impl Steps<'_> {
    fn done(&mut self, name: &'static str, title: &str, id_token: Option<&ClaimToken>) {
        let requests = self.kit.log();
        self.kit.clear_log();
        println!("  [{}] {title}", self.logs.len() + 1);
        for (i, r) in requests.iter().enumerate() {
            let server = if r.server == Server::As { "AS" } else { "RS" };
            let via = id_token.map(|t| carried(r, t.secret())).unwrap_or_default();
            println!("      {}. {server} {} {}{via}", i + 1, r.method, r.path);
        }
        println!("      => {} round trip(s)", requests.len());
        self.walk.trips.push((name, requests.len()));
        self.logs.push(StepLog {
            name: name.to_owned(),
            requests,
        });
    }
}

/// Where the ID token rode in `r`, in words.
fn carried(r: &LoggedRequest, id_token: &str) -> String {
    let mut how = Vec::new();
    if r.header("x-user-id") == Some(id_token) {
        how.push("X-User-Id");
    }
    if r.header("authorization") == Some(&format!("Bearer {id_token}")) {
        how.push("Bearer");
    }
    if r.form_value("claim_token") == Some(id_token) {
        how.push("claim_token");
    }
    if how.is_empty() {
        String::new()
    } else {
        format!("   (ID token as {})", how.join(", "))
    }
}

fn failed(step: &str, redactor: &Redactor) -> impl Fn(String) -> CliError {
    let (step, redactor) = (step.to_owned(), redactor.clone());
    move |why| {
        CliError::Uma(redactor.scrub(&format!(
            "demo step {step} (eoepca-democlient) failed: {why}"
        )))
    }
}

/// The walk: register the client, log in, register `/alice` at the PEP, list processes through UMA,
/// create a workspace with the ID token as Bearer, list again with the cached RPT.
pub fn run() -> Result<Walk, CliError> {
    let kit = start(KitConfig::new(Dialect::Gluu))?;
    kit.require_user_id_header(true);
    kit.clear_log();
    header(
        "EOEPCA DemoClient's sequence (Gluu AS, PEP resource API, X-User-Id, Workspace API)",
        &kit,
    );
    let redactor = Redactor::new([Some("alice-pw")]);
    let mut steps = Steps {
        kit: &kit,
        logs: Vec::new(),
        walk: Walk::new("eoepca-democlient", Default::default(), redactor.clone()),
    };
    let issuer = issuer(&kit)?;
    let http = ureq::Agent::new_with_defaults();
    let loopback = || Config::new().allow_insecure_http(true);

    let fail = failed("register_client", &redactor);
    let mut registration = ClientRegistration::uma_client("Demo Client");
    registration.grant_types.insert(1, "password".into());
    registration.token_endpoint_auth_method = Some("client_secret_post".into());
    let credentials = UmaClient::from_ureq(http.clone(), loopback())
        .protection(
            &issuer,
            ClientCredentials::public("registrar"),
            UmaDialect::Gluu,
        )
        .and_then(|p| p.register_client(&registration, None))
        .map_err(|e| fail(e.to_string()))?
        .credentials();
    steps.done(
        "register_client",
        "register the client (RFC 7591, client_secret_post)",
        None,
    );

    let fail = failed("login", &redactor);
    let server = AuthorizationServer::new(issuer.clone(), credentials.clone());
    let login = UmaClient::from_ureq(http.clone(), loopback().with_authorization_server(server));
    login
        .login_password(&issuer, "alice", "alice-pw", Some(LOGIN_SCOPE))
        .map_err(|e| fail(e.to_string()))?;
    let id_token = login
        .with_core(|c| c.identity(&Party::default())?.id_token.clone())
        .ok_or_else(|| fail("no ID token".into()))?;
    let redactor = Redactor::new([Some("alice-pw"), Some(id_token.secret())]);
    steps.done(
        "login",
        &format!("alice logs in: password grant, scope={LOGIN_SCOPE}"),
        None,
    );

    let fail = failed("register_resource", &redactor);
    let ades = PepResource::new("Alice's ADES", "/alice", ["Authenticated"]);
    login
        .pep_resources(&kit.pep_url())
        .and_then(|pep| pep.create_resource(&id_token, &ades))
        .map_err(|e| fail(e.to_string()))?;
    let title = "register /alice at the PEP resource API, ID token as Bearer";
    steps.done("register_resource", title, Some(&id_token));

    let fail = failed("list_processes", &redactor);
    let mut server = AuthorizationServer::new(issuer, credentials);
    server.claim = Some(PushedClaim::id_token(id_token.clone()));
    let mut config = loopback().with_authorization_server(server);
    config.claim_pushing = ClaimPushing::Always;
    config.rpt_params.push(("scope".into(), "openid".into()));
    let mut user_id =
        HeaderValue::from_str(id_token.secret()).map_err(|_| fail("ID token".into()))?;
    user_id.set_sensitive(true);
    config.default_headers.insert("x-user-id", user_id);
    let uma = UmaClient::from_ureq(http.clone(), config);
    let list = || -> Result<(), String> {
        let response = uma
            .get(&kit.rs_url(ADES_PROCESSES))
            .send()
            .map_err(|e| e.to_string())?;
        match response.status().is_success() {
            true => Ok(()),
            false => Err(format!("final status {}", response.status())),
        }
    };
    list().map_err(&fail)?;
    let title =
        "list alice's ADES processes through UMA (X-User-Id, ID token pushed as claim token)";
    steps.done("list_processes", title, Some(&id_token));

    let fail = failed("create_workspace", &redactor);
    http.post(&format!("{}/workspaces", kit.pep_url()))
        .header("Authorization", &format!("Bearer {}", id_token.secret()))
        .content_type("application/json")
        .send(r#"{"preferred_name":"alice","default_owner":"alice"}"#)
        .map_err(|e| fail(e.to_string()))?;
    let title = "create a workspace: ID token as plain Bearer, no UMA";
    steps.done("create_workspace", title, Some(&id_token));

    list().map_err(failed("list_processes_again", &redactor))?;
    let title = "list the processes again: the cached RPT is reused";
    steps.done("list_processes_again", title, Some(&id_token));

    check_walk(&steps.logs, id_token.secret()).map_err(failed("referee", &redactor))?;
    println!("      => the testkit's log matches DemoClient's sequence step by step");
    Ok(steps.walk)
}
