//! Against a real `redis-server` (one per test, on a free loopback port, no persistence) and the
//! testkit's AS + RS: several clients in one process and in several processes, cold herds, expiry, a
//! refused RPT, Redis killed and restarted, corrupted entries, a wrong key, another issuer's entry.
//!
//! `redis-server` must be installed (`.ci/run` installs it). Under `CI=true` its absence fails every
//! test; elsewhere each test prints one line and returns.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use uma_core::auth::ClientCredentials;
use uma_core::discovery::Issuer;
use uma_core::record::{RptRecord, TtlPolicy};
use uma_core::secret::AccessToken;
use uma_core::store::{
    AsyncRptStore, Lookup, OnStoreFailure, RptStore, SharedKey, StoreEvent, StoreOptions,
};
use uma_core::{AuthorizationServer, Config, Party};
use uma_hyper::{Error, Options, SharedStore, UmaClient};
use uma_redis::{Keyring, RedisStore};
use uma_testkit::{Dialect, Endpoint, Fault, Kit, KitConfig};

// ---- redis-server ------------------------------------------------------------------------------

struct Redis {
    child: Option<Child>,
    port: u16,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn have_redis() -> bool {
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "redis-server is not installed (CI=true): .ci/run installs it"
        );
        eprintln!("redis-server not installed: skipping (CI would fail)");
    }
    found
}

impl Redis {
    fn start() -> Self {
        let mut redis = Redis {
            child: None,
            port: free_port(),
        };
        redis.restart();
        redis
    }

    fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---- set-up ------------------------------------------------------------------------------------

const SECRET: [u8; 32] = [0x42; 32];

fn store(redis: &Redis, secret: [u8; 32]) -> RedisStore {
    RedisStore::open(&redis.url(), Keyring::new(1, secret))
        .expect("redis URL")
        .with_timeout(Duration::from_millis(300))
}

fn kit(config: KitConfig) -> Kit {
    Kit::start(config).expect("kit starts")
}

fn config_for(issuer: &str) -> Config {
    let issuer = Issuer::parse(issuer).expect("kit issuer");
    Config::new()
        .with_authorization_server(AuthorizationServer::new(
            issuer,
            ClientCredentials::basic("app", "app-secret"),
        ))
        .allow_insecure_http(true)
}

fn shared_options() -> StoreOptions {
    StoreOptions::default().with_breaker(2, Duration::from_millis(500))
}

fn client(issuer: &str, shared: Option<SharedStore>) -> UmaClient<uma_hyper::HttpsClientConnector> {
    let mut options = Options::default()
        .with_exchange_timeout(Some(Duration::from_secs(10)))
        .with_request_timeout(Some(Duration::from_secs(60)));
    if let Some(shared) = shared {
        options = options.with_shared_store(shared);
    }
    UmaClient::new(config_for(issuer))
        .expect("client")
        .with_options(options)
}

fn shared(store: &RedisStore, options: StoreOptions) -> SharedStore {
    SharedStore::new(store.clone()).with_options(options)
}

fn key_of(kit: &Kit) -> SharedKey {
    let rs = kit.rs_base();
    let url = url::Url::parse(&rs).unwrap();
    SharedKey {
        issuer: Issuer::parse(&kit.issuer()).unwrap(),
        origin: format!(
            "{}://{}:{}",
            url.scheme(),
            url.host_str().unwrap(),
            url.port_or_known_default().unwrap()
        ),
        party: Party::default(),
    }
}

async fn get_ok(client: &UmaClient<uma_hyper::HttpsClientConnector>, url: &str) {
    let response = client.get(url).send().await.expect("request succeeds");
    assert_eq!(response.status(), 200, "{url}");
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

// ---- tests -------------------------------------------------------------------------------------

/// Four clients (four caches, as four replicas would have) on one store, 50 cold tasks each, the token
/// endpoint slow enough that all herds meet the exchange in flight: one exchange in all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_herds_of_four_clients_cost_one_exchange() {
    if !have_redis() {
        return;
    }
    let redis = Redis::start();
    let kit = kit(KitConfig::new(Dialect::Spec));
    kit.set_fault(
        Endpoint::Token,
        Some(Fault::Delay(Duration::from_millis(400))),
    );
    let store = store(&redis, SECRET);
    let clients: Vec<_> = (0..4)
        .map(|_| client(&kit.issuer(), Some(shared(&store, shared_options()))))
        .collect();
    let url = kit.rs_url("/api/a");
    let mut tasks = Vec::new();
    for c in &clients {
        for _ in 0..50 {
            let (c, url) = (c.clone(), url.clone());
            tasks.push(tokio::spawn(async move { get_ok(&c, &url).await }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(kit.count_endpoint(Endpoint::Token), 1);
    let hits: u64 = clients.iter().map(|c| c.stats().store.hits).sum();
    let won: u64 = clients.iter().map(|c| c.stats().store.locks_won).sum();
    assert_eq!((hits, won), (3, 1));
    // Without the store, the same four clients exchange four times.
    let kit2 = self::kit(KitConfig::new(Dialect::Spec));
    let plain: Vec<_> = (0..4).map(|_| client(&kit2.issuer(), None)).collect();
    for c in &plain {
        get_ok(c, &kit2.rs_url("/api/a")).await;
    }
    assert_eq!(kit2.count_endpoint(Endpoint::Token), 4);
}

/// The warm path never calls the store: with Redis gone, a warm client keeps serving at full speed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_warm_path_never_calls_redis() {
    if !have_redis() {
        return;
    }
    let mut redis = Redis::start();
    let kit = kit(KitConfig::new(Dialect::Spec));
    let store = store(&redis, SECRET);
    let c = client(&kit.issuer(), Some(shared(&store, shared_options())));
    let url = kit.rs_url("/api/a");
    get_ok(&c, &url).await;
    redis.kill();
    for _ in 0..100 {
        get_ok(&c, &url).await;
    }
    let s = c.stats().store;
    assert_eq!((s.errors, s.puts), (0, 1));
}

/// Bad bytes are misses: garbage, an entry sealed under another key, and a record for another
/// issuer sealed under this key's name. Each costs an exchange, never a wrong token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_wrong_key_and_foreign_entries_are_misses() {
    if !have_redis() {
        return;
    }
    let redis = Redis::start();
    let kit = kit(KitConfig::new(Dialect::Spec));
    let store = store(&redis, SECRET);
    let key = key_of(&kit);
    let name = store.keyring().names(&key).value;
    let raw = redis::Client::open(redis.url()).unwrap();
    let mut con = raw.get_connection().unwrap();
    let url = kit.rs_url("/api/a");
    let events = Arc::new(AtomicU64::new(0));

    // 1. Garbage under the right name.
    let _: () = redis::cmd("SET")
        .arg(&name)
        .arg(b"\x01\x01garbage-garbage-garbage-garbage".as_slice())
        .query(&mut con)
        .unwrap();
    let seen = events.clone();
    let c = client(
        &kit.issuer(),
        Some(shared(&store, shared_options()).with_observer(move |e| {
            if matches!(e, StoreEvent::BadEntry(_)) {
                seen.fetch_add(1, Ordering::SeqCst);
            }
        })),
    );
    get_ok(&c, &url).await;
    assert_eq!(kit.count_endpoint(Endpoint::Token), 1);
    assert!(c.stats().store.bad_entries >= 1);
    assert!(events.load(Ordering::SeqCst) >= 1);

    // 2. The entry written now, read with another application's key: a miss.
    let other = self::store(&redis, [0x17; 32]);
    assert!(matches!(RptStore::get(&other, &key), Ok(Lookup::Miss)));
    let c2 = client(&kit.issuer(), Some(shared(&other, shared_options())));
    get_ok(&c2, &url).await;
    assert_eq!(kit.count_endpoint(Endpoint::Token), 2);

    // 3. Under this key's name, sealed with this key, but a record for another issuer: refused.
    let foreign = RptRecord {
        issuer: Issuer::parse("https://evil.example.org").unwrap(),
        origin: key.origin.clone(),
        party: key.party.clone(),
        token: AccessToken::new("stolen"),
        refresh_token: None,
        obtained_at: unix_now(),
        expires_at: Some(unix_now() + 600),
        refreshed: false,
    };
    let sealed = store.keyring().seal(&name, &foreign).unwrap();
    let _: () = redis::cmd("SET")
        .arg(&name)
        .arg(sealed)
        .query(&mut con)
        .unwrap();
    let c3 = client(&kit.issuer(), Some(shared(&store, shared_options())));
    get_ok(&c3, &url).await;
    assert_eq!(kit.count_endpoint(Endpoint::Token), 3);
    assert!(c3.stats().store.bad_entries >= 1);
    // No token ever went to the RS but the kit's own.
    assert!(
        kit.log()
            .iter()
            .all(|r| !format!("{r:?}").contains("stolen"))
    );
    // Nothing in Redis names the party, the issuer or the RS, or holds a token in the clear.
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut con).unwrap();
    for k in keys {
        assert!(k.starts_with("uma:") && !k.contains("127.0.0.1"), "{k}");
        let v: Vec<u8> = redis::cmd("GET")
            .arg(&k)
            .query(&mut con)
            .unwrap_or_default();
        assert!(!v.windows(4).any(|w| w == b"http"));
    }
}

/// Entries expire with their RPT: a replica after the expiry exchanges again, and shares the new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_expire_with_the_rpt() {
    if !have_redis() {
        return;
    }
    let redis = Redis::start();
    let mut config = KitConfig::new(Dialect::Spec);
    config.rpt_lifetime = Some(Duration::from_secs(4));
    let kit = kit(config);
    let store = store(&redis, SECRET);
    let ttl = TtlPolicy {
        clock_skew: Duration::ZERO,
        min_ttl: Duration::from_secs(1),
        max_ttl: Duration::from_secs(3600),
    };
    let options = shared_options().with_ttl(ttl);
    let url = kit.rs_url("/api/a");
    get_ok(
        &client(&kit.issuer(), Some(shared(&store, options.clone()))),
        &url,
    )
    .await;
    let b = client(&kit.issuer(), Some(shared(&store, options.clone())));
    get_ok(&b, &url).await;
    assert_eq!(kit.count_endpoint(Endpoint::Token), 1);
    assert_eq!(b.stats().store.hits, 1);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let key = key_of(&kit);
    assert!(matches!(
        AsyncRptStore::get(&store, &key).await,
        Ok(Lookup::Miss)
    ));
    let c = client(&kit.issuer(), Some(shared(&store, options.clone())));
    get_ok(&c, &url).await;
    assert_eq!(kit.count_endpoint(Endpoint::Token), 2);
    let d = client(&kit.issuer(), Some(shared(&store, options)));
    get_ok(&d, &url).await;
    assert_eq!(kit.count_endpoint(Endpoint::Token), 2);
}

/// An RPT the resource server refuses is deleted from the store (compare-and-delete), and the one
/// that replaces it is shared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_rpt_is_deleted_and_replaced() {
    if !have_redis() {
        return;
    }
    let redis = Redis::start();
    let kit = kit(KitConfig::new(Dialect::Spec));
    kit.set_rpt_use_limit(Some(1));
    let store = store(&redis, SECRET);
    let key = key_of(&kit);
    let url = kit.rs_url("/api/a");
    let a = client(&kit.issuer(), Some(shared(&store, shared_options())));
    get_ok(&a, &url).await;
    let Ok(Lookup::Hit(first)) = AsyncRptStore::get(&store, &key).await else {
        panic!("shared");
    };
    // B adopts it; the RS refuses it (used up); B deletes it and shares the replacement.
    let b = client(&kit.issuer(), Some(shared(&store, shared_options())));
    get_ok(&b, &url).await;
    assert_eq!(kit.count_endpoint(Endpoint::Token), 2);
    assert_eq!(b.stats().store.hits, 1);
    let Ok(Lookup::Hit(second)) = AsyncRptStore::get(&store, &key).await else {
        panic!("replaced");
    };
    assert!(!second.token.same_as(&first.token));
    // Compare-and-delete: deleting the old token leaves the new one in place.
    assert!(
        !AsyncRptStore::delete_if(&store, &key, &first.token)
            .await
            .unwrap()
    );
    assert!(
        AsyncRptStore::delete_if(&store, &key, &second.token)
            .await
            .unwrap()
    );
    assert!(matches!(
        AsyncRptStore::get(&store, &key).await,
        Ok(Lookup::Miss)
    ));
}

