//! [`RedisStore`]: both store traits over the `redis` crate.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, Script};
use uma_core::record::RptRecord;
use uma_core::secret::AccessToken;
use uma_core::store::{
    AsyncRptStore, LockToken, Lookup, RptStore, SharedKey, StoreError, StoreFuture,
};

use crate::Keyring;

/// Deletes `KEYS[1]` if it holds exactly `ARGV[1]`: the compare-and-delete of unlock and of a refused
/// RPT.
const COMPARE_AND_DELETE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// A shared RPT store on one Redis server (`redis://` or, with the `tls` feature, `rediss://`).
/// Cheap to clone; clones share the connections.
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    keyring: Keyring,
    timeout: Duration,
    sync: Mutex<Option<redis::Connection>>,
    manager: Mutex<Option<ConnectionManager>>,
    cad: Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: show the host only.
        let addr = self.inner.client.get_connection_info().addr().to_string();
        let host = addr.rsplit('@').next().unwrap_or_default().to_owned();
        f.debug_struct("RedisStore")
            .field("server", &host)
            .field("keyring", &self.inner.keyring)
            .field("timeout", &self.inner.timeout)
            .finish()
    }
}

fn store_error(e: &RedisError, timeout: Duration) -> StoreError {
    if e.is_timeout() {
        StoreError::Timeout(timeout)
    } else if e.is_io_error() || e.is_connection_dropped() {
        StoreError::Unavailable("connection failed".into())
    } else {
        // The kind only: a server message could quote a key.
        StoreError::Unavailable(format!("redis error ({:?})", e.kind()))
    }
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl RedisStore {
    /// A store on the Redis at `url` (`redis://[user:password@]host:port[/db]`), sealing with `keyring`.
    /// Nothing is connected yet: the first call connects, so a Redis that is down at start-up is
    /// only a miss.
    pub fn open(url: &str, keyring: Keyring) -> Result<Self, StoreError> {
        let client = redis::Client::open(url)
            .map_err(|e| StoreError::Unavailable(format!("bad redis URL ({:?})", e.kind())))?;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                keyring,
                timeout: Duration::from_millis(200),
                sync: Mutex::new(None),
                manager: Mutex::new(None),
                cad: Script::new(COMPARE_AND_DELETE),
            }),
        })
    }

    /// Bounds every call (connecting included) by `timeout` (default 200 ms). Call before cloning.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.timeout = timeout;
        }
        self
    }

    /// The keyring.
    pub fn keyring(&self) -> &Keyring {
        &self.inner.keyring
    }

    // ---- blocking -----------------------------------------------------------------------------

    /// Runs `f` on the blocking connection, opening it first if needed; a failed connection is
    /// dropped so the next call reconnects.
    fn with_sync<T>(
        &self,
        f: impl FnOnce(&mut redis::Connection, &Inner) -> redis::RedisResult<T>,
    ) -> Result<T, StoreError> {
        let inner = &*self.inner;
        let mut slot = inner.sync.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            let con = inner
                .client
                .get_connection_with_timeout(inner.timeout)
                .map_err(|e| store_error(&e, inner.timeout))?;
            con.set_read_timeout(Some(inner.timeout))
                .and_then(|()| con.set_write_timeout(Some(inner.timeout)))
                .map_err(|e| store_error(&e, inner.timeout))?;
            *slot = Some(con);
        }
        let Some(con) = slot.as_mut() else {
            return Err(StoreError::Unavailable("no connection".into()));
        };
        match f(con, inner) {
            Ok(v) => Ok(v),
            Err(e) => {
                if !matches!(e.kind(), redis::ErrorKind::Server(_)) {
                    *slot = None;
                }
                Err(store_error(&e, inner.timeout))
            }
        }
    }

    // ---- async --------------------------------------------------------------------------------

    async fn manager(&self) -> Result<ConnectionManager, StoreError> {
        let inner = &*self.inner;
        if let Some(m) = inner
            .manager
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        {
            return Ok(m);
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(inner.timeout))
            .set_response_timeout(Some(inner.timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let made = tokio::time::timeout(
            inner.timeout * 2,
            inner.client.get_connection_manager_with_config(config),
        )
        .await
        .map_err(|_| StoreError::Timeout(inner.timeout))?
        .map_err(|e| store_error(&e, inner.timeout))?;
        *inner.manager.lock().unwrap_or_else(PoisonError::into_inner) = Some(made.clone());
        Ok(made)
    }

    fn drop_manager(&self) {
        *self
            .inner
            .manager
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Runs one command future under the timeout; a failed connection is dropped.
    async fn run_async<T, F>(&self, f: impl FnOnce(ConnectionManager) -> F) -> Result<T, StoreError>
    where
        F: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let timeout = self.inner.timeout;
        let manager = self.manager().await?;
        match tokio::time::timeout(timeout, f(manager)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                if !matches!(e.kind(), redis::ErrorKind::Server(_)) {
                    self.drop_manager();
                }
                Err(store_error(&e, timeout))
            }
            Err(_) => {
                self.drop_manager();
                Err(StoreError::Timeout(timeout))
            }
        }
    }

    fn open_found(&self, name: &str, bytes: &[u8]) -> Lookup {
        match self.inner.keyring.open(name, bytes) {
            Ok(record) => Lookup::Hit(Box::new(record)),
            Err(bad) => Lookup::Bad(bad),
        }
    }

    fn sealed(&self, key: &SharedKey, record: &RptRecord) -> Result<(String, Vec<u8>), StoreError> {
        let name = self.inner.keyring.names(key).value;
        let bytes = self
            .inner
            .keyring
            .seal(&name, record)
            .ok_or_else(|| StoreError::Unavailable("no random nonce".into()))?;
        Ok((name, bytes))
    }
}

