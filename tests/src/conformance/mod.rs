//! The conformance suite: hostile servers, UMA flows and the protection API, written once and run by
//! every adapter, plain and over TLS.
//!
//! An adapter's tests implement [`Adapter`] (build a [`Subject`] from a neutral [`Setup`]) and, when the
//! adapter has a protection API, [`ProtectionAdapter`]; then they invoke
//! [`conformance_suite!`](crate::conformance_suite!) (and
//! [`protection_suite!`](crate::protection_suite!)). Each case is a function `case(adapter, tls)` in
//! [`hostile`], [`flows`] or [`protection`]; the macros make one `#[test]` per case and transport, so a
//! failure names the case.
//!
//! The kit depends on no `uma` crate, not even `uma-core`: it cannot agree with a client by accident.
//! So the adapter maps its own error to the neutral [`Failure`] (one function per adapter), and every
//! verdict here is stated in the kit's own words ([`Class`]).
//!
//! Every call the suite makes is blocking. An async adapter owns a runtime and blocks on it; herd cases
//! go through [`Subject::send_concurrently`] and [`Protector::herd_without_token`], which an async
//! adapter runs as tasks and a blocking one on threads.

mod checks;
pub mod flows;
pub mod hostile;
pub mod protection;
mod raw;
pub mod tasks;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use crate::{Dialect, Kit, KitConfig};

/// How an adapter's client is set up for a case: the trusted authorization server and the knobs the
/// cases turn, all in neutral terms. The adapter builds its own configuration from it.
#[derive(Clone, Debug)]
pub struct Setup {
    /// The trusted authorization server's issuer.
    pub issuer: String,
    /// The client's id at that server (HTTP Basic).
    pub client_id: String,
    /// The client's secret at that server.
    pub client_secret: String,
    /// The test CA (DER) to trust, when the kit speaks TLS; no other root is needed.
    pub ca_der: Option<Vec<u8>>,
    /// Allow plain-http authorization servers (the kit without TLS).
    pub allow_insecure_http: bool,
    /// Allow a token endpoint on another origin than the issuer.
    pub allow_cross_origin_token_endpoint: bool,
    /// Redirects of the resource server followed (0: none, the core's default).
    pub max_redirects: u32,
    /// The bound on UMA flows per request; `None`: the core's default.
    pub max_flows: Option<u32>,
    /// Bound on one HTTP exchange (`None`: none).
    pub exchange_timeout: Option<Duration>,
    /// Bound on the whole request, UMA dance included (`None`: none).
    pub request_timeout: Option<Duration>,
    /// An ID token pushed as a claim token (format `…:id_token`) when the AS asks for claims.
    pub pushed_id_token: Option<String>,
    /// Push that claim with the first grant already, instead of after `need_info`.
    pub push_claims_always: bool,
    /// The shortest wait between polls after `request_submitted`; `None`: the core's default.
    pub min_poll_interval: Option<Duration>,
    /// The longest wait between polls that is honoured; `None`: the core's default.
    pub max_poll_interval: Option<Duration>,
    /// Polls after `request_submitted` before giving up; `None`: the core's default.
    pub max_polls: Option<u32>,
    /// Resource-server origins whose authorization server is known without an `as_uri` (origin,
    /// issuer), for challenges that name none.
    pub issuer_for_origin: Vec<(String, String)>,
}

impl Setup {
    /// Client `app` / `app-secret` at the kit's AS; plain http allowed only when the kit speaks it;
    /// the suite's timeouts ([`EXCHANGE`], [`REQUEST`]).
    pub fn for_kit(kit: &Kit) -> Setup {
        Setup {
            issuer: kit.issuer(),
            client_id: "app".into(),
            client_secret: "app-secret".into(),
            ca_der: kit.ca_certificate_der(),
            allow_insecure_http: !kit.config().tls,
            allow_cross_origin_token_endpoint: false,
            max_redirects: 0,
            max_flows: None,
            exchange_timeout: Some(EXCHANGE),
            request_timeout: Some(REQUEST),
            pushed_id_token: None,
            push_claims_always: false,
            min_poll_interval: Some(Duration::from_millis(20)),
            max_poll_interval: None,
            max_polls: None,
            issuer_for_origin: Vec::new(),
        }
    }

    /// The same, trusting `issuer` instead of the kit's AS.
    pub fn trusting(mut self, issuer: String) -> Setup {
        self.issuer = issuer;
        self
    }
}

/// Exchange timeout of the suite: short, so every case stays fast.
pub const EXCHANGE: Duration = Duration::from_secs(2);
/// Request timeout of the suite.
pub const REQUEST: Duration = Duration::from_secs(6);
/// Upper bound of a case that involves no timeout: 5× the exchange timeout (a bound, not a benchmark).
pub const BOUND: Duration = Duration::from_secs(10);
/// The short exchange timeout of the slow-server cases.
pub const SHORT: Duration = Duration::from_millis(300);
/// 5× [`SHORT`].
pub const SHORT_BOUND: Duration = Duration::from_millis(1500);

