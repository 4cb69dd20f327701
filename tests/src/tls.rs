//! A throwaway test CA and a server certificate for `127.0.0.1` and `localhost`.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

/// The generated CA (what clients trust) and an acceptor serving a leaf it signed.
pub struct TestPki {
    /// CA certificate, PEM.
    pub ca_pem: String,
    /// CA certificate, DER.
    pub ca_der: Vec<u8>,
    /// Server-side TLS acceptor (leaf + CA chain).
    pub acceptor: TlsAcceptor,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPki").finish_non_exhaustive()
    }
}

fn io_err(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(format!("test PKI: {e}"))
}

/// Generates a CA and a leaf for `127.0.0.1` (IP SAN) and `localhost`.
pub fn generate() -> std::io::Result<TestPki> {
    let ca_key = KeyPair::generate().map_err(io_err)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(io_err)?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "uma-testkit test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(io_err)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf_key = KeyPair::generate().map_err(io_err)?;
    let mut leaf_params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .map_err(io_err)?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "uma-testkit server");
    let leaf_cert = leaf_params.signed_by(&leaf_key, &issuer).map_err(io_err)?;

    let chain = vec![
        CertificateDer::from(leaf_cert.der().to_vec()),
        CertificateDer::from(ca_cert.der().to_vec()),
    ];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io_err)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(io_err)?;
    Ok(TestPki {
        ca_pem: ca_cert.pem(),
        ca_der: ca_cert.der().to_vec(),
        acceptor: TlsAcceptor::from(Arc::new(config)),
    })
}
