//! spam-proxy against real proxies on loopback: Debian's tinyproxy (HTTP, Basic auth) and
//! microsocks (SOCKS5, user/password) in front of a real anvil. Skipped with a message when the
//! proxies are missing, except under `CI=true`.

use std::time::{Duration, Instant};

use alloy::providers::Provider;
use spam_devnet::Devnet;
use spam_proxy::{
    Error, FailureKind, ManualClock, PoolConfig, Probe, ProxyId, ProxyPool, ProxyUrl, Scheme,
    reqwest::Url,
    testing::{MicroSocks, TinyProxy, dead_port},
};

const USER: &str = "spam";
const PASS: &str = "s3cret-pw";
/// Every test is bounded: no single await may take longer than this.
const BOUND: Duration = Duration::from_secs(60);

struct Env {
    devnet: Devnet,
    http: TinyProxy,
    socks: MicroSocks,
}

impl Env {
    fn start() -> Option<Self> {
        let http = TinyProxy::for_test(USER, PASS)?;
        let socks = MicroSocks::for_test(USER, PASS)?;
        let devnet = spam_devnet::for_test(Devnet::builder())?;
        Some(Self {
            devnet,
            http,
            socks,
        })
    }

    fn rpc(&self) -> Url {
        self.devnet.endpoint().parse().unwrap()
    }

    fn probe(&self) -> Probe {
        Probe::chain_id(self.rpc())
    }
}

/// Short timeouts so failures are quick; the ban TTL stays at its 30 min default.
fn config() -> PoolConfig {
    PoolConfig::default()
        .with_connect_timeout(Duration::from_secs(2))
        .with_request_timeout(Duration::from_secs(5))
        .with_check_timeout(Duration::from_secs(5))
}

fn dead(scheme: Scheme) -> ProxyUrl {
    ProxyUrl::new(scheme, "127.0.0.1", dead_port())
        .unwrap()
        .with_credentials(USER, PASS)
}

