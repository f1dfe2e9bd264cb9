//! The chain head, read once per poll interval for every task of a run: a task waiting for its
//! receipt asks for it again when a new block arrived, not every poll interval (with a
//! thousand workers on 1 s blocks, that was about ten reads per task instead of two). Each new
//! block's header goes into the run's [`BlockBook`], for the block figures of the progress
//! snapshots.

use std::{sync::Arc, time::Duration};

use alloy::{
    providers::{Provider, RootProvider},
    rpc::client::RpcClient,
};
use parking_lot::Mutex;
use tokio::{sync::watch, task::JoinHandle, time::Instant};
use tokio_util::sync::CancellationToken;

use crate::session::{BlockBook, BlockLite};

/// Headers read in one batch request.
const HEADERS_BATCH: u64 = 32;

/// Most blocks read after one poll: on an automining node that makes more than this between
/// two polls (40 960 blocks a second at the default 100 ms), the older ones are skipped so the
/// figures stay current.
const MAX_BEHIND: u64 = 4_096;

/// Polls the head of `provider` every `every` until `stop`, recording each new block (read
/// through `reader`) in `blocks`; the receiver holds the latest head.
pub(crate) fn spawn(
    provider: RootProvider,
    reader: RpcClient,
    every: Duration,
    blocks: Arc<Mutex<BlockBook>>,
    stop: CancellationToken,
) -> (watch::Receiver<u64>, JoinHandle<()>) {
    let (tx, rx) = watch::channel(0);
    let task = tokio::spawn(async move {
        // The last block recorded; the first read records only the head itself.
        let mut recorded: Option<u64> = None;
        loop {
            if let Ok(head) = provider.get_block_number().await {
                tx.send_if_modified(|seen| {
                    let newer = head > *seen;
                    *seen = (*seen).max(head);
                    newer
                });
                let first =
                    recorded.map_or(head, |r| (r + 1).max(head.saturating_sub(MAX_BEHIND - 1)));
                // Every block since the last one read, in batches; a failed read is tried
                // again at the next poll, from the same block.
                let mut next = first;
                while next <= head {
                    let last = head.min(next + HEADERS_BATCH - 1);
                    let Ok(got) = BlockLite::fetch(&reader, next, last).await else {
                        break;
                    };
                    let seen = Instant::now();
                    let mut book = blocks.lock();
                    for block in &got {
                        book.record(block.seen(seen, 0));
                    }
                    let Some(read) = got.last().map(|b| b.number.to::<u64>()) else {
                        break;
                    };
                    recorded = Some(read);
                    if read < last {
                        // The node does not have the rest yet.
                        break;
                    }
                    next = read + 1;
                }
            }
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = stop.cancelled() => return,
            }
        }
    });
    (rx, task)
}
