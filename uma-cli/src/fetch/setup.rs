//! From flags to a configured [`UmaClient`]: trusted issuers, client credentials, the initial grant.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use uma_core::auth::ClientCredentials;
use uma_core::discovery::Issuer;
use uma_core::grant::{ID_TOKEN_FORMAT, PushedClaim};
use uma_core::secret::{ClaimToken, Password};
use uma_core::trace::ExchangeEvent;
use uma_core::{AuthorizationServer, Config, Party};
use uma_ureq::{Options, UmaClient};

use crate::args::{ClientAuth, FetchArgs, Grant};
use crate::output::CliError;
use crate::redact::Redactor;

/// A ready session and what the observer counts.
pub struct Session {
    /// The one agent every worker shares.
    pub agent: UmaClient,
    /// HTTP exchanges seen by the observer (logins included).
    pub exchanges: Arc<AtomicU64>,
    /// `--cache`, and the issuers whose entries it keeps.
    pub cache: Option<(crate::cache_file::Cache, Vec<Issuer>)>,
}

fn usage(msg: &str) -> CliError {
    CliError::Usage(msg.to_owned())
}

/// Parses the `--issuer` allow-list (docs/protocol.md §11.1: nothing else is ever contacted).
pub fn issuers(args: &FetchArgs) -> Result<Vec<Issuer>, CliError> {
    args.issuers
        .iter()
        .map(|s| Issuer::parse(s).map_err(|e| CliError::Usage(format!("--issuer: {e}"))))
        .collect()
}

/// The credentials for RPT requests (`--client-auth`).
fn rpt_credentials(args: &FetchArgs) -> Result<ClientCredentials, CliError> {
    let id = args.client_id.clone();
    let secret = args.client_secret.clone();
    Ok(match args.client_auth {
        ClientAuth::Basic | ClientAuth::Post => {
            let id = id.ok_or_else(|| usage("--client-auth basic|post needs --client-id"))?;
            let secret = secret.ok_or_else(|| {
                usage("--client-auth basic|post needs --client-secret (or UMA_CLIENT_SECRET)")
            })?;
            if args.client_auth == ClientAuth::Post {
                ClientCredentials::post(id, secret)
            } else {
                ClientCredentials::basic(id, secret)
            }
        }
        ClientAuth::Bearer => {
            if args.access_token.is_none() && args.grant() == Grant::None {
                return Err(usage(
                    "--client-auth bearer needs the requesting party's token: --access-token or --grant",
                ));
            }
            // Ticket grants carry the user's token; the client's own grants use its secret, if any.
            match secret {
                Some(secret) => {
                    ClientCredentials::bearer_confidential(id.unwrap_or_default(), secret)
                }
                None => ClientCredentials::bearer(id.unwrap_or_default()),
            }
        }
        ClientAuth::None => ClientCredentials::public(
            id.ok_or_else(|| usage("--client-auth none needs --client-id"))?,
        ),
    })
}

/// The credentials the initial grant authenticates with: the secret (basic, or post with
/// `--client-auth post`), or `client_id` alone for a public client (issue 6).
fn login_credentials(args: &FetchArgs) -> Result<ClientCredentials, CliError> {
    let id = args
        .client_id
        .clone()
        .ok_or_else(|| usage("--grant needs --client-id"))?;
    Ok(match (&args.client_secret, args.client_auth) {
        (Some(s), ClientAuth::Post) => ClientCredentials::post(id, s.clone()),
        (Some(s), _) => ClientCredentials::basic(id, s.clone()),
        (None, _) => ClientCredentials::public(id),
    })
}

fn config(args: &FetchArgs, issuers: &[Issuer], credentials: &ClientCredentials) -> Config {
    let claim = args.claim_token.as_ref().map(|t| PushedClaim {
        token: ClaimToken::new(t.clone()),
        format: args
            .claim_token_format
            .clone()
            .unwrap_or_else(|| ID_TOKEN_FORMAT.to_owned()),
    });
    let mut config = Config::new()
        .allow_insecure_http(args.allow_insecure_http)
        .with_max_flows(args.max_flows);
    config.rpt_params = args.rpt_params.clone();
    // curl's default: a 3xx is the answer; -L follows up to --max-redirs.
    config.max_redirects = if args.location { args.max_redirs } else { 0 };
    for issuer in issuers {
        let mut server = AuthorizationServer::new(issuer.clone(), credentials.clone());
        server.claim = claim.clone();
        config = config.with_authorization_server(server);
    }
    config
}

fn options(args: &FetchArgs, redactor: &Redactor, exchanges: &Arc<AtomicU64>) -> Options {
    let verbose = args.verbose;
    let redactor = redactor.clone();
    let counter = Arc::clone(exchanges);
    let mut options = Options::default().with_observer(move |event: &ExchangeEvent| {
        counter.fetch_add(1, Ordering::Relaxed);
        if event.kind == uma_core::RequestKind::Resource {
            super::write_out::record_resource(&event.url, event.status);
        }
        if verbose {
            // ExchangeEvent lines are secret-free; the redactor is a second line of defence.
            eprintln!("* {}", redactor.scrub(&event.line()));
        }
    });
    if let Some(timeout) = args.timeout {
        options = options.with_exchange_timeout(Some(timeout));
    }
    options
}

