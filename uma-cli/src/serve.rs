//! `uma serve`: the embedded authorization server and resource server, standing alone on loopback, so any
//! client (the Python peer, curl, your own code) can be tried against them side by side with `uma fetch`.
//!
//! It prints the URLs and the test credentials, then one line per request the servers receive (method,
//! path, which endpoint), never a header value or form value: the log proper holds secrets on purpose.

use std::time::{Duration, Instant};

use uma_testkit::{Dialect, Kit, KitConfig};

use crate::args::{ServeArgs, ServeDialect};
use crate::output::CliError;

/// Runs until the deadline, or until interrupted.
pub fn run(args: &ServeArgs) -> Result<(), CliError> {
    let dialect = match args.dialect {
        ServeDialect::Spec => Dialect::Spec,
        ServeDialect::Keycloak => Dialect::keycloak(),
        ServeDialect::Gluu => Dialect::Gluu,
    };
    let mut config = KitConfig::new(dialect);
    if args.tls {
        config = config.with_tls();
    }
    if let Some(port) = args.port {
        config = config.with_port(port);
    }
    let kit = Kit::start(config)
        .map_err(|e| CliError::Transport(format!("cannot start the servers: {e}")))?;
    // How a client reaches the servers: the CA file for https, insecure http allowed otherwise.
    let transport = match kit.ca_certificate_pem() {
        Some(pem) => {
            std::fs::write(&args.ca_out, pem).map_err(|e| {
                CliError::Usage(format!("cannot write {}: {e}", args.ca_out.display()))
            })?;
            // Absolute, so that the printed lines work from any directory.
            let ca = std::fs::canonicalize(&args.ca_out).unwrap_or_else(|_| args.ca_out.clone());
            println!("test CA certificate (PEM):   {}", ca.display());
            format!("--cacert {}", ca.display())
        }
        None => "--allow-insecure-http".to_owned(),
    };
    for line in banner(args.dialect, &kit.issuer(), &kit.rs_base(), &transport) {
        println!("{line}");
    }
    println!("requests received:");
    let deadline = args
        .duration
        .map(|s| Instant::now() + Duration::from_secs(s));
    let mut seen = 0;
    loop {
        let log = kit.log();
        for entry in log.iter().skip(seen) {
            println!(
                "  {:?} {} {} [{:?}]",
                entry.server, entry.method, entry.path, entry.endpoint
            );
        }
        seen = log.len();
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The banner after the CA line: URLs, credentials, and `try` lines that work as printed (the serve test
/// runs each one; a `try (denied, exit 3)` line is expected to fail that way).
fn banner(dialect: ServeDialect, issuer: &str, rs: &str, transport: &str) -> Vec<String> {
    let client = format!(
        "uma fetch -v {transport} --issuer {issuer} --client-id app --client-secret app-secret"
    );
    let mut lines = vec![
        format!("authorization server issuer: {issuer}"),
        format!("resource server:             {rs}"),
        format!(
            "protected resources:         {rs}/api/a {rs}/api/b {rs}/api/echo (GET read, POST/PUT write)"
        ),
        "client:                      app / app-secret (confidential), public-app (public)"
            .to_owned(),
        "resource server's client:    rs / rs-secret (its client_credentials token is the PAT)"
            .to_owned(),
    ];
    match dialect {
        ServeDialect::Keycloak => {
            lines.push(
                "users:                       alice / alice-pw, bob / bob-pw (bob may not write)"
                    .to_owned(),
            );
            // The Keycloak RS answers a request without a token with a plain Bearer 401: log in first;
            // the ticket grant then carries the user's token, so the AS knows who asks.
            let login = "--client-auth bearer --grant password --username";
            lines.push(format!(
                "try:                         {client} {login} alice --password alice-pw {rs}/api/a"
            ));
            lines.push(format!(
                "try (denied, exit 3):        {client} {login} bob --password bob-pw -X POST {rs}/api/a"
            ));
        }
        ServeDialect::Spec | ServeDialect::Gluu => {
            // Here the ticket grant authenticates the client alone: the AS does not learn which user asks,
            // so bob's restriction only shows in the Keycloak dialect.
            lines.push(
                "users:                       alice / alice-pw, bob / bob-pw (bob may not write: the \
                 Keycloak dialect shows it, where the ticket grant carries the user's token)"
                    .to_owned(),
            );
            lines.push(format!("try:                         {client} {rs}/api/a"));
        }
    }
    lines
}
