//! The buffered writer: batching by size and time, drops counted when full, retries, give up,
//! flush on shutdown.

use std::{
    num::NonZeroUsize,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use spam_store::{
    AssetRecord, Batch, BlockRecord, Cursor, Error, MemoryStore, Page, RunId, RunRecord, Store,
    TaskRecord, TxRecord, Writer, WriterConfig,
};
use tokio::sync::Semaphore;

use crate::common;

fn task(run: RunId, i: u64) -> TaskRecord {
    TaskRecord::new(run, (i % 8) as u32, [1; 20], "transfer", i, 100)
}

fn nz(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap()
}

/// A [`Store`] in front of a [`MemoryStore`] that can hold writes, fail them, and counts them.
#[derive(Debug, Default)]
struct Faulty {
    inner: MemoryStore,
    /// Writes wait for a permit when set.
    gate: Option<Semaphore>,
    /// This many writes fail retryably first.
    busy: AtomicU32,
    /// Every write fails for good.
    broken: bool,
    writes: AtomicU32,
}

fn busy() -> Error {
    Error::Database {
        op: "test",
        source: sqlx::Error::PoolTimedOut,
    }
}

#[async_trait]
impl Store for Faulty {
    async fn write(&self, batch: &Batch) -> Result<(), Error> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        if let Some(gate) = &self.gate {
            gate.acquire().await.unwrap().forget();
        }
        if self.broken {
            return Err(Error::Config {
                reason: "broken".into(),
            });
        }
        if self
            .busy
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(busy());
        }
        self.inner.write(batch).await
    }
    async fn runs(&self) -> Result<Vec<RunRecord>, Error> {
        self.inner.runs().await
    }
    async fn run(&self, id: RunId) -> Result<Option<RunRecord>, Error> {
        self.inner.run(id).await
    }
    async fn task_page(&self, r: RunId, c: Cursor, l: usize) -> Result<Page<TaskRecord>, Error> {
        self.inner.task_page(r, c, l).await
    }
    async fn tx_page(&self, r: RunId, c: Cursor, l: usize) -> Result<Page<TxRecord>, Error> {
        self.inner.tx_page(r, c, l).await
    }
    async fn blocks(&self, r: RunId) -> Result<Vec<BlockRecord>, Error> {
        self.inner.blocks(r).await
    }
    async fn assets_of_chain(&self, c: u64) -> Result<Vec<AssetRecord>, Error> {
        self.inner.assets_of_chain(c).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_handles_everything_lands_in_sqlite() {
    let (_dir, store) = common::sqlite_file().await;
    let store = Arc::new(store);
    let writer = Writer::spawn(store.clone(), WriterConfig::default());
    let run = RunId::generate();
    writer.handle().write(RunRecord::new(run, 0, 1));

    let workers: Vec<_> = (0..4u64)
        .map(|w| {
            let handle = writer.handle();
            tokio::spawn(async move {
                for i in 0..2_500u64 {
                    assert!(handle.write(task(run, w * 10_000 + i)));
                    let mut tx = TxRecord::new(run, [0; 32], [w as u8; 20], i, "transfer");
                    tx.hash[..16]
                        .copy_from_slice(&(u128::from(w) << 64 | u128::from(i)).to_be_bytes());
                    assert!(handle.write(tx));
                    if i % 500 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    let stats = writer.shutdown().await;
    assert_eq!(stats.written, 20_001);
    assert_eq!(stats.lost(), 0);
    assert_eq!(store.tasks(run).await.unwrap().len(), 10_000);
    assert_eq!(store.txs(run).await.unwrap().len(), 10_000);
}

#[tokio::test(start_paused = true)]
async fn a_partial_batch_is_written_after_the_flush_interval() {
    let store = Arc::new(MemoryStore::new());
    let writer = Writer::spawn(
        store.clone(),
        WriterConfig::default().with_flush_interval(Duration::from_millis(100)),
    );
    let run = RunId::generate();
    for i in 0..3 {
        writer.handle().write(task(run, i));
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        store.tasks(run).await.unwrap().len(),
        0,
        "flushed too early"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(store.tasks(run).await.unwrap().len(), 3);
    assert_eq!(writer.stats().written, 3);
    writer.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_full_batch_is_written_at_once_in_one_transaction() {
    let store = Arc::new(Faulty::default());
    let writer = Writer::spawn(
        store.clone(),
        WriterConfig::default()
            .with_batch_size(nz(10))
            .with_flush_interval(Duration::from_secs(3600)),
    );
    let run = RunId::generate();
    for i in 0..25 {
        writer.handle().write(task(run, i));
    }
    // Long before the flush interval, the two full batches are written.
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(store.inner.tasks(run).await.unwrap().len(), 20);
    assert_eq!(store.writes.load(Ordering::Relaxed), 2);
    let stats = writer.shutdown().await;
    assert_eq!((stats.written, stats.lost()), (25, 0));
    assert_eq!(store.writes.load(Ordering::Relaxed), 3);
}

#[tokio::test(start_paused = true)]
async fn a_full_channel_drops_and_counts_and_never_blocks() {
    let store = Arc::new(Faulty {
        gate: Some(Semaphore::new(0)),
        ..Faulty::default()
    });
    let writer = Writer::spawn(
        store.clone(),
        WriterConfig::default()
            .with_capacity(nz(10))
            .with_batch_size(nz(5))
            .with_flush_interval(Duration::from_millis(1)),
    );
    let handle = writer.handle();
    let run = RunId::generate();
    // Let the writer take a first batch and block on the gate.
    for i in 0..5 {
        assert!(handle.write(task(run, i)));
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(store.writes.load(Ordering::Relaxed), 1);

    let accepted = (5..100).filter(|&i| handle.write(task(run, i))).count();
    assert_eq!(accepted, 10, "the channel holds exactly its capacity");
    assert_eq!(handle.queued(), 10);
    assert_eq!(handle.stats().dropped, 85);

    store.gate.as_ref().unwrap().add_permits(100);
    let stats = writer.shutdown().await;
    assert_eq!(stats.written, 15);
    assert_eq!(stats.dropped, 85);
    assert_eq!(stats.written + stats.lost(), 100);
    assert_eq!(store.inner.tasks(run).await.unwrap().len(), 15);
    assert!(
        !handle.write(task(run, 0)),
        "a stopped writer refuses records"
    );
    assert_eq!(handle.stats().dropped, 86);
}

#[tokio::test(start_paused = true)]
async fn busy_batches_are_retried_with_backoff() {
    let store = Arc::new(Faulty {
        busy: AtomicU32::new(4),
        ..Faulty::default()
    });
    let writer = Writer::spawn(
        store.clone(),
        WriterConfig::default()
            .with_retry_backoff(Duration::from_millis(10), Duration::from_millis(40)),
    );
    let run = RunId::generate();
    for i in 0..50 {
        writer.handle().write(task(run, i));
    }
    let started = tokio::time::Instant::now();
    let stats = writer.shutdown().await;
    assert_eq!((stats.written, stats.lost(), stats.retries), (50, 0, 4));
    assert_eq!(store.inner.tasks(run).await.unwrap().len(), 50);
    // Paused clock: the backoff slept 10 + 20 + 40 + 40 ms (plus the flush interval).
    assert!(started.elapsed() >= Duration::from_millis(110));
}

#[tokio::test(start_paused = true)]
async fn a_batch_that_stays_busy_is_given_up_and_counted() {
    let store = Arc::new(Faulty {
        busy: AtomicU32::new(u32::MAX),
        ..Faulty::default()
    });
    let writer = Writer::spawn(
        store.clone(),
        WriterConfig::default()
            .with_retry_backoff(Duration::from_millis(10), Duration::from_millis(100))
            .with_give_up_after(Duration::from_secs(2)),
    );
    let run = RunId::generate();
    for i in 0..30 {
        writer.handle().write(task(run, i));
    }
    let stats = writer.shutdown().await;
    assert_eq!((stats.written, stats.failed, stats.dropped), (0, 30, 0));
    assert_eq!(stats.lost(), 30);
    assert!(stats.retries >= 15, "{stats:?}");
}

#[tokio::test(start_paused = true)]
async fn after_a_batch_is_given_up_the_rest_is_tried_once_and_shutdown_does_not_wait_it_out() {
    let store = Arc::new(Faulty {
        busy: AtomicU32::new(u32::MAX),
        ..Faulty::default()
    });
    let writer = Writer::spawn(
        store.clone(),
        WriterConfig::default()
            .with_batch_size(nz(10))
            .with_retry_backoff(Duration::from_millis(10), Duration::from_millis(100))
            .with_give_up_after(Duration::from_secs(60)),
    );
    let run = RunId::generate();
    for i in 0..100 {
        writer.handle().write(task(run, i));
    }
    let started = tokio::time::Instant::now();
    let stats = writer.shutdown().await;
    assert_eq!((stats.written, stats.failed), (0, 100), "{stats:?}");
    // One batch waited out its give-up period; the other nine were counted lost at
    // shutdown, not retried for a minute each.
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "{:?}",
        started.elapsed()
    );
    // Every write was the first batch's: the nine queued behind it were never attempted.
    let writes = store.writes.load(Ordering::Relaxed);
    assert_eq!(u64::from(writes), stats.retries + 1, "{stats:?}");
}

#[tokio::test(start_paused = true)]
async fn a_permanent_error_is_not_retried() {
    let store = Arc::new(Faulty {
        broken: true,
        ..Faulty::default()
    });
    let writer = Writer::spawn(store.clone(), WriterConfig::default());
    for i in 0..7 {
        writer.handle().write(task(RunId::generate(), i));
    }
    let stats = writer.shutdown().await;
    assert_eq!((stats.failed, stats.retries), (7, 0));
    assert_eq!(store.writes.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn dropping_the_writer_still_flushes() {
    let store = Arc::new(MemoryStore::new());
    let run = RunId::generate();
    let handle = {
        let writer = Writer::spawn(store.clone(), WriterConfig::default());
        let handle = writer.handle();
        for i in 0..10 {
            handle.write(task(run, i));
        }
        handle
    };
    for _ in 0..500 {
        if store.tasks(run).await.unwrap().len() == 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(store.tasks(run).await.unwrap().len(), 10);
    assert_eq!(handle.stats().written, 10);
}
