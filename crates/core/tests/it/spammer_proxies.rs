//! The closed-loop Spammer through real proxies on loopback (Debian's tinyproxy and
//! microsocks, see `spam_proxy::testing`) against a real anvil: wallets spread over the
//! proxies, a proxy killed mid-run gets banned and its wallets move on, a banned proxy's
//! wallets are skipped, and the report carries the per-proxy counters, redacted.

use std::{num::NonZeroU32, sync::Arc, time::Duration};

use alloy::providers::ext::TxPoolApi;
use spam_core::{Spammer, Stop, Task, TaskMix, Thresholds, TxTask, Wallet};
use spam_devnet::Devnet;

use crate::support::NamedSelfTransfer;
use spam_proxy::{
    Failure, FailureKind, PoolConfig, Probe, ProxyPool,
    testing::{MicroSocks, TinyProxy},
};

const USER: &str = "spam";
const PASS: &str = "s3cret-pw";

fn mix() -> TaskMix {
    TaskMix::new(vec![(
        Arc::new(TxTask(NamedSelfTransfer("transfer_self"))) as Arc<dyn Task>,
        1,
    )])
    .unwrap()
}

fn wallets(devnet: &Devnet) -> Vec<Wallet> {
    devnet.signers().into_iter().map(Wallet::new).collect()
}

