//! Losses counted exactly: the writer's written and lost counts equal what the database holds
//! when it fills up, is read-only, or stalls (a PostgreSQL lock held elsewhere).

use std::{num::NonZeroUsize, sync::Arc, time::Duration};

use spam_store::{
    RunId, SqlOptions, SqlStore, Store, TaskRecord, TxRecord, Writer, WriterConfig, WriterStats,
};
use sqlx::{Connection, Executor};

use crate::common::PgSchema;

/// Two records per `i` (a task and a transaction of its own hash): each is one row.
fn write_pairs(writer: &Writer, run: RunId, from: u64, to: u64) {
    let handle = writer.handle();
    for i in from..to {
        let mut hash = [0_u8; 32];
        hash[..8].copy_from_slice(&i.to_be_bytes());
        assert!(handle.write(TaskRecord::new(run, 0, [7; 20], "transfer", i, 100)));
        assert!(handle.write(TxRecord::new(run, hash, [7; 20], i, "transfer")));
    }
}

/// Rows of `run`: tasks plus transactions.
async fn rows(store: &dyn Store, run: RunId) -> u64 {
    let read = (store.tasks(run).await.unwrap().len() + store.txs(run).await.unwrap().len()) as u64;
    let counted = store.row_counts(run).await.unwrap();
    assert_eq!(counted.tasks + counted.txs, read, "{counted:?}");
    read
}

fn small_batches() -> WriterConfig {
    WriterConfig::default()
        .with_batch_size(NonZeroUsize::new(64).unwrap())
        .with_flush_interval(Duration::from_millis(5))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_sqlite_file_keeps_exactly_what_was_counted_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("full.db");
    // Room for the schema and a few hundred rows, far less than the run writes.
    let store = SqlStore::open_with(SqlOptions::sqlite(&path).with_sqlite_max_pages(48))
        .await
        .unwrap();
    store
        .probe()
        .await
        .expect("a store with room takes the probe");
    let store = Arc::new(store);
    let run = RunId::generate();
    let writer = Writer::spawn(store.clone(), small_batches());
    let handed = 2_500;
    for chunk in 0..10 {
        write_pairs(&writer, run, chunk * 250, (chunk + 1) * 250);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let stats: WriterStats = writer.shutdown().await;
    assert_eq!(stats.written + stats.lost(), 2 * handed, "{stats:?}");
    assert!(stats.failed > 0, "the file filled up: {stats:?}");
    assert!(stats.written > 0, "{stats:?}");
    assert_eq!(rows(store.as_ref(), run).await, stats.written, "{stats:?}");
    store.close().await;

    // Read again from a fresh open without the cap: the same rows, nothing more.
    let reopened = SqlStore::sqlite(&path).await.unwrap();
    assert_eq!(rows(&reopened, run).await, stats.written);
    reopened.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_sqlite_file_fails_the_probe_and_counts_every_record_lost() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro.db");
    SqlStore::sqlite(&path).await.unwrap().close().await;
    // `mode=ro` opens it the way SQLite opens a file the process may not write (a chmod
    // would not stop a test running as root).
    let url = format!("sqlite://{}?mode=ro", path.display());
    let store = Arc::new(SqlStore::open(&url).await.unwrap());
    let err = store.probe().await.unwrap_err();
    assert!(err.to_string().contains("probe"), "{err}");
    let run = RunId::generate();
    let writer = Writer::spawn(store.clone(), small_batches());
    write_pairs(&writer, run, 0, 100);
    let stats = writer.shutdown().await;
    assert_eq!((stats.written, stats.failed), (0, 200), "{stats:?}");
    store.close().await;
    let writable = SqlStore::sqlite(&path).await.unwrap();
    assert_eq!(rows(&writable, run).await, 0);
    writable.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_postgres_cancels_batches_and_counts_them_exactly() {
    let Some(schema) = PgSchema::new() else {
        return;
    };
    let store = Arc::new(
        SqlStore::open_with(
            schema
                .options()
                .with_statement_timeout(Duration::from_millis(200)),
        )
        .await
        .unwrap(),
    );
    let run = RunId::generate();
    // Another session holds the tasks table: every insert waits on it until the server's
    // statement timeout cancels the batch (nothing of it lands).
    let mut locker = sqlx::PgConnection::connect(&schema.url).await.unwrap();
    locker.execute("BEGIN").await.unwrap();
    locker
        .execute(sqlx::AssertSqlSafe(format!(
            "LOCK TABLE \"{}\".task_metrics IN ACCESS EXCLUSIVE MODE",
            schema.name
        )))
        .await
        .unwrap();
    let writer = Writer::spawn(
        store.clone(),
        small_batches().with_give_up_after(Duration::from_millis(600)),
    );
    write_pairs(&writer, run, 0, 200);
    // Held until a batch was given up: the stall outlasted the writer's patience.
    while writer.stats().failed == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    locker.execute("ROLLBACK").await.unwrap();
    write_pairs(&writer, run, 200, 300);
    let stats = writer.shutdown().await;
    assert_eq!(stats.written + stats.lost(), 600, "{stats:?}");
    assert!(stats.retries > 0 && stats.failed > 0, "{stats:?}");
    assert_eq!(rows(store.as_ref(), run).await, stats.written, "{stats:?}");
    store.close().await;
}