/// Redis killed mid-run: no request fails, the breaker opens (counted, reported), each replica
/// exchanges on its own; Redis back: sharing resumes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_mid_run() {
    if !have_redis() {
        return;
    }
    let mut redis = Redis::start();
    let kit = kit(KitConfig::new(Dialect::Spec));
    let store = store(&redis, SECRET);
    let opened = Arc::new(AtomicU64::new(0));
    let seen = opened.clone();
    let observed = shared(&store, shared_options()).with_observer(move |e| {
        if matches!(e, StoreEvent::BreakerOpened { .. }) {
            seen.fetch_add(1, Ordering::SeqCst);
        }
    });
    let url = kit.rs_url("/api/a");
    get_ok(&client(&kit.issuer(), Some(observed.clone())), &url).await;
    assert_eq!(kit.count_endpoint(Endpoint::Token), 1);

    redis.kill();
    // Four replicas' cold herds: each exchanges on its own, no request fails.
    let mut down = Vec::new();
    for _ in 0..4 {
        let c = client(&kit.issuer(), Some(observed.clone()));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (c, url) = (c.clone(), url.clone());
                tokio::spawn(async move { get_ok(&c, &url).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        down.push(c);
    }
    assert_eq!(kit.count_endpoint(Endpoint::Token), 1 + 4);
    // One replica's next cold exchanges: the second failure opens its breaker, the third skips Redis.
    let x = &down[0];
    get_ok(x, &kit.rs_url("/api/b")).await;
    get_ok(x, &kit.rs_url("/api/echo")).await;
    let s = x.stats().store;
    assert_eq!((s.errors, s.breaker_opened, s.skipped), (2, 1, 1));
    assert!(
        opened.load(Ordering::SeqCst) >= 1,
        "the observer saw the breaker open"
    );
    let during = kit.count_endpoint(Endpoint::Token);
    assert_eq!(during, 1 + 4 + 2);

    redis.restart();
    tokio::time::sleep(Duration::from_millis(700)).await; // past the breaker's open period
    let c = client(&kit.issuer(), Some(observed.clone()));
    get_ok(&c, &url).await;
    let d = client(&kit.issuer(), Some(observed));
    get_ok(&d, &url).await;
    assert_eq!(kit.count_endpoint(Endpoint::Token), during + 1);
    assert_eq!(d.stats().store.hits, 1, "sharing resumed");
}

/// Failing closed: with Redis down, a cold request fails with `Error::Store` (and the AS sees none).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_closed_refuses_to_exchange_without_redis() {
    if !have_redis() {
        return;
    }
    let mut redis = Redis::start();
    let kit = kit(KitConfig::new(Dialect::Spec));
    let store = store(&redis, SECRET);
    redis.kill();
    let c = client(
        &kit.issuer(),
        Some(shared(
            &store,
            shared_options().with_on_failure(OnStoreFailure::FailClosed),
        )),
    );
    let err = c.get(&kit.rs_url("/api/a")).send().await.unwrap_err();
    assert!(matches!(err, Error::Store(_)), "{err}");
    assert_eq!(kit.count_endpoint(Endpoint::Token), 0);
}

