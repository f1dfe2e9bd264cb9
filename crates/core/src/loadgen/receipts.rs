//! Receipts (gas used, status) of the blocks holding our transactions, read off the critical
//! path. Whole blocks are read with `eth_getBlockReceipts` while the node serves them quickly.
//! When a read takes longer than [`SLOW_READ`] — anvil builds each receipt by walking its
//! block, so a block of thousands costs it seconds it does not spend taking transactions —
//! blocks larger than what would read in a fifth of that (scaling the slow read linearly)
//! are *sampled*: [`SAMPLE`] receipts by hash, spread over the block. Their status counts; their other transactions count as receipts
//! not read, and the gas of a block holding only ours comes from its header.

use std::{sync::Arc, time::Duration};

use alloy::{
    primitives::{TxHash, U64},
    rpc::client::RpcClient,
};
use serde::Deserialize;
use tokio::{sync::mpsc, time::Instant};

use super::{ledger::Ledger, sink::SendInfo};

/// A whole-block read slower than this switches blocks of its size to sampling.
const SLOW_READ: Duration = Duration::from_millis(250);

/// Receipts read by hash from a sampled block.
pub(crate) const SAMPLE: usize = 64;

/// Tries per read before its transactions count as not read.
const TRIES: u32 = 3;

/// A block with transactions of ours, for the receipts worker.
#[derive(Debug)]
pub(crate) struct ReceiptJob {
    pub(crate) number: u64,
    pub(crate) ours: Vec<(SendInfo, Instant)>,
    /// The header's gas used, when the block holds only our transactions.
    pub(crate) block_gas: Option<u64>,
    /// When the scan saw the block.
    pub(crate) seen: Instant,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReceiptLite {
    transaction_hash: TxHash,
    gas_used: U64,
    status: Option<U64>,
}

impl ReceiptLite {
    fn success(&self) -> bool {
        self.status.is_none_or(|s| s == U64::from(1))
    }
}

/// What the worker could not read: transactions without a receipt, and blocks sampled.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Unread {
    pub(crate) missing: u64,
    pub(crate) sampled_blocks: u64,
}

/// Reads the receipts of each job's block until the channel closes.
pub(crate) async fn receipts(
    client: RpcClient,
    ledger: Arc<Ledger>,
    mut jobs: mpsc::Receiver<ReceiptJob>,
) -> Unread {
    let mut unread = Unread::default();
    // Blocks with more of ours than this are sampled.
    let mut whole_up_to = usize::MAX;
    while let Some(job) = jobs.recv().await {
        let n = job.ours.len();
        if n > whole_up_to {
            unread.sampled_blocks += 1;
            unread.missing += sample(&client, &ledger, &job).await;
            continue;
        }
        let started = Instant::now();
        match read_block(&client, job.number).await {
            Some(receipts) => {
                let took = started.elapsed();
                if took > SLOW_READ {
                    // As if the cost grew linearly with the block (it grows faster on anvil):
                    // blocks that would take over a fifth of the slow limit are sampled.
                    let scale = SLOW_READ.as_secs_f64() / 5.0 / took.as_secs_f64();
                    whole_up_to = ((n as f64 * scale) as usize).max(SAMPLE);
                    tracing::debug!(target: "spam::loadgen", block = job.number, txs = n, "receipts slow to read: sampling larger blocks");
                }
                unread.missing += record(&ledger, &job, &receipts, false);
            }
            None => unread.missing += n as u64,
        }
    }
    unread
}

/// The block's receipts, tried up to [`TRIES`] times.
async fn read_block(client: &RpcClient, number: u64) -> Option<Vec<ReceiptLite>> {
    for attempt in 1..=TRIES {
        let answer: Result<Option<Vec<ReceiptLite>>, _> = client
            .request("eth_getBlockReceipts", (U64::from(number),))
            .await;
        if let Ok(Some(receipts)) = answer {
            return Some(receipts);
        }
        if attempt < TRIES {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    None
}

/// Reads [`SAMPLE`] receipts of `job`'s block by hash; returns the transactions left unread.
async fn sample(client: &RpcClient, ledger: &Ledger, job: &ReceiptJob) -> u64 {
    let step = job.ours.len().div_ceil(SAMPLE).max(1);
    let picked: Vec<&(SendInfo, Instant)> = job.ours.iter().step_by(step).collect();
    let mut batch = client.new_batch();
    let waiters: Result<Vec<_>, _> = picked
        .iter()
        .map(|(info, _)| {
            batch.add_call::<_, Option<ReceiptLite>>("eth_getTransactionReceipt", &(info.hash,))
        })
        .collect();
    let mut read = Vec::with_capacity(picked.len());
    if let Ok(waiters) = waiters
        && batch.send().await.is_ok()
    {
        for waiter in waiters {
            if let Ok(Some(receipt)) = waiter.await {
                read.push(receipt);
            }
        }
    }
    if let Some(gas) = job.block_gas {
        ledger.block_gas(job.seen, gas);
    }
    record(ledger, job, &read, job.block_gas.is_some())
}

/// Records the receipts of `job`'s transactions found in `receipts` (their gas unless
/// `gas_counted`); returns how many of ours were not among them.
fn record(ledger: &Ledger, job: &ReceiptJob, receipts: &[ReceiptLite], gas_counted: bool) -> u64 {
    let by_hash: std::collections::HashMap<_, _> =
        receipts.iter().map(|r| (r.transaction_hash, r)).collect();
    let mut missing = 0;
    for (info, at) in &job.ours {
        match by_hash.get(&info.hash) {
            Some(r) if gas_counted => {
                ledger.receipt_status(info, *at, r.gas_used.to(), r.success())
            }
            Some(r) => ledger.receipt(info, *at, r.gas_used.to(), r.success()),
            None => missing += 1,
        }
    }
    missing
}
