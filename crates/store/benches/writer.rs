//! Sustained transaction-record throughput through the buffered writer, into SQLite (a WAL
//! file) and, with `DATABASE_URL` set, into PostgreSQL.
//!
//! Each iteration sends `RECORDS` fully populated transaction records through one
//! `WriterHandle` as fast as the channel takes them and waits for `shutdown` (every record
//! committed). Drops would make the number meaningless, so they fail the bench.
//!
//! `cargo bench -p spam-store --bench writer`

use std::{
    num::NonZeroUsize,
    sync::Arc,
    time::{Duration, Instant},
};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use spam_store::{RunId, SqlOptions, SqlStore, Store, TxRecord, TxStatus, Writer, WriterConfig};

const RECORDS: u64 = 100_000;

fn tx(run: RunId, i: u64) -> TxRecord {
    let mut t = TxRecord::new(run, [0; 32], [7; 20], i, "transfer");
    t.hash[..8].copy_from_slice(&i.to_be_bytes());
    t.hash[8..16].copy_from_slice(&run.get().to_be_bytes());
    let at = 1_700_000_000_000_000 + i * 100;
    t.intended_at_us = Some(at);
    t.signed_at_us = Some(at + 10);
    t.sent_at_us = Some(at + 20);
    t.acked_at_us = Some(at + 900);
    t.included_at_us = Some(at + 1_000_000);
    t.block_number = Some(i / 500);
    t.gas_used = Some(21_000);
    t.status = TxStatus::Succeeded;
    t
}

/// Writes `RECORDS` records through a writer with batches of `batch`; returns the elapsed
/// time until all are committed.
async fn pump(store: Arc<dyn Store>, batch: usize) -> Duration {
    let config = WriterConfig::default()
        .with_capacity(NonZeroUsize::new(RECORDS as usize).unwrap())
        .with_batch_size(NonZeroUsize::new(batch).unwrap());
    let writer = Writer::spawn(store, config);
    let handle = writer.handle();
    let run = RunId::generate();
    let started = Instant::now();
    for i in 0..RECORDS {
        // Records are built on the producer side as an engine would.
        handle.write(tx(run, i));
        if i % 4_096 == 0 {
            tokio::task::yield_now().await;
        }
    }
    let stats = writer.shutdown().await;
    let elapsed = started.elapsed();
    assert_eq!((stats.written, stats.lost()), (RECORDS, 0), "{stats:?}");
    elapsed
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("writer_txs");
    group
        .throughput(Throughput::Elements(RECORDS))
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .warm_up_time(Duration::from_secs(2));

    let dir = tempfile::tempdir().unwrap();
    let sqlite: Arc<dyn Store> = Arc::new(
        rt.block_on(SqlStore::open_with(SqlOptions::sqlite(
            dir.path().join("bench.db"),
        )))
        .unwrap(),
    );
    for batch in [1_000, 5_000] {
        group.bench_function(format!("sqlite_file/batch_{batch}"), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| rt.block_on(pump(sqlite.clone(), batch)))
                    .sum()
            });
        });
    }

    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let schema = format!("spam_store_bench_{}", std::process::id());
            let pg = rt
                .block_on(SqlStore::open_with(
                    SqlOptions::new(&url).with_schema(&schema),
                ))
                .unwrap();
            let pg = Arc::new(pg);
            for batch in [1_000, 5_000] {
                let store: Arc<dyn Store> = pg.clone();
                group.bench_function(format!("postgres/batch_{batch}"), |b| {
                    b.iter_custom(|iters| {
                        (0..iters)
                            .map(|_| rt.block_on(pump(store.clone(), batch)))
                            .sum()
                    });
                });
            }
            rt.block_on(async {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA \"{schema}\" CASCADE"
                )))
                .execute(pg.pool())
                .await
                .unwrap();
                pg.close().await;
            });
        }
        _ => eprintln!("skipped PostgreSQL: set DATABASE_URL"),
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
