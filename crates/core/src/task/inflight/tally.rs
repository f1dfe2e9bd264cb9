//! The end of a closed-loop run: every transaction still in the ledger is looked up on the
//! final chain and leaves it as included, superseded, pending at the end or unverified.

use std::collections::HashMap;

use alloy::{
    primitives::{Address, U64},
    providers::{Provider, RootProvider},
    rpc::client::BatchRequest,
};
use tokio::time::{Duration, Instant};

use crate::rpc::RetryPolicy;

use super::{
    Entry, Ledger,
    ledger::{Outcome, Seen},
};

/// Lookups per JSON-RPC batch.
const BATCH: usize = 100;

/// What the node knows of one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    /// In this block.
    Mined(u64),
    /// In its pool.
    Pending,
    /// Nothing.
    Absent,
    /// No answer.
    Failed,
}

/// Looks up every transaction left in `ledger` over `provider` (the send URL) and counts its
/// fate; what is not answered within `within` counts as unverified.
/// Afterwards the ledger is empty and its counters add up.
pub(crate) async fn tally(ledger: &Ledger, provider: &RootProvider, within: Duration) {
    let deadline = Instant::now() + within;
    let entries = ledger.drain();
    let mut latest: HashMap<Address, Option<u64>> = HashMap::new();
    for chunk in entries.chunks(BATCH) {
        let found = look_up(provider, chunk, deadline).await;
        for (entry, found) in chunk.iter().zip(found) {
            let outcome = match found {
                Found::Mined(block) => {
                    Outcome::Included(seen_in(provider, entry, block, deadline).await)
                }
                Found::Pending => Outcome::PendingAtEnd,
                Found::Failed => Outcome::Unverified,
                Found::Absent => {
                    let used = match latest.get(&entry.sender) {
                        Some(nonce) => *nonce,
                        None => {
                            let nonce = latest_nonce(provider, entry.sender, deadline).await;
                            latest.insert(entry.sender, nonce);
                            nonce
                        }
                    };
                    match used {
                        Some(next) if entry.nonce < next => Outcome::Superseded,
                        Some(_) => Outcome::PendingAtEnd,
                        None => Outcome::Unverified,
                    }
                }
            };
            ledger.close(entry.clone(), outcome);
        }
    }
}

/// `eth_getTransactionByHash` of each entry, in one batch (retried as a whole on transient
/// errors).
async fn look_up(provider: &RootProvider, entries: &[Entry], deadline: Instant) -> Vec<Found> {
    let once = || async {
        let mut batch = BatchRequest::new(provider.client());
        let mut waiters = Vec::with_capacity(entries.len());
        for entry in entries {
            waiters.push(batch.add_call::<_, Option<serde_json::Value>>(
                "eth_getTransactionByHash",
                &(entry.hash,),
            )?);
        }
        batch.send().await?;
        let mut found = Vec::with_capacity(waiters.len());
        for waiter in waiters {
            found.push(match waiter.await {
                Ok(Some(tx)) => match tx.get("blockNumber").and_then(block_number) {
                    Some(block) => Found::Mined(block),
                    None => Found::Pending,
                },
                Ok(None) => Found::Absent,
                Err(_) => Found::Failed,
            });
        }
        Ok(found)
    };
    tokio::time::timeout_at(deadline, RetryPolicy::default().retry(once))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_else(|| vec![Found::Failed; entries.len()])
}

fn block_number(value: &serde_json::Value) -> Option<u64> {
    serde_json::from_value::<U64>(value.clone())
        .ok()
        .map(|n| n.to())
}

/// The sighting of a transaction found in `block`: the task's own when it saw the same block,
/// else now, with the gas from its receipt (0 when the receipt cannot be read).
async fn seen_in(provider: &RootProvider, entry: &Entry, block: u64, deadline: Instant) -> Seen {
    if let Some(seen) = entry.seen.filter(|s| s.block.is_none_or(|b| b == block)) {
        return Seen {
            block: Some(block),
            ..seen
        };
    }
    let retry = RetryPolicy::default();
    let read = retry.retry(|| provider.get_transaction_receipt(entry.hash));
    let gas = tokio::time::timeout_at(deadline, read)
        .await
        .ok()
        .and_then(Result::ok)
        .flatten()
        .map_or(0, |r| r.gas_used);
    Seen {
        block: Some(block),
        at: Instant::now(),
        gas,
    }
}

/// The sender's mined nonce, when the node answers.
async fn latest_nonce(provider: &RootProvider, sender: Address, deadline: Instant) -> Option<u64> {
    let retry = RetryPolicy::default();
    let read = retry.retry(|| async { provider.get_transaction_count(sender).latest().await });
    tokio::time::timeout_at(deadline, read).await.ok()?.ok()
}
