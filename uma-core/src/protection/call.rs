//! [`ProtectionCall`]: one protection-API operation as a [`Machine`] over a [`ProtectionClient`].
//!
//! ```text
//!  start ─► metadata stale? ─yes─► claim Discovery ─busy─► Park ─► (resume: start over)
//!              │no                   │granted ─► Send discovery ─► store ─┐
//!              ▼ ◄────────────────────────────────────────────────────────┘
//!           PAT needed and missing/due? ─yes─► claim Pat ─busy─► Park ─► (resume: start over)
//!              │no                              │granted ─► Send PAT request ─► store ─┐
//!              ▼ ◄───────────────────────────────────────────────────────────────────────┘
//!           Send the operation ─► parse ─► 401 with a PAT, first time? ─yes─► drop that PAT, start over
//!                                              │no
//!                                              ▼
//!                                        Done(result)
//! ```

use std::time::Instant;

use url::Url;

use crate::auth::ClientCredentials;
use crate::cache::ExchangeKey;
use crate::discovery::{self, DiscoveryError, Endpoint};
use crate::flow::{Machine, Outgoing, RequestId, RequestKind, Step};
use crate::secret::AccessToken;

use super::{PepError, ProtectionClient, ProtectionError};

/// Why a protection machine failed, short of the transport (which is the driver's). Exhaustive on
/// purpose: a new cause must be mapped by every adapter.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The metadata could not be fetched or validated, or lacks the endpoint needed.
    #[error("authorization-server metadata: {0}")]
    Discovery(#[from] DiscoveryError),
    /// The authorization server refused the call or answered something unusable.
    #[error(transparent)]
    Protection(#[from] ProtectionError),
    /// The challenge could not be rendered.
    #[error(transparent)]
    Pep(#[from] PepError),
}

/// Who authenticates an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// The PAT, as Bearer (renewed once on 401).
    Pat,
    /// The resource server's client credentials.
    Client,
    /// Nobody, or credentials the operation carries itself (client registration).
    Anonymous,
}

/// The credentials handed to an operation's request builder.
#[derive(Clone, Copy, Debug)]
pub enum Credentials<'a> {
    /// For [`Caller::Pat`].
    Pat(&'a AccessToken),
    /// For [`Caller::Client`].
    Client(&'a ClientCredentials),
    /// For [`Caller::Anonymous`].
    None,
}

impl<'a> Credentials<'a> {
    /// The PAT, or an error for a builder that needs one and got something else.
    pub fn pat(self) -> Result<&'a AccessToken, ProtectionError> {
        match self {
            Credentials::Pat(pat) => Ok(pat),
            _ => Err(ProtectionError::InvalidInput("this operation needs a PAT")),
        }
    }
}

type Build =
    Box<dyn Fn(&Url, Credentials<'_>) -> Result<http::Request<Vec<u8>>, ProtectionError> + Send>;
type Parse<T> = fn(&http::Response<Vec<u8>>) -> Result<T, ProtectionError>;

enum Goal<T> {
    /// Just the PAT ([`ProtectionCall::pat`]).
    Pat(fn(AccessToken) -> T),
    Operation {
        name: &'static str,
        endpoint: Endpoint,
        caller: Caller,
        build: Build,
        parse: Parse<T>,
    },
}

#[derive(Debug)]
enum Phase {
    Idle,
    Discovery(u64),
    Pat { id: u64, sent: Instant },
    Operation { id: u64, pat: Option<AccessToken> },
    Parked,
    Done,
}

/// One protection-API operation: discovery if the metadata is stale → a PAT if the operation needs one
/// and none is held (or it is due) → the operation → on 401, drop that PAT once, renew, retry. Calls
/// sharing a [`ProtectionClient`] share its metadata and PAT; while one fetches either, the others
/// [`Step::Park`], so a herd costs one request. Ends in `Done(Ok(value))` or `Done(Err(CallError))`;
/// never in `Step::Failed` (transport failures are the driver's: call `abort`).
///
/// ```
/// use std::time::Instant;
/// use uma_core::discovery::EndpointPolicy;
/// use uma_core::{ClientCredentials, Issuer, Machine, Step};
/// use uma_core::protection::{Dialect, ProtectionCall, ProtectionClient};
///
/// let t0 = Instant::now();
/// let issuer = Issuer::parse("https://as.example")?;
/// let answer = http::Response::builder().body(
///     br#"{"issuer":"https://as.example","token_endpoint":"https://as.example/token",
///          "resource_registration_endpoint":"https://as.example/rs"}"#.to_vec(),
/// )?;
/// let metadata = uma_core::discovery::parse_metadata(&issuer, &answer, &EndpointPolicy::default())?;
/// let mut client = ProtectionClient::new(issuer, ClientCredentials::basic("rs", "s"),
///     Dialect::Uma, EndpointPolicy::default(), metadata, t0);
///
/// let mut first = ProtectionCall::delete_resource("album");
/// let mut second = ProtectionCall::delete_resource("album");
/// let Step::Send(pat_request) = first.start(&mut client, t0) else { panic!() };
/// assert!(matches!(second.start(&mut client, t0), Step::Park { .. })); // one PAT request at a time
///
/// let pat = http::Response::builder().status(200)
///     .body(br#"{"access_token":"pat","token_type":"Bearer","expires_in":300}"#.to_vec())?;
/// let Step::Send(delete) = first.handle_response(&mut client, pat_request.id, pat, t0) else { panic!() };
/// assert_eq!(delete.request.method(), "DELETE");
/// assert!(matches!(second.resume(&mut client, t0), Step::Send(_))); // shares the PAT
/// assert_eq!(client.stats().pat_requests, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ProtectionCall<T> {
    goal: Goal<T>,
    holder: u64,
    phase: Phase,
    renewed: bool,
    held: Option<ExchangeKey>,
}

impl<T> std::fmt::Debug for ProtectionCall<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match &self.goal {
            Goal::Pat(_) => "PAT",
            Goal::Operation { name, .. } => name,
        };
        f.debug_struct("ProtectionCall")
            .field("operation", &name)
            .field("phase", &self.phase)
            .finish_non_exhaustive()
    }
}

