//! `UmaClient::tls_config_trusting_pem`: the PEM CA file `uma serve --tls` writes is enough for the library.

use uma_testkit::{Dialect, Kit, KitConfig};
use uma_ureq::UmaClient;
use uma_ureq::uma_core::auth::ClientCredentials;
use uma_ureq::uma_core::discovery::Issuer;
use uma_ureq::uma_core::{AuthorizationServer, Config};

fn agent(kit: &Kit, tls: Option<uma_ureq::ureq::tls::TlsConfig>) -> UmaClient {
    let mut builder = uma_ureq::ureq::Agent::config_builder();
    if let Some(tls) = tls {
        builder = builder.tls_config(tls);
    }
    let http = uma_ureq::ureq::Agent::new_with_config(builder.build());
    let issuer = Issuer::parse(&kit.issuer()).unwrap();
    let config = Config::new().with_authorization_server(AuthorizationServer::new(
        issuer,
        ClientCredentials::basic("app", "app-secret"),
    ));
    UmaClient::from_ureq(http, config)
}

#[test]
fn a_pem_ca_opens_the_tls_servers_and_the_built_in_roots_do_not() {
    let kit = Kit::start(KitConfig::new(Dialect::keycloak()).with_tls()).unwrap();
    // A key before the certificate, as a combined file might have: skipped.
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n{}",
        kit.ca_certificate_pem().unwrap()
    );
    let tls = UmaClient::tls_config_trusting_pem(pem.as_bytes()).unwrap();
    let trusted = agent(&kit, Some(tls));
    let issuer = Issuer::parse(&kit.issuer()).unwrap();
    trusted
        .login_password(&issuer, "alice", "alice-pw", None)
        .unwrap();
    assert_eq!(
        trusted.get(&kit.rs_url("/api/a")).send().unwrap().status(),
        200
    );
    // Without it, the test CA is unknown.
    assert!(agent(&kit, None).get(&kit.rs_url("/api/a")).send().is_err());
}

#[test]
fn text_without_a_certificate_is_an_error() {
    for text in [
        "",
        "not pem at all",
        "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n",
    ] {
        assert!(
            UmaClient::tls_config_trusting_pem(text.as_bytes()).is_err(),
            "{text:?}"
        );
    }
    let broken = "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n";
    assert!(UmaClient::tls_config_trusting_pem(broken.as_bytes()).is_err());
}
