//! Runs of both engines persisted through spam-store (a SQLite file, and the in-memory store):
//! the report rebuilt from the database equals the live one in every count.

use std::{sync::Arc, time::Duration};

use spam_core::{LoadGen, Rate, Report, Spammer, Stop, TaskMix, TxTask, Wallet};
use spam_devnet::Devnet;

use crate::support::SelfTransfer;
use spam_store::{MemoryStore, RunId, SqlOptions, SqlStore, Store};

async fn run(devnet: &Devnet, store: Arc<dyn Store>) -> Report {
    LoadGen::builder()
        .rpc_url(devnet.endpoint().parse().unwrap())
        .wallets(devnet.signers().into_iter().map(Wallet::new).collect())
        .tx(SelfTransfer)
        .rate(Rate::ramp(50.0, 150.0, Duration::from_secs(3)))
        .duration(Duration::from_secs(3))
        .batch(10, Duration::from_millis(2))
        .grace(Duration::from_secs(10))
        .store(store, None)
        .run()
        .await
        .unwrap()
}

fn assert_same_counts(live: &Report, rebuilt: &Report) {
    let counts = |r: &Report| {
        let t = &r.totals;
        (
            t.started,
            t.succeeded,
            t.failed,
            t.txs_sent,
            t.txs_included,
            t.gas_used,
        )
    };
    assert_eq!(counts(live), counts(rebuilt), "totals");
    assert_eq!(live.tasks.len(), rebuilt.tasks.len());
    for (name, stats) in &live.tasks {
        let other = &rebuilt.tasks[name];
        assert_eq!(
            (
                stats.started,
                stats.succeeded,
                stats.failed,
                stats.txs_included
            ),
            (
                other.started,
                other.succeeded,
                other.failed,
                other.txs_included
            ),
            "{name}"
        );
        assert_eq!(stats.task_ms.count, other.task_ms.count);
        assert_eq!(stats.inclusion_ms.count, other.inclusion_ms.count);
    }
    assert_eq!(live.errors, rebuilt.errors);
    assert_eq!(live.series, rebuilt.series, "per-second counts");
    assert_eq!(live.open_loop, rebuilt.open_loop);
    assert_eq!(live.nonces, rebuilt.nonces);
    assert_eq!(live.elapsed_secs, rebuilt.elapsed_secs);
    assert_eq!(live.run.chain_id, rebuilt.run.chain_id);
    assert_eq!(live.run.config, rebuilt.run.config);
    // Latencies come from the same samples, up to 1 µs of rounding each, which can move a
    // sample into the next HDR bucket (3 significant digits): equal within two buckets.
    let (a, b) = (&live.totals.task_ms, &rebuilt.totals.task_ms);
    let close = |x: f64, y: f64| (x - y).abs() <= 0.002 * x.max(y) + 0.002;
    assert_eq!(a.count, b.count);
    assert!(close(a.p50, b.p50) && close(a.p99, b.p99), "{a:?} {b:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_rebuilt_from_sqlite_equals_the_live_one() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(8).block_time(0.5)) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SqlStore::sqlite(dir.path().join("runs.db")).await.unwrap());
    let live = run(&devnet, Arc::clone(&store)).await;
    let stats = live.store.expect("store stats");
    assert_eq!(stats.dropped, 0);
    let open = live.open_loop.as_ref().unwrap();
    assert!(open.included > 0 && open.included == open.accepted);
    // run row + one task and one answered, one included, one receipt row per transaction, blocks
    assert!(stats.written > 4 * open.included, "{stats:?}");

    let id = RunId::new(stats.run_id).unwrap();
    let rebuilt = Report::from_store(store.as_ref(), id).await.unwrap();
    assert_same_counts(&live, &rebuilt);
    let txs = store.txs(id).await.unwrap();
    assert_eq!(txs.len() as u64, open.sent);
    assert!(
        txs.iter()
            .all(|t| t.block_number.is_some() && t.gas_used == Some(21_000))
    );
    // Every phase of every transaction, in order.
    for t in &txs {
        let phases = [
            t.intended_at_us,
            t.sent_at_us,
            t.acked_at_us,
            t.included_at_us,
        ];
        assert!(phases.iter().all(Option::is_some), "{t:?}");
        assert!(t.signed_at_us.unwrap() <= t.sent_at_us.unwrap(), "{t:?}");
        // A block may be seen before the answer arrives, so inclusion is only after sending.
        assert!(phases[..3].windows(2).all(|w| w[0] <= w[1]), "{t:?}");
        assert!(t.included_at_us >= t.sent_at_us, "{t:?}");
    }
    assert!(store.blocks(id).await.unwrap().len() as u64 >= open.blocks.count.min(1));

    let unknown = Report::from_store(store.as_ref(), RunId::new(stats.run_id + 1).unwrap()).await;
    assert!(
        unknown
            .unwrap_err()
            .to_string()
            .contains("not in the store")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_rebuilt_from_memory_equals_the_live_one() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(8)) else {
        return;
    };
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let live = run(&devnet, Arc::clone(&store)).await;
    let id = RunId::new(live.store.unwrap().run_id).unwrap();
    let rebuilt = Report::from_store(store.as_ref(), id).await.unwrap();
    assert_same_counts(&live, &rebuilt);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spammer_report_rebuilt_from_sqlite_equals_the_live_one() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(8)) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SqlStore::sqlite(dir.path().join("runs.db")).await.unwrap());
    let live = Spammer::builder()
        .rpc_url(devnet.endpoint().parse().unwrap())
        .wallets(devnet.signers().into_iter().map(Wallet::new).collect())
        .tasks(TaskMix::single(Arc::new(TxTask(SelfTransfer))))
        .workers(std::num::NonZeroU32::new(4).unwrap())
        .cooldown(Duration::ZERO)
        .stop(Stop::After(Duration::from_secs(3)))
        .store(Arc::clone(&store), None)
        .build()
        .unwrap()
        .run()
        .await
        .unwrap();
    let stats = live.store.expect("store stats");
    assert_eq!(stats.dropped, 0);
    assert!(live.totals.txs_included > 0);
    let id = RunId::new(stats.run_id).unwrap();
    let rebuilt = Report::from_store(store.as_ref(), id).await.unwrap();
    assert_same_counts(&live, &rebuilt);
    let txs = store.txs(id).await.unwrap();
    assert_eq!(txs.len() as u64, live.totals.txs_sent);
    assert_eq!(store.runs().await.unwrap().len(), 1);
}