/// A lock holder that dies without writing: the waiters stop waiting when the lock expires and one
/// of them exchanges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_lock_holder_costs_one_exchange() {
    if !have_redis() {
        return;
    }
    let redis = Redis::start();
    let kit = kit(KitConfig::new(Dialect::Spec));
    let store = store(&redis, SECRET);
    let key = key_of(&kit);
    // A "replica" takes the lock for 1 s and vanishes.
    assert!(
        AsyncRptStore::try_lock(&store, &key, Duration::from_secs(1))
            .await
            .unwrap()
            .is_some()
    );
    let started = Instant::now();
    let c = client(&kit.issuer(), Some(shared(&store, shared_options())));
    get_ok(&c, &kit.rs_url("/api/a")).await;
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(kit.count_endpoint(Endpoint::Token), 1);
    assert!(c.stats().store.locks_lost >= 1 && c.stats().store.locks_won == 1);
}

// ---- blocking (uma-ureq) -----------------------------------------------------------------------

fn agent(issuer: &str, shared: Option<uma_ureq::SharedStore>) -> uma_ureq::UmaClient {
    let mut options = uma_ureq::Options::default()
        .with_exchange_timeout(Some(Duration::from_secs(10)))
        .with_request_timeout(Some(Duration::from_secs(60)));
    if let Some(shared) = shared {
        options = options.with_shared_store(shared);
    }
    let http = uma_ureq::ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .new_agent();
    uma_ureq::UmaClient::from_ureq(http, config_for(issuer)).with_options(options)
}

