//! What the [`Spammer`](crate::Spammer) adds to its tasks' context so that no transaction of
//! theirs is lost or miscounted: the [`Ledger`] of every transaction sent, the [`Guard`] every
//! call to the node passes, and reconciliation of a sender through the session's
//! [`Reconciler`] (after a receipt wait stalls, after an outage, at the end).

mod guard;
mod ledger;
mod tally;

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use alloy::primitives::Address;
use futures_util::StreamExt;
use parking_lot::Mutex;

pub(crate) use self::{
    guard::Guard,
    ledger::{Entry, Ledger, Seen},
    tally::tally,
};
use crate::{
    session::{Reconciled, Reconciler},
    task::NonceCounters,
};

/// Why a sender was reconciled; the report counts reconciliations by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    /// A task waited longer than the bound for a receipt.
    Stalled,
    /// The node answers again after an outage.
    Recovered,
    /// The load is over; what the node lost is sent again before the end-of-run settling.
    EndOfRun,
    /// The sender moved to another endpoint, whose mempool may lack what it sent before.
    Moved,
}

impl Cause {
    const fn label(self) -> &'static str {
        match self {
            Self::Stalled => "receipt stalled",
            Self::Recovered => "node recovered",
            Self::EndOfRun => "end of run",
            Self::Moved => "endpoint move",
        }
    }
}

/// Senders reconciled at once after an outage.
const CONCURRENT_SENDERS: usize = 16;

/// The closed loop's in-flight state, shared by its tasks, its watcher and its end.
#[derive(Debug)]
pub(crate) struct InFlight {
    pub(crate) ledger: Ledger,
    pub(crate) guard: Guard,
    /// How long a task waits for a receipt before its sender is reconciled.
    pub(crate) reconcile_after: Duration,
    reconciler: Reconciler,
    counters: Arc<NonceCounters>,
    /// One reconciliation per sender at a time.
    locks: Mutex<HashMap<Address, Arc<tokio::sync::Mutex<()>>>>,
    reconciliations: Mutex<BTreeMap<&'static str, u64>>,
}

impl InFlight {
    /// Fills made by reconciliation count in `counters`' holes filled.
    pub(crate) fn new(
        ledger: Ledger,
        guard: Guard,
        reconciler: Reconciler,
        reconcile_after: Duration,
        counters: Arc<NonceCounters>,
    ) -> Self {
        Self {
            ledger,
            guard,
            reconcile_after,
            reconciler,
            counters,
            locks: Mutex::default(),
            reconciliations: Mutex::default(),
        }
    }

    /// Reconciles `sender`'s transactions in flight: the bytes the node lost are sent again,
    /// the nonces it lacks below them filled, the superseded ones leave the ledger. After an
    /// outage the transactions a block held are checked too: a node restarted from an older
    /// state lost those blocks (at the end, the final check looks them up anyway).
    ///
    /// Cancel safety: cancel safe in effect (every send is a replay of known bytes, or a filler
    /// on a reserved nonce); a dropped call leaves the ledger as it was.
    pub(crate) async fn reconcile(&self, sender: Address, cause: Cause) -> Reconciled {
        let lock = Arc::clone(self.locks.lock().entry(sender).or_default());
        let _one_at_a_time = lock.lock().await;
        let txs = self
            .ledger
            .unsettled(sender, matches!(cause, Cause::Recovered | Cause::Moved));
        if txs.is_empty() {
            return Reconciled::default();
        }
        let reconciled = self.reconciler.reconcile(sender, txs).await;
        if reconciled.reached {
            *self
                .reconciliations
                .lock()
                .entry(cause.label())
                .or_default() += 1;
        }
        self.ledger.apply(&reconciled.fates);
        self.counters
            .holes_filled
            .fetch_add(reconciled.filled, Ordering::Relaxed);
        tracing::debug!(target: "spam::engine", %sender, cause = cause.label(),
            reached = reconciled.reached, filled = reconciled.filled, "sender reconciled");
        reconciled
    }

    /// Reconciles every sender with transactions in flight, a few at a time.
    pub(crate) async fn reconcile_all(&self, cause: Cause) {
        futures_util::stream::iter(self.ledger.senders())
            .for_each_concurrent(CONCURRENT_SENDERS, |sender| async move {
                self.reconcile(sender, cause).await;
            })
            .await;
    }

    /// Reconciliations that reached the node, per cause.
    pub(crate) fn reconciliations(&self) -> BTreeMap<String, u64> {
        self.reconciliations
            .lock()
            .iter()
            .map(|(cause, n)| ((*cause).to_string(), *n))
            .collect()
    }
}
