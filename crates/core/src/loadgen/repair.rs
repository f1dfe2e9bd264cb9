//! Stuck senders and outages, while the run is on: a sender whose lowest unsettled
//! transaction has not been included or found in the node for a few block times is
//! reconciled (the node asked for its nonces, what it lost re-broadcast byte for byte, holes
//! filled, superseded transactions let go); after the breaker was open, every sender is
//! reconciled before new transactions go out.

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use futures_util::{StreamExt, stream};
use parking_lot::Mutex;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{blocks::BlockBook, gate::Gate, ledger::Ledger};
use crate::{
    breaker::BreakerState,
    session::{Fate, Reconciled, Reconciler},
    task::NonceCounters,
};

/// Senders reconciled at once.
const CONCURRENCY: usize = 16;

/// How long the lowest unsettled transaction of a sender may wait before the sender is
/// reconciled: three block times, at least one second, two seconds before blocks are seen.
pub(super) fn stuck_after(block_time: Option<Duration>) -> Duration {
    block_time.map_or(Duration::from_secs(2), |t| {
        (t * 3).max(Duration::from_secs(1))
    })
}

pub(super) struct Repair {
    pub(super) ledger: Arc<Ledger>,
    pub(super) reconciler: Reconciler,
    pub(super) blocks: Arc<Mutex<BlockBook>>,
    pub(super) gate: Arc<Gate>,
    pub(super) counters: Arc<NonceCounters>,
    pub(super) every: Duration,
}

impl Repair {
    /// Runs until `stop`.
    pub(super) async fn run(self, stop: CancellationToken) {
        let mut outage = false;
        loop {
            tokio::select! {
                () = tokio::time::sleep(self.every) => {}
                () = stop.cancelled() => return,
            }
            if self.gate.breaker.state() == BreakerState::Open {
                // Nothing can be learnt from a node that does not answer.
                outage = true;
                continue;
            }
            if outage {
                self.gate.hold(true);
                outage = !self.pass(None, "after an outage").await;
                self.gate.hold(outage);
            } else {
                let after = stuck_after(self.blocks.lock().mean_interval());
                let before = Instant::now().checked_sub(after);
                if let Some(before) = before {
                    self.pass(Some(before), "stuck sender").await;
                }
            }
        }
    }

    /// Reconciles every sender whose lowest unsettled transaction was last touched before
    /// `before` (`None`: all); returns whether the node answered for every one.
    async fn pass(&self, before: Option<Instant>, cause: &'static str) -> bool {
        let senders = self.ledger.unsettled(before);
        let results: Vec<Reconciled> = stream::iter(senders)
            .map(|(sender, txs)| self.reconciler.reconcile(sender, txs))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let mut reached_all = true;
        for done in results {
            reached_all &= done.reached;
            if !done.reached {
                continue;
            }
            self.ledger.reconciled(cause);
            self.counters
                .holes_filled
                .fetch_add(done.filled, Ordering::Relaxed);
            let now = Instant::now();
            for (hash, fate) in done.fates {
                match fate {
                    Fate::Held => self.ledger.touched(&hash, now, false),
                    // A block the scan has passed and missed (a restarted node re-mined its
                    // number); one still ahead of the scan is left to it, which also counts
                    // its gas and the block's share of ours.
                    Fate::Mined(block) if block < self.ledger.scanned.load(Ordering::Acquire) => {
                        let _ = self.ledger.seen_in_block(&hash, now, block);
                    }
                    Fate::Mined(_) => self.ledger.touched(&hash, now, false),
                    Fate::Rebroadcast => self.ledger.touched(&hash, now, true),
                    Fate::Superseded => self.ledger.superseded(&hash),
                    Fate::Unresolved => {}
                }
            }
        }
        reached_all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stuck_after_follows_the_block_time() {
        let ms = Duration::from_millis;
        assert_eq!(stuck_after(None), ms(2_000));
        assert_eq!(stuck_after(Some(ms(100))), ms(1_000));
        assert_eq!(stuck_after(Some(ms(2_000))), ms(6_000));
    }
}
