//! Cache entries that can leave the process: versioned records of an RPT and of authorization-server
//! metadata, their JSON encoding, and the arithmetic a shared store needs (store TTLs, lock leases,
//! bounded waits) as plain data.
//!
//! Still no I/O and no clock reads. Wall-clock times are unix seconds *passed in* by the caller
//! (`Instant` means nothing in another process); [`instant_at`] and [`unix_at`] translate between the
//! two given one reading of each clock taken together.
//!
//! Decoding treats its input as hostile (it comes back from Redis or a file another process wrote):
//! the size is bounded before parsing, every field is checked, and every failure is a typed
//! [`RecordError`] that never quotes the input, so no secret reaches a log through an error. Records
//! print their tokens as `[redacted]` in `Debug`.

use std::fmt;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::cache::{Party, refresh_skew};
use crate::discovery::{AsMetadata, EndpointPolicy, Issuer};
use crate::secret::{AccessToken, RefreshToken};

/// The record format version written by this crate and the only one it reads.
pub const RECORD_VERSION: u32 = 1;
/// Largest encoded record [`RptRecord::decode`] and [`MetadataRecord::decode`] accept.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;
/// Largest access or refresh token in a record.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Largest issuer, origin or party name in a record.
pub const MAX_NAME_BYTES: usize = 2048;
/// Latest wall-clock time a record may carry (year 2500), so that arithmetic on it cannot overflow.
pub const MAX_UNIX: u64 = 16_725_225_600;

const RPT_KIND: &str = "uma-rpt";
const METADATA_KIND: &str = "uma-as-metadata";

/// Why a record could not be decoded (or does not belong where it was found). Never quotes the input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// Larger than [`MAX_RECORD_BYTES`].
    #[error("record of {len} bytes, larger than {max}")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not UTF-8 JSON of the expected shape (a syntax error, a missing, duplicate or mistyped field).
    #[error("malformed record ({category}) at line {line}, column {column}")]
    Malformed {
        /// `syntax`, `data` (shape), `eof` or `io`.
        category: &'static str,
        /// Where serde_json stopped.
        line: usize,
        /// Where serde_json stopped.
        column: usize,
    },
    /// Written by another version of the format.
    #[error("record version {found}, this crate reads version {RECORD_VERSION}")]
    UnsupportedVersion {
        /// The version found.
        found: u64,
    },
    /// A record of another kind (e.g. metadata where an RPT was expected).
    #[error("record of another kind than {expected}")]
    WrongKind {
        /// The kind expected.
        expected: &'static str,
    },
    /// A field with an impossible value.
    #[error("invalid record field {field}: {reason}")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A record for another issuer, origin or party than the one asked for (a store that mixed keys up).
    #[error("record for another {field} than the one asked for")]
    KeyMismatch {
        /// `issuer`, `origin` or `party`.
        field: &'static str,
    },
}

fn malformed(e: &serde_json::Error) -> RecordError {
    use serde_json::error::Category;
    RecordError::Malformed {
        category: match e.classify() {
            Category::Io => "io",
            Category::Syntax => "syntax",
            Category::Data => "data",
            Category::Eof => "eof",
        },
        line: e.line(),
        column: e.column(),
    }
}

/// Checks the size, the version and the kind before the record itself is parsed.
fn precheck(bytes: &[u8], kind: &'static str) -> Result<(), RecordError> {
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(RecordError::TooLarge {
            len: bytes.len(),
            max: MAX_RECORD_BYTES,
        });
    }
    #[derive(Deserialize)]
    struct Header<'a> {
        v: u64,
        #[serde(borrow)]
        kind: std::borrow::Cow<'a, str>,
    }
    let header: Header<'_> = serde_json::from_slice(bytes).map_err(|e| malformed(&e))?;
    if header.v != u64::from(RECORD_VERSION) {
        return Err(RecordError::UnsupportedVersion { found: header.v });
    }
    if header.kind != kind {
        return Err(RecordError::WrongKind { expected: kind });
    }
    Ok(())
}

