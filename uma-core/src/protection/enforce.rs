//! The PEP as machines: [`Challenge`] (a fresh ticket rendered as a `401` UMA challenge) and
//! [`Enforce`] (introspect the RPT, decide, else challenge), built on [`ProtectionCall`].

use std::time::Instant;

use crate::discovery::Endpoint;
use crate::flow::{Machine, RequestId, Step};
use crate::secret::{AccessToken, Ticket};

use super::call::{CallError, ProtectionCall};
use super::{Introspection, Pep, PermissionBody, PermissionRequest, ProtectionClient};

/// What [`Enforce`] decided for one request.
#[derive(Debug)]
pub enum Decision {
    /// The RPT grants every permission asked for; here is what the AS said about it.
    Allow(Box<Introspection>),
    /// No RPT, or one that does not suffice: answer with this `401` UMA challenge (a fresh ticket).
    Challenge(http::Response<Vec<u8>>),
}

/// The PEP verdict: does `introspection` grant every scope of every permission at `unix_now`?
pub fn grants_all(
    introspection: &Introspection,
    permissions: &[PermissionRequest],
    unix_now: i64,
) -> bool {
    permissions.iter().all(|p| {
        let scopes: Vec<&str> = p.resource_scopes.iter().map(String::as_str).collect();
        introspection.allows_all(&p.resource_id, &scopes, unix_now)
    })
}

type Out<T> = Step<Result<T, CallError>>;

/// Maps a finished sub-call's value; other steps pass through.
fn then<A, B>(step: Out<A>, next: impl FnOnce(A) -> Out<B>) -> Out<B> {
    match step {
        Step::Done(Ok(value)) => next(value),
        Step::Done(Err(e)) => Step::Done(Err(e)),
        Step::Send(out) => Step::Send(out),
        Step::Wait { until } => Step::Wait { until },
        Step::Park { key, until } => Step::Park { key, until },
        Step::Failed(failure) => Step::Failed(failure),
    }
}

/// A fresh ticket for `permissions`, rendered as the `401` UMA challenge (UMAG §3.2), ready to return
/// from a handler. On `Err`, answer with [`Pep::unreachable`].
#[derive(Debug)]
pub struct Challenge {
    ticket: Option<ProtectionCall<Ticket>>,
    error: Option<CallError>,
    realm: Option<String>,
}

impl Challenge {
    /// The challenge for `permissions`, in `dialect`'s body form, with `realm="…"` when given.
    pub fn new(
        permissions: Vec<PermissionRequest>,
        dialect: super::Dialect,
        realm: Option<String>,
    ) -> Self {
        match PermissionBody::for_dialect(dialect, permissions) {
            Ok(body) => Self {
                ticket: Some(ProtectionCall::request_ticket(body)),
                error: None,
                realm,
            },
            Err(e) => Self {
                ticket: None,
                error: Some(e.into()),
                realm,
            },
        }
    }

    fn render(&self, client: &ProtectionClient, ticket: Ticket) -> Out<http::Response<Vec<u8>>> {
        let rendered = (|| {
            let endpoint = client
                .metadata
                .endpoint(Endpoint::Permission, &client.policy)?;
            let mut pep = Pep::new(client.issuer.as_str(), endpoint.clone(), client.dialect)?;
            if let Some(realm) = &self.realm {
                pep = pep.with_realm(realm.clone())?;
            }
            Ok(pep.challenge_for_ticket(&ticket)?)
        })();
        Step::Done(rendered)
    }

    fn step(
        &mut self,
        client: &mut ProtectionClient,
        step: Out<Ticket>,
    ) -> Out<http::Response<Vec<u8>>> {
        then(step, |ticket| self.render(client, ticket))
    }
}

impl Machine<ProtectionClient> for Challenge {
    type Output = Result<http::Response<Vec<u8>>, CallError>;

    fn start(
        &mut self,
        client: &mut ProtectionClient,
        now: Instant,
    ) -> Out<http::Response<Vec<u8>>> {
        if let Some(e) = self.error.take() {
            return Step::Done(Err(e));
        }
        let Some(call) = self.ticket.as_mut() else {
            return Step::Done(Err(e_or_done(None)));
        };
        let step = call.start(client, now);
        self.step(client, step)
    }

    fn handle_response(
        &mut self,
        client: &mut ProtectionClient,
        id: RequestId,
        response: http::Response<Vec<u8>>,
        now: Instant,
    ) -> Out<http::Response<Vec<u8>>> {
        let Some(call) = self.ticket.as_mut() else {
            return Step::Done(Err(e_or_done(None)));
        };
        let step = call.handle_response(client, id, response, now);
        self.step(client, step)
    }

