//! Discovery and single exchanges over the adapter's transport, and small request helpers.

use std::time::{Duration, Instant};

use uma_core::discovery::{self, AsMetadata, EndpointPolicy, Issuer};
use uma_core::protection as core;
use uma_core::trace::UmaStep;

use super::{DISCOVERY, Error};
use crate::driver::Tracer;
use uma_core::driver::{Deadline, RequestDeadline};

use crate::options::Options;
use crate::transport::{self, Budget, Failed};

pub(super) fn discover(
    agent: &ureq::Agent,
    options: &Options,
    issuer: &Issuer,
    policy: &EndpointPolicy,
) -> Result<AsMetadata, Error> {
    let mut tracer = Tracer::request(None);
    let _entered = tracer.enter();
    let request = discovery::discovery_request(issuer);
    let result = tracer
        .standalone(UmaStep::Discovery, request, |r| {
            send(agent, options, DISCOVERY, r)
        })
        .and_then(|response| Ok(discovery::parse_metadata(issuer, &response, policy)?));
    tracer.finish(result.as_ref().err());
    result
}

/// One exchange with the adapter's transport rules (`transport::send`: no redirects, statuses are
/// answers, the body read up to a limit), under the exchange budget.
pub(super) fn send(
    agent: &ureq::Agent,
    options: &Options,
    operation: &'static str,
    request: http::Request<Vec<u8>>,
) -> Result<http::Response<Vec<u8>>, Error> {
    let url = uma_core::trace::redacted_url(request.uri());
    let agent_global = agent.config().timeouts().global;
    let budget = Budget::new(
        options,
        &RequestDeadline::none(),
        agent_global,
        Instant::now(),
    );
    // The core's parsers refuse more than MAX_BODY_BYTES anyway: stop reading there.
    let limit = options
        .max_authorization_server_body
        .min(core::MAX_BODY_BYTES);
    let read_limit = u64::try_from(limit).unwrap_or(u64::MAX);
    transport::send_read(agent, request, budget, read_limit).map_err(|failure| match failure {
        Failed::Transport(ureq::Error::Timeout(_)) => timeout(operation, url, budget),
        Failed::Transport(ureq::Error::Io(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
            timeout(operation, url, budget)
        }
        Failed::Transport(ureq::Error::BodyExceedsLimit(_)) | Failed::TooLarge => {
            Error::BodyTooLarge {
                operation,
                url,
                limit,
            }
        }
        Failed::Transport(source) => Error::Transport {
            operation,
            url,
            source: Box::new(source),
        },
        // Only resource requests carry an application body.
        Failed::Open(e) => Error::Transport {
            operation,
            url,
            source: Box::new(e),
        },
        Failed::Spent => Error::Transport {
            operation,
            url,
            source: Box::new(std::io::Error::from(std::io::ErrorKind::UnexpectedEof)),
        },
    })
}

fn timeout(operation: &'static str, url: String, budget: Option<Budget>) -> Error {
    // Without a budget (no timeouts configured anywhere) a timeout can only be the OS's.
    let after = budget
        .filter(|b| b.kind == Deadline::Exchange)
        .map_or(Duration::ZERO, |b| b.after);
    Error::Timeout {
        operation,
        url,
        after,
    }
}

/// Seconds since the epoch, for [`Introspection::allows`]; a clock before 1970 reads as 0.
pub(super) fn unix_now() -> i64 {
    i64::try_from(crate::store::unix_now()).unwrap_or(i64::MAX)
}