impl RptStore for RedisStore {
    fn get(&self, key: &SharedKey) -> Result<Lookup, StoreError> {
        for names in self.inner.keyring.lookup_names(key) {
            let found: Option<Vec<u8>> =
                self.with_sync(|con, _| redis::cmd("GET").arg(&names.value).query(con))?;
            if let Some(bytes) = found {
                return Ok(self.open_found(&names.value, &bytes));
            }
        }
        Ok(Lookup::Miss)
    }

    fn put(&self, key: &SharedKey, record: &RptRecord, ttl: Duration) -> Result<(), StoreError> {
        let (name, bytes) = self.sealed(key, record)?;
        self.with_sync(|con, _| {
            redis::cmd("SET")
                .arg(&name)
                .arg(bytes)
                .arg("PX")
                .arg(millis(ttl))
                .query::<()>(con)
        })
    }

    fn try_lock(&self, key: &SharedKey, ttl: Duration) -> Result<Option<LockToken>, StoreError> {
        let lock = self.inner.keyring.names(key).lock;
        let token = self.inner.keyring.lock_token();
        let set: Option<String> = self.with_sync(|con, _| {
            redis::cmd("SET")
                .arg(&lock)
                .arg(&token)
                .arg("NX")
                .arg("PX")
                .arg(millis(ttl))
                .query(con)
        })?;
        Ok(set.map(|_| LockToken(token)))
    }

    fn unlock(&self, key: &SharedKey, token: &LockToken) -> Result<(), StoreError> {
        let lock = self.inner.keyring.names(key).lock;
        self.with_sync(|con, inner| {
            inner
                .cad
                .key(&lock)
                .arg(&token.0)
                .invoke::<i64>(con)
                .map(drop)
        })
    }