type Out<T> = Step<Result<T, CallError>>;

impl ProtectionCall<AccessToken> {
    /// Just the PAT: the one held if not due, else a new one.
    pub fn pat() -> Self {
        Self::with_goal(Goal::Pat(|pat| pat))
    }
}

impl<T> ProtectionCall<T> {
    /// Any operation: `build` makes the request for the `endpoint` URL with `caller`'s credentials and
    /// `parse` reads the answer; `name` names the endpoint in errors and in
    /// [`RequestKind::Protection`].
    pub fn new(
        name: &'static str,
        endpoint: Endpoint,
        caller: Caller,
        build: impl Fn(&Url, Credentials<'_>) -> Result<http::Request<Vec<u8>>, ProtectionError>
        + Send
        + 'static,
        parse: Parse<T>,
    ) -> Self {
        Self::with_goal(Goal::Operation {
            name,
            endpoint,
            caller,
            build: Box::new(build),
            parse,
        })
    }

    fn with_goal(goal: Goal<T>) -> Self {
        Self {
            goal,
            holder: 0,
            phase: Phase::Idle,
            renewed: false,
            held: None,
        }
    }

    fn finish(&mut self, client: &mut ProtectionClient, result: Result<T, CallError>) -> Out<T> {
        self.abort(client);
        Step::Done(result)
    }

    /// Claims `key` and returns `None`, or parks behind its holder.
    fn claim_or_park(
        &mut self,
        client: &mut ProtectionClient,
        key: ExchangeKey,
        now: Instant,
    ) -> Option<Out<T>> {
        match client.claim(&key, self.holder, now) {
            Ok(()) => {
                self.held = Some(key);
                None
            }
            Err(until) => {
                self.phase = Phase::Parked;
                Some(Step::Park { key, until })
            }
        }
    }

    fn release(&mut self, client: &mut ProtectionClient) {
        if let Some(key) = self.held.take() {
            client.release(&key, self.holder);
        }
    }

    fn send(
        &mut self,
        client: &mut ProtectionClient,
        kind: RequestKind,
        request: http::Request<Vec<u8>>,
    ) -> (u64, Out<T>) {
        let id = client.next_id();
        (
            id,
            Step::Send(Outgoing {
                id: RequestId(id),
                kind,
                attach_body: false,
                request,
            }),
        )
    }

    /// Everything from "is the metadata fresh?" on; run again after a park or a refused PAT.
    fn advance(&mut self, client: &mut ProtectionClient, now: Instant) -> Out<T> {
        if !client.metadata_fresh(now) {
            if let Some(park) =
                self.claim_or_park(client, ExchangeKey::Discovery(client.issuer.clone()), now)
            {
                return park;
            }
            if client.metadata_fresh(now) {
                // Another call refreshed it while we were parked.
                self.release(client);
            } else {
                client.stats.discovery_requests += 1;
                let request = discovery::discovery_request(&client.issuer);
                let (id, step) = self.send(client, RequestKind::Discovery, request);
                self.phase = Phase::Discovery(id);
                return step;
            }
        }
        let needs_pat = match &self.goal {
            Goal::Pat(_) => true,
            Goal::Operation { caller, .. } => *caller == Caller::Pat,
        };
        let pat = match client.pats.token(now).cloned() {
            Some(pat) => Some(pat),
            None if needs_pat => return self.request_pat(client, now),
            None => None,
        };
        let (name, endpoint, caller, build) = match &self.goal {
            Goal::Pat(done) => {
                let done = *done;
                return self.finish(client, Ok(done(pat.expect("needs_pat"))));
            }
            Goal::Operation {
                name,
                endpoint,
                caller,
                build,
                ..
            } => (*name, *endpoint, *caller, build),
        };
        let url = match client.metadata.endpoint(endpoint, &client.policy) {
            Ok(url) => url.clone(),
            Err(e) => return self.finish(client, Err(e.into())),
        };
        let credentials = match caller {
            Caller::Pat => Credentials::Pat(pat.as_ref().expect("needs_pat")),
            Caller::Client => Credentials::Client(&client.credentials),
            Caller::Anonymous => Credentials::None,
        };
        match build(&url, credentials) {
            Ok(request) => {
                let pat = pat.filter(|_| caller == Caller::Pat);
                let (id, step) = self.send(client, RequestKind::Protection(name), request);
                self.phase = Phase::Operation { id, pat };
                step
            }
            Err(e) => self.finish(client, Err(e.into())),
        }
    }

    fn request_pat(&mut self, client: &mut ProtectionClient, now: Instant) -> Out<T> {
        if let Some(park) = self.claim_or_park(client, client.pat_key(), now) {
            return park;
        }
        if client.pats.token(now).is_some() {
            // Landed while we were parked (the claim was free again when we came back).
            self.release(client);
            return self.advance(client, now);
        }
        let built = client
            .metadata
            .endpoint(Endpoint::Token, &client.policy)
            .map_err(CallError::from)
            .and_then(|url| {
                Ok(super::pat_request(
                    url,
                    &client.credentials,
                    client.pat_scope.as_deref(),
                )?)
            });
        match built {
            Ok(request) => {
                client.stats.pat_requests += 1;
                let (id, step) = self.send(client, RequestKind::Token, request);
                self.phase = Phase::Pat { id, sent: now };
                step
            }
            Err(e) => self.finish(client, Err(e)),
        }
    }
}

impl<T> Machine<ProtectionClient> for ProtectionCall<T> {
    type Output = Result<T, CallError>;

