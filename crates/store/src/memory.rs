//! [`MemoryStore`]: a [`Store`] in a mutex, for tests and dry runs.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use parking_lot::Mutex;

use crate::{
    AssetRecord, Batch, BlockRecord, Cursor, Error, MAX_PAGE, Page, RunId, RunRecord, Store,
    TaskRecord, TxRecord,
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
        for run in folded.runs {
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
