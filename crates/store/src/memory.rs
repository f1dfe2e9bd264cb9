//! [`MemoryStore`]: a [`Store`] in a mutex, for tests and dry runs.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use parking_lot::Mutex;

use crate::{
    AssetRecord, Batch, BlockRecord, Cursor, Error, MAX_PAGE, Page, RunId, RunRecord, RunStatus,
    Store, TaskRecord, TxRecord, now_micros,
    shard::{Joined, ShardBeat, ShardPlan, ShardRecord, ShardSecond, ShardState, ShardView},
};

/// A [`Store`] that keeps everything in memory, with the same semantics as the SQL backends
/// (upserts, transaction merges, write order). Nothing survives the process.
///
/// # Examples
///
/// ```
/// use spam_store::{MemoryStore, RunId, RunRecord, Store};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryStore::default();
/// let run = RunId::new(7).unwrap();
/// store.write(&[RunRecord::new(run, 0, 1)].into_iter().collect()).await?;
/// assert_eq!(store.runs().await?.len(), 1);
/// # Ok::<_, spam_store::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    runs: BTreeMap<RunId, RunRecord>,
    tasks: Vec<TaskRecord>,
    txs: Vec<TxRecord>,
    tx_index: HashMap<(RunId, [u8; 32]), usize>,
    blocks: BTreeMap<(RunId, u64), BlockRecord>,
    assets: Vec<AssetRecord>,
    asset_index: HashMap<(u64, [u8; 20]), usize>,
    /// Sharded runs: plan, common start, shards by index.
    plans: BTreeMap<RunId, Plan>,
    seconds: BTreeMap<(RunId, u32, u64), Vec<u8>>,
}

/// A sharded run: its plan, its common start, its shards by index.
type Plan = (ShardPlan, Option<u64>, BTreeMap<u32, ShardRecord>);

