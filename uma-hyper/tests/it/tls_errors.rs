//! TLS: the PEM file `uma serve --tls` writes is accepted as is, and a certificate failure names its
//! cause in the top-level message (not just hyper's `client error (Connect)`).

use crate::common::{config_for, options};
use uma_hyper::UmaClient;
use uma_testkit::{Dialect, Kit, KitConfig};

fn tls_kit() -> Kit {
    Kit::start(KitConfig::new(Dialect::Spec).with_tls()).expect("kit")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pem_ca_file_is_trusted() {
    let kit = tls_kit();
    let other = tls_kit();
    // Two certificates, the kit's second, as one file would hold them.
    let pem = format!(
        "{}{}",
        other.ca_certificate_pem().unwrap(),
        kit.ca_certificate_pem().unwrap()
    );
    let tls = UmaClient::tls_config_trusting_pem(pem.as_bytes()).expect("PEM accepted");
    let client = UmaClient::with_tls_config(config_for(&kit), tls).with_options(options());
    let response = client
        .get(&kit.rs_url("/api/a"))
        .send()
        .await
        .expect("fetched");
    assert_eq!(response.status(), 200);

    assert!(UmaClient::tls_config_trusting_pem(b"no certificate here").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_failure_shows_its_cause_at_the_top() {
    let kit = tls_kit();
    // The built-in roots do not know the kit's CA.
    let client = UmaClient::new(config_for(&kit))
        .expect("client")
        .with_options(options());
    let error = client.get(&kit.rs_url("/api/a")).send().await.unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with("resource request to https://127.0.0.1:"),
        "{message}"
    );
    assert!(message.contains("certificate"), "{message}");
    assert!(message.contains("UnknownIssuer"), "{message}");
}