fn check_name(field: &'static str, value: &str) -> Result<(), RecordError> {
    if value.len() > MAX_NAME_BYTES {
        return Err(RecordError::InvalidField {
            field,
            reason: "too long",
        });
    }
    if value.chars().any(char::is_control) {
        return Err(RecordError::InvalidField {
            field,
            reason: "control character",
        });
    }
    Ok(())
}

fn check_token(field: &'static str, value: &str) -> Result<(), RecordError> {
    if value.is_empty() {
        return Err(RecordError::InvalidField {
            field,
            reason: "empty",
        });
    }
    if value.len() > MAX_TOKEN_BYTES {
        return Err(RecordError::InvalidField {
            field,
            reason: "too long",
        });
    }
    // What an `Authorization: Bearer` value (or a form field) can carry without escaping.
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(RecordError::InvalidField {
            field,
            reason: "not visible ASCII",
        });
    }
    Ok(())
}

fn check_time(field: &'static str, value: u64) -> Result<(), RecordError> {
    if value > MAX_UNIX {
        return Err(RecordError::InvalidField {
            field,
            reason: "beyond the year 2500",
        });
    }
    Ok(())
}

/// An RPT as it can be stored outside the process: the token, its refresh token, the wall-clock times
/// it was obtained and expires (unix seconds), and the key it belongs to (issuer, resource-server
/// origin, requesting party).
#[derive(Clone)]
pub struct RptRecord {
    /// The authorization server that issued it.
    pub issuer: Issuer,
    /// The resource server, `scheme://host:port`.
    pub origin: String,
    /// The requesting party.
    pub party: Party,
    /// The RPT.
    pub token: AccessToken,
    /// Its refresh token, if any (share it only when the application opts in).
    pub refresh_token: Option<RefreshToken>,
    /// When it was obtained, unix seconds.
    pub obtained_at: u64,
    /// When it expires, unix seconds, if the authorization server said.
    pub expires_at: Option<u64>,
    /// Renewed with its refresh token at least once.
    pub refreshed: bool,
}

impl fmt::Debug for RptRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RptRecord")
            .field("issuer", &self.issuer.as_str())
            .field("origin", &self.origin)
            .field("party", &self.party)
            .field("token", &self.token)
            .field("refresh_token", &self.refresh_token)
            .field("obtained_at", &self.obtained_at)
            .field("expires_at", &self.expires_at)
            .field("refreshed", &self.refreshed)
            .finish()
    }
}

/// The JSON shape of an [`RptRecord`]. No `Debug`: it holds the tokens in the clear.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RptWire {
    v: u32,
    kind: String,
    iss: String,
    origin: String,
    party: String,
    token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    obtained_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<u64>,
    #[serde(default)]
    refreshed: bool,
}

/// The text that parses back to `issuer`. [`Issuer::parse`] strips one trailing `/`, so an issuer whose
/// identifier still ends in `/` (written `https://as/a//`) is written with it back (found by fuzzing).
fn issuer_text(issuer: &Issuer) -> String {
    let text = issuer.as_str();
    if text.ends_with('/') {
        format!("{text}/")
    } else {
        text.to_owned()
    }
}

impl RptRecord {
    /// The record as versioned JSON.
    pub fn encode(&self) -> Vec<u8> {
        let wire = RptWire {
            v: RECORD_VERSION,
            kind: RPT_KIND.to_owned(),
            iss: issuer_text(&self.issuer),
            origin: self.origin.clone(),
            party: self.party.0.clone(),
            token: self.token.secret().to_owned(),
            refresh_token: self.refresh_token.as_ref().map(|t| t.secret().to_owned()),
            obtained_at: self.obtained_at,
            expires_at: self.expires_at,
            refreshed: self.refreshed,
        };
        // Serialising plain strings, integers and booleans cannot fail.
        serde_json::to_vec(&wire).unwrap_or_default()
    }

