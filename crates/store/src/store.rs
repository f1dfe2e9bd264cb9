//! The [`Store`] trait: batched writes and the reads a report needs.

use std::{collections::BTreeMap, fmt};

use async_trait::async_trait;

use crate::{
    AssetRecord, Batch, BlockRecord, Error, RunId, RunRecord, RunStatus, TaskRecord, TxRecord,
    shard::{Joined, ShardBeat, ShardPlan, ShardSecond, ShardView},
    summary::{self, RunSummary, SecondCounts, TaskSummary},
};

fn no_shards() -> Error {
    Error::Config {
        reason: "this store does not coordinate shards (use SQLite or PostgreSQL)".into(),
    }
}

/// Largest page [`Store::task_page`] and [`Store::tx_page`] return.
pub const MAX_PAGE: usize = 10_000;

/// One page of records in write order and where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Page<T> {
    /// The records.
    pub items: Vec<T>,
    /// Pass to the next call; `None` when this was the last page.
    pub next: Option<Cursor>,
}

/// Where a [`Page`] continues; [`Cursor::START`] for the first page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Cursor(pub(crate) i64);

impl Cursor {
    /// The first page.
    pub const START: Self = Self(0);
}

/// How many rows of one run a store holds, per table: what a report can say is stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RowCounts {
    /// Finished tasks (one row each).
    pub tasks: u64,
    /// Transactions (one row per hash, however often it was updated).
    pub txs: u64,
    /// Blocks seen.
    pub blocks: u64,
}

/// Persistence for runs: batched writes, and the reads a report needs.
///
/// Object safe: engines hold an `Arc<dyn Store>`. Implementations: [`SqlStore`](crate::SqlStore)
/// (SQLite, PostgreSQL) and [`MemoryStore`]. The aggregate reads ([`Store::run_summary`],
/// [`Store::task_summaries`], [`Store::series`]) are provided: they stream the run's pages
/// through HDR histograms, so a long run is never held in memory at once.
///
/// Writes normally go through the [`Writer`](crate::Writer), which batches them off the
/// caller's path; call [`Store::write`] directly only off the hot path (e.g. the run's row at
/// the end).
///
/// [`MemoryStore`]: crate::MemoryStore
#[async_trait]
pub trait Store: fmt::Debug + Send + Sync {
    /// Writes `batch` in one transaction: all of it lands or none.
    ///
    /// Runs, blocks and assets are upserted (a later write of the same key replaces the row),
    /// transactions [merged](TxRecord::merge), tasks appended.
    ///
    /// # Errors
    /// [`Error::Database`]; [`Error::is_retryable`] says whether to try the same batch again.
    ///
    /// # Cancel safety
    /// Dropping the future rolls the transaction back: nothing of the batch lands.
    async fn write(&self, batch: &Batch) -> Result<(), Error>;

    /// Proves the store takes writes now: a row is written and removed again in one committed
    /// transaction, so nothing stays. Call it before a run starts, so a read-only file, a full
    /// disk or a user without rights is an error at the start instead of a run whose records
    /// are all lost. The default does nothing (a store that is always writable).
    ///
    /// # Errors
    /// [`Error::Database`] saying why the write failed.
    async fn probe(&self) -> Result<(), Error> {
        Ok(())
    }

    /// Closes the store: every connection is closed (waiting for those in use), so a SQLite
    /// database checkpoints its WAL and leaves no `-wal`/`-shm` files beside it. Call it once
    /// nothing writes any more, before the process exits; later calls fail or do nothing. The
    /// default does nothing (a store with nothing to close).
    ///
    /// # Cancel safety
    /// Safe: an interrupted close leaves connections to be closed when the store drops.
    async fn close(&self) {}

