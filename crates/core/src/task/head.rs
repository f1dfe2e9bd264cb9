//! The chain head, read once per poll interval for every task of a run: a task waiting for its
//! receipt asks for it again when a new block arrived, not every poll interval (with a
//! thousand workers on 1 s blocks, that was about ten reads per task instead of two).

use std::time::Duration;

use alloy::providers::{Provider, RootProvider};
use tokio::{sync::watch, task::JoinHandle};
use tokio_util::sync::CancellationToken;

/// Polls the head of `provider` every `every` until `stop`; the receiver holds the latest.
pub(crate) fn spawn(
    provider: RootProvider,
    every: Duration,
    stop: CancellationToken,
) -> (watch::Receiver<u64>, JoinHandle<()>) {
    let (tx, rx) = watch::channel(0);
    let task = tokio::spawn(async move {
        loop {
            if let Ok(head) = provider.get_block_number().await {
                tx.send_if_modified(|seen| {
                    let newer = head > *seen;
                    *seen = (*seen).max(head);
                    newer
                });
            }
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = stop.cancelled() => return,
            }
        }
    });
    (rx, task)
}
