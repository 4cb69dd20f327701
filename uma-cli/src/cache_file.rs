//! `uma fetch --cache FILE` (or `UMA_CACHE`): AS metadata and RPTs kept between runs.
//!
//! * The file is JSON: `{"v":1,"kind":"uma-cache","metadata":[…],"rpts":[…]}`, each entry a record of
//!   `uma_core::record` (decoded as untrusted input: a bad entry is skipped, a bad file ignored with a
//!   warning). Refresh tokens are not kept.
//! * Mode 0600. Written under an exclusive lock on `FILE.lock` (re-read inside the lock and merged, so
//!   concurrent runs keep each other's entries), to a temporary file renamed over `FILE`.
//! * Entries expire as in memory: an expired RPT or metadata record is neither loaded nor kept.
//!
//! `--cache redis://…` (or `rediss://…`) uses the shared Redis store of `uma-redis` instead, sealed
//! with the key in `UMA_CACHE_KEY` (64 hex digits).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use uma_core::discovery::Issuer;
use uma_core::record::{MetadataRecord, RptRecord};
use uma_core::store::SharedKey;
use uma_core::{Client, Party};

use crate::output::CliError;

/// The largest cache file read.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// Entries kept in the file, at most, per kind.
const MAX_ENTRIES: usize = 1024;

/// Where `--cache` keeps things.
pub enum Cache {
    /// A file.
    File(PathBuf),
    /// A shared Redis store (already in the agent's options).
    Redis,
}

/// Parses `--cache`: a `redis://` / `rediss://` URL, or a file path.
pub fn parse(spec: &str) -> Cache {
    if spec.starts_with("redis://") || spec.starts_with("rediss://") {
        Cache::Redis
    } else {
        Cache::File(PathBuf::from(spec))
    }
}

/// The shared Redis store for `--cache redis://…`, sealed with `UMA_CACHE_KEY`.
pub fn redis_store(url: &str) -> Result<uma_ureq::SharedStore, CliError> {
    let key = std::env::var("UMA_CACHE_KEY").map_err(|_| {
        CliError::Usage(
            "--cache redis://… needs UMA_CACHE_KEY: 64 hex digits, the key that seals the entries"
                .into(),
        )
    })?;
    let secret = uma_redis::secret_from_hex(&key)
        .map_err(|e| CliError::Usage(format!("UMA_CACHE_KEY: {e}")))?;
    let store = uma_redis::RedisStore::open(url, uma_redis::Keyring::new(1, secret))
        .map_err(|e| CliError::Usage(format!("--cache: {e}")))?;
    Ok(uma_ureq::SharedStore::new(store))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The records of a cache file. `Err` says why the file as a whole was unusable.
struct Contents {
    metadata: Vec<MetadataRecord>,
    rpts: Vec<RptRecord>,
    /// Entries skipped as malformed.
    skipped: usize,
}

fn read(path: &Path) -> Result<Option<Contents>, String> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.kind().to_string()),
    };
    let mut bytes = Vec::new();
    Read::by_ref(&mut file)
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.kind().to_string())?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("larger than {MAX_FILE_BYTES} bytes"));
    }
    // serde_json's messages may quote input; say where only.
    let doc: Value = serde_json::from_slice(&bytes)
        .map_err(|e| format!("not JSON (line {}, column {})", e.line(), e.column()))?;
    if doc.get("v") != Some(&json!(1)) || doc.get("kind") != Some(&json!("uma-cache")) {
        return Err("not a version 1 uma cache file".into());
    }
    let list = |name: &str| -> Vec<Vec<u8>> {
        doc.get(name)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .take(MAX_ENTRIES)
                    .map(|v| serde_json::to_vec(v).unwrap_or_default())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut skipped = 0;
    let metadata = list("metadata")
        .iter()
        .filter_map(|b| {
            MetadataRecord::decode(b)
                .ok()
                .or_else(|| bump(&mut skipped))
        })
        .collect();
    let rpts = list("rpts")
        .iter()
        .filter_map(|b| RptRecord::decode(b).ok().or_else(|| bump(&mut skipped)))
        .collect();
    Ok(Some(Contents {
        metadata,
        rpts,
        skipped,
    }))
}

fn bump<T>(n: &mut usize) -> Option<T> {
    *n += 1;
    None
}

/// Loads what `path` holds into `client`. A missing file is an empty cache; an unusable one is
/// ignored with a warning (unless `quiet`).
pub fn load(path: &Path, client: &mut Client, quiet: bool) {
    let contents = match read(path) {
        Ok(Some(c)) => c,
        Ok(None) => return,
        Err(why) => {
            if !quiet {
                eprintln!(
                    "uma: warning: ignoring the cache file {}: {why}",
                    path.display()
                );
            }
            return;
        }
    };
    if contents.skipped > 0 && !quiet {
        eprintln!(
            "uma: warning: ignoring {} malformed entr{} of the cache file {}",
            contents.skipped,
            if contents.skipped == 1 { "y" } else { "ies" },
            path.display()
        );
    }
    let (now, now_unix) = (Instant::now(), unix_now());
    for record in &contents.metadata {
        client.import_metadata(record, now, now_unix);
    }
    for record in contents.rpts {
        // Only for the authorization servers trusted by this run.
        if client.config().server(&record.issuer).is_some() {
            client.import_rpt(record, now, now_unix);
        }
    }
}