    fn delete_if(&self, key: &SharedKey, token: &AccessToken) -> Result<bool, StoreError> {
        for names in self.inner.keyring.lookup_names(key) {
            let found: Option<Vec<u8>> =
                self.with_sync(|con, _| redis::cmd("GET").arg(&names.value).query(con))?;
            let Some(bytes) = found else { continue };
            let Lookup::Hit(record) = self.open_found(&names.value, &bytes) else {
                // Unusable anyway: delete it if it is still those bytes.
                return self.with_sync(|con, inner| {
                    inner
                        .cad
                        .key(&names.value)
                        .arg(&bytes)
                        .invoke::<i64>(con)
                        .map(|n| n > 0)
                });
            };
            if !record.token.same_as(token) {
                return Ok(false);
            }
            return self.with_sync(|con, inner| {
                inner
                    .cad
                    .key(&names.value)
                    .arg(&bytes)
                    .invoke::<i64>(con)
                    .map(|n| n > 0)
            });
        }
        Ok(false)
    }
}

impl AsyncRptStore for RedisStore {
    fn get<'a>(&'a self, key: &'a SharedKey) -> StoreFuture<'a, Lookup> {
        Box::pin(async move {
            for names in self.inner.keyring.lookup_names(key) {
                let name = names.value.clone();
                let found: Option<Vec<u8>> = self
                    .run_async(|mut m| async move {
                        redis::cmd("GET").arg(&name).query_async(&mut m).await
                    })
                    .await?;
                if let Some(bytes) = found {
                    return Ok(self.open_found(&names.value, &bytes));
                }
            }
            Ok(Lookup::Miss)
        })
    }

    fn put<'a>(
        &'a self,
        key: &'a SharedKey,
        record: &'a RptRecord,
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let (name, bytes) = self.sealed(key, record)?;
            self.run_async(|mut m| async move {
                redis::cmd("SET")
                    .arg(&name)
                    .arg(bytes)
                    .arg("PX")
                    .arg(millis(ttl))
                    .query_async::<()>(&mut m)
                    .await
            })
            .await
        })
    }

    fn try_lock<'a>(
        &'a self,
        key: &'a SharedKey,
        ttl: Duration,
    ) -> StoreFuture<'a, Option<LockToken>> {
        Box::pin(async move {
            let lock = self.inner.keyring.names(key).lock;
            let token = self.inner.keyring.lock_token();
            let sent = token.clone();
            let set: Option<String> = self
                .run_async(|mut m| async move {
                    redis::cmd("SET")
                        .arg(&lock)
                        .arg(&sent)
                        .arg("NX")
                        .arg("PX")
                        .arg(millis(ttl))
                        .query_async(&mut m)
                        .await
                })
                .await?;
            Ok(set.map(|_| LockToken(token)))
        })
    }

    fn unlock<'a>(&'a self, key: &'a SharedKey, token: &'a LockToken) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let lock = self.inner.keyring.names(key).lock;
            let script = &self.inner.cad;
            self.run_async(|mut m| async move {
                script
                    .key(&lock)
                    .arg(&token.0)
                    .invoke_async::<i64>(&mut m)
                    .await
                    .map(drop)
            })
            .await
        })
    }

    fn delete_if<'a>(
        &'a self,
        key: &'a SharedKey,
        token: &'a AccessToken,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            for names in self.inner.keyring.lookup_names(key) {
                let name = names.value.clone();
                let found: Option<Vec<u8>> = self
                    .run_async(|mut m| async move {
                        redis::cmd("GET").arg(&name).query_async(&mut m).await
                    })
                    .await?;
                let Some(bytes) = found else { continue };
                if let Lookup::Hit(record) = self.open_found(&names.value, &bytes)
                    && !record.token.same_as(token)
                {
                    return Ok(false);
                }
                let name = names.value.clone();
                let script = &self.inner.cad;
                return self
                    .run_async(|mut m| async move {
                        script
                            .key(&name)
                            .arg(&bytes)
                            .invoke_async::<i64>(&mut m)
                            .await
                            .map(|n| n > 0)
                    })
                    .await;
            }
            Ok(false)
        })
    }
}
