//! `uma serve`: the embedded authorization server and resource server, standing alone on loopback, so any
//! client (the Python peer, curl, your own code) can be tried against them side by side with `uma fetch`.
//!
//! It prints the URLs and the test credentials, then one line per request the servers receive (method,
//! path, which endpoint), never a header value or form value: the log proper holds secrets on purpose.

use crate::output::outln;
use std::time::{Duration, Instant};

use uma_testkit::{Dialect, Endpoint, Fault, GrantedBody, Kit, KitConfig};

use crate::args::{ServeArgs, ServeDialect, TRUNCATED_BODY_DEFAULT};
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
    let faults = Faults::from_args(args);
    faults.arm(&kit);
    // How a client reaches the servers: the CA file for https, insecure http allowed otherwise.
    let transport = match kit.ca_certificate_pem() {
        Some(pem) => {
            std::fs::write(&args.ca_out, pem).map_err(|e| {
                CliError::Usage(format!("cannot write {}: {e}", args.ca_out.display()))
            })?;
            // Absolute, so that the printed lines work from any directory.
            let ca = std::fs::canonicalize(&args.ca_out).unwrap_or_else(|_| args.ca_out.clone());
            outln!("test CA certificate (PEM):   {}", ca.display());
            format!("--cacert {}", ca.display())
        }
        None => "--allow-insecure-http".to_owned(),
    };
    for line in banner(
        args.dialect,
        &kit.issuer(),
        &kit.rs_base(),
        &transport,
        &faults,
    ) {
        outln!("{line}");
    }
    outln!("requests received:");
    let deadline = args
        .duration
        .map(|s| Instant::now() + Duration::from_secs(s));
    let mut seen = 0;
    loop {
        let log = kit.log();
        for entry in log.iter().skip(seen) {
            outln!(
                "  {:?} {} {} [{:?}]",
                entry.server,
                entry.method,
                entry.path,
                entry.endpoint
            );
        }
        seen = log.len();
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The fault switches of `uma serve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Faults {
    /// Delay before every resource-server answer.
    slow: Option<Duration>,
    /// The body of granted resource-server answers.
    granted: GrantedBody,
}

impl Faults {
    fn from_args(args: &ServeArgs) -> Self {
        let granted = match (args.truncate_body, args.large_body) {
            (true, len) => GrantedBody::Truncated(len.unwrap_or(TRUNCATED_BODY_DEFAULT)),
            (false, Some(len)) => GrantedBody::Large(len),
            (false, None) => GrantedBody::Json,
        };
        Faults {
            slow: args.slow_ms.map(Duration::from_millis),
            granted,
        }
    }

    fn arm(&self, kit: &Kit) {
        if let Some(delay) = self.slow {
            kit.set_fault(Endpoint::RsResource, Some(Fault::Delay(delay)));
        }
        kit.set_granted_body(self.granted);
    }

    /// One line per fault switched on.
    fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(delay) = self.slow {
            lines.push(format!(
                "fault:                       the resource server waits {} ms before every answer",
                delay.as_millis()
            ));
        }
        match self.granted {
            GrantedBody::Json => {}
            GrantedBody::Large(len) => lines.push(format!(
                "fault:                       granted requests get {len} bytes of text"
            )),
            GrantedBody::Truncated(len) => lines.push(format!(
                "fault:                       granted requests get a body announced as {len} bytes, \
                 cut after {}",
                len / 2
            )),
            GrantedBody::Pattern(len) => lines.push(format!(
                "fault:                       granted requests get {len} bytes of a checkable pattern"
            )),
            GrantedBody::TruncatedChunked(len) => lines.push(format!(
                "fault:                       granted requests get a chunked body cut after {len} bytes"
            )),
        }
        lines
    }
}

/// The banner after the CA line: URLs, credentials, and `try` lines that work as printed (the serve test
/// runs each one; a `try (…, exit N)` line is expected to end with that status).
fn banner(
    dialect: ServeDialect,
    issuer: &str,
    rs: &str,
    transport: &str,
    faults: &Faults,
) -> Vec<String> {
    let client = format!(
        "uma fetch -v {transport} --issuer {issuer} --client-id app --client-secret app-secret"
    );
    // What a granted request ends with: the truncated body is a transport failure (exit 4).
    let granted = match faults.granted {
        GrantedBody::Truncated(_) | GrantedBody::TruncatedChunked(_) => {
            "try (truncated body, exit 4):"
        }
        _ => "try:                        ",
    };
    let mut lines = vec![
        format!("authorization server issuer: {issuer}"),
        format!("resource server:             {rs}"),
        format!(
            "protected resources:         {rs}/api/a {rs}/api/b {rs}/api/echo (ids res-a res-b \
             res-echo; GET read, POST/PUT write)"
        ),
        "client:                      app / app-secret (confidential), public-app (public)"
            .to_owned(),
        "resource server's client:    rs / rs-secret (its client_credentials token is the PAT)"
            .to_owned(),
    ];
    lines.push(
        "users:                       alice / alice-pw, bob / bob-pw (bob may not write)"
            .to_owned(),
    );
    lines.extend(faults.describe());
    match dialect {
        ServeDialect::Keycloak => {
            // The Keycloak RS answers a request without a token with a plain Bearer 401: log in first;
            // the ticket grant then carries the user's token, so the AS knows who asks.
            let login = "--client-auth bearer --grant password --username";
            lines.push(format!(
                "{granted} {client} {login} alice --password alice-pw {rs}/api/a"
            ));
            lines.push(format!(
                "try (denied, exit 3):        {client} {login} bob --password bob-pw -X POST {rs}/api/a"
            ));
        }
        ServeDialect::Spec | ServeDialect::Gluu => {
            // The client alone (no user), then bob: the resource server saw his access token, so the
            // ticket it minted names him and the AS applies his restriction.
            let login = "--grant password --username";
            lines.push(format!("{granted} {client} {rs}/api/a"));
            lines.push(format!(
                "try (denied, exit 3):        {client} {login} bob --password bob-pw -X POST {rs}/api/a"
            ));
        }
    }
    lines
}
