//! [`BlockBook`]: the blocks seen during a run, summed up for the report and for progress
//! snapshots; [`BlockLite`]: the header fields and transaction hashes both engines read.

use alloy::{
    primitives::{TxHash, U64},
    rpc::client::RpcClient,
};
use serde::Deserialize;
use tokio::time::Instant;

use crate::report::{BlockStats, BlockSummary, round};
use crate::session::ChainProgress;

/// A block as `eth_getBlockByNumber(n, false)` returns it, only the fields a run reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BlockLite {
    pub(crate) number: U64,
    pub(crate) timestamp: U64,
    pub(crate) gas_used: U64,
    pub(crate) gas_limit: U64,
    pub(crate) base_fee_per_gas: Option<U64>,
    pub(crate) transactions: Vec<TxHash>,
}

impl BlockLite {
    /// Blocks `first..=last` in one batch, up to the first the node does not have yet.
    ///
    /// # Errors
    /// The batch failed, or not even `first` is there ([`RpcError::NullResp`](alloy::transports::RpcError::NullResp)).
    pub(crate) async fn fetch(
        client: &RpcClient,
        first: u64,
        last: u64,
    ) -> Result<Vec<Self>, alloy::transports::TransportError> {
        let mut batch = client.new_batch();
        let mut waiters = Vec::new();
        for n in first..=last {
            waiters.push(
                batch
                    .add_call::<_, Option<Self>>("eth_getBlockByNumber", &(U64::from(n), false))?,
            );
        }
        batch.send().await?;
        let mut blocks = Vec::with_capacity(waiters.len());
        for waiter in waiters {
            match waiter.await? {
                Some(block) => blocks.push(block),
                // Not there yet (a load balancer behind the head): stop at the gap.
                None => break,
            }
        }
        if blocks.is_empty() {
            return Err(alloy::transports::RpcError::NullResp);
        }
        Ok(blocks)
    }

    /// What a [`BlockBook`] keeps of it, seen at `seen`, `own_txs` of its transactions ours.
    pub(crate) fn seen(&self, seen: Instant, own_txs: u64) -> BlockSeen {
        BlockSeen {
            number: self.number.to(),
            timestamp: self.timestamp.to(),
            seen,
            txs: self.transactions.len() as u64,
            own_txs,
            gas_used: self.gas_used.to(),
            gas_limit: self.gas_limit.to(),
            base_fee: self.base_fee_per_gas.map_or(0, |b| b.to::<u64>()),
        }
    }
}

/// Per-block records kept for the report; later blocks only count in the totals.
const MAX_LISTED: usize = 10_000;

/// One block as the tracker saw it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BlockSeen {
    pub(crate) number: u64,
    pub(crate) timestamp: u64,
    pub(crate) seen: Instant,
    pub(crate) txs: u64,
    pub(crate) own_txs: u64,
    pub(crate) gas_used: u64,
    pub(crate) gas_limit: u64,
    pub(crate) base_fee: u64,
}

#[derive(Debug)]
pub(crate) struct BlockBook {
    start: Instant,
    summary: BlockSummary,
    fill_sum: f64,
    first: Option<BlockSeen>,
    last: Option<BlockSeen>,
    /// How blocks are followed.
    pub(crate) via: String,
    /// Blocks with our transactions whose receipts were not queued (queue full).
    pub(crate) receipts_skipped: u64,
}

impl BlockBook {
    pub(crate) fn new(start: Instant) -> Self {
        Self {
            start,
            summary: BlockSummary::default(),
            fill_sum: 0.0,
            first: None,
            last: None,
            via: String::new(),
            receipts_skipped: 0,
        }
    }

    pub(crate) fn record(&mut self, b: BlockSeen) {
        let s = &mut self.summary;
        s.count += 1;
        s.txs += b.txs;
        s.own_txs += b.own_txs;
        s.gas_used = s.gas_used.saturating_add(b.gas_used);
        s.max_txs = s.max_txs.max(b.txs);
        if b.gas_limit > 0 {
            self.fill_sum += b.gas_used as f64 / b.gas_limit as f64;
        }
        if s.list.len() < MAX_LISTED {
            let stats = self.stats(&b);
            self.summary.list.push(stats);
        } else {
            s.truncated = true;
        }
        self.first.get_or_insert(b);
        self.last = Some(b);
    }

    /// What the report and the snapshots show of `b`.
    fn stats(&self, b: &BlockSeen) -> BlockStats {
        BlockStats {
            number: b.number,
            timestamp: b.timestamp,
            seen_ms: b.seen.saturating_duration_since(self.start).as_millis() as u64,
            txs: b.txs,
            own_txs: b.own_txs,
            gas_used: b.gas_used,
            gas_limit: b.gas_limit,
            base_fee: b.base_fee,
        }
    }

    /// The mean time between the blocks seen so far, by when they were seen; `None` before two.
    pub(crate) fn mean_interval(&self) -> Option<std::time::Duration> {
        let (first, last) = (self.first?, self.last?);
        let gaps = u32::try_from(self.summary.count.checked_sub(1)?).ok()?;
        (gaps > 0).then(|| last.seen.saturating_duration_since(first.seen) / gaps)
    }

    /// The totals so far and the latest block, for a progress snapshot.
    pub(crate) fn progress(&self) -> ChainProgress {
        let s = &self.summary;
        ChainProgress {
            blocks: s.count,
            txs: s.txs,
            gas_used: s.gas_used,
            last: self.last.map(|b| self.stats(&b)),
        }
    }

    /// The summary, with means and rates.
    pub(crate) fn summary(&self) -> BlockSummary {
        let mut s = self.summary.clone();
        if s.count == 0 {
            return s;
        }
        let n = s.count as f64;
        s.mean_fill = round(self.fill_sum / n, 6);
        s.mean_txs = round(s.txs as f64 / n, 3);
        if let (Some(first), Some(last)) = (self.first, self.last) {
            s.base_fee_first = first.base_fee;
            s.base_fee_last = last.base_fee;
            let span = last.timestamp.saturating_sub(first.timestamp);
            if s.count > 1 {
                s.mean_block_time_secs = round(span as f64 / (n - 1.0), 3);
            }
            // The first block's transactions were made in the block time before it.
            let window = span as f64 + s.mean_block_time_secs.max(1.0);
            s.chain_tps = round(s.txs as f64 / window, 3);
            s.chain_gas_per_sec = round(s.gas_used as f64 / window, 3);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_and_means() {
        let t0 = Instant::now();
        let mut book = BlockBook::new(t0);
        for (i, txs) in [10u64, 30].into_iter().enumerate() {
            book.record(BlockSeen {
                number: i as u64 + 1,
                timestamp: 100 + 2 * i as u64,
                seen: t0,
                txs,
                own_txs: txs / 2,
                gas_used: txs * 21_000,
                gas_limit: 1_260_000,
                base_fee: 7 + i as u64,
            });
        }
        let s = book.summary();
        assert_eq!((s.count, s.txs, s.own_txs, s.max_txs), (2, 40, 20, 30));
        assert_eq!(s.mean_txs, 20.0);
        assert_eq!(s.mean_block_time_secs, 2.0);
        assert_eq!(s.mean_fill, round((1.0 / 6.0 + 0.5) / 2.0, 6));
        assert_eq!((s.base_fee_first, s.base_fee_last), (7, 8));
        assert_eq!(s.chain_tps, 10.0, "40 txs over 2 s + one block time");
        assert_eq!(s.list.len(), 2);
    }
}