fn blocking_shared(store: &RedisStore) -> uma_ureq::SharedStore {
    uma_ureq::SharedStore::new(store.clone()).with_options(shared_options())
}

/// Blocking agents, one per thread as replicas would be, share one exchange; with Redis killed, none
/// of their requests fails; with Redis back, sharing resumes.
#[test]
fn blocking_agents_share_and_survive_redis_restarts() {
    if !have_redis() {
        return;
    }
    let mut redis = Redis::start();
    let kit = kit(KitConfig::new(Dialect::Spec));
    kit.set_fault(
        Endpoint::Token,
        Some(Fault::Delay(Duration::from_millis(300))),
    );
    let store = store(&redis, SECRET);
    let url = kit.rs_url("/api/a");
    let run_agents = |n: usize| -> Vec<uma_core::Stats> {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..n)
                .map(|_| {
                    let agent = agent(&kit.issuer(), Some(blocking_shared(&store)));
                    let url = url.clone();
                    scope.spawn(move || {
                        std::thread::scope(|inner| {
                            for _ in 0..8 {
                                inner.spawn(|| {
                                    let r = agent.get(&url).send().expect("request succeeds");
                                    assert_eq!(r.status(), 200);
                                });
                            }
                        });
                        agent.stats()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        })
    };
    let stats = run_agents(3);
    assert_eq!(kit.count_endpoint(Endpoint::Token), 1);
    assert_eq!(stats.iter().map(|s| s.store.hits).sum::<u64>(), 2);

    redis.kill();
    let stats = run_agents(2);
    assert_eq!(kit.count_endpoint(Endpoint::Token), 1 + 2);
    assert!(stats.iter().all(|s| s.store.errors >= 1));

    redis.restart();
    let first = agent(&kit.issuer(), Some(blocking_shared(&store)));
    assert_eq!(first.get(&url).send().unwrap().status(), 200);
    let second = agent(&kit.issuer(), Some(blocking_shared(&store)));
    assert_eq!(second.get(&url).send().unwrap().status(), 200);
    assert_eq!(kit.count_endpoint(Endpoint::Token), 1 + 2 + 1);
    assert_eq!(second.stats().store.hits, 1, "sharing resumed");
}

/// The async and the blocking adapters share one store: an RPT one obtained, the other uses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_and_blocking_replicas_share() {
    if !have_redis() {
        return;
    }
    let redis = Redis::start();
    let kit = kit(KitConfig::new(Dialect::Spec));
    let store = store(&redis, SECRET);
    let url = kit.rs_url("/api/a");
    get_ok(
        &client(&kit.issuer(), Some(shared(&store, shared_options()))),
        &url,
    )
    .await;
    let (issuer, url2, store2) = (kit.issuer(), url.clone(), store.clone());
    let hits = tokio::task::spawn_blocking(move || {
        let a = agent(&issuer, Some(blocking_shared(&store2)));
        assert_eq!(a.get(&url2).send().unwrap().status(), 200);
        a.stats().store.hits
    })
    .await
    .unwrap();
    assert_eq!(hits, 1);
    assert_eq!(kit.count_endpoint(Endpoint::Token), 1);
}

