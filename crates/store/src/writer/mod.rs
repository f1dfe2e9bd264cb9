//! [`Writer`]: a bounded channel and a background task that commits records in batches, so
//! the engines never wait on the database.

mod config;
mod task;

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use tokio::{
    sync::{mpsc, oneshot},
    task::JoinHandle,
};

pub use self::config::{WriterConfig, WriterStats};
use crate::{Record, Store};

/// Counters shared by the handles and the background task.
#[derive(Debug, Default)]
struct Counters {
    written: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
    retries: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> WriterStats {
        WriterStats {
            written: self.written.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
        }
    }
}

/// The buffered writer: owns the background task that commits batches to a [`Store`].
///
/// Hand [`WriterHandle`]s (cheap clones) to the workers; they never block and never await.
/// When the channel is full the record is dropped and counted. The task commits a batch when
/// it holds [`batch_size`](WriterConfig::with_batch_size) records or its oldest record waited
/// [`flush_interval`](WriterConfig::with_flush_interval); a batch that fails retryably (database
/// locked, busy, connection lost) is retried with backoff, and given up (counted as
/// [failed](WriterStats::failed)) only after
/// [`give_up_after`](WriterConfig::with_give_up_after). A batch that fails for good (a full
/// disk, a read-only file) stops the writing: every later record is counted as failed without
/// a write, so the counts stay exactly what the database holds. After a batch was given up,
/// later batches get one attempt each until one succeeds, and shutdown counts what is still
/// queued as lost instead of waiting out a dead database batch by batch.
///
/// Call [`Writer::shutdown`] at the end of a run: it flushes everything and returns the
/// counts. Dropping the writer without it still flushes, in the background.
///
/// Needs a Tokio runtime with the time driver.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
///
/// use spam_store::{MemoryStore, RunId, Store, TaskRecord, Writer, WriterConfig};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store = Arc::new(MemoryStore::new());
/// let writer = Writer::spawn(store.clone(), WriterConfig::default());
/// let handle = writer.handle();
/// let run = RunId::new(1).unwrap();
/// for i in 0..10 {
///     handle.write(TaskRecord::new(run, 0, [0; 20], "transfer", i, 100));
/// }
/// let stats = writer.shutdown().await;
/// assert_eq!((stats.written, stats.lost()), (10, 0));
/// assert_eq!(store.tasks(run).await?.len(), 10);
/// # Ok::<_, spam_store::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct Writer {
    handle: WriterHandle,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// Where workers hand records to the [`Writer`]: cheap to clone, never blocks.
#[derive(Debug, Clone)]
pub struct WriterHandle {
    tx: mpsc::Sender<Record>,
    counters: Arc<Counters>,
}

impl Writer {
    /// Starts the background task writing to `store`.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn spawn(store: Arc<dyn Store>, config: WriterConfig) -> Self {
        let (tx, rx) = mpsc::channel(config.capacity.get());
        let (stop, stopped) = oneshot::channel();
        let counters = Arc::new(Counters::default());
        let task = tokio::spawn(
            task::Background {
                store,
                config,
                counters: counters.clone(),
                broken: false,
                given_up: false,
            }
            .run(rx, stopped),
        );
        Self {
            handle: WriterHandle { tx, counters },
            stop,
            task,
        }
    }

    /// A handle to write through.
    pub fn handle(&self) -> WriterHandle {
        self.handle.clone()
    }

    /// The counts so far.
    pub fn stats(&self) -> WriterStats {
        self.handle.stats()
    }

    /// Stops taking records (later writes count as dropped), commits everything buffered and
    /// returns the final counts.
    ///
    /// Takes as long as the last batches need, including their retries (bounded by
    /// [`give_up_after`](WriterConfig::with_give_up_after) per batch).
    ///
    /// # Cancel safety
    /// If the future is dropped, the background task still flushes and exits; only the counts
    /// are lost.
    pub async fn shutdown(self) -> WriterStats {
        let _ = self.stop.send(());
        if let Err(e) = self.task.await {
            tracing::error!(target: "spam::store", error = %e, "store writer task failed");
        }
        self.handle.stats()
    }
}

impl WriterHandle {
    /// Queues `record` for writing; never blocks. Returns `false` when the record was dropped
    /// (the channel is full or the writer shut down); drops are counted in
    /// [`WriterStats::dropped`].
    pub fn write(&self, record: impl Into<Record>) -> bool {
        match self.tx.try_send(record.into()) {
            Ok(()) => true,
            Err(_) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// The writer's counts so far.
    pub fn stats(&self) -> WriterStats {
        self.counters.snapshot()
    }

    /// Records waiting in the channel.
    pub fn queued(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }
}
