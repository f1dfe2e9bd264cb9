//! PostgreSQL: two writers (two engine instances) on one run, schema versions, schemas kept
//! apart. Needs `DATABASE_URL`; prints "skipped" without it (fails under `CI=true`).

use std::{sync::Arc, time::Duration};

use spam_store::{
    BlockRecord, Error, RunId, RunRecord, SCHEMA_VERSION, SqlStore, Store, TaskRecord, TxRecord,
    TxStatus, Writer, WriterConfig,
};
use sqlx::Executor;

use crate::common::PgSchema;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_writers_one_run_all_rows_land() {
    let Some(schema) = PgSchema::new() else {
        return;
    };
    let run = RunId::generate();
    // Both instances open the same fresh schema at once: migrations take turns.
    let (a, b) = tokio::join!(schema.open(), schema.open());
    let stores = [Arc::new(a), Arc::new(b)];
    let writers: Vec<_> = stores
        .iter()
        .map(|s| {
            Writer::spawn(
                s.clone(),
                WriterConfig::default().with_flush_interval(Duration::from_millis(20)),
            )
        })
        .collect();

    let tasks: Vec<_> = writers
        .iter()
        .enumerate()
        .map(|(w, writer)| {
            let handle = writer.handle();
            tokio::spawn(async move {
                // Both write the run's row and see the same blocks.
                handle.write(RunRecord::new(run, 1_000, 31_337));
                for i in 0..3_000u64 {
                    let worker = w as u32;
                    handle.write(TaskRecord::new(
                        run,
                        worker,
                        [w as u8; 20],
                        "transfer",
                        i,
                        5,
                    ));
                    let mut tx = TxRecord::new(run, [0; 32], [w as u8; 20], i, "transfer");
                    tx.hash[0] = w as u8;
                    tx.hash[1..9].copy_from_slice(&i.to_be_bytes());
                    tx.sent_at_us = Some(i);
                    handle.write(tx);
                    // A transaction both instances report (e.g. a shared funder's): merged.
                    if i % 10 == 0 {
                        let mut shared = TxRecord::new(run, [0xff; 32], [9; 20], i, "fund");
                        shared.hash[1..9].copy_from_slice(&i.to_be_bytes());
                        if w == 0 {
                            shared.sent_at_us = Some(i);
                        } else {
                            shared.included_at_us = Some(i + 1);
                        }
                        handle.write(shared);
                        let mut block = BlockRecord::new(run, i / 10, i * 1_000);
                        block.tx_count = 3;
                        handle.write(block);
                    }
                    if i % 256 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let mut total = 0;
    for writer in writers {
        let stats = writer.shutdown().await;
        assert_eq!((stats.dropped, stats.failed), (0, 0), "{stats:?}");
        assert_eq!(stats.retries, 0, "no conflict errors: {stats:?}");
        total += stats.written;
    }
    assert_eq!(total, 2 * (1 + 3_000 * 2 + 300 * 2));

    let store = &stores[0];
    assert_eq!(store.run(run).await.unwrap().unwrap().chain_id, 31_337);
    assert_eq!(store.tasks(run).await.unwrap().len(), 6_000);
    let txs = store.txs(run).await.unwrap();
    assert_eq!(txs.len(), 6_000 + 300);
    let shared: Vec<_> = txs.iter().filter(|t| t.hash[0] == 0xff).collect();
    assert_eq!(shared.len(), 300);
    assert!(
        shared
            .iter()
            .all(|t| t.sent_at_us.is_some() && t.included_at_us.is_some()),
        "both halves of each shared transaction merged"
    );
    assert_eq!(store.blocks(run).await.unwrap().len(), 300);
    let summary = store.run_summary(run).await.unwrap().unwrap();
    assert_eq!(summary.totals.started, 6_000);
    for s in &stores {
        s.close().await;
    }
}

#[tokio::test]
async fn a_schema_of_a_newer_version_is_refused() {
    let Some(schema) = PgSchema::new() else {
        return;
    };
    let store = schema.open().await;
    assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
    store
        .pool()
        .execute(sqlx::AssertSqlSafe(format!(
            "INSERT INTO spam_store_schema (version, applied_at_us) VALUES ({}, 0)",
            SCHEMA_VERSION + 1
        )))
        .await
        .unwrap();
    store.close().await;
    let err = SqlStore::open_with(schema.options()).await.unwrap_err();
    assert!(matches!(err, Error::SchemaTooNew { .. }), "{err:?}");
}

#[tokio::test]
async fn schemas_keep_stores_apart() {
    let (Some(schema_a), Some(schema_b)) = (PgSchema::new(), PgSchema::new()) else {
        return;
    };
    let (a, b) = (schema_a.open().await, schema_b.open().await);
    let run = RunId::generate();
    let mut tx = TxRecord::new(run, [1; 32], [2; 20], 3, "t");
    tx.status = TxStatus::Succeeded;
    a.write(&[tx].into_iter().collect()).await.unwrap();
    assert_eq!(a.txs(run).await.unwrap().len(), 1);
    assert!(b.txs(run).await.unwrap().is_empty());
    a.close().await;
    b.close().await;
}
