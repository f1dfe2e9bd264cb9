//! [`Batch`]: records written together, in one transaction.

use std::collections::HashMap;

use crate::{AssetRecord, BlockRecord, Record, RunRecord, TaskRecord, TxRecord};

/// Records a [`Store`](crate::Store) writes in one transaction: all or none of them land.
///
/// Keyed records written twice in one batch are folded the way the database folds them
/// (later runs, blocks and assets replace earlier ones, transactions
/// [merge](TxRecord::merge)), so a batch may hold the same key more than once.
///
/// # Examples
///
/// ```
/// use spam_store::{Batch, RunId, RunRecord, TaskRecord};
///
/// let run = RunId::new(1).unwrap();
/// let mut batch = Batch::default();
/// batch.push(RunRecord::new(run, 1_000, 31_337));
/// batch.push(TaskRecord::new(run, 0, [0; 20], "transfer", 1_000, 250));
/// assert_eq!(batch.len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Batch {
    /// Runs.
    pub runs: Vec<RunRecord>,
    /// Finished tasks.
    pub tasks: Vec<TaskRecord>,
    /// Transactions.
    pub txs: Vec<TxRecord>,
    /// Blocks.
    pub blocks: Vec<BlockRecord>,
    /// Created assets.
    pub assets: Vec<AssetRecord>,
}

impl Batch {
    /// Adds one record.
    pub fn push(&mut self, record: impl Into<Record>) {
        match record.into() {
            Record::Run(r) => self.runs.push(r),
            Record::Task(r) => self.tasks.push(r),
            Record::Tx(r) => self.txs.push(r),
            Record::Block(r) => self.blocks.push(r),
            Record::Asset(r) => self.assets.push(r),
        }
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.runs.len() + self.tasks.len() + self.txs.len() + self.blocks.len() + self.assets.len()
    }

    /// Whether it holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Empties it, keeping the allocations.
    pub fn clear(&mut self) {
        self.runs.clear();
        self.tasks.clear();
        self.txs.clear();
        self.blocks.clear();
        self.assets.clear();
    }

    /// The keyed records folded to one per key and sorted by key; tasks as they are.
    ///
    /// Sorting matters on PostgreSQL: two writers upserting overlapping keys lock rows in the
    /// same order and so cannot deadlock; and one `INSERT … ON CONFLICT DO UPDATE` may not touch
    /// a row twice.
    pub(crate) fn folded(&self) -> Folded<'_> {
        let mut runs = last_per_key(&self.runs, |r| r.id);
        // A later write without a status keeps the status an earlier one set.
        for run in &mut runs {
            if run.status.is_none() {
                run.status = self
                    .runs
                    .iter()
                    .rev()
                    .filter(|r| r.id == run.id)
                    .find_map(|r| r.status);
            }
        }
        runs.sort_by_key(|r| r.id);
        let mut blocks = last_per_key(&self.blocks, |b| (b.run_id, b.number));
        blocks.sort_by_key(|b| (b.run_id, b.number));
        let mut assets = last_per_key(&self.assets, |a| (a.chain_id, a.address));
        assets.sort_by_key(|a| (a.chain_id, a.address));

        let mut index: HashMap<_, usize> = HashMap::with_capacity(self.txs.len());
        let mut txs: Vec<TxRecord> = Vec::with_capacity(self.txs.len());
        for tx in &self.txs {
            match index.get(&(tx.run_id, tx.hash)) {
                Some(&i) => txs[i].merge(tx.clone()),
                None => {
                    index.insert((tx.run_id, tx.hash), txs.len());
                    txs.push(tx.clone());
                }
            }
        }
        txs.sort_by_key(|t| (t.run_id, t.hash));

        Folded {
            runs,
            tasks: &self.tasks,
            txs,
            blocks,
            assets,
        }
    }
}

/// A [`Batch`] with one record per key, sorted; see [`Batch::folded`].
#[derive(Debug)]
pub(crate) struct Folded<'a> {
    pub(crate) runs: Vec<RunRecord>,
    pub(crate) tasks: &'a [TaskRecord],
    pub(crate) txs: Vec<TxRecord>,
    pub(crate) blocks: Vec<BlockRecord>,
    pub(crate) assets: Vec<AssetRecord>,
}

fn last_per_key<T: Clone, K: std::hash::Hash + Eq>(items: &[T], key: impl Fn(&T) -> K) -> Vec<T> {
    let mut index: HashMap<K, usize> = HashMap::with_capacity(items.len());
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        match index.get(&key(item)) {
            Some(&i) => out[i] = item.clone(),
            None => {
                index.insert(key(item), out.len());
                out.push(item.clone());
            }
        }
    }
    out
}

impl<R: Into<Record>> Extend<R> for Batch {
    fn extend<I: IntoIterator<Item = R>>(&mut self, iter: I) {
        for record in iter {
            self.push(record);
        }
    }
}

impl<R: Into<Record>> FromIterator<R> for Batch {
    fn from_iter<I: IntoIterator<Item = R>>(iter: I) -> Self {
        let mut batch = Self::default();
        batch.extend(iter);
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RunId, TxStatus};

    fn run() -> RunId {
        RunId::new(1).unwrap()
    }

    #[test]
    fn folds_keys() {
        let mut batch = Batch::default();
        let mut first = RunRecord::new(run(), 1, 1);
        first.seed = 1;
        let mut second = first.clone();
        second.seed = 2;
        batch.push(first);
        batch.push(second.clone());

        let mut sent = TxRecord::new(run(), [9; 32], [0; 20], 0, "t");
        sent.sent_at_us = Some(5);
        let mut included = TxRecord::new(run(), [9; 32], [0; 20], 0, "t");
        included.included_at_us = Some(9);
        included.status = TxStatus::Succeeded;
        batch.push(TxRecord::new(run(), [1; 32], [0; 20], 1, "t"));
        batch.push(sent);
        batch.push(included);
        batch.push(TaskRecord::new(run(), 0, [0; 20], "t", 0, 0));
        batch.push(TaskRecord::new(run(), 0, [0; 20], "t", 0, 0));
        batch.push(BlockRecord::new(run(), 2, 0));
        batch.push(BlockRecord::new(run(), 1, 0));
        batch.push(BlockRecord::new(run(), 2, 7));

        let folded = batch.folded();
        assert_eq!(folded.runs, vec![second]);
        assert_eq!(folded.tasks.len(), 2);
        assert_eq!(folded.txs.len(), 2);
        assert_eq!(folded.txs[0].hash, [1; 32]);
        let tx = &folded.txs[1];
        assert_eq!(
            (tx.sent_at_us, tx.included_at_us, tx.status),
            (Some(5), Some(9), TxStatus::Succeeded)
        );
        let blocks: Vec<_> = folded
            .blocks
            .iter()
            .map(|b| (b.number, b.timestamp_us))
            .collect();
        assert_eq!(blocks, vec![(1, 0), (2, 7)]);
    }

    #[test]
    fn len_and_clear() {
        let mut batch: Batch = [TaskRecord::new(run(), 0, [0; 20], "t", 0, 0)]
            .into_iter()
            .collect();
        batch.push(BlockRecord::new(run(), 1, 0));
        assert_eq!(batch.len(), 2);
        batch.clear();
        assert!(batch.is_empty());
    }
}
