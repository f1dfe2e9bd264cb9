//! Runs of both engines persisted through spam-store (a SQLite file, and the in-memory store):
//! the report rebuilt from the database equals the live one in every count.

use std::{sync::Arc, time::Duration};

use alloy::{consensus::TypedTransaction, primitives::U256};
use spam_core::{
    BuildRequest, LoadGen, Rate, Report, Spammer, Stop, TaskMix, TxBuilder, TxTask, Wallet,
};
use spam_devnet::Devnet;
use spam_store::{MemoryStore, RunId, SqlStore, Store};

#[derive(Debug)]
struct SelfTransfer;

impl TxBuilder for SelfTransfer {
    fn name(&self) -> &str {
        "self_transfer"
    }

    fn build(&self, r: BuildRequest<'_>) -> TypedTransaction {
        r.fees
            .transfer(r.chain_id, r.nonce, r.sender, U256::from(1))
    }
}

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
    // Latencies come from the same microseconds, up to 1 µs of rounding per sample.
    let (a, b) = (&live.totals.task_ms, &rebuilt.totals.task_ms);
    assert!(
        (a.p50 - b.p50).abs() <= 0.01 && (a.p99 - b.p99).abs() <= 0.01,
        "{a:?} {b:?}"
    );
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
