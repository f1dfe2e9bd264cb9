//! The report reads give the same answer on every backend, and the expected one.

use spam_store::{
    AssetRecord, Batch, BlockRecord, MemoryStore, RunId, RunRecord, RunSummary, SqlStore, Store,
    TaskRecord, TxRecord, TxStatus,
};

use crate::common::PgSchema;

const S: u64 = 1_000_000;
const T0: u64 = 1_700_000_000 * S;

/// A small run: 2 task kinds over 3 seconds, one failure class, sends and inclusions.
fn run_batch(run: RunId) -> Batch {
    let mut record = RunRecord::new(run, T0, 31_337);
    record.ended_at_us = Some(T0 + 3 * S + 500_000);
    record.workers = 2;
    let mut batch = Batch::default();
    batch.push(record);
    for i in 0..20u64 {
        let start = T0 + i * 150_000;
        let mut task = TaskRecord::new(run, (i % 2) as u32, [1; 20], "transfer", start, 40_000);
        if i % 5 == 4 {
            task = task.with_error("nonce too low");
        }
        batch.push(task);
        let mut tx = TxRecord::new(run, [0; 32], [1; 20], i, "transfer");
        tx.hash[..8].copy_from_slice(&i.to_be_bytes());
        tx.sent_at_us = Some(start + 1_000);
        tx.acked_at_us = Some(start + 3_000);
        if i % 5 != 4 {
            tx.included_at_us = Some(start + 1_000_000);
            tx.block_number = Some(10 + i / 7);
            tx.gas_used = Some(21_000);
            tx.status = TxStatus::Succeeded;
        }
        batch.push(tx);
    }
    batch.push(TaskRecord::new(
        run,
        0,
        [2; 20],
        "deploy",
        T0 + 100,
        900_000,
    ));
    for n in 10..13 {
        batch.push(BlockRecord::new(run, n, T0 + (n - 10) * S));
    }
    batch.push(AssetRecord::new(run, 31_337, [2; 20], [7; 20], "erc20"));
    batch
}

fn check(s: &RunSummary) {
    assert_eq!(s.totals.started, 21);
    assert_eq!((s.totals.succeeded, s.totals.failed), (17, 4));
    assert_eq!(s.errors.get("nonce too low"), Some(&4));
    let t = &s.tasks["transfer"];
    assert_eq!((t.started, t.succeeded, t.failed), (20, 16, 4));
    assert_eq!(
        (t.txs_sent, t.txs_included, t.gas_used),
        (20, 16, 16 * 21_000)
    );
    assert_eq!(t.task.count, 20);
    assert!((40_000..=40_040).contains(&t.task.p99_us));
    assert!((2_000..=2_002).contains(&t.send.p50_us));
    assert!((999_000..=1_000_000).contains(&t.inclusion.max_us) && t.inclusion.count == 16);
    assert_eq!(s.tasks["deploy"].started, 1);
    // 3.5 s run: 4 seconds; task starts every 150 ms.
    assert_eq!(s.series.len(), 4);
    let started: Vec<_> = s.series.iter().map(|c| c.started).collect();
    assert_eq!(started, vec![8, 7, 6, 0]);
    let sent: u64 = s.series.iter().map(|c| c.txs_sent).sum();
    let included: u64 = s.series.iter().map(|c| c.txs_included).sum();
    assert_eq!((sent, included), (20, 16));
    assert_eq!(
        s.series.iter().map(|c| c.gas_used).sum::<u64>(),
        16 * 21_000
    );
    assert_eq!(s.blocks, 3);
    assert_eq!(s.run.workers, 2);
}

async fn summarize(store: &dyn Store) -> RunSummary {
    let run = RunId::generate();
    store.write(&run_batch(run)).await.unwrap();
    assert!(
        store
            .run_summary(RunId::generate())
            .await
            .unwrap()
            .is_none()
    );
    let summary = store.run_summary(run).await.unwrap().unwrap();
    assert_eq!(store.task_summaries(run).await.unwrap(), summary.tasks);
    assert_eq!(store.series(run).await.unwrap(), summary.series);
    assert_eq!(
        store
            .assets_of_chain(31_337)
            .await
            .unwrap()
            .last()
            .unwrap()
            .kind,
        "erc20"
    );
    summary
}

#[tokio::test]
async fn every_backend_summarizes_the_same() {
    let memory = summarize(&MemoryStore::new()).await;
    check(&memory);

    let sqlite = SqlStore::open("sqlite::memory:").await.unwrap();
    let from_sqlite = summarize(&sqlite).await;
    assert_eq!(from_sqlite.tasks, memory.tasks);
    assert_eq!(from_sqlite.series, memory.series);
    assert_eq!(from_sqlite.errors, memory.errors);
    assert_eq!(from_sqlite.totals, memory.totals);

    if let Some(schema) = PgSchema::new() {
        let pg = schema.open().await;
        let from_pg = summarize(&pg).await;
        assert_eq!(from_pg.tasks, memory.tasks);
        assert_eq!(from_pg.series, memory.series);
        assert_eq!(from_pg.totals, memory.totals);
        pg.close().await;
    }
}

#[tokio::test]
async fn runs_are_listed_oldest_first_and_rewritten_at_the_end() {
    let store = SqlStore::open("sqlite::memory:").await.unwrap();
    let (a, b) = (RunId::generate(), RunId::generate());
    let mut later = RunRecord::new(a, 2_000, 1);
    store
        .write(
            &[later.clone(), RunRecord::new(b, 1_000, 1)]
                .into_iter()
                .collect(),
        )
        .await
        .unwrap();
    later.ended_at_us = Some(9_000);
    later.records_dropped = 3;
    store
        .write(&[later.clone()].into_iter().collect())
        .await
        .unwrap();
    let runs = store.runs().await.unwrap();
    assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), vec![b, a]);
    assert_eq!(runs[1], later);
}