/// Identifies an entry, for merging.
fn rpt_id(r: &RptRecord) -> (String, String, String) {
    (
        r.issuer.as_str().into(),
        r.origin.clone(),
        r.party.0.clone(),
    )
}

/// Saves the metadata of `issuers` and the RPTs held for them at `origins` into `path`, merged with
/// what the file holds now (under an exclusive lock; written atomically, mode 0600).
pub fn save(
    path: &Path,
    client: &Client,
    issuers: &[Issuer],
    origins: &[String],
) -> Result<(), String> {
    let (now, now_unix) = (Instant::now(), unix_now());
    let lock = lock_file(path)?;
    let old = read(path).ok().flatten();
    let old_doc = old.as_ref().map(|o| document(&o.metadata, &o.rpts));
    let mut metadata: BTreeMap<String, MetadataRecord> = BTreeMap::new();
    let mut rpts: BTreeMap<(String, String, String), RptRecord> = BTreeMap::new();
    if let Some(old) = old {
        for m in old.metadata.into_iter().filter(|m| m.is_live(now_unix)) {
            metadata.insert(m.issuer.as_str().into(), m);
        }
        for r in old.rpts.into_iter().filter(|r| r.is_live(now_unix)) {
            rpts.insert(rpt_id(&r), r);
        }
    }
    for issuer in issuers {
        // A live record already kept stays as it is (no rewrite for a run that changed nothing).
        if !metadata.contains_key(issuer.as_str())
            && let Some(m) = client.export_metadata(issuer, now, now_unix)
        {
            metadata.insert(issuer.as_str().into(), m);
        }
        for origin in origins {
            let key = SharedKey {
                issuer: issuer.clone(),
                origin: origin.clone(),
                party: Party::default(),
            };
            if let Some(mut r) = client.shared_record(&key, None, now, now_unix) {
                r.refresh_token = None;
                let kept = rpts
                    .get(&rpt_id(&r))
                    .is_some_and(|k| k.token.same_as(&r.token));
                if r.is_live(now_unix) && !kept {
                    rpts.insert(rpt_id(&r), r);
                }
            }
        }
    }
    let metadata: Vec<MetadataRecord> = metadata.into_values().collect();
    let rpts: Vec<RptRecord> = rpts.into_values().collect();
    let doc = document(&metadata, &rpts);
    if old_doc.as_ref() == Some(&doc) {
        return Ok(()); // nothing new: no write, no fsync
    }
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let written = write_private(&tmp, &serde_json::to_vec(&doc).unwrap_or_default())
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| e.kind().to_string()));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    drop(lock);
    written
}

/// The file's JSON for these records (at most [`MAX_ENTRIES`] of each kind).
fn document(metadata: &[MetadataRecord], rpts: &[RptRecord]) -> Value {
    let entries = |records: Vec<Vec<u8>>| -> Vec<Value> {
        records
            .iter()
            .take(MAX_ENTRIES)
            .filter_map(|b| serde_json::from_slice(b).ok())
            .collect()
    };
    json!({
        "v": 1,
        "kind": "uma-cache",
        "metadata": entries(metadata.iter().map(MetadataRecord::encode).collect()),
        "rpts": entries(rpts.iter().map(RptRecord::encode).collect()),
    })
}

/// Opens `FILE.lock` (mode 0600) and takes an exclusive lock on it, released when it is dropped.
fn lock_file(path: &Path) -> Result<File, String> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let file = private_options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(PathBuf::from(name))
        .map_err(|e| format!("lock file: {}", e.kind()))?;
    file.lock()
        .map_err(|e| format!("lock file: {}", e.kind()))?;
    Ok(file)
}

fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let mut file = private_options()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| e.kind().to_string())?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| e.kind().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_files_are_reported_not_fatal() {
        let dir = std::env::temp_dir().join(format!("uma-cache-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("cache.json");
        std::fs::write(&path, b"{not json").unwrap();
        assert!(matches!(read(&path), Err(e) if e.starts_with("not JSON")));
        std::fs::write(&path, br#"{"v":2,"kind":"uma-cache"}"#).unwrap();
        assert!(read(&path).is_err());
        std::fs::write(
            &path,
            br#"{"v":1,"kind":"uma-cache","rpts":[{"v":1,"kind":"uma-rpt"}, 7]}"#,
        )
        .unwrap();
        let Ok(Some(c)) = read(&path) else {
            panic!("readable")
        };
        assert_eq!((c.rpts.len(), c.skipped), (0, 2));
        assert!(matches!(read(&dir.join("missing.json")), Ok(None)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
