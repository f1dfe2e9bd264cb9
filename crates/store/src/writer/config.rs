//! [`WriterConfig`] and [`WriterStats`].

use std::{num::NonZeroUsize, time::Duration};

use serde::{Deserialize, Serialize};

/// How the [`Writer`](crate::Writer) buffers, batches and retries.
///
/// # Examples
///
/// ```
/// use std::{num::NonZeroUsize, time::Duration};
///
/// use spam_store::WriterConfig;
///
/// let config = WriterConfig::default()
///     .with_batch_size(NonZeroUsize::new(5_000).unwrap())
///     .with_flush_interval(Duration::from_millis(250));
/// assert_eq!(config.batch_size().get(), 5_000);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterConfig {
    pub(crate) capacity: NonZeroUsize,
    pub(crate) batch_size: NonZeroUsize,
    pub(crate) flush_interval: Duration,
    pub(crate) retry_min: Duration,
    pub(crate) retry_max: Duration,
    pub(crate) give_up_after: Duration,
}

impl Default for WriterConfig {
    /// 100 000 records of buffer, batches of 1 000 records or 100 ms, retries from 10 ms
    /// doubling to 1 s, a batch given up after 60 s of retries.
    fn default() -> Self {
        Self {
            capacity: NonZeroUsize::new(100_000).expect("not zero"),
            batch_size: NonZeroUsize::new(1_000).expect("not zero"),
            flush_interval: Duration::from_millis(100),
            retry_min: Duration::from_millis(10),
            retry_max: Duration::from_secs(1),
            give_up_after: Duration::from_secs(60),
        }
    }
}

impl WriterConfig {
    /// Records the channel holds before writes are dropped (and counted).
    pub fn with_capacity(mut self, capacity: NonZeroUsize) -> Self {
        self.capacity = capacity;
        self
    }

    /// Records per transaction, at most.
    pub fn with_batch_size(mut self, size: NonZeroUsize) -> Self {
        self.batch_size = size;
        self
    }

    /// Longest a record waits for its batch to fill before the batch is written anyway.
    pub fn with_flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = interval;
        self
    }

    /// Backoff between retries of a batch that failed retryably: from `min`, doubling, capped
    /// at `max`.
    pub fn with_retry_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.retry_min = min;
        self.retry_max = max.max(min);
        self
    }

    /// How long one batch is retried before its records are given up (and counted as
    /// [failed](WriterStats::failed)).
    pub fn with_give_up_after(mut self, limit: Duration) -> Self {
        self.give_up_after = limit;
        self
    }

    /// The channel capacity.
    pub fn capacity(&self) -> NonZeroUsize {
        self.capacity
    }

    /// The batch size.
    pub fn batch_size(&self) -> NonZeroUsize {
        self.batch_size
    }

    /// The flush interval.
    pub fn flush_interval(&self) -> Duration {
        self.flush_interval
    }
}

/// What a [`Writer`](crate::Writer) did. `written + dropped + failed` is the number of records
/// handed to it (once it has shut down).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WriterStats {
    /// Records committed to the store.
    pub written: u64,
    /// Records refused because the channel was full or the writer shut down.
    pub dropped: u64,
    /// Records given up after the store kept failing (or failed for good).
    pub failed: u64,
    /// Batch writes retried after a retryable error.
    pub retries: u64,
}

impl WriterStats {
    /// Records that did not reach the store: `dropped + failed`; a report's "records dropped".
    pub const fn lost(&self) -> u64 {
        self.dropped.saturating_add(self.failed)
    }
}