    fn resume(
        &mut self,
        client: &mut ProtectionClient,
        now: Instant,
    ) -> Out<http::Response<Vec<u8>>> {
        let Some(call) = self.ticket.as_mut() else {
            return Step::Done(Err(e_or_done(None)));
        };
        let step = call.resume(client, now);
        self.step(client, step)
    }

    fn abort(&mut self, client: &mut ProtectionClient) {
        if let Some(call) = self.ticket.as_mut() {
            call.abort(client);
        }
    }
}

fn e_or_done(error: Option<CallError>) -> CallError {
    error.unwrap_or_else(|| {
        super::ProtectionError::InvalidInput("the challenge already finished").into()
    })
}

#[derive(Debug)]
enum EnforcePhase {
    Introspect(ProtectionCall<Introspection>),
    Challenge(Challenge),
}

/// The whole PEP decision for one request: the RPT (from `Authorization: Bearer`, see
/// [`super::bearer_token`]) is introspected and must grant every scope of every permission asked for
/// ([`grants_all`]); otherwise, or without an RPT, the answer is a [`Challenge`] for exactly those
/// permissions. `Err` means the AS or its answer failed: answer with [`Pep::unreachable`].
#[derive(Debug)]
pub struct Enforce {
    phase: EnforcePhase,
    permissions: Vec<PermissionRequest>,
    dialect: super::Dialect,
    realm: Option<String>,
    unix_now: i64,
}

impl Enforce {
    /// Decides for `rpt` (if the request carried one) and `permissions`. `unix_now` (seconds since the
    /// epoch, from the driver's clock) judges the introspected permissions' `exp`.
    pub fn new(
        rpt: Option<AccessToken>,
        permissions: Vec<PermissionRequest>,
        dialect: super::Dialect,
        realm: Option<String>,
        unix_now: i64,
    ) -> Self {
        let phase = match rpt {
            Some(rpt) => EnforcePhase::Introspect(ProtectionCall::introspect(rpt, dialect)),
            None => {
                EnforcePhase::Challenge(Challenge::new(permissions.clone(), dialect, realm.clone()))
            }
        };
        Self {
            phase,
            permissions,
            dialect,
            realm,
            unix_now,
        }
    }

    fn step(
        &mut self,
        client: &mut ProtectionClient,
        now: Instant,
        step: Out<Introspection>,
    ) -> Out<Decision> {
        then(step, |introspection| {
            if grants_all(&introspection, &self.permissions, self.unix_now) {
                return Step::Done(Ok(Decision::Allow(Box::new(introspection))));
            }
            let permissions = std::mem::take(&mut self.permissions);
            self.phase = EnforcePhase::Challenge(Challenge::new(
                permissions,
                self.dialect,
                self.realm.clone(),
            ));
            self.start(client, now)
        })
    }
}

fn challenged(step: Out<http::Response<Vec<u8>>>) -> Out<Decision> {
    then(step, |response| {
        Step::Done(Ok(Decision::Challenge(response)))
    })
}

impl Machine<ProtectionClient> for Enforce {
    type Output = Result<Decision, CallError>;

    fn start(&mut self, client: &mut ProtectionClient, now: Instant) -> Out<Decision> {
        match &mut self.phase {
            EnforcePhase::Introspect(call) => {
                let step = call.start(client, now);
                self.step(client, now, step)
            }
            EnforcePhase::Challenge(challenge) => challenged(challenge.start(client, now)),
        }
    }

    fn handle_response(
        &mut self,
        client: &mut ProtectionClient,
        id: RequestId,
        response: http::Response<Vec<u8>>,
        now: Instant,
    ) -> Out<Decision> {
        match &mut self.phase {
            EnforcePhase::Introspect(call) => {
                let step = call.handle_response(client, id, response, now);
                self.step(client, now, step)
            }
            EnforcePhase::Challenge(c) => challenged(c.handle_response(client, id, response, now)),
        }
    }

    fn resume(&mut self, client: &mut ProtectionClient, now: Instant) -> Out<Decision> {
        match &mut self.phase {
            EnforcePhase::Introspect(call) => {
                let step = call.resume(client, now);
                self.step(client, now, step)
            }
            EnforcePhase::Challenge(c) => challenged(c.resume(client, now)),
        }
    }

    fn abort(&mut self, client: &mut ProtectionClient) {
        match &mut self.phase {
            EnforcePhase::Introspect(call) => call.abort(client),
            EnforcePhase::Challenge(c) => c.abort(client),
        }
    }
}