/// A PostgreSQL schema of the test's own, dropped at the end (also when the test fails).
struct PgSchema {
    url: String,
    name: String,
}

impl PgSchema {
    fn new() -> Option<Self> {
        let url = match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => url,
            _ if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
                panic!("CI=true but DATABASE_URL is unset: the PostgreSQL tests must run in CI")
            }
            _ => {
                eprintln!("skipped: set DATABASE_URL to run the PostgreSQL tests");
                return None;
            }
        };
        // Unique within the process (a counter) and across processes and runs (pid, time).
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let name = format!(
            "spam_core_test_{}_{}_{}",
            std::process::id(),
            spam_store::now_micros() % 1_000_000_000,
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        Some(Self { url, name })
    }

    async fn open(&self) -> SqlStore {
        SqlStore::open_with(SqlOptions::new(&self.url).with_schema(&self.name))
            .await
            .unwrap()
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        // Drop may run inside the test's runtime: clean up on a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let store = SqlStore::open(&url).await?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS \"{name}\" CASCADE"
                )))
                .execute(store.pool())
                .await?;
                store.close().await;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
        })
        .join();
    }
}

/// Two engine instances (each with its own senders and its own connection pool) write one
/// run into PostgreSQL at the same time: every row lands, and the rebuilt report counts both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_loadgens_write_one_run_into_postgres() {
    let Some(schema) = PgSchema::new() else {
        return;
    };
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(8).block_time(0.5)) else {
        return;
    };
    let wallets: Vec<Wallet> = devnet.signers().into_iter().map(Wallet::new).collect();
    let (a_wallets, b_wallets) = wallets.split_at(4);
    let run_id = RunId::generate();
    let instance = |senders: Vec<Wallet>, store: SqlStore| {
        LoadGen::builder()
            .rpc_url(devnet.endpoint().parse().unwrap())
            .wallets(senders)
            .tx(SelfTransfer)
            .rate(Rate::constant(60.0))
            .duration(Duration::from_secs(2))
            .grace(Duration::from_secs(10))
            .store(Arc::new(store), Some(run_id))
            .run()
    };
    let (a, b) = tokio::join!(
        instance(a_wallets.to_vec(), schema.open().await),
        instance(b_wallets.to_vec(), schema.open().await)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    for r in [&a, &b] {
        let stats = r.store.unwrap();
        assert_eq!((stats.run_id, stats.dropped), (run_id.get(), 0));
    }
    let store = schema.open().await;
    let rebuilt = Report::from_store(&store, run_id).await.unwrap();
    assert_eq!(
        rebuilt.totals.started,
        a.totals.started + b.totals.started,
        "every task row of both instances"
    );
    assert_eq!(
        rebuilt.totals.txs_included,
        a.totals.txs_included + b.totals.txs_included
    );
    let sent = a.open_loop.as_ref().unwrap().sent + b.open_loop.as_ref().unwrap().sent;
    assert_eq!(store.txs(run_id).await.unwrap().len() as u64, sent);
    store.close().await;
}