    /// Parses and checks a record written by [`encode`](Self::encode), possibly by another process.
    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        precheck(bytes, RPT_KIND)?;
        let wire: RptWire = serde_json::from_slice(bytes).map_err(|e| malformed(&e))?;
        check_name("iss", &wire.iss)?;
        let issuer = Issuer::parse(&wire.iss).map_err(|_| RecordError::InvalidField {
            field: "iss",
            reason: "not an issuer identifier",
        })?;
        check_name("origin", &wire.origin)?;
        if !(wire.origin.starts_with("https://") || wire.origin.starts_with("http://"))
            || wire.origin.len() <= "http://".len()
        {
            return Err(RecordError::InvalidField {
                field: "origin",
                reason: "not an http(s) origin",
            });
        }
        check_name("party", &wire.party)?;
        check_token("token", &wire.token)?;
        if let Some(refresh) = &wire.refresh_token {
            check_token("refresh_token", refresh)?;
        }
        check_time("obtained_at", wire.obtained_at)?;
        if let Some(expires) = wire.expires_at {
            check_time("expires_at", expires)?;
            if expires < wire.obtained_at {
                return Err(RecordError::InvalidField {
                    field: "expires_at",
                    reason: "before obtained_at",
                });
            }
        }
        Ok(Self {
            issuer,
            origin: wire.origin,
            party: Party(wire.party),
            token: AccessToken::new(wire.token),
            refresh_token: wire.refresh_token.map(RefreshToken::new),
            obtained_at: wire.obtained_at,
            expires_at: wire.expires_at,
            refreshed: wire.refreshed,
        })
    }

    /// Checks that the record belongs to the key it was looked up under.
    pub fn check_key(
        &self,
        issuer: &Issuer,
        origin: &str,
        party: &Party,
    ) -> Result<(), RecordError> {
        if self.issuer != *issuer {
            return Err(RecordError::KeyMismatch { field: "issuer" });
        }
        if self.origin != origin {
            return Err(RecordError::KeyMismatch { field: "origin" });
        }
        if self.party != *party {
            return Err(RecordError::KeyMismatch { field: "party" });
        }
        Ok(())
    }

    /// Whether the RPT is still valid at `now_unix` (a record without expiry is).
    pub fn is_live(&self, now_unix: u64) -> bool {
        self.expires_at.is_none_or(|e| now_unix < e)
    }

    /// Bytes of the tokens it holds.
    pub fn token_bytes(&self) -> usize {
        self.token.len() + self.refresh_token.as_ref().map_or(0, RefreshToken::len)
    }
}

/// Authorization-server metadata as it can be stored outside the process. The document is kept in its
/// RFC 8414 form and goes through the same validation as a discovery response when it is read back
/// ([`metadata`](Self::metadata)), so a forged record cannot smuggle in an endpoint the policy refuses.
#[derive(Clone, Debug)]
pub struct MetadataRecord {
    /// The issuer the metadata was discovered for.
    pub issuer: Issuer,
    /// The RFC 8414 document.
    document: serde_json::Map<String, serde_json::Value>,
    /// When it was fetched, unix seconds.
    pub fetched_at: u64,
    /// When it stops being trusted, unix seconds.
    pub expires_at: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetadataWire {
    v: u32,
    kind: String,
    iss: String,
    document: serde_json::Map<String, serde_json::Value>,
    fetched_at: u64,
    expires_at: u64,
}

impl MetadataRecord {
    /// A record of `metadata`, discovered for `issuer` at `fetched_at` and trusted until `expires_at`.
    pub fn new(issuer: Issuer, metadata: &AsMetadata, fetched_at: u64, expires_at: u64) -> Self {
        use serde_json::Value;
        let mut document = serde_json::Map::new();
        let mut put = |name: &str, value: Option<&url::Url>| {
            if let Some(url) = value {
                document.insert(name.to_owned(), Value::String(url.as_str().to_owned()));
            }
        };
        put("token_endpoint", Some(&metadata.token_endpoint));
        put(
            "introspection_endpoint",
            metadata.introspection_endpoint.as_ref(),
        );
        put(
            "resource_registration_endpoint",
            metadata.resource_registration_endpoint.as_ref(),
        );
        put("permission_endpoint", metadata.permission_endpoint.as_ref());
        put(
            "claims_interaction_endpoint",
            metadata.claims_interaction_endpoint.as_ref(),
        );
        put(
            "registration_endpoint",
            metadata.registration_endpoint.as_ref(),
        );
        put("revocation_endpoint", metadata.revocation_endpoint.as_ref());
        put("policy_endpoint", metadata.policy_endpoint.as_ref());
        put("jwks_uri", metadata.jwks_uri.as_ref());
        let list = |v: &[String]| Value::Array(v.iter().cloned().map(Value::String).collect());
        let lists = [
            (
                "token_endpoint_auth_methods_supported",
                &metadata.token_endpoint_auth_methods_supported,
            ),
            ("grant_types_supported", &metadata.grant_types_supported),
            ("uma_profiles_supported", &metadata.uma_profiles_supported),
        ];
        for (name, values) in lists {
            if !values.is_empty() {
                document.insert(name.to_owned(), list(values));
            }
        }
        document.insert(
            "issuer".to_owned(),
            Value::String(metadata.issuer.as_str().to_owned()),
        );
        Self {
            issuer,
            document,
            fetched_at,
            expires_at,
        }
    }