/// uma-reqwest's middleware runs the same store protocol (it shares uma-hyper's herd engine).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reqwest_middleware_replicas_share() {
    if !have_redis() {
        return;
    }
    let redis = Redis::start();
    let kit = kit(KitConfig::new(Dialect::Spec));
    kit.set_fault(
        Endpoint::Token,
        Some(Fault::Delay(Duration::from_millis(300))),
    );
    let store = store(&redis, SECRET);
    let url = kit.rs_url("/api/a");
    let mut tasks = Vec::new();
    let mut middlewares = Vec::new();
    for _ in 0..3 {
        let tls = UmaClient::tls_config_trusting(Vec::<Vec<u8>>::new()).unwrap();
        let http = uma_reqwest::http_client(tls.clone()).unwrap();
        let uma = uma_reqwest::UmaMiddleware::with_http_client(config_for(&kit.issuer()), http)
            .with_options(Options::default().with_shared_store(shared(&store, shared_options())));
        let app = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .build()
            .unwrap();
        let chain = reqwest_middleware::ClientBuilder::new(app)
            .with(uma.clone())
            .build();
        middlewares.push(uma);
        for _ in 0..10 {
            let (chain, url) = (chain.clone(), url.clone());
            tasks.push(tokio::spawn(async move {
                let r = chain.get(&url).send().await.expect("request succeeds");
                assert_eq!(r.status(), 200);
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(kit.count_endpoint(Endpoint::Token), 1);
    let hits: u64 = middlewares.iter().map(|m| m.stats().store.hits).sum();
    assert_eq!(hits, 2);
}

// ---- several processes -------------------------------------------------------------------------

/// Run by [`four_processes_one_exchange`] in child processes: `UMA_FLEET_TASKS` cold tasks through
/// a store at `UMA_FLEET_REDIS` against the kit at `UMA_FLEET_ISSUER` / `UMA_FLEET_URL`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a child process of four_processes_one_exchange"]
async fn fleet_worker() {
    let var = |name: &str| std::env::var(name).expect(name);
    let redis_url = var("UMA_FLEET_REDIS");
    let tasks: usize = var("UMA_FLEET_TASKS").parse().unwrap();
    let use_store = var("UMA_FLEET_STORE") == "1";
    let store = RedisStore::open(&redis_url, Keyring::new(1, SECRET))
        .unwrap()
        .with_timeout(Duration::from_millis(500));
    let c = client(
        &var("UMA_FLEET_ISSUER"),
        use_store.then(|| shared(&store, StoreOptions::default())),
    );
    let url = var("UMA_FLEET_URL");
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let (c, url) = (c.clone(), url.clone());
            tokio::spawn(async move { get_ok(&c, &url).await })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    println!("fleet-worker tokens={}", c.stats().token_requests);
}

/// Runs `processes` copies of [`fleet_worker`] at once; returns the AS's token requests and the time.
fn run_fleet(
    kit: &Kit,
    redis: &Redis,
    processes: usize,
    tasks: usize,
    use_store: bool,
) -> (usize, Duration) {
    let exe = std::env::current_exe().unwrap();
    let before = kit.count_endpoint(Endpoint::Token);
    let started = Instant::now();
    let children: Vec<_> = (0..processes)
        .map(|_| {
            Command::new(&exe)
                .args(["fleet_worker", "--exact", "--ignored", "--nocapture"])
                .env("UMA_FLEET_REDIS", redis.url())
                .env("UMA_FLEET_TASKS", tasks.to_string())
                .env("UMA_FLEET_STORE", if use_store { "1" } else { "0" })
                .env("UMA_FLEET_ISSUER", kit.issuer())
                .env("UMA_FLEET_URL", kit.rs_url("/api/a"))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    (
        kit.count_endpoint(Endpoint::Token) - before,
        started.elapsed(),
    )
}

/// Four processes × 250 cold tasks on one resource: one exchange with the store, four without.
#[test]
fn four_processes_one_exchange() {
    if !have_redis() {
        return;
    }
    let redis = Redis::start();
    let kit = kit(KitConfig::new(Dialect::Spec));
    kit.set_fault(
        Endpoint::Token,
        Some(Fault::Delay(Duration::from_millis(300))),
    );
    let (with_store, t1) = run_fleet(&kit, &redis, 4, 250, true);
    let kit2 = self::kit(KitConfig::new(Dialect::Spec));
    kit2.set_fault(
        Endpoint::Token,
        Some(Fault::Delay(Duration::from_millis(300))),
    );
    let (without, t2) = run_fleet(&kit2, &redis, 4, 250, false);
    println!(
        "fleet: 4 processes x 250 cold tasks: {with_store} exchange(s) with the store ({t1:?}), {without} without ({t2:?})"
    );
    assert_eq!(with_store, 1);
    assert_eq!(without, 4);
}
