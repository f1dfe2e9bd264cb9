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

use super::{gate::Gate, ledger::Ledger};
use crate::session::BlockBook;
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
    pub(super) router: Arc<crate::endpoint::Router>,
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
            self.moved().await;
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
        let reached = self.reconcile(senders, cause).await;
        reached.iter().all(|(_, reached)| *reached)
    }

    /// Reconciles the senders that moved to another endpoint against it; the pool leases
    /// each again once its new endpoint answered (or it had nothing unsettled).
    async fn moved(&self) {
        let moved = self.router.moved();
        if moved.is_empty() {
            return;
        }
        let moved: std::collections::HashSet<_> = moved.into_iter().collect();
        let senders: Vec<_> = self
            .ledger
            .unsettled(None)
            .into_iter()
            .filter(|(sender, _)| moved.contains(sender))
            .collect();
        let mut done: Vec<_> = moved
            .iter()
            .filter(|m| !senders.iter().any(|(s, _)| s == *m))
            .copied()
            .collect();
        let reached = self.reconcile(senders, "endpoint move").await;
        done.extend(reached.into_iter().filter(|(_, r)| *r).map(|(s, _)| s));
        self.router.reconciled(&done);
    }

    /// Reconciles `senders`, applies what was found; returns whether the node answered for
    /// each.
    async fn reconcile(
        &self,
        senders: Vec<(alloy::primitives::Address, Vec<crate::session::Unsettled>)>,
        cause: &'static str,
    ) -> Vec<(alloy::primitives::Address, bool)> {
        let results: Vec<(alloy::primitives::Address, Reconciled)> =
            stream::iter(senders)
                .map(|(sender, txs)| async move {
                    (sender, self.reconciler.reconcile(sender, txs).await)
                })
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
        let mut reached = Vec::with_capacity(results.len());
        for (sender, done) in results {
            reached.push((sender, done.reached));
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
        reached
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