    /// The record as versioned JSON.
    pub fn encode(&self) -> Vec<u8> {
        let wire = MetadataWire {
            v: RECORD_VERSION,
            kind: METADATA_KIND.to_owned(),
            iss: issuer_text(&self.issuer),
            document: self.document.clone(),
            fetched_at: self.fetched_at,
            expires_at: self.expires_at,
        };
        serde_json::to_vec(&wire).unwrap_or_default()
    }

    /// Parses and checks a record written by [`encode`](Self::encode). The document itself is validated
    /// by [`metadata`](Self::metadata).
    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        precheck(bytes, METADATA_KIND)?;
        let wire: MetadataWire = serde_json::from_slice(bytes).map_err(|e| malformed(&e))?;
        check_name("iss", &wire.iss)?;
        let issuer = Issuer::parse(&wire.iss).map_err(|_| RecordError::InvalidField {
            field: "iss",
            reason: "not an issuer identifier",
        })?;
        check_time("fetched_at", wire.fetched_at)?;
        check_time("expires_at", wire.expires_at)?;
        if wire.expires_at < wire.fetched_at {
            return Err(RecordError::InvalidField {
                field: "expires_at",
                reason: "before fetched_at",
            });
        }
        Ok(Self {
            issuer,
            document: wire.document,
            fetched_at: wire.fetched_at,
            expires_at: wire.expires_at,
        })
    }

    /// Whether the metadata is still trusted at `now_unix`.
    pub fn is_live(&self, now_unix: u64) -> bool {
        now_unix < self.expires_at
    }

    /// The metadata of `key` (the issuer it was looked up for), validated as a discovery response that
    /// must name `document_issuer` (the same issuer, or a discovery override's expected one) under
    /// `policy`.
    pub fn metadata(
        &self,
        key: &Issuer,
        document_issuer: &Issuer,
        policy: &EndpointPolicy,
    ) -> Result<AsMetadata, RecordError> {
        if self.issuer != *key {
            return Err(RecordError::KeyMismatch { field: "issuer" });
        }
        let body = serde_json::to_vec(&self.document).unwrap_or_default();
        let response = http::Response::new(body);
        crate::discovery::parse_metadata(document_issuer, &response, policy).map_err(|_| {
            RecordError::InvalidField {
                field: "document",
                reason: "refused by discovery validation",
            }
        })
    }
}

// ---- clocks ------------------------------------------------------------------------------------------

/// The `Instant` of wall-clock time `at_unix`, given one reading of both clocks (`now`, `now_unix`).
/// Times far in the future are capped at ten years; times before the process's clock can express are
/// clamped to `now` minus what it can.
pub fn instant_at(at_unix: u64, now: Instant, now_unix: u64) -> Instant {
    const TEN_YEARS: u64 = 10 * 365 * 24 * 3600;
    if at_unix >= now_unix {
        let ahead = Duration::from_secs((at_unix - now_unix).min(TEN_YEARS));
        now.checked_add(ahead).unwrap_or(now)
    } else {
        let behind = Duration::from_secs(now_unix - at_unix);
        now.checked_sub(behind).unwrap_or(now)
    }
}

/// The wall-clock time (unix seconds, rounded up) of `at`, given one reading of both clocks.
pub fn unix_at(at: Instant, now: Instant, now_unix: u64) -> u64 {
    if at >= now {
        let ahead = at.duration_since(now);
        let secs = ahead.as_secs() + u64::from(ahead.subsec_nanos() > 0);
        now_unix.saturating_add(secs)
    } else {
        now_unix.saturating_sub(now.duration_since(at).as_secs())
    }
}