/// What a request came to: the final response with its body read, or a [`Failure`].
pub type Outcome = Result<http::Response<Vec<u8>>, Failure>;

/// A failed call, in neutral terms.
#[derive(Debug)]
pub struct Failure {
    /// What kind of failure.
    pub class: Class,
    /// The last resource-server response the error kept (a flow that ended on a 401), if any.
    pub response: Option<Box<http::Response<Vec<u8>>>>,
    /// The error's `Display` and `Debug` together, for the "no secret printed" checks.
    pub shown: String,
}

/// Which deadline ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deadline {
    /// One HTTP exchange took too long.
    Exchange,
    /// The whole request took too long.
    Request,
}

/// The kinds of failure the cases tell apart: the root cause, as the adapter's error names it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Class {
    /// A challenge named an authorization server the client does not trust.
    Untrusted {
        /// The `as_uri` of the challenge.
        as_uri: String,
    },
    /// A plain-http authorization server without the opt-in (refused before or by discovery).
    InsecureIssuer,
    /// The challenge's `as_uri` is no usable issuer (query, fragment, control characters…).
    InvalidAsUri,
    /// The challenge's ticket is unusable (too long, control characters…).
    InvalidTicket,
    /// Another unparsable challenge.
    InvalidChallenge,
    /// Discovery named another issuer (mix-up defence).
    IssuerMismatch,
    /// Discovery put an endpoint on another origin.
    CrossOriginEndpoint {
        /// The metadata field.
        field: String,
    },
    /// Discovery put an endpoint on plain http under an https issuer.
    InsecureEndpoint {
        /// The metadata field.
        field: String,
    },
    /// The discovery document is not JSON.
    DiscoveryNotJson,
    /// Discovery answered with this status.
    DiscoveryStatus(u16),
    /// Another discovery failure.
    Discovery,
    /// A token response that is no token (bad JSON, an unusable `access_token`, an odd status).
    MalformedTokenResponse {
        /// Its HTTP status.
        status: u16,
    },
    /// The token endpoint answered with an OAuth error.
    TokenEndpoint,
    /// The token endpoint refused the client's credentials.
    ClientAuthentication,
    /// The authorization server denied the permission.
    Denied,
    /// The AS asked for claims the client cannot give.
    NeedInfo,
    /// The owner did not approve within the polls allowed.
    ApprovalPending,
    /// Redirects past the configured bound.
    TooManyRedirects {
        /// The bound.
        max: u32,
    },
    /// UMA flows past the configured bound.
    MaxFlows {
        /// The bound.
        flows: u32,
    },
    /// A deadline ran out.
    Timeout(Deadline),
    /// The exchange failed below HTTP (connect, TLS, I/O, protocol).
    Transport,
    /// A response body was over its limit.
    BodyTooLarge {
        /// The limit in bytes.
        limit: u64,
        /// Whether the body came from an authorization server (else from the resource server).
        from_authorization_server: bool,
    },
    /// An authorization server answered a protection call with this status.
    Status(u16),
    /// Another failure of the UMA flow: the core's short name for it (`dead_ticket`, …).
    Flow(String),
    /// Anything else: the adapter's own words for it.
    Other(String),
}

impl Class {
    /// Whether the UMA flow itself failed (the client refused or the AS said no), as opposed to the
    /// transport, a deadline or a body limit.
    pub fn is_flow_failure(&self) -> bool {
        !matches!(
            self,
            Class::Timeout(_) | Class::Transport | Class::BodyTooLarge { .. } | Class::Other(_)
        )
    }
}

impl Failure {
    /// The status of the kept resource response.
    pub fn status(&self) -> Option<u16> {
        self.response.as_ref().map(|r| r.status().as_u16())
    }
}

/// A client under test, built by [`Adapter::subject`]. Blocking; cheap to share across threads.
pub trait Subject: Send + Sync {
    /// Sends `request` through the UMA client and reads the final answer's body to the end.
    fn send(&self, request: http::Request<Vec<u8>>) -> Outcome;

    /// Sets the default party's own access token (sent to resource servers before any RPT).
    fn set_access_token(&self, token: &str);

    /// Sends every request at once (threads or tasks), answers in the same order.
    fn send_concurrently(&self, requests: Vec<http::Request<Vec<u8>>>) -> Vec<Outcome>;

    /// Token requests this client sent to authorization servers (its own counter).
    fn token_requests(&self) -> u64;

    /// Times a request parked behind another request's exchange (its own counter).
    fn parked(&self) -> u64;
}

