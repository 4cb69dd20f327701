//! Token material: random strings, base64, and JWT-shaped tokens.
//!
//! The JWT-shaped tokens (Keycloak tickets and RPTs, ID tokens) have the `header.payload.signature`
//! shape with base64url JSON parts so clients meet realistic strings, but the "signature" is a
//! keyed SHA-256 over the signing input, not a real JWS: only this kit can verify it.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use sha2::{Digest, Sha256};

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn encode_with(alphabet: &[u8; 64], input: &[u8], pad: bool) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..4 {
            if i < chars {
                out.push(alphabet[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

/// base64url without padding (RFC 4648 §5).
pub fn b64url(input: &[u8]) -> String {
    encode_with(B64URL, input, false)
}

/// Standard base64 with padding (RFC 4648 §4).
pub fn b64std(input: &[u8]) -> String {
    encode_with(B64STD, input, true)
}

/// Decodes base64 in either alphabet, padding optional. `None` on any invalid character.
pub fn b64decode(input: &str) -> Option<Vec<u8>> {
    let trimmed = input.trim_end_matches('=');
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in trimmed.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Lower-case hex of a SHA-256 digest.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Generates unguessable-enough strings for a test server (SHA-256 over a per-kit random seed
/// and a counter) and signs JWT-shaped tokens with a per-kit key.
#[derive(Debug)]
pub struct Minter {
    seed: [u8; 32],
    counter: AtomicU64,
}

impl Minter {
    /// A minter with a fresh seed (std's randomly keyed hasher, the clock and the process id).
    pub fn new() -> Self {
        let mut material = Vec::new();
        for i in 0..4u64 {
            let mut h = RandomState::new().build_hasher();
            h.write_u64(i);
            material.extend_from_slice(&h.finish().to_le_bytes());
        }
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        material.extend_from_slice(&nanos.to_le_bytes());
        material.extend_from_slice(&std::process::id().to_le_bytes());
        Minter {
            seed: Sha256::digest(&material).into(),
            counter: AtomicU64::new(1),
        }
    }

    /// A fresh sequence number (also used as authorization-process and resource ids).
    pub fn next_id(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    fn random_bytes(&self) -> [u8; 32] {
        let n = self.next_id();
        let mut h = Sha256::new();
        h.update(self.seed);
        h.update(n.to_le_bytes());
        h.finalize().into()
    }

    /// `prefix` followed by 32 hex characters.
    pub fn opaque(&self, prefix: &str) -> String {
        format!("{prefix}{}", hex(&self.random_bytes()[..16]))
    }

    /// A UUID-shaped string (Gluu tickets, `UUID.randomUUID()`).
    pub fn uuid(&self) -> String {
        let h = hex(&self.random_bytes()[..16]);
        format!(
            "{}-{}-4{}-a{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    }

    fn signature(&self, signing_input: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.seed);
        h.update(b"jwt-ish");
        h.update(signing_input.as_bytes());
        b64url(&h.finalize())
    }

    /// A JWT-shaped token with `payload` as its claims.
    pub fn sign(&self, payload: &Value) -> String {
        self.sign_alg("HS256", payload)
    }

    /// A JWT-shaped token whose header names `alg` (only a label: the signature is always the
    /// kit's keyed SHA-256).
    pub fn sign_alg(&self, alg: &str, payload: &Value) -> String {
        let header = serde_json::json!({"alg": alg, "typ": "JWT", "kid": "uma-testkit"});
        let header = b64url(header.to_string().as_bytes());
        let body = b64url(payload.to_string().as_bytes());
        let input = format!("{header}.{body}");
        let sig = self.signature(&input);
        format!("{input}.{sig}")
    }

    /// Checks the signature of a token made by [`Minter::sign`] and returns its claims.
    pub fn verify(&self, token: &str) -> Option<Value> {
        let (input, sig) = token.rsplit_once('.')?;
        if self.signature(input) != sig {
            return None;
        }
        decode_jwt_payload(token)
    }
}

impl Default for Minter {
    fn default() -> Self {
        Minter::new()
    }
}

/// Decodes the payload of any `xxx.yyy.zzz` token as a JSON object, without checking anything.
pub fn decode_jwt_payload(token: &str) -> Option<Value> {
    let mut parts = token.split('.');
    let (_h, p, _s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let json: Value = serde_json::from_slice(&b64decode(p)?).ok()?;
    json.is_object().then_some(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for s in [
            "",
            "f",
            "fo",
            "foo",
            "foob",
            "fooba",
            "foobar",
            "\u{ff}\u{fe}",
        ] {
            assert_eq!(
                b64decode(&b64url(s.as_bytes())).as_deref(),
                Some(s.as_bytes())
            );
            assert_eq!(
                b64decode(&b64std(s.as_bytes())).as_deref(),
                Some(s.as_bytes())
            );
        }
        assert_eq!(b64std(b"app:app-secret"), "YXBwOmFwcC1zZWNyZXQ=");
        assert_eq!(b64decode("a*b"), None);
    }

    #[test]
    fn signed_tokens_verify_and_tampering_fails() {
        let m = Minter::new();
        let t = m.sign(&serde_json::json!({"sub":"alice"}));
        assert_eq!(t.split('.').count(), 3);
        assert_eq!(
            m.verify(&t)
                .and_then(|v| v["sub"].as_str().map(String::from))
                .as_deref(),
            Some("alice")
        );
        let other = Minter::new();
        assert!(other.verify(&t).is_none());
        assert!(m.verify(&format!("{t}x")).is_none());
        assert_ne!(m.opaque("t-"), m.opaque("t-"));
        assert_eq!(m.uuid().len(), 36);
    }
}