// ---- store TTLs --------------------------------------------------------------------------------------

/// How long a shared store keeps an RPT record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TtlPolicy {
    /// Allowance for clocks of replicas that disagree, taken off every TTL (default 5 s).
    pub clock_skew: Duration,
    /// Below this, a record is not worth storing (default 5 s).
    pub min_ttl: Duration,
    /// The longest a record is kept, and the TTL of tokens without expiry (default 1 h).
    pub max_ttl: Duration,
}

impl Default for TtlPolicy {
    fn default() -> Self {
        Self {
            clock_skew: Duration::from_secs(5),
            min_ttl: Duration::from_secs(5),
            max_ttl: Duration::from_secs(3600),
        }
    }
}

impl TtlPolicy {
    /// The TTL to store a token with: until its expiry less the refresh skew of its lifetime (the
    /// moment this process would renew it, [`refresh_skew`]) and less the clock allowance, capped at
    /// `max_ttl`. `None`: not worth storing (already at or inside that margin).
    pub fn store_ttl(
        &self,
        obtained_at: u64,
        expires_at: Option<u64>,
        now_unix: u64,
    ) -> Option<Duration> {
        let Some(expires_at) = expires_at else {
            return Some(self.max_ttl);
        };
        let lifetime = Duration::from_secs(expires_at.saturating_sub(obtained_at));
        let margin = refresh_skew(lifetime) + self.clock_skew;
        let left = Duration::from_secs(expires_at.saturating_sub(now_unix));
        let ttl = left.checked_sub(margin)?.min(self.max_ttl);
        (ttl >= self.min_ttl && !ttl.is_zero()).then_some(ttl)
    }

    /// [`store_ttl`](Self::store_ttl) of a record.
    pub fn record_ttl(&self, record: &RptRecord, now_unix: u64) -> Option<Duration> {
        self.store_ttl(record.obtained_at, record.expires_at, now_unix)
    }
}

// ---- lock leases -------------------------------------------------------------------------------------

/// A lock held in a shared store while one replica runs an exchange (an efficiency lock: losing it
/// costs an extra exchange, never a wrong token).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lease {
    /// When the lock was taken, by the holder's clock (taken *before* the store call was sent).
    pub acquired: Instant,
    /// The TTL the store was given.
    pub ttl: Duration,
}

impl Lease {
    /// The TTL for a lock on an exchange that may run `exchange_timeout`: longer than the work it
    /// protects (a lock that dies mid-exchange lets a second replica in), so the timeout plus a quarter,
    /// at least one second more. Capped at one hour.
    pub fn ttl_for(exchange_timeout: Duration) -> Duration {
        let margin = (exchange_timeout / 4).max(Duration::from_secs(1));
        (exchange_timeout + margin).min(Duration::from_secs(3600))
    }

    /// A lease taken at `acquired` for `ttl`.
    pub fn new(acquired: Instant, ttl: Duration) -> Self {
        Self { acquired, ttl }
    }

    /// When the store drops the lock (at the earliest, by the holder's clock).
    pub fn expires(&self) -> Instant {
        self.acquired + self.ttl
    }

    /// Whether the holder may still count on the lock at `now`: until a tenth of the TTL before it
    /// expires, for the store's clock running slightly fast.
    pub fn held(&self, now: Instant) -> bool {
        now + self.ttl / 10 < self.expires()
    }

    /// When the holder should renew the lease if the work is still running: at half its TTL.
    pub fn renew_at(&self) -> Instant {
        self.acquired + self.ttl / 2
    }
}

// ---- bounded waits -----------------------------------------------------------------------------------

/// How a replica that did not get the lock waits for the holder's record: polls with exponential
/// backoff, never past `max_wait`, then runs the exchange itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitPolicy {
    /// The first poll comes this long after the wait starts (default 25 ms).
    pub first_poll: Duration,
    /// Polls are never further apart than this (default 500 ms).
    pub max_poll: Duration,
    /// The whole wait (default 10 s; at most the holder's lease, see [`WaitPolicy::for_lease`]).
    pub max_wait: Duration,
}

