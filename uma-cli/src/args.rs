//! The command line, exactly as issue 6 specifies it (scripts and docs rely on these names).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit status: 0 success; 1 a final response was not 2xx (with or without -f; also more redirects \
than --max-redirs); 2 usage error (or output that cannot be written); 3 the UMA flow failed \
(denied, untrusted AS, needs interaction, max flows, discovery or token-endpoint error); \
4 no response, or a response body cut short (connection error, timeout, fewer bytes than its \
Content-Length, a broken chunked body).";

/// `uma`: curl for UMA 2.0-protected APIs.
#[derive(Debug, Parser)]
#[command(name = "uma", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The four commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fetch one or more URLs, in order, with one shared UMA session.
    Fetch(Box<FetchArgs>),
    /// Parse WWW-Authenticate field values and print the challenges as JSON.
    Challenge(ChallengeArgs),
    /// Fetch and validate an authorization server's uma2-configuration; print it as JSON.
    Discover(DiscoverArgs),
    /// Start an embedded AS + RS on loopback and walk through the UMA flows with a readable trace.
    Demo(DemoArgs),
    /// Run the embedded AS + RS on loopback for other clients (the Python peer, curl…), logging every
    /// request they receive.
    Serve(ServeArgs),
}

/// Which dialect `uma serve` speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ServeDialect {
    /// The UMA 2.0 recommendation.
    Spec,
    /// Keycloak (realm `demo`).
    Keycloak,
    /// Gluu oxAuth behind an EOEPCA-style PEP.
    Gluu,
}

/// `uma serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Dialect of the authorization server and resource server.
    #[arg(long, value_enum, default_value = "spec")]
    pub dialect: ServeDialect,
    /// Serve https with a generated test CA (its certificate is written to --ca-out).
    #[arg(long)]
    pub tls: bool,
    /// Where to write the test CA certificate (PEM) with --tls.
    #[arg(long, default_value = "uma-testkit-ca.pem")]
    pub ca_out: PathBuf,
    /// Listen on this loopback port (the authorization server) and the next one (the resource server)
    /// instead of random ports.
    #[arg(long = "port", value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..=65534))]
    pub port: Option<u16>,
    /// Stop after this many seconds (default: run until interrupted).
    #[arg(long = "for", value_name = "SECONDS")]
    pub duration: Option<u64>,
    /// Fault: the resource server waits this long before every answer, challenges included (try a
    /// client's timeout: `uma fetch --timeout SECONDS`).
    #[arg(long = "slow-ms", value_name = "MS", help_heading = "Faults")]
    pub slow_ms: Option<u64>,
    /// Fault: a request the resource server grants is answered with this many bytes of text (streamed,
    /// with a Content-Length), instead of the small JSON; `uma fetch` streams it (try `-o FILE`).
    #[arg(long = "large-body", value_name = "BYTES", help_heading = "Faults")]
    pub large_body: Option<usize>,
    /// Fault: a request the resource server grants is answered with a Content-Length of 64 KiB (or
    /// --large-body BYTES), and the connection is closed after half of it.
    #[arg(long = "truncate-body", help_heading = "Faults")]
    pub truncate_body: bool,
}

/// The body length `--truncate-body` announces without `--large-body`.
pub const TRUNCATED_BODY_DEFAULT: usize = 64 * 1024;

/// How the client authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ClientAuth {
    /// HTTP Basic with client id and secret (client_secret_basic).
    Basic,
    /// client_id and client_secret in the form body (client_secret_post).
    Post,
    /// The requesting party's access token as Bearer (Keycloak).
    Bearer,
    /// A public client: client_id only.
    None,
}

/// How the requesting party's initial access token is obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Grant {
    /// No initial grant (use --access-token, or go without one).
    None,
    /// OAuth client_credentials: the client is the requesting party.
    ClientCredentials,
    /// Resource-owner password grant with --username and --password.
    Password,
}