    /// All runs, oldest start first.
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Corrupt`].
    async fn runs(&self) -> Result<Vec<RunRecord>, Error>;

    /// Sets the status of run `id`; `false` when there is no such run. The default refuses.
    ///
    /// # Errors
    /// [`Error::Database`]; [`Error::Config`] from a store without statuses.
    ///
    /// # Cancel safety
    /// One statement: a dropped call sets it or not.
    async fn set_run_status(&self, id: RunId, status: RunStatus) -> Result<bool, Error> {
        let _ = (id, status);
        Err(Error::Config {
            reason: "this store does not keep run statuses".into(),
        })
    }

    /// Marks every run whose status is [`Running`](RunStatus::Running) as
    /// [`Interrupted`](RunStatus::Interrupted), and returns their ids: what a process that
    /// starts runs does when it starts again after a crash (one such process per store). The
    /// default refuses.
    ///
    /// # Errors
    /// As [`Store::set_run_status`].
    ///
    /// # Cancel safety
    /// One transaction: a dropped call marks nothing.
    async fn interrupt_running(&self) -> Result<Vec<RunId>, Error> {
        Err(Error::Config {
            reason: "this store does not keep run statuses".into(),
        })
    }

    /// One run, `None` if unknown.
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Corrupt`].
    async fn run(&self, id: RunId) -> Result<Option<RunRecord>, Error>;

    /// Up to `limit` (at most [`MAX_PAGE`]) finished tasks of `run` from `cursor` on, in write
    /// order. A full page may be followed by an empty one.
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Corrupt`].
    async fn task_page(
        &self,
        run: RunId,
        cursor: Cursor,
        limit: usize,
    ) -> Result<Page<TaskRecord>, Error>;

    /// Up to `limit` (at most [`MAX_PAGE`]) transactions of `run` from `cursor` on, in order of
    /// their first write (within one batch: by hash). A full page may be followed by an empty
    /// one.
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Corrupt`].
    async fn tx_page(
        &self,
        run: RunId,
        cursor: Cursor,
        limit: usize,
    ) -> Result<Page<TxRecord>, Error>;

    /// The blocks seen during `run`, by number.
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Corrupt`].
    async fn blocks(&self, run: RunId) -> Result<Vec<BlockRecord>, Error>;

    /// The assets created on `chain_id` by any run, in order of their first write (within
    /// one batch: by address), so a run can
    /// reuse contracts an earlier one deployed.
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Corrupt`].
    async fn assets_of_chain(&self, chain_id: u64) -> Result<Vec<AssetRecord>, Error>;

    /// The rows `run` has in the store, per table: read back after a run, it says exactly
    /// what was stored, whatever the writes reported. The default reads every row; SQL
    /// stores count.
    ///
    /// # Errors
    /// [`Error::Database`], [`Error::Corrupt`].
    async fn row_counts(&self, run: RunId) -> Result<RowCounts, Error> {
        Ok(RowCounts {
            tasks: self.tasks(run).await?.len() as u64,
            txs: self.txs(run).await?.len() as u64,
            blocks: self.blocks(run).await?.len() as u64,
        })
    }

    /// All finished tasks of `run`, in write order (reads every page: for tests and small
    /// runs).
    ///
    /// # Errors
    /// As [`Store::task_page`].
    async fn tasks(&self, run: RunId) -> Result<Vec<TaskRecord>, Error> {
        let mut all = Vec::new();
        let mut cursor = Some(Cursor::START);
        while let Some(at) = cursor {
            let page = self.task_page(run, at, MAX_PAGE).await?;
            all.extend(page.items);
            cursor = page.next;
        }
        Ok(all)
    }

    /// All transactions of `run` (reads every page: for tests and small runs).
    ///
    /// # Errors
    /// As [`Store::tx_page`].
    async fn txs(&self, run: RunId) -> Result<Vec<TxRecord>, Error> {
        let mut all = Vec::new();
        let mut cursor = Some(Cursor::START);
        while let Some(at) = cursor {
            let page = self.tx_page(run, at, MAX_PAGE).await?;
            all.extend(page.items);
            cursor = page.next;
        }
        Ok(all)
    }

    /// Everything a report shows about `run`: totals, per-task counts and latency
    /// percentiles, error classes, per-second series. `None` if the run is unknown.
    ///
    /// # Errors
    /// As [`Store::task_page`] and [`Store::tx_page`].
    async fn run_summary(&self, run: RunId) -> Result<Option<RunSummary>, Error> {
        summary::summarize(self, run).await
    }

    /// Per-task counts and latency percentiles of `run`, by task name (empty for an unknown
    /// run).
    ///
    /// # Errors
    /// As [`Store::run_summary`].
    async fn task_summaries(&self, run: RunId) -> Result<BTreeMap<String, TaskSummary>, Error> {
        Ok(self
            .run_summary(run)
            .await?
            .map(|s| s.tasks)
            .unwrap_or_default())
    }

    /// Registers shard `shard` of `plan` on `host`: the first shard of a run writes the plan;
    /// a later one must bring the same shard count and config hash, else nothing is written
    /// and the stored plan comes back ([`Joined::Mismatch`]). Registering again (a restarted
    /// shard) resets the shard's row. The default refuses: the store cannot coordinate.
    ///
    /// # Errors
    /// [`Error::Database`]; [`Error::Config`] from a store without shard support.
    ///
    /// # Cancel safety
    /// One transaction: a dropped call registers nothing.
    async fn join_shard(&self, plan: &ShardPlan, shard: u32, host: &str) -> Result<Joined, Error> {
        let _ = (plan, shard, host);
        Err(no_shards())
    }

    /// Records a heartbeat of `shard` (its state, its figures when given; an ended state
    /// sets its end) and reads the run as it stands. `None` for an unknown run.
    ///
    /// # Errors
    /// As [`Store::join_shard`].
    ///
    /// # Cancel safety
    /// One transaction: a dropped call records nothing (the next heartbeat does).
    async fn shard_heartbeat(
        &self,
        run: RunId,
        shard: u32,
        beat: &ShardBeat,
    ) -> Result<Option<ShardView>, Error> {
        let _ = (run, shard, beat);
        Err(no_shards())
    }

    /// Sets the common start of `run` to `at_us` (Unix µs, database clock) unless a shard
    /// set it first; returns the start that holds.
    ///
    /// # Errors
    /// As [`Store::join_shard`].
    ///
    /// # Cancel safety
    /// One transaction: a dropped call may or may not have set the start; calling again
    /// returns the one that holds.
    async fn start_shards(&self, run: RunId, at_us: u64) -> Result<u64, Error> {
        let _ = (run, at_us);
        Err(no_shards())
    }

    /// Stores (or replaces) second `second.second` of `second.shard`'s histograms.
    ///
    /// # Errors
    /// As [`Store::join_shard`].
    ///
    /// # Cancel safety
    /// One statement: a dropped call stores the row or nothing.
    async fn write_shard_second(&self, run: RunId, second: &ShardSecond) -> Result<(), Error> {
        let _ = (run, second);
        Err(no_shards())
    }

    /// The run's plan, start and shards, `None` when `run` is not sharded. Read-only.
    ///
    /// # Errors
    /// As [`Store::join_shard`]; a store without shard support answers `None`.
    async fn shards(&self, run: RunId) -> Result<Option<ShardView>, Error> {
        let _ = run;
        Ok(None)
    }

    /// Every stored second of every shard of `run`, by shard then second.
    ///
    /// # Errors
    /// As [`Store::join_shard`]; a store without shard support answers none.
    async fn shard_seconds(&self, run: RunId) -> Result<Vec<ShardSecond>, Error> {
        let _ = run;
        Ok(Vec::new())
    }

    /// The per-second counters of `run` (empty for an unknown run).
    ///
    /// # Errors
    /// As [`Store::run_summary`].
    async fn series(&self, run: RunId) -> Result<Vec<SecondCounts>, Error> {
        Ok(self
            .run_summary(run)
            .await?
            .map(|s| s.series)
            .unwrap_or_default())
    }
}
