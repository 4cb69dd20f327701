//! Discovery and single exchanges over the hyper client, and small request helpers.

use crate::RequestBody;

use http_body_util::{BodyExt, Limited};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::Connect;
use uma_core::discovery::{self, AsMetadata, EndpointPolicy, Issuer};
use uma_core::protection as core;
use uma_core::trace::UmaStep;

use super::{DISCOVERY, Error};
use crate::options::Options;
use crate::spans::Trace;

pub(super) async fn discover<C>(
    http: &HyperClient<C, RequestBody>,
    options: &Options,
    issuer: &Issuer,
    policy: &EndpointPolicy,
) -> Result<AsMetadata, Error>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let trace = Trace::new();
    let discover = async {
        let request = discovery::discovery_request(issuer);
        let span = trace.standalone(UmaStep::Discovery, &request);
        let response = span.run(send(http, options, DISCOVERY, request)).await?;
        Ok(discovery::parse_metadata(issuer, &response, policy)?)
    };
    trace.request(discover).await
}

/// One exchange with the adapter's transport rules (as in the engine's exchange: the legacy client
/// follows no redirect, statuses are answers, the body is read through `Limited`), under
/// [`Options::exchange_timeout`].
pub(super) async fn send<C>(
    http: &HyperClient<C, RequestBody>,
    options: &Options,
    operation: &'static str,
    request: http::Request<Vec<u8>>,
) -> Result<http::Response<Vec<u8>>, Error>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let url = uma_core::trace::redacted_url(request.uri());
    // The core's parsers refuse more than MAX_BODY_BYTES anyway: stop reading there.
    let limit = options
        .max_authorization_server_body
        .min(core::MAX_BODY_BYTES);
    let request = request.map(RequestBody::from);
    let attempt = async {
        let response = http.request(request).await.map_err(|e| Error::Transport {
            operation,
            url: url.clone(),
            source: Box::new(e),
        })?;
        let (parts, body) = response.into_parts();
        let bytes = match Limited::new(body, limit).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                return Err(Error::BodyTooLarge {
                    operation,
                    url: url.clone(),
                    limit,
                });
            }
            Err(source) => {
                return Err(Error::Transport {
                    operation,
                    url: url.clone(),
                    source,
                });
            }
        };
        Ok(http::Response::from_parts(parts, Vec::from(bytes)))
    };
    // A deadline the clock cannot represent is no deadline.
    let deadline = options
        .exchange_timeout
        .and_then(|after| Some((tokio::time::Instant::now().checked_add(after)?, after)));
    match deadline {
        Some((at, after)) => tokio::time::timeout_at(at, attempt)
            .await
            .unwrap_or_else(|_| {
                Err(Error::Timeout {
                    operation,
                    url: url.clone(),
                    after,
                })
            }),
        None => attempt.await,
    }
}

/// Seconds since the epoch, for [`Introspection::allows`]; a clock before 1970 reads as 0.
pub(super) fn unix_now() -> i64 {
    i64::try_from(crate::store::unix_now()).unwrap_or(i64::MAX)
}
