//! The writer's background task: collect a batch, commit it, retry while the database is
//! busy.

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use tokio::{
    sync::{mpsc, oneshot},
    time::{Instant, sleep, sleep_until},
};

use super::{Counters, WriterConfig};
use crate::{Batch, Record, Store};

pub(super) struct Background {
    pub(super) store: Arc<dyn Store>,
    pub(super) config: WriterConfig,
    pub(super) counters: Arc<Counters>,
    /// Set once a batch failed for good: later records are counted lost without a write.
    pub(super) broken: bool,
    /// Set while the last batch was given up after its retries (the store is down or
    /// stalled): the next batches get one attempt each, and at shutdown the rest is counted
    /// lost without a write, so a dead database cannot hold the run's end for a give-up
    /// period per batch. A write that succeeds clears it.
    pub(super) given_up: bool,
}

impl Background {
    pub(super) async fn run(
        mut self,
        mut rx: mpsc::Receiver<Record>,
        mut stop: oneshot::Receiver<()>,
    ) {
        let size = self.config.batch_size.get();
        let mut records = Vec::with_capacity(size);
        let mut batch = Batch::default();
        loop {
            // Wait for a first record, or the stop signal (a dropped `Writer` stops too).
            tokio::select! {
                biased;
                _ = &mut stop => break,
                n = rx.recv_many(&mut records, size) => if n == 0 { break },
            }
            // Fill the batch until it is full or its first record waited long enough.
            let deadline = Instant::now() + self.config.flush_interval;
            while records.len() < size {
                let room = size - records.len();
                tokio::select! {
                    n = rx.recv_many(&mut records, room) => if n == 0 { break },
                    () = sleep_until(deadline) => break,
                }
            }
            self.commit(&mut records, &mut batch).await;
        }

        // Refuse new records, then write what is buffered (unless the store is down).
        rx.close();
        while rx.recv_many(&mut records, size).await > 0 {
            if self.given_up {
                self.counters
                    .failed
                    .fetch_add(records.len() as u64, Ordering::Relaxed);
                records.clear();
                continue;
            }
            self.commit(&mut records, &mut batch).await;
        }
        tracing::debug!(target: "spam::store", stats = ?self.counters.snapshot(), "store writer stopped");
    }

    /// Writes `records` in one transaction, retrying while the error is retryable and the
    /// give-up bound allows.
    async fn commit(&mut self, records: &mut Vec<Record>, batch: &mut Batch) {
        let n = records.len() as u64;
        if self.broken {
            records.clear();
            self.counters.failed.fetch_add(n, Ordering::Relaxed);
            return;
        }
        batch.clear();
        batch.extend(records.drain(..));

        let started = Instant::now();
        let mut delay = self.config.retry_min;
        loop {
            match self.store.write(batch).await {
                Ok(()) => {
                    self.counters.written.fetch_add(n, Ordering::Relaxed);
                    self.given_up = false;
                    return;
                }
                Err(error)
                    if error.is_retryable()
                        && !self.given_up
                        && started.elapsed() + delay <= self.config.give_up_after =>
                {
                    self.counters.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        target: "spam::store",
                        %error,
                        records = n,
                        retry_in = ?delay,
                        "store busy, retrying batch"
                    );
                    sleep(delay).await;
                    delay = next_delay(delay, self.config.retry_max);
                }
                Err(error) => {
                    self.counters.failed.fetch_add(n, Ordering::Relaxed);
                    // A store that failed for good (full disk, read-only file) is written no
                    // more: SQLite past a full-disk error can report later commits as done
                    // that never reach the file, so every later record is counted lost.
                    self.broken = !error.is_retryable();
                    self.given_up = true;
                    tracing::error!(
                        target: "spam::store",
                        error = %error,
                        source = ?std::error::Error::source(&error),
                        records = n,
                        "store write failed, records lost{}",
                        if self.broken { "; later records are counted lost without writing" } else { "" }
                    );
                    return;
                }
            }
        }
    }
}

fn next_delay(delay: Duration, max: Duration) -> Duration {
    delay
        .saturating_mul(2)
        .min(max)
        .max(Duration::from_millis(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap() {
        let max = Duration::from_millis(100);
        let mut d = Duration::from_millis(10);
        let mut seen = Vec::new();
        for _ in 0..6 {
            seen.push(d.as_millis());
            d = next_delay(d, max);
        }
        assert_eq!(seen, vec![10, 20, 40, 80, 100, 100]);
        assert_eq!(next_delay(Duration::ZERO, max), Duration::from_millis(1));
    }
}
