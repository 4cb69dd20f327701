//! Fault injection: per-endpoint misbehaviour switched on and off while the servers run.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::log::Endpoint;

/// A way for an endpoint to misbehave. Faults apply after the request was read and logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Answer this status with a small HTML body (e.g. 500, 502, 503).
    Status(u16),
    /// Answer 200 with `Content-Type: text/html` and an HTML login page.
    Html,
    /// Answer 200 with `Content-Type: application/json` and bytes that are neither JSON nor UTF-8.
    Garbage,
    /// Answer 200 JSON-looking body of this many bytes with a `Content-Length`, streamed in
    /// chunks (never held in memory).
    Oversized(usize),
    /// Like `Oversized` but chunked, without a `Content-Length`.
    OversizedChunked(usize),
    /// Close the connection without answering.
    DropConnection,
    /// Answer `307 Temporary Redirect` to this absolute URL (307 keeps the method and body, so a
    /// client that follows it re-sends its credentials there).
    RedirectTo(String),
    /// Answer `303 See Other` to this absolute URL, without reading the request body (303 turns the
    /// request into a `GET` without a body).
    SeeOther(String),
    /// Never answer (the connection stays open until the client gives up or the kit stops).
    NeverAnswer,
}

/// What the resource server sends as the body of a request it grants (a valid RPT for the scope), while
/// its challenges stay as they are: the UMA flow runs normally and the resource itself misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GrantedBody {
    /// The JSON description of the grant (`…/echo`: length and SHA-256 of the request body).
    #[default]
    Json,
    /// `200`, `text/plain`, this many bytes of filler with a `Content-Length`, streamed (never held in
    /// memory).
    Large(usize),
    /// `200`, `text/plain`, a `Content-Length` of this many bytes, half of them sent, then the
    /// connection is closed.
    Truncated(usize),
    /// `200`, `text/plain`, this many bytes of the checkable pattern ([`crate::pattern_chunk`])
    /// with a `Content-Length`, streamed (never held in memory); its SHA-256 is
    /// [`crate::pattern_sha256`]`(n)`.
    Pattern(u64),
    /// `200`, `text/plain`, chunked (no `Content-Length`): this many bytes of the pattern in chunks
    /// of at most 64 KiB, then (after a pause of 200 ms that lets them reach the socket) the
    /// connection is closed without the terminating zero-length chunk.
    TruncatedChunked(u64),
}

#[derive(Debug, Clone)]
struct Armed {
    fault: Fault,
    /// `None` = until cleared; `Some(n)` = the next n requests only.
    remaining: Option<u32>,
}

/// The armed faults, one per endpoint.
#[derive(Debug, Default)]
pub struct FaultTable {
    armed: Mutex<HashMap<Endpoint, Armed>>,
}

impl FaultTable {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Endpoint, Armed>> {
        self.armed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Arms (or with `None` clears) a fault on `target` until cleared.
    pub fn set(&self, target: Endpoint, fault: Option<Fault>) {
        let mut armed = self.lock();
        match fault {
            Some(fault) => {
                armed.insert(
                    target,
                    Armed {
                        fault,
                        remaining: None,
                    },
                );
            }
            None => {
                armed.remove(&target);
            }
        }
    }

    /// Arms a fault for the next `times` requests to `target` only.
    pub fn set_times(&self, target: Endpoint, fault: Fault, times: u32) {
        let mut armed = self.lock();
        if times == 0 {
            armed.remove(&target);
        } else {
            armed.insert(
                target,
                Armed {
                    fault,
                    remaining: Some(times),
                },
            );
        }
    }

    /// The fault for this request to `target`, consuming one use of a counted fault.
    pub fn take(&self, target: Endpoint) -> Option<Fault> {
        let mut armed = self.lock();
        let entry = armed.get_mut(&target)?;
        let fault = entry.fault.clone();
        if let Some(n) = entry.remaining.as_mut() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                armed.remove(&target);
            }
        }
        Some(fault)
    }
}