/// Bans outlive the test; one failed request is enough to ban (tinyproxy and microsocks
/// either work or are gone).
/// One failure bans. The deadlines are far above what a loaded machine takes (a dead
/// loopback port fails at once, it needs no deadline): a slow answer while both cores are
/// busy must not ban a live proxy as "timeout" before the kill this test is about.
fn config() -> PoolConfig {
    PoolConfig::default()
        .with_ban_after_failures(NonZeroU32::new(1).unwrap())
        .with_ban_ttl(Duration::from_secs(600))
        .with_connect_timeout(Duration::from_secs(30))
        .with_request_timeout(Duration::from_secs(60))
        .with_check_timeout(Duration::from_secs(30))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_killed_mid_run_is_banned_and_the_run_stays_above_99_percent() {
    let Some(http) = TinyProxy::for_test(USER, PASS) else {
        return;
    };
    let Some(mut socks) = MicroSocks::for_test(USER, PASS) else {
        return;
    };
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(16)) else {
        return;
    };
    let rpc: alloy::transports::http::reqwest::Url = devnet.endpoint().parse().unwrap();
    let proxies = ProxyPool::new([http.url(), socks.url()], config()).unwrap();
    let [via_http, via_socks] = [0, 1].map(|i| proxies.ids().nth(i).unwrap());
    let _checks =
        proxies.spawn_health_checks(Probe::chain_id(rpc.clone()), Duration::from_millis(200));

    // Kill the SOCKS proxy after 4 s: its pooled keep-alive connections die under running
    // requests, the harder case (tinyproxy gets a new connection per request anyway).
    let alive = proxies.clone();
    let killer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(4)).await;
        let banned_before = alive.stats(via_socks).unwrap().ban;
        socks.kill();
        (socks, banned_before)
    });
    let report = Spammer::builder()
        .rpc_url(rpc)
        .wallets(wallets(&devnet))
        .tasks(mix())
        .workers(NonZeroU32::new(8).unwrap())
        .cooldown(Duration::ZERO)
        .stop(Stop::After(Duration::from_secs(10)))
        .grace(Duration::from_secs(20))
        .proxies(proxies.clone())
        .build()
        .unwrap()
        .run()
        .await
        .unwrap();
    println!("{report}");
    let (socks, banned_before) = killer.await.unwrap();
    drop(socks);
    assert!(
        banned_before.is_none(),
        "banned while it was alive: {banned_before:?}"
    );

    report
        .check(&Thresholds::default().with_min_success_rate(0.99))
        .into_result()
        .unwrap();
    assert!(report.totals.succeeded > 100, "{:?}", report.totals);

    // The pool: the killed proxy is banned for a broken connection, the other one is not.
    assert!(proxies.is_banned(via_socks));
    assert!(!proxies.is_banned(via_http));
    let killed = proxies.stats(via_socks).unwrap();
    assert_eq!(
        killed.ban.as_ref().unwrap().reason.kind(),
        FailureKind::Connect
    );

    // The report: the same, per proxy in list order, and never a password.
    assert_eq!(report.proxies.len(), 2);
    let (r_http, r_socks) = (&report.proxies[0], &report.proxies[1]);
    assert_eq!(r_socks.banned.as_deref(), Some("connect"));
    assert!(r_socks.ban_count >= 1);
    // banned by the first failed request or health check, whichever came first
    assert!(
        r_socks.requests > 0,
        "traffic went through it before the kill"
    );
    assert_eq!(r_http.banned, None);
    assert_eq!(r_http.ban_count, 0);
    assert!(
        r_http.requests > r_socks.requests,
        "it carried everyone after the kill"
    );
    assert!(r_http.last_latency_ms.is_some());
    assert!(r_http.proxy.starts_with("http://***:***@127.0.0.1:"));
    let (text, json) = (report.to_string(), report.to_json());
    assert!(text.contains("proxies: 2, 1 banned at the end"), "{text}");
    assert!(!text.contains(PASS) && !json.contains(PASS));

    // Nothing stuck: every sender's transactions were mined.
    let pool = devnet.provider().txpool_status().await.unwrap();
    assert_eq!((pool.pending, pool.queued), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallets_whose_proxy_is_banned_are_skipped() {
    let Some(http) = TinyProxy::for_test(USER, PASS) else {
        return;
    };
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(4)) else {
        return;
    };
    let proxies = ProxyPool::new([http.url()], config()).unwrap();
    let id = proxies.ids().next().unwrap();

    // A failed health check would do the same: ban the only proxy 1 s into a 4 s run.
    let banner = tokio::spawn({
        let proxies = proxies.clone();
        async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            proxies.ban(id, Failure::new(FailureKind::Connect, "test"));
            proxies.stats(id).unwrap().picks
        }
    });
    let report = Spammer::builder()
        .rpc_url(devnet.endpoint().parse().unwrap())
        .wallets(wallets(&devnet))
        .tasks(mix())
        .workers(NonZeroU32::new(4).unwrap())
        .cooldown(Duration::ZERO)
        .stop(Stop::After(Duration::from_secs(4)))
        .proxies(proxies.clone())
        .build()
        .unwrap()
        .run()
        .await
        .unwrap();
    println!("{report}");
    let picks_at_ban = banner.await.unwrap();

    assert!(report.totals.succeeded > 0, "tasks ran before the ban");
    // Once banned the proxy carried nothing more: every lease was skipped (the run ended at
    // its stop, not in a hang). A task running at the ban fails: no proxy is left for it.
    assert_eq!(proxies.stats(id).unwrap().picks, picks_at_ban);
    assert!(report.totals.failed <= 4, "{:?}", report.errors);
    assert_eq!(report.proxies[0].banned.as_deref(), Some("connect"));

    // A task caught by the ban between its send and its receipt failed with its transaction
    // on chain; the end of the run still waited for every sender: nothing is stuck.
    let pool = devnet.provider().txpool_status().await.unwrap();
    assert_eq!((pool.pending, pool.queued), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_with_every_proxy_banned_refuses_to_start() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(2)) else {
        return;
    };
    let dead = format!(
        "http://{USER}:{PASS}@127.0.0.1:{}",
        spam_proxy::testing::dead_port()
    );
    let proxies = ProxyPool::from_list(&dead, config()).unwrap();
    let id = proxies.ids().next().unwrap();
    proxies.ban(id, Failure::new(FailureKind::Connect, "refused"));
    let err = tokio::time::timeout(
        Duration::from_secs(30),
        Spammer::builder()
            .rpc_url(devnet.endpoint().parse().unwrap())
            .wallets(wallets(&devnet))
            .tasks(mix())
            .proxies(proxies)
            .build()
            .unwrap()
            .run(),
    )
    .await
    .expect("an error at once, not a hang")
    .unwrap_err();
    let message = err.to_string();
    assert!(message.starts_with("no proxy available"), "{message}");
    assert!(!message.contains(PASS));
}