/// `uma fetch`.
#[derive(Debug, Args)]
#[command(after_help = EXIT_CODES)]
pub struct FetchArgs {
    /// URLs to fetch, in order, with one shared session.
    #[arg(required = true, value_name = "URL")]
    pub urls: Vec<String>,
    /// HTTP method (default GET, or POST when a body is given).
    #[arg(short = 'X', long = "method", value_name = "METHOD")]
    pub method: Option<String>,
    /// Extra request header 'Name: value' (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Request body, as curl: `@FILE` reads the whole file into memory (`@-` standard input) with
    /// carriage returns and newlines removed (use --data-binary @FILE for large files); repeated `-d` are joined with `&`. Sent with `Content-Type:
    /// application/x-www-form-urlencoded` unless -H gives one.
    #[arg(short = 'd', long = "data", value_name = "DATA")]
    pub data: Vec<String>,
    /// Request body sent exactly as given: `@FILE` streams the file byte for byte, never held in
    /// memory, opened again when a UMA challenge asks for a retry (over 1 MiB it goes with `Expect:
    /// 100-continue`, as curl sends it); `@-` reads standard input once (kept for the retry up to
    /// 4 MiB, longer input is sent once with `Expect: 100-continue`; read whole with several
    /// fetches). `Content-Type` as with -d.
    #[arg(
        long = "data-binary",
        value_name = "DATA",
        conflicts_with_all = ["data", "json"]
    )]
    pub data_binary: Option<String>,
    /// JSON request body (`@FILE`, `@-` as --data-binary); sets `Content-Type` and `Accept` to
    /// `application/json` unless -H gives them.
    #[arg(long = "json", value_name = "DATA", conflicts_with = "data")]
    pub json: Option<String>,
    /// HEAD request: print the status line and headers only.
    #[arg(
        short = 'I',
        long = "head",
        conflicts_with_all = ["data", "data_binary", "json", "method"]
    )]
    pub head: bool,
    /// Trusted AS issuer (repeatable). With none, nothing is trusted.
    #[arg(long = "issuer", value_name = "URL")]
    pub issuers: Vec<String>,
    /// OAuth client id at the trusted issuers.
    #[arg(long = "client-id", value_name = "ID")]
    pub client_id: Option<String>,
    /// Client secret (prefer the environment variable: command lines are visible to other users).
    #[arg(
        long = "client-secret",
        value_name = "SECRET",
        env = "UMA_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub client_secret: Option<String>,
    /// How the client authenticates at the token endpoint.
    #[arg(long = "client-auth", value_enum, default_value = "basic")]
    pub client_auth: ClientAuth,
    /// How to obtain the requesting party's initial access token.
    /// [default: none, or password with -u]
    #[arg(long = "grant", value_enum)]
    pub grant: Option<Grant>,
    /// User name for --grant password.
    #[arg(long = "username", value_name = "U")]
    pub username: Option<String>,
    /// The requesting party's login at the (first) trusted authorization server, as curl's `-u`:
    /// the same as `--grant password --username USER [--password PASSWORD]`. Without `:PASSWORD` the
    /// password comes from --password or UMA_PASSWORD, or is asked for (without echo) on a terminal.
    /// Nothing is sent to the resource server with it: UMA never gives it the user's password.
    #[arg(
        short = 'u',
        long = "user",
        value_name = "USER[:PASSWORD]",
        conflicts_with = "username"
    )]
    pub user: Option<String>,
    /// Password for --grant password.
    #[arg(
        long = "password",
        value_name = "P",
        env = "UMA_PASSWORD",
        hide_env_values = true
    )]
    pub password: Option<String>,
    /// The requesting party's access token, sent to the resource until an RPT replaces it.
    #[arg(
        long = "access-token",
        value_name = "TOKEN",
        env = "UMA_ACCESS_TOKEN",
        hide_env_values = true
    )]
    pub access_token: Option<String>,
    /// Claim token to push (e.g. an OpenID Connect ID token).
    #[arg(long = "claim-token", value_name = "TOKEN")]
    pub claim_token: Option<String>,
    /// Format of --claim-token (default: the OpenID Connect IDToken URI).
    #[arg(
        long = "claim-token-format",
        value_name = "URI",
        requires = "claim_token"
    )]
    pub claim_token_format: Option<String>,
    /// Extra token-endpoint parameter for RPT requests, KEY=VALUE (repeatable).
    #[arg(long = "rpt-param", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub rpt_params: Vec<(String, String)>,
    /// UMA flows allowed per request.
    #[arg(long = "max-flows", value_name = "N", default_value_t = 1)]
    pub max_flows: u32,
    /// Permit http:// issuers and endpoints (development on loopback).
    #[arg(long = "allow-insecure-http")]
    pub allow_insecure_http: bool,
    /// Trust exactly the CA certificates in this PEM file (one or more) instead of the built-in roots.
    #[arg(
        long = "cacert",
        value_name = "FILE",
        env = "SSL_CERT_FILE",
        hide_env_values = true
    )]
    pub cacert: Option<PathBuf>,
    /// Refused: an authorization tool does not skip TLS certificate checks (use --cacert FILE).
    #[arg(short = 'k', long = "insecure")]
    pub insecure: bool,
    /// Timeout per HTTP exchange, in seconds.
    #[arg(long = "timeout", value_name = "SECONDS", value_parser = parse_seconds)]
    pub timeout: Option<std::time::Duration>,
    /// Fetch the URL list this many times.
    #[arg(long = "repeat", value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub repeat: u32,
    /// Parallel workers sharing one session.
    #[arg(long = "concurrency", value_name = "C", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,
    /// Print one JSON object of counts and timing to stderr at exit.
    #[arg(long = "stats")]
    pub stats: bool,
    /// Print the status line and headers before the body.
    #[arg(short = 'i', long = "include")]
    pub include: bool,
    /// Trace each HTTP exchange to stderr (secrets redacted).
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
    /// Silent, as curl: print no error messages (the exit status still tells); see -S.
    #[arg(short = 's', long = "silent")]
    pub silent: bool,
    /// With -s, print error messages anyway (curl's -sS).
    #[arg(short = 'S', long = "show-error")]
    pub show_error: bool,
    /// Do not print response bodies (useful with --repeat and --stats).
    #[arg(long = "no-body")]
    pub no_body: bool,
    /// Write the response (its body; with -i its head too) to FILE instead of standard output (`-`
    /// is standard output). FILE is created, or truncated, when the final response arrives, and not
    /// at all without one or when -f suppresses it. A body cut short leaves in FILE what arrived and
    /// exits 4. Takes exactly one fetch: one URL and no --repeat.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Fail on HTTP errors, as curl: a final status of 400 or more prints nothing of the response
    /// (nor creates -o FILE), only the one-line error on stderr. The exit status is 1, as for any
    /// non-2xx status (curl's is 22).
    #[arg(short = 'f', long = "fail")]
    pub fail: bool,
    /// Follow resource-server redirects (up to --max-redirs). Without it a 3xx is the final
    /// response, printed as it is, as curl does. Credentials (Authorization, cookies, the RPT) never
    /// follow a redirect to another origin; 303, and 301/302 after a POST, become a GET without body.
    #[arg(short = 'L', long = "location")]
    pub location: bool,
    /// With -L, redirects followed per fetch; one more is an error (exit 1).
    #[arg(
        long = "max-redirs",
        value_name = "N",
        default_value_t = 50,
        requires = "location"
    )]
    pub max_redirs: u32,
    /// Print FORMAT to standard output after each fetch, as curl: %{http_code} (000 without a
    /// response), %{response_code}, %{size_download} (body bytes written), %{url_effective} (the
    /// last URL asked, without query or user info), %{num_redirects}, %{time_total} (seconds),
    /// %{exitcode}; %% is %, and \n, \r, \t, \\ are escapes.
    #[arg(short = 'w', long = "write-out", value_name = "FORMAT")]
    pub write_out: Option<String>,
    /// Keep AS metadata and RPTs between runs: in FILE (mode 0600), or in a Redis shared with other
    /// replicas (redis://…, sealed with the 64-hex-digit key in UMA_CACHE_KEY).
    #[arg(long = "cache", value_name = "FILE|redis://…", env = "UMA_CACHE")]
    pub cache: Option<String>,
}