async fn bounded<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(BOUND, f)
        .await
        .expect("bounded test step")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_rpc_reaches_anvil_through_each_proxy() {
    let Some(env) = Env::start() else { return };
    // microsocks twice: socks5h (the proxy resolves `localhost`) and socks5 (resolved here).
    let socks5 = ProxyUrl::new(Scheme::Socks5, "127.0.0.1", env.socks.port())
        .unwrap()
        .with_credentials(USER, PASS);
    let pool = ProxyPool::new([env.http.url(), env.socks.url(), socks5], config()).unwrap();

    let results = bounded(pool.check_all(&env.probe())).await;
    assert_eq!(results.len(), 3);
    for r in &results {
        assert!(r.health.is_healthy(), "{r}");
        assert!(!r.banned);
    }
    for id in pool.ids().collect::<Vec<_>>() {
        let route = pool.route(id).unwrap();
        let provider = route.provider(env.rpc());
        for _ in 0..5 {
            let chain_id = bounded(provider.get_chain_id()).await.unwrap();
            assert_eq!(chain_id, env.devnet.chain_id(), "through {route}");
        }
        // A JSON-RPC error answer is the node's, not the proxy's: it counts as a success.
        let err = bounded(provider.raw_request::<_, String>("no_such_method".into(), ()))
            .await
            .unwrap_err();
        assert!(err.as_error_resp().is_some(), "{err}");
        let stats = pool.stats(id).unwrap();
        assert_eq!((stats.successes, stats.failures), (6, 0), "{stats}");
        assert!(stats.last_latency.is_some());
    }
    // The plain reqwest client goes through the proxy too.
    let route = pool.pick().unwrap();
    let body = bounded(
        route
            .client()
            .post(env.rpc())
            .header("content-type", "application/json")
            .body(r#"{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}"#)
            .send(),
    )
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(body.contains("\"result\""), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_banned_with_reason_auth() {
    let Some(env) = Env::start() else { return };
    let wrong = [
        env.http.url().with_credentials(USER, "wrong"),
        env.socks.url().with_credentials(USER, "wrong"),
        env.http.url().without_credentials(),
    ];
    let pool = ProxyPool::new(wrong, config()).unwrap();
    let results = bounded(pool.check_all(&env.probe())).await;
    assert_eq!(results.len(), 3);
    for r in &results {
        let failure = r.health.failure().unwrap_or_else(|| panic!("{r}"));
        assert_eq!(failure.kind(), FailureKind::Auth, "{r}");
        assert_eq!(r.health.status(), "auth");
        assert!(r.banned && pool.is_banned(r.id), "{r}");
        let shown = format!("{r} {r:?} {:?}", pool.stats(r.id));
        assert!(!shown.contains("wrong") && !shown.contains(PASS), "{shown}");
        eprintln!("{r}");
    }
    let stats = pool.stats(ProxyId::from_index(1)).unwrap();
    assert_eq!(stats.ban.unwrap().reason.kind(), FailureKind::Auth);
    assert_eq!(stats.ban_count, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_port_is_banned_with_reason_connect() {
    let Some(env) = Env::start() else { return };
    let pool = ProxyPool::new(
        [env.http.url(), dead(Scheme::Http), dead(Scheme::Socks5h)],
        config(),
    )
    .unwrap();
    let results = bounded(pool.check_all(&env.probe())).await;
    assert!(results[0].health.is_healthy(), "{}", results[0]);
    for r in &results[1..] {
        assert_eq!(r.health.status(), "connect", "{r}");
        assert!(pool.is_banned(r.id));
        eprintln!("{r}");
    }
    assert_eq!(pool.available(), 1);
    for _ in 0..10 {
        assert_eq!(pool.pick().unwrap().proxy_id(), Some(results[0].id));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_proxy_is_banned_by_reported_failures_and_its_keys_move() {
    let Some(mut env) = Env::start() else { return };
    let pool = ProxyPool::new([env.http.url(), env.socks.url()], config()).unwrap();
    let socks = ProxyId::from_index(1);
    // Key "b" lands on the second proxy (the first key fills the first).
    assert_eq!(
        pool.assign("a").unwrap().proxy_id(),
        Some(ProxyId::from_index(0))
    );
    let route = pool.assign("b").unwrap();
    assert_eq!(route.proxy_id(), Some(socks));
    let provider = route.provider(env.rpc());
    bounded(provider.get_block_number()).await.unwrap();

    env.socks.kill();
    for _ in 0..3 {
        let err = bounded(provider.get_block_number()).await.unwrap_err();
        eprintln!("through a killed proxy: {err}");
    }
    assert!(pool.is_banned(socks));
    let stats = pool.stats(socks).unwrap();
    assert_eq!(
        stats.ban.as_ref().unwrap().reason.kind(),
        FailureKind::Connect,
        "{stats}"
    );
    assert_eq!((stats.successes, stats.failures), (1, 3));

    let moved = pool.assign("b").unwrap();
    assert_eq!(moved.proxy_id(), Some(ProxyId::from_index(0)));
    let chain_id = bounded(moved.provider(env.rpc()).get_chain_id())
        .await
        .unwrap();
    assert_eq!(chain_id, env.devnet.chain_id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_ban_puts_the_proxy_back_in_rotation() {
    let Some(env) = Env::start() else { return };
    let clock = ManualClock::new();
    let ttl = Duration::from_secs(30 * 60);
    let pool = ProxyPool::new(
        [
            env.http.url(),
            env.socks.url().with_credentials(USER, "wrong"),
        ],
        config().with_ban_ttl(ttl).with_clock(clock.clone()),
    )
    .unwrap();
    let bad = ProxyId::from_index(1);
    bounded(pool.check_all(&env.probe())).await;
    assert!(pool.is_banned(bad));
    let picks = |n| {
        (0..n)
            .map(|_| pool.pick().unwrap().proxy_id().unwrap())
            .collect::<Vec<_>>()
    };
    assert!(!picks(10).contains(&bad));

    clock.advance(ttl - Duration::from_secs(1));
    assert!(pool.is_banned(bad));
    clock.advance(Duration::from_secs(1));
    assert!(!pool.is_banned(bad));
    assert!(picks(10).contains(&bad));

    // Still wrong: the next check bans it again, a second time.
    bounded(pool.check_available(&env.probe())).await;
    assert!(pool.is_banned(bad));
    assert_eq!(pool.stats(bad).unwrap().ban_count, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_dead_with_direct_allowed_goes_direct() {
    let Some(env) = Env::start() else { return };
    let pool = ProxyPool::new(
        [dead(Scheme::Http), dead(Scheme::Socks5)],
        config().with_allow_direct(true),
    )
    .unwrap();
    bounded(pool.check_all(&env.probe())).await;
    assert_eq!(pool.available(), 0);
    for _ in 0..5 {
        let route = pool.pick().unwrap();
        assert!(route.is_direct());
        assert_eq!(route.to_string(), "direct");
        let chain_id = bounded(route.provider(env.rpc()).get_chain_id())
            .await
            .unwrap();
        assert_eq!(chain_id, env.devnet.chain_id());
    }
    assert!(pool.assign(&7u64).unwrap().is_direct());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_dead_without_direct_is_an_error_not_a_hang() {
    let Some(env) = Env::start() else { return };
    let pool = ProxyPool::new(
        [
            dead(Scheme::Http),
            dead(Scheme::Socks5h),
            env.http.url().with_credentials(USER, "wrong"),
        ],
        config(),
    )
    .unwrap();
    bounded(pool.check_all(&env.probe())).await;
    for result in [pool.pick(), pool.assign("wallet")] {
        match result {
            Err(
                e @ Error::NoProxyAvailable {
                    total: 3,
                    banned: 3,
                    next_unban: Some(_),
                },
            ) => eprintln!("{e}"),
            other => panic!("expected NoProxyAvailable, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sticky_assignment_holds_for_1000_picks_and_moves_when_banned() {
    let Some(mut env) = Env::start() else { return };
    let Some(second_socks) = MicroSocks::for_test(USER, PASS) else {
        return;
    };
    let pool = ProxyPool::new(
        [env.http.url(), env.socks.url(), second_socks.url()],
        config(),
    )
    .unwrap();
    bounded(pool.check_all(&env.probe())).await;
    let wallets: Vec<String> = (0..12).map(|i| format!("0xwallet{i:02}")).collect();
    let first: Vec<ProxyId> = wallets
        .iter()
        .map(|w| pool.assign(w).unwrap().proxy_id().unwrap())
        .collect();
    for id in pool.ids() {
        assert_eq!(first.iter().filter(|&&f| f == id).count(), 4, "{first:?}");
    }
    for i in 0..1000 {
        let w = i % wallets.len();
        assert_eq!(pool.assign(&wallets[w]).unwrap().proxy_id(), Some(first[w]));
    }

    // Kill the first microsocks; the background checker notices and bans it.
    env.socks.kill();
    let killed = ProxyId::from_index(1);
    let checker = pool.spawn_health_checks(env.probe(), Duration::from_millis(200));
    bounded(async {
        while !pool.is_banned(killed) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    checker.stop();
    let after: Vec<ProxyId> = wallets
        .iter()
        .map(|w| pool.assign(w).unwrap().proxy_id().unwrap())
        .collect();
    for (w, (before, now)) in first.iter().zip(&after).enumerate() {
        if *before == killed {
            assert_ne!(*now, killed, "wallet {w} must move");
        } else {
            assert_eq!(now, before, "wallet {w} must stay");
        }
    }
    for (w, route) in wallets.iter().map(|w| pool.assign(w).unwrap()).enumerate() {
        let chain_id = bounded(route.provider(env.rpc()).get_chain_id()).await;
        assert_eq!(
            chain_id.unwrap(),
            env.devnet.chain_id(),
            "wallet {w} via {route}"
        );
    }
    // And they stay where they moved.
    for i in 0..1000 {
        let w = i % wallets.len();
        assert_eq!(pool.assign(&wallets[w]).unwrap().proxy_id(), Some(after[w]));
    }
}

/// Not a benchmark (nothing is asserted about speed): prints the cost of a request through each
/// proxy against a direct one, and of a concurrent check of many proxies, for the README.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn measured_overhead_of_each_proxy_and_of_check_all() {
    let Some(env) = Env::start() else { return };
    const N: u32 = 200;
    let pool = ProxyPool::new(
        [env.http.url(), env.socks.url()],
        config().with_allow_direct(true),
    )
    .unwrap();
    let routes = [
        pool.direct(),
        pool.route(ProxyId::from_index(0)).unwrap(),
        pool.route(ProxyId::from_index(1)).unwrap(),
    ];
    for route in &routes {
        let provider = route.provider(env.rpc());
        bounded(provider.get_chain_id()).await.unwrap(); // warm the connection
        let start = Instant::now();
        for _ in 0..N {
            bounded(provider.get_block_number()).await.unwrap();
        }
        let per = start.elapsed() / N;
        eprintln!("eth_blockNumber via {route}: {per:?} per request (mean of {N}, sequential)");
    }

    // 100 proxies (the two real ones and dead ports, alternating), default concurrency cap.
    let many: Vec<ProxyUrl> = (0..100)
        .map(|i| match i % 4 {
            0 => env.http.url(),
            1 => env.socks.url(),
            _ => dead(Scheme::Http),
        })
        .collect();
    let pool = ProxyPool::new(many, config()).unwrap();
    let start = Instant::now();
    let results = bounded(pool.check_all(&env.probe())).await;
    let healthy = results.iter().filter(|r| r.health.is_healthy()).count();
    eprintln!(
        "check_all over {} proxies ({healthy} healthy): {:?}",
        results.len(),
        start.elapsed()
    );
    assert_eq!((results.len(), healthy), (100, 50));
    assert_eq!(pool.available(), 50);
}
