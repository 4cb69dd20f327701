//! Key names and sealing: what the store sees is a keyed hash for a name and an AEAD envelope for a
//! value, never an issuer, a URL, a party or a token.
//!
//! * **Names:** `uma:rpt:{<hex HMAC-SHA256(name key, SharedKey::canonical_bytes)>}` and
//!   `uma:lock:{…}` with the same hash (the braces keep a value and its lock in one cluster slot).
//! * **Values:** `0x01 | key id | 12-byte random nonce | ChaCha20-Poly1305(record) + tag`, with the
//!   value's own name as associated data, so an envelope moved under another name does not open.
//! * **Keys:** one 32-byte application secret per key id; the name key and the sealing key are derived
//!   from it (HMAC-SHA256 with distinct labels). Rotation: seal with the current key, open with the
//!   current or a previous one (looked up under each key's names, newest first).

use std::fmt;

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use uma_core::record::{MAX_RECORD_BYTES, RptRecord};
use uma_core::store::{BadEntry, SharedKey};

/// Envelope format version.
const ENVELOPE_V1: u8 = 1;
const TAG_LEN: usize = 16;
/// The largest envelope opened: a record at its limit plus the header and tag.
pub const MAX_ENVELOPE_BYTES: usize = MAX_RECORD_BYTES + 2 + NONCE_LEN + TAG_LEN;

/// One application secret and what is derived from it.
struct Key {
    id: u8,
    names: hmac::Key,
    seal: LessSafeKey,
}

impl Key {
    fn derive(id: u8, secret: &[u8; 32]) -> Self {
        let master = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let names = hmac::sign(&master, b"uma-redis/v1 key names");
        let seal = hmac::sign(&master, b"uma-redis/v1 sealing");
        Self {
            id,
            names: hmac::Key::new(hmac::HMAC_SHA256, names.as_ref()),
            // A 32-byte key is what ChaCha20-Poly1305 takes: this cannot fail.
            seal: LessSafeKey::new(
                UnboundKey::new(&CHACHA20_POLY1305, seal.as_ref())
                    .unwrap_or_else(|_| unreachable!("32-byte key")),
            ),
        }
    }

    fn hash(&self, key: &SharedKey) -> String {
        let tag = hmac::sign(&self.names, &key.canonical_bytes());
        tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The names of one key's entry and lock in the store.
#[derive(Clone, PartialEq, Eq)]
pub struct Names {
    /// Where the sealed record lives.
    pub value: String,
    /// Where the lock lives.
    pub lock: String,
}

impl fmt::Debug for Names {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Store keys are no secret, but they identify a user to whoever can read the store.
        f.write_str("Names([redacted])")
    }
}

/// The application's keys: the current one seals, it and the previous ones open. `Debug` shows the
/// key ids only.
pub struct Keyring {
    current: Key,
    previous: Vec<Key>,
    prefix: String,
    rng: SystemRandom,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current.id)
            .field(
                "previous",
                &self.previous.iter().map(|k| k.id).collect::<Vec<_>>(),
            )
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// A secret that is not 32 bytes (64 hex digits).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a store key must be 32 bytes, written as 64 hex digits")]
pub struct BadSecret;

/// Parses 64 hex digits into a 32-byte secret (e.g. from an environment variable).
pub fn secret_from_hex(hex: &str) -> Result<[u8; 32], BadSecret> {
    let hex = hex.trim().as_bytes();
    if hex.len() != 64 {
        return Err(BadSecret);
    }
    let mut out = [0u8; 32];
    for (i, pair) in hex.chunks(2).enumerate() {
        let digit = |c: u8| (c as char).to_digit(16).ok_or(BadSecret);
        out[i] = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
    }
    Ok(out)
}

impl Keyring {
    /// A keyring sealing with `secret` under key id `id`.
    ///
    /// ```
    /// use uma_redis::Keyring;
    /// let keys = Keyring::new(2, [7u8; 32]).with_previous(1, [6u8; 32]);
    /// assert!(format!("{keys:?}").contains("current: 2"));
    /// ```
    pub fn new(id: u8, secret: [u8; 32]) -> Self {
        Self {
            current: Key::derive(id, &secret),
            previous: Vec::new(),
            prefix: "uma".into(),
            rng: SystemRandom::new(),
        }
    }

    /// Also opens entries sealed with `secret` (key id `id`), e.g. the key before a rotation.
    pub fn with_previous(mut self, id: u8, secret: [u8; 32]) -> Self {
        self.previous.push(Key::derive(id, &secret));
        self
    }

    /// Puts every name under `prefix` instead of `uma` (e.g. one prefix per application sharing a
    /// Redis, matched by an ACL rule `~prefix:*`).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn names_with(&self, key: &Key, shared: &SharedKey) -> Names {
        let hash = key.hash(shared);
        Names {
            value: format!("{}:rpt:{{{hash}}}", self.prefix),
            lock: format!("{}:lock:{{{hash}}}", self.prefix),
        }
    }

    /// The names a value for `key` is written under (the current key's).
    pub fn names(&self, key: &SharedKey) -> Names {
        self.names_with(&self.current, key)
    }