/// `uma challenge`.
#[derive(Debug, Args)]
#[command(after_help = "\
Exit status: 0 a usable UMA challenge was found; 1 none was (the JSON is printed anyway, and the reason \
on stderr); 2 usage error.")]
pub struct ChallengeArgs {
    /// Response status the header came with (401, or 403 for UMA 1.0 servers) [default: 401, or the
    /// status line read from standard input].
    #[arg(long = "status", value_name = "CODE",
          value_parser = clap::value_parser!(u16).range(100..=599))]
    pub status: Option<u16>,
    /// Response body (a UMA 1.0 server puts {"ticket": "…"} here).
    #[arg(long = "body", value_name = "TEXT")]
    pub body: Option<String>,
    /// WWW-Authenticate field values, one argument per field line; a pasted `WWW-Authenticate:` prefix
    /// is accepted. `-` reads them from standard input, one per line (e.g. `curl -si URL | uma challenge
    /// -`: the status line is used, other header fields are ignored).
    #[arg(required = true, value_name = "HEADER_VALUE")]
    pub values: Vec<String>,
}

/// `uma discover`.
#[derive(Debug, Args)]
#[command(after_help = EXIT_CODES)]
pub struct DiscoverArgs {
    /// The issuer identifier (the challenge's as_uri).
    #[arg(value_name = "ISSUER")]
    pub issuer: String,
    /// Permit an http:// issuer and endpoints (development on loopback).
    #[arg(long = "allow-insecure-http")]
    pub allow_insecure_http: bool,
    /// Timeout for the request, in seconds.
    #[arg(long = "timeout", value_name = "SECONDS", value_parser = parse_seconds,
          default_value = "30")]
    pub timeout: std::time::Duration,
}

