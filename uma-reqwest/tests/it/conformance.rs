//! The testkit's conformance suite (hostile servers, flows) through a `reqwest_middleware` chain around
//! `UmaMiddleware`: this file only builds the chain from the suite's neutral set-up and maps its errors.
//! uma-reqwest has no protection API of its own (a resource server uses uma-hyper's `Protection`), so
//! it runs no protection cases. The suite's calls are blocking: the chain runs on a runtime of its own.

use std::sync::Arc;
use std::time::Instant;

use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use tokio::runtime::Runtime;
use uma_core::secret::AccessToken;
use uma_core::{Identity, Party};
use uma_reqwest::{Options, UmaMiddleware};
use uma_testkit::conformance::tasks::{run, run_all, runtime};
use uma_testkit::conformance::{self as suite, Adapter, Class, Failure, Outcome, Setup, Subject};

#[path = "../../../tests/conformance_glue.rs"]
mod glue;

struct Reqwest;

uma_testkit::conformance_suite!(Reqwest);

/// Every error of the chain the suite sees, in the suite's words: the middleware's `Error` (mapped as
/// every adapter's), or reqwest's own (from the resource server's side of the chain).
fn chain_failure(error: &reqwest_middleware::Error) -> Failure {
    let shown = format!("{error} {error:?}");
    if let Some(uma) = uma_reqwest::uma_error(error) {
        return Failure {
            shown,
            ..glue::failure(uma)
        };
    }
    let class = if error.is_timeout() {
        Class::Timeout(suite::Deadline::Exchange)
    } else if error.is_connect() || error.is_request() || error.is_body() {
        Class::Transport
    } else {
        Class::Other(error.to_string())
    };
    Failure {
        class,
        response: None,
        shown,
    }
}

impl Adapter for Reqwest {
    fn subject(&self, setup: &Setup) -> Box<dyn Subject> {
        let runtime = runtime();
        let roots: Vec<Vec<u8>> = setup.ca_der.iter().cloned().collect();
        let tls = uma_hyper::UmaClient::tls_config_trusting(roots).expect("test CA");
        let options = Options::default()
            .with_exchange_timeout(setup.exchange_timeout)
            .with_request_timeout(setup.request_timeout);
        let inner = uma_reqwest::http_client(tls.clone()).expect("inner client");
        let uma = UmaMiddleware::with_http_client(glue::config(setup), inner).with_options(options);
        // The application's client leaves redirects to the middleware (`Setup::max_redirects`).
        let app = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none());
        let client = ClientBuilder::new(app.build().expect("app client"))
            .with(uma.clone())
            .build();
        Box::new(Chain {
            runtime,
            uma,
            client,
        })
    }
}

struct Chain {
    runtime: Arc<Runtime>,
    uma: UmaMiddleware,
    client: ClientWithMiddleware,
}

/// Sends `request` through the chain and reads the answer whole.
async fn send(client: ClientWithMiddleware, request: http::Request<Vec<u8>>) -> Outcome {
    let request = reqwest::Request::try_from(request).expect("a reqwest request");
    let response = client
        .execute(request)
        .await
        .map_err(|e| chain_failure(&e))?;
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response
        .bytes()
        .await
        .map_err(|e| chain_failure(&e.into()))?;
    let mut answer = http::Response::new(body.to_vec());
    *answer.status_mut() = status;
    *answer.headers_mut() = headers;
    Ok(answer)
}

impl Subject for Chain {
    fn send(&self, request: http::Request<Vec<u8>>) -> Outcome {
        run(&self.runtime, send(self.client.clone(), request))
    }

    fn set_access_token(&self, token: &str) {
        let identity = Identity::from_token(AccessToken::new(token), Instant::now());
        self.uma
            .with_core(|core| core.set_identity(Party::default(), identity));
    }

    fn send_concurrently(&self, requests: Vec<http::Request<Vec<u8>>>) -> Vec<Outcome> {
        let sends = requests.into_iter().map(|r| send(self.client.clone(), r));
        run_all(&self.runtime, sends)
    }

    fn token_requests(&self) -> u64 {
        self.uma.stats().token_requests
    }

    fn parked(&self) -> u64 {
        self.uma.stats().parked
    }
}
