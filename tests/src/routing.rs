//! The common request path of every server: classify, read the body, log, apply faults, dispatch.

use std::sync::Arc;

use http::HeaderMap;
use hyper::body::Incoming;

use crate::http::{HandlerResult, ReadBody, oauth_error, read_body, render_fault};
use crate::log::{Endpoint, LoggedRequest, Server};
use crate::state::Shared;
use crate::{as_server, hostile, rs_server};

/// Bytes of an AS request body kept in memory; larger bodies get 413.
const AS_BODY_LIMIT: usize = 1024 * 1024;
/// Bytes of an RS request body kept in memory (the rest is only counted and hashed).
const RS_BODY_KEEP: usize = 64 * 1024;

/// A fully read request as the handlers see it.
#[derive(Debug)]
pub struct Req {
    /// Method, upper case.
    pub method: String,
    /// Path without query.
    pub path: String,
    /// Raw query.
    pub query: Option<String>,
    /// Headers.
    pub headers: HeaderMap,
    /// Kept body bytes.
    pub body: Vec<u8>,
    /// Total body length.
    pub body_len: u64,
    /// Hex SHA-256 of the whole body.
    pub body_sha256: String,
    /// Decoded form fields (form bodies only).
    pub form: Vec<(String, String)>,
}

impl Req {
    /// First value of header `name` as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every form field named `name`.
    pub fn form_all(&self, name: &str) -> Vec<&str> {
        self.form
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The first non-empty form field named `name`.
    pub fn form(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Decoded query parameters.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.query
            .as_deref()
            .and_then(|q| serde_urlencoded::from_str(q).ok())
            .unwrap_or_default()
    }

    /// The Bearer token of the `Authorization` header, if that is the scheme.
    pub fn bearer(&self) -> Option<&str> {
        let auth = self.header("authorization")?;
        let (scheme, rest) = auth.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| rest.trim())
            .filter(|t| !t.is_empty())
    }
}

fn expects_continue(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::EXPECT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("100-continue"))
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

/// Handles one request on `server` (listening on `port`).
pub async fn handle(
    shared: Arc<Shared>,
    server: Server,
    port: u16,
    req: http::Request<Incoming>,
) -> HandlerResult {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().map(str::to_string);
    let method = parts.method.as_str().to_string();
    let endpoint = match server {
        Server::As => as_server::classify(&shared, &path),
        Server::Rs => Endpoint::RsResource,
        Server::HostileAs => Endpoint::HostileAs,
    };
    let keep = if server == Server::Rs {
        RS_BODY_KEEP
    } else {
        AS_BODY_LIMIT
    };
    // An RS request announcing its body with `Expect: 100-continue` that would be refused anyway
    // is answered without polling the body: hyper then never sends `100 Continue`.
    let skip_body = server == Server::Rs
        && expects_continue(&parts.headers)
        && !shared.knobs().rs_ignore_expect
        && rs_server::refuses_without_token(
            &shared,
            &Req {
                method: method.clone(),
                path: path.clone(),
                query: query.clone(),
                headers: parts.headers.clone(),
                body: Vec::new(),
                body_len: 0,
                body_sha256: String::new(),
                form: Vec::new(),
            },
        );
    let body = if skip_body {
        drop(body);
        ReadBody::unread()
    } else {
        read_body(body, keep).await?
    };
    let form: Vec<(String, String)> = if is_form(&parts.headers) && !body.truncated {
        serde_urlencoded::from_bytes(&body.kept).unwrap_or_default()
    } else {
        Vec::new()
    };
    shared.log.push(LoggedRequest {
        server,
        endpoint,
        method: method.clone(),
        path: path.clone(),
        query: query.clone(),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        form: form.clone(),
        body_len: usize::try_from(body.len).unwrap_or(usize::MAX),
        body_read: !skip_body,
        host_port: port,
    });
    if let Some(fault) = shared.faults.take(endpoint) {
        if let Some(resp) = render_fault(fault).await? {
            return Ok(resp);
        }
    }
    if server != Server::Rs && body.truncated {
        return Ok(oauth_error(
            413,
            "invalid_request",
            Some("request body too large"),
        ));
    }
    let req = Req {
        method,
        path,
        query,
        headers: parts.headers,
        body: body.kept,
        body_len: body.len,
        body_sha256: body.sha256,
        form,
    };
    Ok(match server {
        Server::As => as_server::handle(&shared, endpoint, &req),
        Server::Rs => rs_server::handle(&shared, &req),
        Server::HostileAs => hostile::handle(&shared, &req),
    })
}
