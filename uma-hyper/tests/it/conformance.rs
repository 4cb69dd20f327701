//! The testkit's conformance suite (hostile servers, flows, the protection API) over `UmaClient` and
//! `Protection`: this file only builds them from the suite's neutral set-up and maps their errors. The
//! suite's calls are blocking: each client owns a runtime and runs every request on a task of it.

use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use tokio::runtime::Runtime;
use uma_core::protection::ResourceQuery;
use uma_hyper::{HttpsClientConnector, Options, Protection, UmaClient};
use uma_testkit::conformance::tasks::{run, run_all, runtime};
use uma_testkit::conformance::{
    Adapter, Class, Failure, Outcome, ProtectionAdapter, ProtectionSetup, Protector, Setup, Subject,
};

#[path = "../../../tests/conformance_glue.rs"]
mod glue;

struct Hyper;

uma_testkit::conformance_suite!(Hyper);
uma_testkit::protection_suite!(Hyper);

/// A client for `config`, trusting `ca` when given.
fn client(config: uma_core::Config, ca: Option<&[u8]>) -> UmaClient<HttpsClientConnector> {
    match ca {
        Some(der) => {
            let tls = UmaClient::tls_config_trusting([der.to_vec()]).expect("test CA");
            UmaClient::with_tls_config(config, tls)
        }
        None => UmaClient::new(config).expect("client"),
    }
}

impl Adapter for Hyper {
    fn subject(&self, setup: &Setup) -> Box<dyn Subject> {
        let options = Options::default()
            .with_exchange_timeout(setup.exchange_timeout)
            .with_request_timeout(setup.request_timeout);
        let runtime = runtime();
        let _entered = runtime.enter();
        let client = client(glue::config(setup), setup.ca_der.as_deref()).with_options(options);
        Box::new(Client {
            runtime: Arc::clone(&runtime),
            client,
        })
    }
}

struct Client {
    runtime: Arc<Runtime>,
    client: UmaClient<HttpsClientConnector>,
}

/// Sends `request` through `client` and reads the answer whole.
async fn send(client: UmaClient<HttpsClientConnector>, request: http::Request<Vec<u8>>) -> Outcome {
    let response = client
        .send(request.map(|b| Full::new(Bytes::from(b))))
        .await;
    let (head, body) = response.map_err(|e| glue::failure(&e))?.into_parts();
    let body = body.collect().await.map_err(|e| Failure {
        class: Class::Transport,
        response: None,
        shown: format!("{e} {e:?}"),
    })?;
    Ok(http::Response::from_parts(head, body.to_bytes().to_vec()))
}

impl Subject for Client {
    fn send(&self, request: http::Request<Vec<u8>>) -> Outcome {
        run(&self.runtime, send(self.client.clone(), request))
    }

    fn set_access_token(&self, token: &str) {
        self.client.set_access_token(token.to_string());
    }

    fn send_concurrently(&self, requests: Vec<http::Request<Vec<u8>>>) -> Vec<Outcome> {
        let sends = requests.into_iter().map(|r| send(self.client.clone(), r));
        run_all(&self.runtime, sends)
    }

    fn token_requests(&self) -> u64 {
        self.client.stats().token_requests
    }

    fn parked(&self) -> u64 {
        self.client.stats().parked
    }
}

impl ProtectionAdapter for Hyper {
    fn protector(&self, setup: &ProtectionSetup) -> Box<dyn Protector> {
        let runtime = runtime();
        let config = uma_core::Config::new().allow_insecure_http(setup.allow_insecure_http);
        let (issuer, credentials, dialect) = glue::protection_inputs(setup);
        let opened = run(&runtime, {
            let _entered = runtime.enter();
            let client = client(config, setup.ca_der.as_deref());
            async move { client.protection(&issuer, credentials, dialect).await }
        });
        Box::new(Guard {
            runtime,
            protection: opened.expect("discovery"),
        })
    }
}

struct Guard {
    runtime: Arc<Runtime>,
    protection: Protection,
}

impl Protector for Guard {
    fn create_resource(&self, name: &str, scopes: &[&str]) -> Result<String, Failure> {
        let created = self.runtime.block_on(
            self.protection
                .create_resource(&glue::resource(name, scopes)),
        );
        created
            .map(|c| c.id)
            .map_err(|e| glue::protection_failure(&e))
    }

    fn list_resources(&self) -> Result<Vec<String>, Failure> {
        let listed = self
            .runtime
            .block_on(self.protection.list_resources(&ResourceQuery::default()));
        listed
            .map(|l| l.ids)
            .map_err(|e| glue::protection_failure(&e))
    }

    fn request_ticket(&self, resource: &str, scopes: &[&str]) -> Result<String, Failure> {
        let ticket = self.runtime.block_on(
            self.protection
                .request_ticket(glue::permission(resource, scopes)),
        );
        ticket
            .map(|t| t.secret().to_string())
            .map_err(|e| glue::protection_failure(&e))
    }

    fn enforce(
        &self,
        authorization: Option<&str>,
        resource: &str,
        scope: &str,
    ) -> Result<u16, Failure> {
        let wanted = glue::permission(resource, &[scope]);
        let decision = self.runtime.block_on(
            self.protection
                .enforce(&glue::headers(authorization), wanted),
        );
        decision
            .map(|d| glue::decision_status(&d))
            .map_err(|e| glue::protection_failure(&e))
    }

    fn herd_without_token(
        &self,
        n: usize,
        resource: &str,
        scope: &str,
    ) -> Vec<Result<u16, Failure>> {
        let herd = (0..n).map(|i| {
            let (protection, wanted) = (
                self.protection.clone(),
                glue::permission(resource, &[scope]),
            );
            async move {
                let verdict = match i % 2 {
                    0 => protection
                        .try_challenge_for(wanted)
                        .await
                        .map(|r| r.status().as_u16()),
                    _ => protection
                        .enforce(&http::HeaderMap::new(), wanted)
                        .await
                        .map(|d| glue::decision_status(&d)),
                };
                verdict.map_err(|e| glue::protection_failure(&e))
            }
        });
        run_all(&self.runtime, herd)
    }

    fn pat_requests(&self) -> u64 {
        self.protection.stats().pat_requests
    }

    fn parked(&self) -> u64 {
        self.protection.stats().parked
    }

    fn shown(&self) -> String {
        format!("{:?}", self.protection)
    }

    fn challenge(&self, resource: &str, scope: &str) -> http::Response<Vec<u8>> {
        let challenge = self
            .protection
            .challenge_for(glue::permission(resource, &[scope]));
        self.runtime.block_on(challenge)
    }
}