impl Inner {
    fn view(&self, run: RunId) -> Option<ShardView> {
        self.plans.get(&run).map(|(plan, start, shards)| ShardView {
            now_us: now_micros(),
            plan: plan.clone(),
            start_at_us: *start,
            shards: shards.values().cloned().collect(),
        })
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn write(&self, batch: &Batch) -> Result<(), Error> {
        let folded = batch.folded();
        let mut inner = self.inner.lock();
        for mut run in folded.runs {
            if run.status.is_none() {
                run.status = inner.runs.get(&run.id).and_then(|r| r.status);
            }
            inner.runs.insert(run.id, run);
        }
        inner.tasks.extend_from_slice(folded.tasks);
        for tx in folded.txs {
            let key = (tx.run_id, tx.hash);
            match inner.tx_index.get(&key) {
                Some(&i) => inner.txs[i].merge(tx),
                None => {
                    let i = inner.txs.len();
                    inner.tx_index.insert(key, i);
                    inner.txs.push(tx);
                }
            }
        }
        for block in folded.blocks {
            inner.blocks.insert((block.run_id, block.number), block);
        }
        for asset in folded.assets {
            let key = (asset.chain_id, asset.address);
            match inner.asset_index.get(&key) {
                Some(&i) => inner.assets[i] = asset,
                None => {
                    let i = inner.assets.len();
                    inner.asset_index.insert(key, i);
                    inner.assets.push(asset);
                }
            }
        }
        Ok(())
    }

    async fn join_shard(&self, plan: &ShardPlan, shard: u32, host: &str) -> Result<Joined, Error> {
        let mut inner = self.inner.lock();
        let entry = inner
            .plans
            .entry(plan.run)
            .or_insert_with(|| (plan.clone(), None, BTreeMap::new()));
        if entry.0.shards != plan.shards || entry.0.config_hash != plan.config_hash {
            return Ok(Joined::Mismatch(entry.0.clone()));
        }
        let now = now_micros();
        entry.2.insert(
            shard,
            ShardRecord {
                run: plan.run,
                shard,
                state: ShardState::Waiting,
                host: host.to_owned(),
                joined_at_us: now,
                heartbeat_at_us: now,
                ended_at_us: None,
                figures: serde_json::Value::Null,
            },
        );
        Ok(Joined::Joined(inner.view(plan.run).expect("just written")))
    }

    async fn shard_heartbeat(
        &self,
        run: RunId,
        shard: u32,
        beat: &ShardBeat,
    ) -> Result<Option<ShardView>, Error> {
        let mut inner = self.inner.lock();
        if let Some(record) = inner
            .plans
            .get_mut(&run)
            .and_then(|(_, _, shards)| shards.get_mut(&shard))
        {
            let now = now_micros();
            record.state = beat.state;
            record.heartbeat_at_us = now;
            record.ended_at_us = beat.state.is_final().then_some(now);
            if let Some(figures) = &beat.figures {
                record.figures = figures.clone();
            }
        }
        Ok(inner.view(run))
    }

    async fn start_shards(&self, run: RunId, at_us: u64) -> Result<u64, Error> {
        let mut inner = self.inner.lock();
        let (_, start, _) = inner.plans.get_mut(&run).ok_or_else(|| Error::Config {
            reason: format!("run {run} is not a sharded run"),
        })?;
        Ok(*start.get_or_insert(at_us))
    }

    async fn write_shard_second(&self, run: RunId, second: &ShardSecond) -> Result<(), Error> {
        self.inner.lock().seconds.insert(
            (run, second.shard, second.second),
            second.histograms.clone(),
        );
        Ok(())
    }

    async fn shards(&self, run: RunId) -> Result<Option<ShardView>, Error> {
        Ok(self.inner.lock().view(run))
    }

    async fn shard_seconds(&self, run: RunId) -> Result<Vec<ShardSecond>, Error> {
        Ok(self
            .inner
            .lock()
            .seconds
            .range((run, 0, 0)..=(run, u32::MAX, u64::MAX))
            .map(|(&(_, shard, second), h)| ShardSecond::new(shard, second, h.clone()))
            .collect())
    }

    async fn set_run_status(&self, id: RunId, status: RunStatus) -> Result<bool, Error> {
        let mut inner = self.inner.lock();
        Ok(inner
            .runs
            .get_mut(&id)
            .map(|r| r.status = Some(status))
            .is_some())
    }

    async fn interrupt_running(&self) -> Result<Vec<RunId>, Error> {
        let mut inner = self.inner.lock();
        let running = inner
            .runs
            .values_mut()
            .filter(|r| r.status == Some(RunStatus::Running));
        Ok(running
            .map(|r| {
                r.status = Some(RunStatus::Interrupted);
                r.id
            })
            .collect())
    }

    async fn runs(&self) -> Result<Vec<RunRecord>, Error> {
        let mut runs: Vec<_> = self.inner.lock().runs.values().cloned().collect();
        runs.sort_by_key(|r| (r.started_at_us, r.id));
        Ok(runs)
    }

    async fn run(&self, id: RunId) -> Result<Option<RunRecord>, Error> {
        Ok(self.inner.lock().runs.get(&id).cloned())
    }

    async fn task_page(
        &self,
        run: RunId,
        cursor: Cursor,
        limit: usize,
    ) -> Result<Page<TaskRecord>, Error> {
        Ok(page(
            &self.inner.lock().tasks,
            |t| t.run_id == run,
            cursor,
            limit,
        ))
    }

    async fn tx_page(
        &self,
        run: RunId,
        cursor: Cursor,
        limit: usize,
    ) -> Result<Page<TxRecord>, Error> {
        Ok(page(
            &self.inner.lock().txs,
            |t| t.run_id == run,
            cursor,
            limit,
        ))
    }

    async fn blocks(&self, run: RunId) -> Result<Vec<BlockRecord>, Error> {
        let inner = self.inner.lock();
        Ok(inner
            .blocks
            .range((run, 0)..=(run, u64::MAX))
            .map(|(_, b)| b.clone())
            .collect())
    }

    async fn assets_of_chain(&self, chain_id: u64) -> Result<Vec<AssetRecord>, Error> {
        Ok(self
            .inner
            .lock()
            .assets
            .iter()
            .filter(|a| a.chain_id == chain_id)
            .cloned()
            .collect())
    }
}

/// A page over `items` (the cursor is an index into it) of those matching `keep`.
fn page<T: Clone>(items: &[T], keep: impl Fn(&T) -> bool, cursor: Cursor, limit: usize) -> Page<T> {
    let limit = limit.clamp(1, MAX_PAGE);
    let start = usize::try_from(cursor.0).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate().skip(start) {
        if !keep(item) {
            continue;
        }
        if out.len() == limit {
            return Page {
                items: out,
                next: Some(Cursor(i as i64)),
            };
        }
        out.push(item.clone());
    }
    Page {
        items: out,
        next: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_filter_and_continue() {
        let items: Vec<u32> = (0..10).collect();
        let p = page(&items, |i| i % 2 == 0, Cursor::START, 2);
        assert_eq!(p.items, vec![0, 2]);
        let p = page(&items, |i| i % 2 == 0, p.next.unwrap(), 2);
        assert_eq!(p.items, vec![4, 6]);
        let p = page(&items, |i| i % 2 == 0, p.next.unwrap(), 2);
        assert_eq!(p.items, vec![8]);
        assert_eq!(p.next, None);
    }
}
