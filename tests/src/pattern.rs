//! A deterministic, non-constant byte pattern for large streamed bodies, checkable by SHA-256.
//!
//! Byte `i` of the pattern is `T[i mod 65,521]`, where `T` is a fixed table of printable ASCII
//! (letters, digits, `-` and `_`) drawn from a seeded xorshift generator. The period is prime, so
//! the sequence has no shorter period, and it is not a multiple of any power-of-two read or chunk
//! size: a chunk that a client drops, duplicates or reorders shifts the bytes after it and changes
//! the SHA-256 (unless the displacement is an exact multiple of 65,521 bytes).
//!
//! The kit streams the pattern as slices of one static table (no allocation per chunk), and
//! [`pattern_sha256`] hashes it the same way, so neither ever holds the whole body.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use sha2::{Digest, Sha256};

use crate::tokens::hex;

/// The pattern's period in bytes (a prime).
pub const PATTERN_PERIOD: u64 = 65_521;

/// Largest slice [`pattern_chunk`] returns (64 KiB), also the kit's chunk size for generated bodies.
pub const PATTERN_CHUNK: usize = 64 * 1024;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// One period followed by one more chunk, so any offset has a contiguous 64 KiB slice.
fn table() -> &'static [u8] {
    static TABLE: OnceLock<Box<[u8]>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let period = PATTERN_PERIOD as usize;
        let mut t = Vec::with_capacity(period + PATTERN_CHUNK);
        let mut x: u32 = 0x9E37_79B9;
        for _ in 0..period {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            t.push(ALPHABET[(x >> 26) as usize]);
        }
        // The period is shorter than a chunk: continue the sequence, byte k = byte k - period.
        for k in period..period + PATTERN_CHUNK {
            t.push(t[k - period]);
        }
        t.into_boxed_slice()
    })
}

/// Byte `offset` of the pattern.
pub fn pattern_byte(offset: u64) -> u8 {
    table()[(offset % PATTERN_PERIOD) as usize]
}

/// The pattern from byte `offset` on, at most `max_len` bytes and at most [`PATTERN_CHUNK`]: a
/// static slice, for streaming the pattern (e.g. as an upload body) without allocating.
pub fn pattern_chunk(offset: u64, max_len: usize) -> &'static [u8] {
    let start = (offset % PATTERN_PERIOD) as usize;
    &table()[start..start + max_len.min(PATTERN_CHUNK)]
}

/// Hex SHA-256 of the first `len` bytes of the pattern, hashed chunk by chunk (no `len`-byte
/// buffer). Results are remembered per `len` for the life of the process.
pub fn pattern_sha256(len: u64) -> String {
    static MEMO: OnceLock<Mutex<HashMap<u64, String>>> = OnceLock::new();
    let memo = MEMO.get_or_init(Default::default);
    if let Some(h) = memo.lock().unwrap_or_else(|e| e.into_inner()).get(&len) {
        return h.clone();
    }
    let mut hasher = Sha256::new();
    let mut pos = 0u64;
    while pos < len {
        let n = (len - pos).min(PATTERN_CHUNK as u64) as usize;
        let chunk = pattern_chunk(pos, n);
        hasher.update(chunk);
        pos += chunk.len() as u64;
    }
    let h = hex(&hasher.finalize());
    memo.lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(len, h.clone());
    h
}
