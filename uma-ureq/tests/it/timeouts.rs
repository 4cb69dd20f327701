//! Review 2: "no limit" spelled as `Duration::MAX` must not panic.
//!
//! `drive` computes `Instant::now() + request_timeout` (driver.rs), which panics on overflow for
//! `Some(Duration::MAX)`; `None` is the documented "no limit", but a huge value is an ordinary input and
//! should saturate rather than take the calling thread down.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use uma_core::Config;
use uma_ureq::{Options, UmaAgent};

/// Answers one request with 200 "ok", then closes.
fn one_shot() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut buf = [0u8; 4096];
            let mut seen = Vec::new();
            for _ in 0..64 {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
                if seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    format!("http://{addr}/x")
}

fn get_with(options: Options) -> Result<u16, String> {
    let url = one_shot();
    std::thread::spawn(move || {
        let agent =
            UmaAgent::with_options(ureq::Agent::new_with_defaults(), Config::new(), options);
        agent
            .get(&url)
            .send()
            .map(|r| r.status().as_u16())
            .map_err(|e| format!("error: {e}"))
    })
    .join()
    .unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(format!("panicked: {msg}"))
    })
}

#[test]
fn unbounded_request_timeout_does_not_panic() {
    let options = Options::default().with_request_timeout(Some(Duration::MAX));
    assert_eq!(get_with(options), Ok(200));
}

#[test]
fn unbounded_exchange_timeout_does_not_panic() {
    let options = Options::default()
        .with_request_timeout(None)
        .with_exchange_timeout(Some(Duration::MAX));
    assert_eq!(get_with(options), Ok(200));
}
