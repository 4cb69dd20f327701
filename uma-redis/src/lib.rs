//! `uma-redis`: a shared RPT store on Redis for a fleet of UMA clients.
//!
//! [`RedisStore`] implements both of `uma-core`'s store traits: [`RptStore`](store::RptStore) (blocking, for
//! `uma-ureq` and the CLI) over one connection with read and write timeouts, and [`AsyncRptStore`](store::AsyncRptStore)
//! (tokio, for `uma-hyper` and `uma-reqwest`) over redis's reconnecting `ConnectionManager`. Every
//! call is bounded by a short timeout (default 200 ms); a failed connection is dropped and reopened
//! by the next call, so a Redis that restarts is picked up again.
//!
//! What Redis sees ([`Keyring`]): names that are a keyed hash of (issuer, resource-server origin,
//! party), values sealed with ChaCha20-Poly1305 under an application-held key with a key id, locks
//! holding a random token. An entry that does not open (corrupt, tampered with, another
//! application's key, moved under another name) is a miss, never plaintext.
//!
//! ```no_run
//! use std::sync::Arc;
//! use uma_redis::{Keyring, RedisStore, secret_from_hex};
//!
//! let secret = secret_from_hex(&std::env::var("UMA_STORE_KEY")?)?;
//! let store = RedisStore::open("redis://127.0.0.1:6379/", Keyring::new(1, secret))?;
//! let shared: Arc<dyn uma_core::store::AsyncRptStore> = Arc::new(store);
//! # let _ = shared;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

#[cfg(feature = "client")]
mod client;
mod keyring;

use uma_core::store::BadEntry;

#[cfg(feature = "client")]
pub use client::RedisStore;
pub use keyring::{BadSecret, Keyring, MAX_ENVELOPE_BYTES, Names, secret_from_hex};
pub use uma_core::store;

/// Whether `bad` means the entry was sealed with a key this keyring does not hold (or was corrupted).
pub fn is_unsealed(bad: &BadEntry) -> bool {
    matches!(bad, BadEntry::Unsealed)
}
