//! The driving API every machine offers: a [`Machine`] emits one [`Step`] per call, a request to
//! send is an [`Outgoing`] named by a [`RequestId`]. [`Flow`](crate::Flow) is the main machine;
//! [`Login`](crate::Login), [`KeycloakPermissions`](crate::KeycloakPermissions) and the protection
//! machines use the same interface, so adapters write one driver loop for all of them.

use std::time::Instant;

use crate::cache::ExchangeKey;
use crate::client::Client;
use crate::error::Failure;

/// Identifies one HTTP exchange a machine asked for; hand it back with the response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RequestId(pub(crate) u64);

/// What an emitted request is for. Adapters use it for limits: authorization-server answers are read with
/// a size limit; resource answers are the application's business.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestKind {
    /// The application's request (or its retry) to the resource server.
    Resource,
    /// `GET {issuer}/.well-known/uma2-configuration`.
    Discovery,
    /// A token-endpoint POST: ticket grant, refresh or login.
    Token,
    /// A protection-API call by a resource server (resource registration, permission, introspection,
    /// client registration), named by its endpoint. Discovery and PAT requests of the protection
    /// machines are [`RequestKind::Discovery`] and [`RequestKind::Token`].
    Protection(&'static str),
}

impl RequestKind {
    /// Whether the request goes to an authorization server.
    pub fn is_authorization_server(self) -> bool {
        !matches!(self, RequestKind::Resource)
    }
}

/// An HTTP request to send. Send it as it is: never follow redirects (the flow handles resource-server
/// redirects itself, and authorization-server redirects are never followed, `docs/protocol.md` §11.3).
///
/// `Debug` shows the method, URI, header names and body length only: token requests carry credentials in
/// their form body.
pub struct Outgoing {
    /// Hand this back with the response.
    pub id: RequestId,
    /// What the request is for.
    pub kind: RequestKind,
    /// The request.
    pub request: http::Request<Vec<u8>>,
    /// Attach the application's request body, which the driver holds: set only on resource requests of
    /// a flow made with [`Flow::for_head`](crate::Flow::for_head) (and cleared once a redirect turns
    /// the request into a `GET`). `request`'s own body is then empty.
    pub attach_body: bool,
}

impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<&str> = self.request.headers().keys().map(|k| k.as_str()).collect();
        f.debug_struct("Outgoing")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("method", self.request.method())
            // Without userinfo, query or fragment: a query may carry a credential.
            .field("uri", &crate::trace::redacted_url(self.request.uri()))
            .field("headers", &headers)
            .field(
                "body",
                &format_args!("<{} bytes>", self.request.body().len()),
            )
            .field("attach_body", &self.attach_body)
            .finish()
    }
}

/// What a machine wants next.
#[derive(Debug)]
#[must_use = "a step must be acted on"]
pub enum Step<T> {
    /// Send this request and pass the response to `handle_response`.
    Send(Outgoing),
    /// Sleep until `until`, then call `resume` (`request_submitted` polling).
    Wait {
        /// When to resume.
        until: Instant,
    },
    /// Another request is running the exchange for `key` (one this request needs, or one upgrading the
    /// RPT it would present): wait until the client reports `key` through
    /// [`Client::poll_finished_exchange`], or until `until`, then call `resume`.
    Park {
        /// The exchange waited on.
        key: ExchangeKey,
        /// Resume at the latest then.
        until: Instant,
    },
    /// Finished.
    Done(T),
    /// Failed, with the last resource response where there was one.
    Failed(Failure),
}

impl<T> Step<T> {
    /// Whether going on from this step sends the application's request again, body included: a resend,
    /// or an exchange, a wait or a park that ends in one (which may be a `GET` a redirect made of it,
    /// without the body: ask this only of the answer to a send that carried the body). `false` for the
    /// end. A driver whose request body could be sent only once, and was, stops here instead of asking
    /// an authorization server for anything.
    pub fn needs_application_body(&self) -> bool {
        match self {
            Step::Done(_) | Step::Failed(_) => false,
            Step::Send(out) => out.attach_body || out.kind.is_authorization_server(),
            Step::Wait { .. } | Step::Park { .. } => true,
        }
    }
}

/// The stepping interface every machine offers, so adapters write one driver loop:
///
/// ```text
/// let mut step = machine.start(&mut client, now);
/// loop {
///     step = match step {
///         Step::Send(out)         => { let r = send(out.request)?; machine.handle_response(&mut client, out.id, r, now) }
///         Step::Wait { until }    => { sleep_until(until); machine.resume(&mut client, now) }
///         Step::Park { key, until } => { wait_for(key, until); machine.resume(&mut client, now) }
///         Step::Done(value)       => return Ok(value),
///         Step::Failed(failure)   => return Err(failure),
///     };
///     // after each call: while let Some(key) = client.poll_finished_exchange() { wake(key) }
/// }
/// ```
/// If the driver stops early (transport error, timeout, cancellation), it must call `abort` so that
/// requests waiting on this one's exchange stop waiting.
///
/// `C` is the shared state the machine works on: the requesting side's [`Client`] by default, the
/// resource server's [`ProtectionClient`](crate::protection::ProtectionClient) for the protection
/// machines.
pub trait Machine<C = Client> {
    /// What a successful run yields.
    type Output;
    /// The first step.
    fn start(&mut self, client: &mut C, now: Instant) -> Step<Self::Output>;
    /// Feeds the response to the request `id`.
    fn handle_response(
        &mut self,
        client: &mut C,
        id: RequestId,
        response: http::Response<Vec<u8>>,
        now: Instant,
    ) -> Step<Self::Output>;
    /// Continues after a `Wait` or `Park`.
    fn resume(&mut self, client: &mut C, now: Instant) -> Step<Self::Output>;
    /// Gives up: releases every exchange this machine holds. Idempotent.
    fn abort(&mut self, client: &mut C);

    /// If the pending request `id` is a cold RPT exchange a shared store may answer, what to ask the
    /// store (`crate::store`). `None` for every other request and machine.
    fn shared_exchange(&self, id: RequestId) -> Option<crate::store::SharedAsk> {
        let _ = id;
        None
    }

    /// Answers the pending request `id` with a record from a shared store instead of sending it.
    /// `None` if the machine cannot take it (then send the request).
    fn answer_from_store(
        &mut self,
        client: &mut C,
        id: RequestId,
        record: crate::record::RptRecord,
        now: Instant,
        now_unix: u64,
    ) -> Option<Step<Self::Output>> {
        let _ = (client, id, record, now, now_unix);
        None
    }

    /// Keeps the exchange this machine leads claimed until `until` (while it waits on a shared store,
    /// the requests parked on it keep waiting).
    fn hold_exchange(&mut self, client: &mut C, until: Instant) {
        let _ = (client, until);
    }
}