/// What an adapter's tests provide: a [`Subject`] for a [`Setup`].
pub trait Adapter: Sync {
    /// A fresh client (its own caches) for `setup`.
    fn subject(&self, setup: &Setup) -> Box<dyn Subject>;
}

/// A protection handle under test (a resource server's view of the AS), built by
/// [`ProtectionAdapter::protector`]. Blocking; cheap to share across threads.
pub trait Protector: Send + Sync {
    /// Registers a resource set with these scopes; its id.
    fn create_resource(&self, name: &str, scopes: &[&str]) -> Result<String, Failure>;
    /// The ids of the registered resource sets.
    fn list_resources(&self) -> Result<Vec<String>, Failure>;
    /// A permission ticket for `scopes` of `resource`.
    fn request_ticket(&self, resource: &str, scopes: &[&str]) -> Result<String, Failure>;
    /// The PEP's verdict on a request carrying `authorization` (or none) for `scope` of `resource`:
    /// the status of the answer to give (200 when allowed, the challenge's 401, or a refusal).
    fn enforce(
        &self,
        authorization: Option<&str>,
        resource: &str,
        scope: &str,
    ) -> Result<u16, Failure>;
    /// `n` calls at once (threads or tasks) that each need a fresh ticket for `scope` of `resource`:
    /// alternately the PEP's challenge (`try_challenge_for`) and a token-less [`Protector::enforce`].
    /// The status each answers with, in order.
    fn herd_without_token(
        &self,
        n: usize,
        resource: &str,
        scope: &str,
    ) -> Vec<Result<u16, Failure>>;
    /// The PEP's answer when a request needs permissions: a `401` challenge with a fresh ticket, or
    /// a `403` when the AS cannot be reached (`challenge_for`).
    fn challenge(&self, resource: &str, scope: &str) -> http::Response<Vec<u8>>;
    /// PAT requests this handle sent (its own counter).
    fn pat_requests(&self) -> u64;
    /// Times a call parked behind another call's discovery or PAT request (its own counter).
    fn parked(&self) -> u64;
    /// The handle's `Debug`, for the "no secret printed" checks.
    fn shown(&self) -> String;
}

/// How a protection handle is set up: the AS, the resource server's credentials, the dialect.
#[derive(Clone, Debug)]
pub struct ProtectionSetup {
    /// The authorization server's issuer.
    pub issuer: String,
    /// The resource server's client id and secret (HTTP Basic).
    pub client_id: String,
    /// The secret.
    pub client_secret: String,
    /// The kit's dialect; the adapter picks its protection dialect from it.
    pub dialect: Dialect,
    /// The test CA (DER) to trust, when the kit speaks TLS.
    pub ca_der: Option<Vec<u8>>,
    /// Allow plain-http authorization servers (the kit without TLS).
    pub allow_insecure_http: bool,
}

impl ProtectionSetup {
    /// Client `rs` / `rs-secret` at the kit's AS, in the kit's dialect.
    pub fn for_kit(kit: &Kit) -> ProtectionSetup {
        ProtectionSetup {
            issuer: kit.issuer(),
            client_id: "rs".into(),
            client_secret: "rs-secret".into(),
            dialect: kit.config().dialect.clone(),
            ca_der: kit.ca_certificate_der(),
            allow_insecure_http: !kit.config().tls,
        }
    }
}

/// What an adapter with a protection API provides on top of [`Adapter`].
pub trait ProtectionAdapter: Adapter {
    /// A fresh protection handle (its own PAT) for `setup`; discovery may run here.
    fn protector(&self, setup: &ProtectionSetup) -> Box<dyn Protector>;
}

/// A kit of `dialect` with fast polling, with TLS when asked.
pub fn kit(dialect: Dialect, tls: bool) -> Kit {
    let mut config = KitConfig::new(dialect);
    config.policy.poll_interval = 0;
    start(config, tls)
}

/// Starts a kit from `config`, with TLS when asked.
pub fn start(config: KitConfig, tls: bool) -> Kit {
    Kit::start(if tls { config.with_tls() } else { config }).expect("kit starts")
}

/// A GET request for `url`.
pub fn get(url: &str) -> http::Request<Vec<u8>> {
    http::Request::get(url).body(Vec::new()).expect("a GET")
}

/// Runs `call` and asserts it neither panics nor takes `bound` or longer.
pub fn bounded<T>(bound: Duration, call: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(call)).expect("the client panicked");
    let elapsed = started.elapsed();
    assert!(elapsed < bound, "took {elapsed:?}, bound {bound:?}");
    outcome
}

/// A copy of `response` (status, headers, body), for [`Failure::response`].
pub fn kept(response: &http::Response<Vec<u8>>) -> Box<http::Response<Vec<u8>>> {
    let mut copy = http::Response::new(response.body().clone());
    *copy.status_mut() = response.status();
    *copy.headers_mut() = response.headers().clone();
    Box::new(copy)
}

