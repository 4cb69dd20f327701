//! `--cacert FILE` (and `SSL_CERT_FILE`): the CA certificates to trust, read from a PEM file.

use std::path::Path;

use crate::output::CliError;

/// Every certificate of the PEM file at `path`, for ureq. Other PEM items (keys) are ignored; a file
/// with no certificate at all is an error, so a wrong path never silently trusts nothing.
pub fn pem_certificates(path: &Path) -> Result<Vec<ureq::tls::Certificate<'static>>, CliError> {
    let shown = path.display();
    let pem = std::fs::read(path)
        .map_err(|e| CliError::Usage(format!("--cacert: cannot read {shown}: {e}")))?;
    let mut certificates = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => certificates.push(c),
            Ok(_) => {}
            Err(e) => {
                return Err(CliError::Usage(format!(
                    "--cacert: {shown} is not valid PEM: {e}"
                )));
            }
        }
    }
    if certificates.is_empty() {
        return Err(CliError::Usage(format!(
            "--cacert: {shown} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        )));
    }
    Ok(certificates)
}
