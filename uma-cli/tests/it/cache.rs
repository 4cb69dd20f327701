//! `uma fetch --cache FILE` / `UMA_CACHE` and `--cache redis://…`: metadata and RPTs kept between runs.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{self, app_flags, kit, uma_env};
use uma_testkit::{Dialect, Endpoint, Kit, KitConfig};

/// A fresh directory for one test's cache file.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("uma-cli-cache-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fetch_cached(kit: &Kit, cache: &str, env: &[(&str, &str)]) -> common::Run {
    let mut args = vec!["fetch".to_owned()];
    args.extend(app_flags(kit));
    args.extend(["--cache".into(), cache.into(), kit.rs_url("/api/a")]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    uma_env(&args, env)
}

#[test]
fn ten_sequential_runs_cost_one_exchange() {
    let kit = kit(Dialect::Spec);
    let dir = scratch("ten");
    let file = dir.join("cache.json");
    let file = file.to_str().unwrap();
    for i in 0..10 {
        let run = fetch_cached(&kit, file, &[]);
        assert_eq!(run.code, 0, "run {i}: {}", run.all());
        assert!(run.stderr.is_empty(), "{}", run.stderr);
    }
    assert_eq!(kit.count_endpoint(Endpoint::Token), 1);
    assert_eq!(kit.count_endpoint(Endpoint::Discovery), 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Only the file and its lock: no temporary file left behind; no secret of the client in it.
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["cache.json", "cache.json.lock"]);
    let text = std::fs::read_to_string(file).unwrap();
    assert!(!text.contains("app-secret") && !text.contains("\"refresh_token\":"));
    // Without the cache, every run exchanges.
    let run = common::fetch(&app_flags(&kit), &[&kit.rs_url("/api/a")]);
    assert_eq!(run.code, 0);
    assert_eq!(kit.count_endpoint(Endpoint::Token), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn uma_cache_names_the_file_too() {
    let kit = kit(Dialect::Spec);
    let dir = scratch("env");
    let file = dir.join("c.json");
    let mut args = vec!["fetch".to_owned()];
    args.extend(app_flags(&kit));
    args.push(kit.rs_url("/api/a"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    for _ in 0..3 {
        let run = uma_env(&args, &[("UMA_CACHE", file.to_str().unwrap())]);
        assert_eq!(run.code, 0, "{}", run.all());
    }
    assert_eq!(kit.count_endpoint(Endpoint::Token), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_corrupt_file_is_ignored_with_a_warning_and_replaced() {
    let kit = kit(Dialect::Spec);
    let dir = scratch("corrupt");
    let file = dir.join("cache.json");
    std::fs::write(&file, b"{\"v\":1,\"kind\":\"uma-cache\",\"rpts\":[garbage").unwrap();
    let run = fetch_cached(&kit, file.to_str().unwrap(), &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stderr.contains("warning: ignoring the cache file"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("garbage"));
    // Replaced by a good one: the next run needs no exchange and prints nothing.
    let run = fetch_cached(&kit, file.to_str().unwrap(), &[]);
    assert_eq!(run.code, 0);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    assert_eq!(kit.count_endpoint(Endpoint::Token), 1);
    // A forged entry (an RPT for an issuer this run does not trust) is never used.
    let forged = format!(
        r#"{{"v":1,"kind":"uma-cache","rpts":[{{"v":1,"kind":"uma-rpt","iss":"https://evil.example.org","origin":"{}","party":"","token":"forged","obtained_at":1,"expires_at":16000000000}}]}}"#,
        kit.rs_base().trim_end_matches('/')
    );
    std::fs::write(&file, forged).unwrap();
    let run = fetch_cached(&kit, file.to_str().unwrap(), &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        kit.log()
            .iter()
            .all(|r| !format!("{r:?}").contains("forged"))
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cached_rpts_expire_as_in_memory() {
    let mut config = KitConfig::new(Dialect::Spec);
    config.rpt_lifetime = Some(Duration::from_secs(2));
    let kit = Kit::start(config).unwrap();
    let dir = scratch("expiry");
    let file = dir.join("cache.json");
    let file = file.to_str().unwrap();
    assert_eq!(fetch_cached(&kit, file, &[]).code, 0);
    assert_eq!(fetch_cached(&kit, file, &[]).code, 0);
    assert_eq!(kit.count_endpoint(Endpoint::Token), 1);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(fetch_cached(&kit, file, &[]).code, 0);
    assert_eq!(kit.count_endpoint(Endpoint::Token), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---- --cache redis://… ---------------------------------------------------------------------------

struct Redis(Child, u16);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn redis() -> Option<Redis> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(child) = child else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "redis-server is not installed (CI=true): .ci/run installs it"
        );
        eprintln!("redis-server not installed: skipping (CI would fail)");
        return None;
    };
    let redis = Redis(child, port);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(redis)
}

#[test]
fn redis_cache_is_shared_between_runs() {
    let Some(redis) = redis() else { return };
    let kit = kit(Dialect::Spec);
    let url = format!("redis://127.0.0.1:{}/", redis.1);
    let key = "0f".repeat(32);
    // The sealing key is required.
    let run = fetch_cached(&kit, &url, &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("UMA_CACHE_KEY"), "{}", run.stderr);
    for _ in 0..3 {
        let run = fetch_cached(&kit, &url, &[("UMA_CACHE_KEY", &key)]);
        assert_eq!(run.code, 0, "{}", run.all());
    }
    assert_eq!(kit.count_endpoint(Endpoint::Token), 1);
    // Another key cannot read the entries: one more exchange.
    let other = "a0".repeat(32);
    let run = fetch_cached(&kit, &url, &[("UMA_CACHE_KEY", &other)]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(kit.count_endpoint(Endpoint::Token), 2);
}