/// The failure of `outcome`; panics on a response.
pub fn failure(outcome: &Outcome) -> &Failure {
    match outcome {
        Err(failure) => failure,
        Ok(response) => panic!("expected an error, got {}", response.status()),
    }
}

/// The class of `outcome`'s failure; panics on a response.
pub fn class(outcome: &Outcome) -> &Class {
    &failure(outcome).class
}

/// One `#[test]` per case of [`hostile`] and [`flows`] and per transport, for `$adapter` (an expression
/// of a type implementing [`Adapter`], in scope where the macro is invoked). Tests are named
/// `<area>::<plain|tls>::<case>`. Cases whose servers speak plain http only (the raw canned-bytes
/// server) or that need an https issuer run on that transport only.
#[macro_export]
macro_rules! conformance_suite {
    ($adapter:expr) => {
        $crate::__conformance_cases! { $adapter;
            hostile {
                both: [
                    untrusted_as_uri,
                    token_endpoint_on_hostile_origin,
                    oversized_as_answers,
                    slow_servers,
                    stalled_challenge_body,
                    as_drops_connection,
                    rs_redirect_to_other_origin,
                    bad_as_answers_do_not_brick,
                ],
                plain: [
                    as_uri_request_forgery,
                    issuer_mismatch,
                    http_issuer_without_opt_in,
                    html_and_garbage,
                    as_redirects_never_followed,
                    rs_redirect_loop,
                    rs_loops_401,
                    error_output_hides_the_ticket,
                    challenge_with_control_characters,
                    token_with_crlf_never_a_header,
                    token_with_crlf_rejected,
                    token_with_htab_or_non_ascii_never_sent,
                    token_500_with_access_token,
                    nested_challenge_at_token_endpoint,
                    huge_challenge_headers,
                ],
                tls: [http_token_endpoint_without_opt_in],
            }
            flows {
                both: [
                    cached_rpt,
                    rpt_upgrade,
                    refresh_on_expiry,
                    need_info_pushes_claims,
                    need_info_without_claim,
                    request_submitted_then_approval,
                    request_submitted_honours_the_interval,
                    request_submitted_bounded,
                    request_submitted_past_deadline,
                    denial,
                    dead_ticket_retry,
                    use_limited_rpt,
                    looping_rs_stopped,
                    large_body_replayed,
                    redirects_keep_credentials_home,
                    herd_shares_one_exchange,
                    challenge_styles,
                    max_flows_zero_runs_no_flow,
                    unbounded_timeouts_do_not_panic,
                ],
                plain: [],
                tls: [],
            }
        }
    };
}

/// One `#[test]` per case of [`protection`] and per transport, for `$adapter` (an expression of a type
/// implementing [`ProtectionAdapter`]). Tests are named `protection::<plain|tls>::<case>`.
#[macro_export]
macro_rules! protection_suite {
    ($adapter:expr) => {
        $crate::__conformance_cases! { $adapter;
            protection {
                both: [
                    a_refused_pat_is_renewed_once_then_reported,
                    a_herd_on_a_fresh_handle_costs_one_pat_request,
                    a_herd_with_an_expired_pat_costs_one_renewal,
                    limits_apply_to_protection_calls,
                    a_failed_pat_request_frees_its_claim,
                    a_wrong_client_secret_fails_at_the_token_endpoint,
                    a_pep_answers_403_when_the_as_is_unreachable,
                ],
                plain: [],
                tls: [],
            }
        }
    };
}

/// The machinery of [`conformance_suite!`](crate::conformance_suite!) and
/// [`protection_suite!`](crate::protection_suite!): for each area, a module with a
/// `plain` and a `tls` module of tests, each calling `$crate::conformance::<area>::<case>`; `both`
/// cases go in either.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_cases {
    ($adapter:expr; $( $area:ident {
        both: [$($both:ident),* $(,)?],
        plain: [$($plain:ident),* $(,)?],
        tls: [$($tls:ident),* $(,)?] $(,)?
    } )*) => {
        $(
            mod $area {
                #[allow(unused_imports)]
                use super::*;
                mod plain {
                    #[allow(unused_imports)]
                    use super::*;
                    $( #[test] fn $both() { $crate::conformance::$area::$both(&$adapter, false) } )*
                    $( #[test] fn $plain() { $crate::conformance::$area::$plain(&$adapter, false) } )*
                }
                mod tls {
                    #[allow(unused_imports)]
                    use super::*;
                    $( #[test] fn $both() { $crate::conformance::$area::$both(&$adapter, true) } )*
                    $( #[test] fn $tls() { $crate::conformance::$area::$tls(&$adapter, true) } )*
                }
            }
        )*
    };
}
