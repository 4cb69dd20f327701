//! The testkit's conformance suite (hostile servers, flows, the protection API) over `UmaClient` and
//! `Protection`: this file only builds them from the suite's neutral set-up and maps their errors.

use std::time::Duration;

use uma_core::protection::ResourceQuery;
use uma_testkit::conformance::{
    Adapter, Class, Failure, Outcome, ProtectionAdapter, ProtectionSetup, Protector, Setup, Subject,
};
use uma_ureq::{Options, Protection, UmaClient};

#[path = "../../../tests/conformance_glue.rs"]
mod glue;

struct Ureq;

uma_testkit::conformance_suite!(Ureq);
uma_testkit::protection_suite!(Ureq);

/// A plain ureq agent that trusts `ca` (when given). Its own global timeout is a safety net.
fn ureq_agent(ca: Option<&[u8]>) -> ureq::Agent {
    let mut builder = ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(20)));
    if let Some(der) = ca {
        let cert = ureq::tls::Certificate::from_der(der).to_owned();
        let roots = ureq::tls::RootCerts::Specific(std::sync::Arc::new(vec![cert]));
        builder = builder.tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build());
    }
    builder.build().new_agent()
}

impl Adapter for Ureq {
    fn subject(&self, setup: &Setup) -> Box<dyn Subject> {
        let options = Options::default()
            .with_exchange_timeout(setup.exchange_timeout)
            .with_request_timeout(setup.request_timeout);
        let ca = setup.ca_der.as_deref();
        Box::new(Agent(
            UmaClient::from_ureq(ureq_agent(ca), glue::config(setup)).with_options(options),
        ))
    }
}

struct Agent(UmaClient);

impl Subject for Agent {
    fn send(&self, request: http::Request<Vec<u8>>) -> Outcome {
        let (head, mut body) = self
            .0
            .send(request)
            .map_err(|e| glue::failure(&e))?
            .into_parts();
        let body = body.with_config().limit(u64::MAX).read_to_vec();
        let body = body.map_err(|e| Failure {
            class: Class::Transport,
            response: None,
            shown: format!("{e} {e:?}"),
        })?;
        Ok(http::Response::from_parts(head, body))
    }

    fn set_access_token(&self, token: &str) {
        self.0.set_access_token(token.to_string());
    }

    fn send_concurrently(&self, requests: Vec<http::Request<Vec<u8>>>) -> Vec<Outcome> {
        std::thread::scope(|scope| {
            let threads: Vec<_> = requests
                .into_iter()
                .map(|r| scope.spawn(|| self.send(r)))
                .collect();
            threads
                .into_iter()
                .map(|t| t.join().expect("the client panicked"))
                .collect()
        })
    }

    fn token_requests(&self) -> u64 {
        self.0.stats().token_requests
    }

    fn parked(&self) -> u64 {
        self.0.stats().parked
    }
}

impl ProtectionAdapter for Ureq {
    fn protector(&self, setup: &ProtectionSetup) -> Box<dyn Protector> {
        let config = uma_core::Config::new().allow_insecure_http(setup.allow_insecure_http);
        let agent = UmaClient::from_ureq(ureq_agent(setup.ca_der.as_deref()), config);
        let (issuer, credentials, dialect) = glue::protection_inputs(setup);
        Box::new(Guard(
            agent
                .protection(&issuer, credentials, dialect)
                .expect("discovery"),
        ))
    }
}

struct Guard(Protection);

impl Protector for Guard {
    fn create_resource(&self, name: &str, scopes: &[&str]) -> Result<String, Failure> {
        let created = self.0.create_resource(&glue::resource(name, scopes));
        created
            .map(|c| c.id)
            .map_err(|e| glue::protection_failure(&e))
    }

    fn list_resources(&self) -> Result<Vec<String>, Failure> {
        let listed = self.0.list_resources(&ResourceQuery::default());
        listed
            .map(|l| l.ids)
            .map_err(|e| glue::protection_failure(&e))
    }

    fn request_ticket(&self, resource: &str, scopes: &[&str]) -> Result<String, Failure> {
        let ticket = self.0.request_ticket(glue::permission(resource, scopes));
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
        let decision = self.0.enforce(
            &glue::headers(authorization),
            glue::permission(resource, &[scope]),
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
        let call = |i: usize| match i % 2 {
            0 => self
                .0
                .try_challenge_for(glue::permission(resource, &[scope]))
                .map(|r| r.status().as_u16()),
            _ => self
                .0
                .enforce(
                    &http::HeaderMap::new(),
                    glue::permission(resource, &[scope]),
                )
                .map(|d| glue::decision_status(&d)),
        };
        std::thread::scope(|threads| {
            let herd: Vec<_> = (0..n).map(|i| threads.spawn(move || call(i))).collect();
            let joined = herd
                .into_iter()
                .map(|t| t.join().expect("the handle panicked"));
            joined
                .map(|verdict| verdict.map_err(|e| glue::protection_failure(&e)))
                .collect()
        })
    }

    fn pat_requests(&self) -> u64 {
        self.0.stats().pat_requests
    }

    fn parked(&self) -> u64 {
        self.0.stats().parked
    }

    fn shown(&self) -> String {
        format!("{:?}", self.0)
    }

    fn challenge(&self, resource: &str, scope: &str) -> http::Response<Vec<u8>> {
        self.0.challenge_for(glue::permission(resource, &[scope]))
    }
}