/// `uma demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {}

impl FetchArgs {
    /// The initial grant: `--grant`, or the password grant when `-u` is given.
    pub fn grant(&self) -> Grant {
        match (self.grant, &self.user) {
            (Some(grant), _) => grant,
            (None, Some(_)) => Grant::Password,
            (None, None) => Grant::None,
        }
    }

    /// Whether error messages are printed (`-s` without `-S` silences them).
    pub fn show_errors(&self) -> bool {
        !self.silent || self.show_error
    }
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err("expected KEY=VALUE".to_owned()),
    }
}

fn parse_seconds(s: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| "expected a number of seconds".to_owned())?;
    if !(secs.is_finite() && secs > 0.0 && secs <= 86_400.0) {
        return Err("expected a number of seconds between 0 and 86400".to_owned());
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn interface_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn key_value_and_seconds() {
        assert_eq!(
            parse_key_value("audience=rs").unwrap(),
            ("audience".into(), "rs".into())
        );
        assert_eq!(
            parse_key_value("scope=a=b").unwrap(),
            ("scope".into(), "a=b".into())
        );
        assert!(parse_key_value("=x").is_err());
        assert!(parse_key_value("novalue").is_err());
        assert_eq!(
            parse_seconds("0.5").unwrap(),
            std::time::Duration::from_millis(500)
        );
        assert!(parse_seconds("0").is_err());
        assert!(parse_seconds("nan").is_err());
        assert!(parse_seconds("-1").is_err());
    }
}