fn ureq_agent(args: &FetchArgs) -> Result<ureq::Agent, CliError> {
    // The UMA agent sends every exchange as it is (no redirects, statuses as values) on its own.
    let mut config = ureq::Agent::config_builder();
    if let Some(path) = &args.cacert {
        let roots = crate::tls::pem_certificates(path)?;
        config = config.tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::Specific(Arc::new(roots)))
                .build(),
        );
    }
    Ok(ureq::Agent::new_with_config(config.build()))
}

/// The user name and password of the initial password grant, settled before anything is sent.
#[derive(Default)]
pub struct LoginInput {
    /// `-u USER` or `--username`.
    pub username: Option<String>,
    /// `-u USER:PASSWORD`, `--password`, `UMA_PASSWORD` or the terminal prompt.
    pub password: Option<String>,
}

/// Settles the password grant's inputs: `-u USER[:PASSWORD]`, `--username`, `--password` (or
/// `UMA_PASSWORD`), and, when nothing gave a password and standard input is a terminal, a prompt without
/// echo. Nothing here is ever printed.
pub fn login_input(args: &FetchArgs) -> Result<LoginInput, CliError> {
    if args.user.is_some() && args.grant().ne(&Grant::Password) {
        return Err(usage(
            "-u logs the requesting party in with the password grant; it cannot go with --grant client-credentials or none",
        ));
    }
    if args.grant() != Grant::Password {
        return Ok(LoginInput::default());
    }
    let (username, inline) = match &args.user {
        Some(user) => match user.split_once(':') {
            Some((u, p)) => (Some(u.to_owned()), Some(p.to_owned())),
            None => (Some(user.clone()), None),
        },
        None => (args.username.clone(), None),
    };
    let username =
        username.ok_or_else(|| usage("--grant password needs --username (or -u USER)"))?;
    if username.is_empty() {
        return Err(usage("-u: the user name is empty"));
    }
    let password = match inline.or_else(|| args.password.clone()) {
        Some(p) => p,
        None => crate::prompt::password(&format!("password for {username}: "))?.ok_or_else(|| {
            usage("--grant password needs a password: -u USER:PASSWORD, --password or UMA_PASSWORD (no terminal to ask on)")
        })?,
    };
    Ok(LoginInput {
        username: Some(username),
        password: Some(password),
    })
}

/// Builds the session and runs the initial grant, if any.
/// `exchanges` counts every exchange the observer sees, the failed login's too.
pub fn session(
    args: &FetchArgs,
    login: &LoginInput,
    redactor: &Redactor,
    exchanges: Arc<AtomicU64>,
) -> Result<Session, CliError> {
    let issuers = issuers(args)?;
    let mut options = options(args, redactor, &exchanges);
    let cache = args.cache.as_deref().map(crate::cache_file::parse);
    if let (Some(crate::cache_file::Cache::Redis), Some(url)) = (&cache, &args.cache) {
        options = options.with_shared_store(crate::cache_file::redis_store(url)?);
    }
    // With no --issuer nothing is trusted, so no credentials are needed (or ever sent).
    let credentials = if issuers.is_empty() {
        if args.grant() != Grant::None {
            return Err(usage("--grant needs --issuer"));
        }
        ClientCredentials::public(args.client_id.clone().unwrap_or_default())
    } else {
        rpt_credentials(args)?
    };
    let http = ureq_agent(args)?;
    let agent = UmaClient::from_ureq(http.clone(), config(args, &issuers, &credentials))
        .with_options(options.clone());
    if let Some(token) = &args.access_token {
        agent.set_access_token(token.clone());
    }
    if let Some(crate::cache_file::Cache::File(path)) = &cache {
        agent.with_core(|c| crate::cache_file::load(path, c, !args.show_errors()));
    }
    if let (Some(issuer), true) = (issuers.first(), args.grant() != Grant::None) {
        let login_creds = login_credentials(args)?;
        // The core authenticates a bearer client's own grants exactly as `login_credentials` says
        // (Basic with the secret, or public); only a public RPT client with a secret logs in apart.
        let same = login_creds.method == credentials.method
            || credentials.method == uma_core::auth::ClientAuthMethod::RequestingPartyBearer;
        let login_agent = if same {
            agent.clone()
        } else {
            UmaClient::from_ureq(http, config(args, &issuers, &login_creds)).with_options(options)
        };
        run_login(&login_agent, issuer, args, login)?;
        if let Some(identity) = login_agent.with_core(|c| c.identity(&Party::default()).cloned()) {
            agent.set_identity(Party::default(), identity);
        }
    }
    Ok(Session {
        agent,
        exchanges,
        cache: cache.map(|c| (c, issuers)),
    })
}

fn run_login(
    agent: &UmaClient,
    issuer: &Issuer,
    args: &FetchArgs,
    input: &LoginInput,
) -> Result<(), CliError> {
    let result = match args.grant() {
        Grant::None => return Ok(()),
        Grant::ClientCredentials => agent.login_client_credentials(issuer, None),
        Grant::Password => {
            let (Some(username), Some(password)) = (&input.username, &input.password) else {
                return Err(usage("--grant password needs --username and a password"));
            };
            agent.login_password(issuer, username, Password::new(password.clone()), None)
        }
    };
    result.map_err(|e| crate::fetch::report::describe(&format!("login at {issuer}"), &e))
}