    fn start(&mut self, client: &mut ProtectionClient, now: Instant) -> Out<T> {
        self.holder = client.next_id();
        self.advance(client, now)
    }

    fn handle_response(
        &mut self,
        client: &mut ProtectionClient,
        id: RequestId,
        response: http::Response<Vec<u8>>,
        now: Instant,
    ) -> Out<T> {
        match std::mem::replace(&mut self.phase, Phase::Idle) {
            Phase::Discovery(expected) if expected == id.0 => {
                match discovery::parse_metadata(&client.issuer, &response, &client.policy) {
                    Ok(metadata) => {
                        client.store_metadata(metadata, now);
                        self.release(client);
                        self.advance(client, now)
                    }
                    Err(e) => self.finish(client, Err(e.into())),
                }
            }
            Phase::Pat { id: expected, sent } if expected == id.0 => {
                match super::parse_pat_response(&response) {
                    Ok(pat) => {
                        // Stored as of the moment it was asked for: the safe side of its lifetime.
                        client.pats.store(pat, sent);
                        self.release(client);
                        self.advance(client, now)
                    }
                    Err(e) => self.finish(client, Err(e.into())),
                }
            }
            Phase::Operation { id: expected, pat } if expected == id.0 => {
                let Goal::Operation { parse, .. } = &self.goal else {
                    unreachable!("only operations send operations")
                };
                let parse = *parse;
                match parse(&response) {
                    Err(e) if e.is_unauthorized() && !self.renewed && pat.is_some() => {
                        self.renewed = true;
                        client.forget_pat(pat.as_ref().expect("checked"));
                        self.advance(client, now)
                    }
                    result => {
                        let result = result.map_err(CallError::from);
                        self.finish(client, result)
                    }
                }
            }
            _ => self.finish(
                client,
                Err(
                    ProtectionError::InvalidInput("a response arrived for a request not awaited")
                        .into(),
                ),
            ),
        }
    }

    fn resume(&mut self, client: &mut ProtectionClient, now: Instant) -> Out<T> {
        match self.phase {
            Phase::Parked => self.advance(client, now),
            _ => self.finish(
                client,
                Err(ProtectionError::InvalidInput("resume without a park").into()),
            ),
        }
    }

    fn abort(&mut self, client: &mut ProtectionClient) {
        self.release(client);
        self.phase = Phase::Done;
    }
}
