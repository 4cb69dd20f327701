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
    let kit = Kit::start(config)
        .map_err(|e| CliError::Transport(format!("cannot start the servers: {e}")))?;
    if let Some(pem) = kit.ca_certificate_pem() {
        std::fs::write(&args.ca_out, pem)
            .map_err(|e| CliError::Usage(format!("cannot write {}: {e}", args.ca_out.display())))?;
        println!("test CA certificate: {}", args.ca_out.display());
    }
    println!("authorization server issuer: {}", kit.issuer());
    println!("resource server:             {}", kit.rs_base());
    println!(
        "protected resources:         {0}/api/a {0}/api/b {0}/api/echo (GET read, POST/PUT write)",
        kit.rs_base()
    );
    println!("client:                      app / app-secret (confidential), public-app (public)");
    println!("users:                       alice / alice-pw, bob / bob-pw (bob may not write)");
    println!(
        "try:                         uma fetch -v --allow-insecure-http --issuer {} --client-id app \\\n                               --client-secret app-secret {}/api/a",
        kit.issuer(),
        kit.rs_base()
    );
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