    /// The names a value for `key` may be found under, newest key first, with the id of the key.
    pub fn lookup_names(&self, key: &SharedKey) -> Vec<Names> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .map(|k| self.names_with(k, key))
            .collect()
    }

    /// Seals `record` for the value name `name`; `None` if the system's random source failed (then
    /// nothing is written: a fixed nonce would be worse than not sharing).
    pub fn seal(&self, name: &str, record: &RptRecord) -> Option<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).ok()?;
        let mut body = record.encode();
        let aad = aad(name);
        self.current
            .seal
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&aad),
                &mut body,
            )
            .ok()?;
        let mut out = Vec::with_capacity(2 + NONCE_LEN + body.len());
        out.push(ENVELOPE_V1);
        out.push(self.current.id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&body);
        Some(out)
    }

    /// Opens an envelope found under the value name `name` and decodes the record inside. Anything
    /// wrong is a [`BadEntry`], never plaintext.
    pub fn open(&self, name: &str, envelope: &[u8]) -> Result<RptRecord, BadEntry> {
        if envelope.len() > MAX_ENVELOPE_BYTES || envelope.len() < 2 + NONCE_LEN + TAG_LEN {
            return Err(BadEntry::Unsealed);
        }
        if envelope[0] != ENVELOPE_V1 {
            return Err(BadEntry::Unsealed);
        }
        let id = envelope[1];
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == id)
            .ok_or(BadEntry::Unsealed)?;
        let nonce = Nonce::try_assume_unique_for_key(&envelope[2..2 + NONCE_LEN])
            .map_err(|_| BadEntry::Unsealed)?;
        let mut body = envelope[2 + NONCE_LEN..].to_vec();
        let aad = aad(name);
        let plain = key
            .seal
            .open_in_place(nonce, Aad::from(&aad), &mut body)
            .map_err(|_| BadEntry::Unsealed)?;
        RptRecord::decode(plain).map_err(BadEntry::Record)
    }

    /// A random token for a lock (hex, 128 bits).
    pub fn lock_token(&self) -> String {
        let mut bytes = [0u8; 16];
        let _ = self.rng.fill(&mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

fn aad(name: &str) -> Vec<u8> {
    let mut aad = b"uma-redis/v1\0".to_vec();
    aad.extend_from_slice(name.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;
    use uma_core::Party;
    use uma_core::discovery::Issuer;
    use uma_core::secret::AccessToken;

    fn key(party: &str) -> SharedKey {
        SharedKey {
            issuer: Issuer::parse("https://as.example.org").unwrap(),
            origin: "https://rs.example.org:443".into(),
            party: Party::new(party),
        }
    }

    fn record(k: &SharedKey) -> RptRecord {
        RptRecord {
            issuer: k.issuer.clone(),
            origin: k.origin.clone(),
            party: k.party.clone(),
            token: AccessToken::new("rpt-secret"),
            refresh_token: None,
            obtained_at: 1_700_000_000,
            expires_at: Some(1_700_000_300),
            refreshed: false,
        }
    }

    #[test]
    fn names_hide_the_key_and_sealed_values_hide_the_token() {
        let ring = Keyring::new(1, [1; 32]);
        let k = key("alice@example.org");
        let names = ring.names(&k);
        assert!(names.value.starts_with("uma:rpt:{") && names.lock.starts_with("uma:lock:{"));
        assert!(!names.value.contains("alice") && !names.value.contains("example"));
        assert_ne!(names, ring.names(&key("bob")));
        let sealed = ring.seal(&names.value, &record(&k)).unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        let back = ring.open(&names.value, &sealed).unwrap();
        assert_eq!(back.token.secret(), "rpt-secret");
        // Two seals of one record differ (random nonces).
        assert_ne!(sealed, ring.seal(&names.value, &record(&k)).unwrap());
    }

    #[test]
    fn wrong_keys_moved_entries_and_tampering_are_unsealed() {
        let ring = Keyring::new(1, [1; 32]);
        let k = key("alice");
        let name = ring.names(&k).value;
        let sealed = ring.seal(&name, &record(&k)).unwrap();
        // Another application's key (same id).
        assert_eq!(
            Keyring::new(1, [2; 32]).open(&name, &sealed).unwrap_err(),
            BadEntry::Unsealed
        );
        // Moved under another key's name.
        let other = ring.names(&key("bob")).value;
        assert_eq!(ring.open(&other, &sealed).unwrap_err(), BadEntry::Unsealed);
        // Any flipped bit, truncation, or junk.
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(ring.open(&name, &bad).is_err(), "byte {i}");
        }
        assert!(ring.open(&name, &sealed[..sealed.len() - 1]).is_err());
        assert!(ring.open(&name, b"").is_err());
        assert!(
            ring.open(&name, &vec![1u8; MAX_ENVELOPE_BYTES + 1])
                .is_err()
        );
    }

    #[test]
    fn rotation_opens_the_previous_key() {
        let old = Keyring::new(1, [1; 32]);
        let k = key("alice");
        let old_name = old.names(&k).value;
        let sealed = old.seal(&old_name, &record(&k)).unwrap();
        let new = Keyring::new(2, [2; 32]).with_previous(1, [1; 32]);
        let names = new.lookup_names(&k);
        assert_eq!(names.len(), 2);
        assert_eq!(names[1].value, old_name);
        assert!(new.open(&old_name, &sealed).is_ok());
        // Dropped from the ring: unreadable.
        assert!(Keyring::new(2, [2; 32]).open(&old_name, &sealed).is_err());
    }

    #[test]
    fn secrets_parse_from_hex() {
        let hex = "00".repeat(31) + "ff";
        assert_eq!(secret_from_hex(&hex).unwrap()[31], 0xff);
        assert!(secret_from_hex("abc").is_err());
        assert!(secret_from_hex(&"zz".repeat(32)).is_err());
        assert!(!format!("{:?}", Keyring::new(3, [9; 32])).contains("9, 9"));
    }
}
