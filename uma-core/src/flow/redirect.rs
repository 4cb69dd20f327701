//! Resource-server redirects, followed only when the configuration allows: another origin never gets
//! `Authorization`, cookies or an RPT.

use std::time::Instant;

use http::{HeaderValue, StatusCode, header};

use super::{Flow, Grant, Step};
use crate::client::Client;
use crate::error::Error;

type Out = Step<http::Response<Vec<u8>>>;

/// Headers that must not follow a redirect to another origin.
pub(crate) const CREDENTIAL_HEADERS: [header::HeaderName; 3] = [
    header::AUTHORIZATION,
    header::COOKIE,
    header::PROXY_AUTHORIZATION,
];

impl Flow {
    /// Follows a resource-server redirect. Another origin never gets `Authorization`, cookies or an RPT.
    pub(crate) fn follow_redirect(
        &mut self,
        client: &mut Client,
        status: StatusCode,
        location: &HeaderValue,
        refetch: Option<Grant>,
        now: Instant,
    ) -> Out {
        if let Some(grant) = refetch {
            self.release_grant(client, &grant);
        }
        if self.counters.redirects >= client.config.max_redirects {
            let max = client.config.max_redirects;
            return self.fail(client, Error::TooManyRedirects { max });
        }
        self.counters.redirects += 1;
        let target = location
            .to_str()
            .ok()
            .and_then(|loc| {
                url::Url::parse(&self.request.uri.to_string())
                    .ok()?
                    .join(loc)
                    .ok()
            })
            .and_then(|u| u.as_str().parse::<http::Uri>().ok());
        let Some(uri) = target else {
            let response = *self.last_response.take().expect("kept by the caller");
            return self.finish(client, response, None);
        };
        let Some(origin) = super::origin_of(&uri) else {
            let response = *self.last_response.take().expect("kept by the caller");
            return self.finish(client, response, None);
        };
        if origin != self.origin {
            self.counters.crossed_origin = true;
            for name in CREDENTIAL_HEADERS {
                self.request.headers.remove(name);
            }
        }
        // RFC 9110 §15.4: 303 always, and 301/302 for POST in practice, become a GET without a body.
        let to_get = status == StatusCode::SEE_OTHER
            || (matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND)
                && self.request.method == http::Method::POST);
        if to_get && self.request.method != http::Method::HEAD {
            self.request.method = http::Method::GET;
            self.request.body.clear();
            self.request.driver_body = false;
            self.request.headers.remove(header::CONTENT_LENGTH);
            self.request.headers.remove(header::CONTENT_TYPE);
        }
        self.request.uri = uri;
        self.origin = origin;
        self.send_resource(client, now, None)
    }
}
