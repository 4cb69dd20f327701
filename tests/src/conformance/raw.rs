//! A tiny HTTP/1.1 server on 127.0.0.1 that answers canned bytes, for what the testkit cannot emit: header
//! values with control characters, 60 KiB challenges, token responses whose `access_token` holds CR/LF.
//!
//! Blocking std sockets on plain threads, whatever the adapter under test. Every connection answers one
//! request and is closed (`Connection: close`); every read has a timeout and every loop a bound.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Largest request head read; a client that sends more is cut off.
const MAX_HEAD: usize = 256 * 1024;
/// Largest request body read.
const MAX_BODY: usize = 1024 * 1024;

/// One request as the raw server received it.
#[derive(Clone, Debug)]
pub struct RawRequest {
    /// Request target (path and query).
    pub target: String,
    /// The whole head, request line and header lines, as text (lossy).
    pub head: String,
    /// The body.
    pub body: Vec<u8>,
}

impl RawRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.split("\r\n").skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

/// Builds a canned answer from a request and the server's own base URL (`http://127.0.0.1:port`).
pub type Handler = dyn Fn(&RawRequest, &str) -> Vec<u8> + Send + Sync;

/// The running server; dropping it stops the accept loop.
pub struct RawServer {
    base: String,
    log: Arc<Mutex<Vec<RawRequest>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl RawServer {
    /// Binds 127.0.0.1:0 and answers every request with `handler`.
    pub fn start(
        handler: impl Fn(&RawRequest, &str) -> Vec<u8> + Send + Sync + 'static,
    ) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener.set_nonblocking(true).expect("nonblocking");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let thread = {
            let (base, log, stop) = (base.clone(), Arc::clone(&log), Arc::clone(&stop));
            std::thread::spawn(move || accept_loop(listener, &base, &log, &stop, &handler))
        };
        RawServer {
            base,
            log,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:port`.
    pub fn base(&self) -> String {
        self.base.clone()
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RawRequest> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn accept_loop(
    listener: TcpListener,
    base: &str,
    log: &Arc<Mutex<Vec<RawRequest>>>,
    stop: &AtomicBool,
    handler: &Arc<Handler>,
) {
    // Bounded by the stop flag, which the owning test flips when it drops the server.
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                let (base, log, handler) = (base.to_string(), Arc::clone(log), Arc::clone(handler));
                std::thread::spawn(move || serve_one(stream, &base, &log, &*handler));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

fn serve_one(mut stream: TcpStream, base: &str, log: &Mutex<Vec<RawRequest>>, handler: &Handler) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let Some(request) = read_request(&mut stream) else {
        return;
    };
    log.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(request.clone());
    let answer = handler(&request, base);
    let _ = stream.write_all(&answer);
    let _ = stream.flush();
}

fn read_request(stream: &mut TcpStream) -> Option<RawRequest> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut body = buf[head_end + 4..].to_vec();
    let target = head.split(' ').nth(1).unwrap_or_default().to_string();
    let mut request = RawRequest {
        target,
        head,
        body: Vec::new(),
    };
    let length: usize = request
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
        .min(MAX_BODY);
    while body.len() < length {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    request.body = body;
    Some(request)
}

/// A complete HTTP/1.1 answer: status line, the given header lines (raw bytes, so they may hold anything),
/// `Content-Length`, `Connection: close`, then the body.
pub fn answer(status: u16, headers: &[&[u8]], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} X\r\n").into_bytes();
    for line in headers {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(
        format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(body);
    out
}

/// A JSON answer.
pub fn json_answer(status: u16, body: &str) -> Vec<u8> {
    answer(
        status,
        &[
            b"Content-Type: application/json",
            b"Cache-Control: no-store",
        ],
        body.as_bytes(),
    )
}

/// A 401 whose single `WWW-Authenticate` line is `challenge`, byte for byte.
pub fn challenge_answer(challenge: &[u8]) -> Vec<u8> {
    let mut line = b"WWW-Authenticate: ".to_vec();
    line.extend_from_slice(challenge);
    answer(401, &[&line], b"")
}

/// An authorization server at the raw server's base: a valid discovery document naming itself, and
/// `token` (raw JSON text, status `token_status`) from its token endpoint. Anything else is 404.
pub fn fake_as(token_status: u16, token: &'static str) -> impl Fn(&RawRequest, &str) -> Vec<u8> {
    move |request, base| {
        if request.target.ends_with("/.well-known/uma2-configuration") {
            json_answer(
                200,
                &format!(r#"{{"issuer":"{base}","token_endpoint":"{base}/token"}}"#),
            )
        } else if request.target == "/token" {
            json_answer(token_status, token)
        } else {
            json_answer(404, r#"{"error":"not_found"}"#)
        }
    }
}