impl Default for WaitPolicy {
    fn default() -> Self {
        Self {
            first_poll: Duration::from_millis(25),
            max_poll: Duration::from_millis(500),
            max_wait: Duration::from_secs(10),
        }
    }
}

impl WaitPolicy {
    /// The default policy, waiting no longer than a lock of `lease_ttl` can be held.
    pub fn for_lease(lease_ttl: Duration) -> Self {
        let default = Self::default();
        Self {
            max_wait: lease_ttl,
            ..default
        }
    }

    /// When to poll after `polls` polls of a wait that began at `started`; `None` once the wait is over
    /// (the waiter runs the exchange itself). The last poll lands on the deadline.
    pub fn next_poll(&self, started: Instant, polls: u32, now: Instant) -> Option<Instant> {
        let deadline = started + self.max_wait;
        if now >= deadline {
            return None;
        }
        let factor = 1u32.checked_shl(polls.min(16)).unwrap_or(u32::MAX);
        let gap = self
            .first_poll
            .saturating_mul(factor)
            .min(self.max_poll)
            .max(Duration::from_millis(1));
        Some((now + gap).min(deadline))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> Issuer {
        Issuer::parse("https://as.example.org/realms/r").unwrap()
    }

    fn record() -> RptRecord {
        RptRecord {
            issuer: issuer(),
            origin: "https://rs.example.org:443".into(),
            party: Party::new("alice"),
            token: AccessToken::new("eyJhbGciOi.rpt-secret.sig"),
            refresh_token: Some(RefreshToken::new("refresh-secret")),
            obtained_at: 1_700_000_000,
            expires_at: Some(1_700_000_300),
            refreshed: false,
        }
    }

    fn wire(patch: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
        let mut v: serde_json::Value = serde_json::from_slice(&record().encode()).unwrap();
        patch(&mut v);
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn an_issuer_ending_in_a_slash_round_trips() {
        // `Issuer::parse` strips one trailing '/': "…/a//" is the issuer "…/a/", which must be written
        // so that it reads back as itself (fuzz/regressions/record/issuer-double-trailing-slash). Metadata
        // records write their issuer the same way.
        let issuer = Issuer::parse("https://as.example.org/a//").unwrap();
        assert_eq!(issuer.as_str(), "https://as.example.org/a/");
        let r = RptRecord {
            issuer: issuer.clone(),
            ..record()
        };
        assert_eq!(RptRecord::decode(&r.encode()).unwrap().issuer, issuer);
    }

    #[test]
    fn an_rpt_record_round_trips() {
        let r = record();
        let back = RptRecord::decode(&r.encode()).unwrap();
        assert_eq!(back.issuer, r.issuer);
        assert_eq!(back.origin, r.origin);
        assert_eq!(back.party, r.party);
        assert!(back.token.same_as(&r.token));
        assert!(
            back.refresh_token
                .as_ref()
                .unwrap()
                .same_as(r.refresh_token.as_ref().unwrap())
        );
        assert_eq!(
            (back.obtained_at, back.expires_at),
            (r.obtained_at, r.expires_at)
        );
        back.check_key(&r.issuer, &r.origin, &r.party).unwrap();
        assert_eq!(
            back.check_key(&r.issuer, &r.origin, &Party::new("bob")),
            Err(RecordError::KeyMismatch { field: "party" })
        );
    }

    #[test]
    fn secrets_stay_out_of_debug_and_errors() {
        let shown = format!("{:?}", record());
        assert!(!shown.contains("rpt-secret") && !shown.contains("refresh-secret"));
        // A mistyped field: serde_json's message would quote the value; ours does not.
        let bad = wire(|v| v["token"] = serde_json::json!(["rpt-secret"]));
        let err = RptRecord::decode(&bad).unwrap_err();
        assert!(matches!(
            err,
            RecordError::Malformed {
                category: "data",
                ..
            }
        ));
        assert!(!format!("{err:?} {err}").contains("rpt-secret"));
        let bad = wire(|v| v["token"] = serde_json::json!("rpt secret"));
        let err = RptRecord::decode(&bad).unwrap_err();
        assert!(!format!("{err:?} {err}").contains("secret\""));
    }

    #[test]
    fn hostile_records_get_typed_errors() {
        let cases: Vec<(Vec<u8>, RecordError)> = vec![
            (
                vec![b' '; MAX_RECORD_BYTES + 1],
                RecordError::TooLarge {
                    len: MAX_RECORD_BYTES + 1,
                    max: MAX_RECORD_BYTES,
                },
            ),
            (
                wire(|v| v["v"] = 2.into()),
                RecordError::UnsupportedVersion { found: 2 },
            ),
            (
                wire(|v| v["kind"] = "uma-as-metadata".into()),
                RecordError::WrongKind { expected: RPT_KIND },
            ),
            (
                wire(|v| v["iss"] = "ftp://x".into()),
                RecordError::InvalidField {
                    field: "iss",
                    reason: "not an issuer identifier",
                },
            ),
            (
                wire(|v| v["origin"] = "javascript:alert(1)".into()),
                RecordError::InvalidField {
                    field: "origin",
                    reason: "not an http(s) origin",
                },
            ),
            (
                wire(|v| v["party"] = "a\nb".into()),
                RecordError::InvalidField {
                    field: "party",
                    reason: "control character",
                },
            ),
            (
                wire(|v| v["token"] = "".into()),
                RecordError::InvalidField {
                    field: "token",
                    reason: "empty",
                },
            ),
            (
                wire(|v| v["token"] = "x".repeat(MAX_TOKEN_BYTES + 1).into()),
                RecordError::InvalidField {
                    field: "token",
                    reason: "too long",
                },
            ),
            (
                wire(|v| v["refresh_token"] = "a\r\nb".into()),
                RecordError::InvalidField {
                    field: "refresh_token",
                    reason: "not visible ASCII",
                },
            ),
            (
                wire(|v| v["expires_at"] = 1.into()),
                RecordError::InvalidField {
                    field: "expires_at",
                    reason: "before obtained_at",
                },
            ),
            (
                wire(|v| v["obtained_at"] = u64::MAX.into()),
                RecordError::InvalidField {
                    field: "obtained_at",
                    reason: "beyond the year 2500",
                },
            ),
        ];
        for (bytes, expected) in cases {
            assert_eq!(RptRecord::decode(&bytes).unwrap_err(), expected);
        }
        for bytes in [
            &b""[..],
            b"null",
            b"[]",
            b"{",
            b"\xff\xfe",
            br#"{"v":1}"#,
            br#"{"v":1,"kind":"uma-rpt"}"#,
            br#"{"v":"1","kind":"uma-rpt"}"#,
            br#"{"v":1,"v":1,"kind":"uma-rpt"}"#,
        ] {
            assert!(
                matches!(RptRecord::decode(bytes), Err(RecordError::Malformed { .. })),
                "{bytes:?}"
            );
        }
        let extra = wire(|v| v["surprise"] = true.into());
        assert!(matches!(
            RptRecord::decode(&extra),
            Err(RecordError::Malformed { .. })
        ));
        // Deep nesting is refused by serde_json's recursion limit, not the stack.
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(RptRecord::decode(deep.as_bytes()).is_err());
    }

    #[test]
    fn metadata_records_revalidate_their_document() {
        let iss = Issuer::parse("https://as.example.org").unwrap();
        let body = br#"{"issuer":"https://as.example.org","token_endpoint":"https://as.example.org/token","grant_types_supported":["urn:ietf:params:oauth:grant-type:uma-ticket"]}"#;
        let response = http::Response::new(body.to_vec());
        let policy = EndpointPolicy::default();
        let meta = crate::discovery::parse_metadata(&iss, &response, &policy).unwrap();
        let record = MetadataRecord::new(iss.clone(), &meta, 100, 3700);
        let back = MetadataRecord::decode(&record.encode()).unwrap();
        assert!(back.is_live(3699) && !back.is_live(3700));
        let again = back.metadata(&iss, &iss, &policy).unwrap();
        assert_eq!(again.token_endpoint, meta.token_endpoint);
        assert_eq!(again.grant_types_supported, meta.grant_types_supported);
        let other = Issuer::parse("https://evil.example.org").unwrap();
        assert_eq!(
            back.metadata(&other, &other, &policy).unwrap_err(),
            RecordError::KeyMismatch { field: "issuer" }
        );

        // A forged document with a plain-http token endpoint is refused like a discovery response.
        let mut v: serde_json::Value = serde_json::from_slice(&record.encode()).unwrap();
        v["document"]["token_endpoint"] = "http://as.example.org/token".into();
        let forged = MetadataRecord::decode(&serde_json::to_vec(&v).unwrap()).unwrap();
        assert!(matches!(
            forged.metadata(&iss, &iss, &policy),
            Err(RecordError::InvalidField {
                field: "document",
                ..
            })
        ));
        assert!(matches!(
            MetadataRecord::decode(&RptRecord::encode(&self::tests::record())),
            Err(RecordError::WrongKind { .. })
        ));
    }

    #[test]
    fn clocks_translate_both_ways() {
        let now = Instant::now();
        let at = instant_at(1_000_060, now, 1_000_000);
        assert_eq!(at - now, Duration::from_secs(60));
        assert_eq!(unix_at(at, now, 1_000_000), 1_000_060);
        assert_eq!(unix_at(now + Duration::from_millis(1), now, 10), 11);
        let past = instant_at(999_990, now, 1_000_000);
        assert!(past <= now);
        // Absurd times do not overflow.
        let far = instant_at(u64::MAX, now, 0);
        assert!(far > now);
        let _ = instant_at(0, now, u64::MAX);
    }

    #[test]
    fn store_ttl_ends_before_the_token_does() {
        let p = TtlPolicy::default();
        // 300 s token, fresh: expiry less the 30 s refresh skew and the 5 s clock allowance.
        assert_eq!(
            p.store_ttl(1000, Some(1300), 1000),
            Some(Duration::from_secs(265))
        );
        // Later in its life the TTL shrinks with it.
        assert_eq!(
            p.store_ttl(1000, Some(1300), 1200),
            Some(Duration::from_secs(65))
        );
        // Inside the margin, or nearly so: not stored.
        assert_eq!(p.store_ttl(1000, Some(1300), 1262), None);
        assert_eq!(p.store_ttl(1000, Some(1300), 1400), None);
        // Long-lived and unexpiring tokens are capped.
        assert_eq!(
            p.store_ttl(0, Some(10 * 86_400), 0),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(p.store_ttl(0, None, 0), Some(Duration::from_secs(3600)));
        assert_eq!(
            p.record_ttl(&record(), 1_700_000_000),
            Some(Duration::from_secs(265))
        );
    }

    #[test]
    fn leases_outlast_the_exchange_and_renew_at_half() {
        assert_eq!(
            Lease::ttl_for(Duration::from_secs(30)),
            Duration::from_millis(37_500)
        );
        assert_eq!(
            Lease::ttl_for(Duration::from_secs(2)),
            Duration::from_secs(3)
        );
        let t0 = Instant::now();
        let lease = Lease::new(t0, Duration::from_secs(10));
        assert_eq!(lease.renew_at(), t0 + Duration::from_secs(5));
        assert!(lease.held(t0 + Duration::from_millis(8_999)));
        assert!(!lease.held(t0 + Duration::from_secs(9)));
    }

    #[test]
    fn waits_back_off_and_end() {
        let p = WaitPolicy::for_lease(Duration::from_secs(2));
        let t0 = Instant::now();
        assert_eq!(p.next_poll(t0, 0, t0), Some(t0 + Duration::from_millis(25)));
        assert_eq!(
            p.next_poll(t0, 2, t0),
            Some(t0 + Duration::from_millis(100))
        );
        assert_eq!(
            p.next_poll(t0, 30, t0),
            Some(t0 + Duration::from_millis(500))
        );
        let late = t0 + Duration::from_millis(1900);
        assert_eq!(p.next_poll(t0, 30, late), Some(t0 + Duration::from_secs(2)));
        assert_eq!(p.next_poll(t0, 31, t0 + Duration::from_secs(2)), None);
        // Every wait ends: at most max_wait / first_poll polls.
        let mut now = t0;
        let mut polls = 0;
        while let Some(next) = p.next_poll(t0, polls, now) {
            now = next;
            polls += 1;
        }
        assert!(polls < 20);
    }
}
