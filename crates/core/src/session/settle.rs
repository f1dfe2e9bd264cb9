//! The end of a run, for both engines: no sender keeps a nonce gap on chain, nothing of the
//! run stays stuck in the pool.

use std::{collections::BTreeSet, sync::Arc, sync::atomic::Ordering, time::Duration};

use alloy::{eips::eip2718::Encodable2718, primitives::U256, providers::RootProvider};
use spam_nonce::NonceManager;

use crate::{
    fees::FeeOracle,
    rpc::{RetryPolicy, send_raw_transaction},
    task::NonceCounters,
    wallet::{Wallet, wait_mined},
};

/// What [`settle`] needs from a run.
pub(crate) struct Settle<'a> {
    pub(crate) provider: &'a RootProvider,
    pub(crate) nonces: &'a NonceManager,
    pub(crate) fees: &'a FeeOracle<RootProvider>,
    pub(crate) chain_id: u64,
    pub(crate) retry: &'a RetryPolicy,
    pub(crate) counters: &'a NonceCounters,
    pub(crate) poll: Duration,
}

/// The nonce after the last one `sender` handed out and kept: the manager's next, less the
/// rolled-back holes at the top (nothing was sent there).
pub(crate) fn handed_out(nonces: &NonceManager, wallet: &Wallet) -> Option<u64> {
    let snapshot = nonces.snapshot(wallet.address())?;
    let holes: BTreeSet<u64> = snapshot.holes.into_iter().collect();
    let mut high = snapshot.next;
    while high > 0 && holes.contains(&(high - 1)) {
        high -= 1;
    }
    Some(high)
}

/// For each `(wallet, high)`: fills every nonce gap below `high` that the chain's pending view
/// shows (zero-value self-transfers at exactly the missing nonce, so queued transactions
/// behind it become pending), then waits up to `grace` until the mined nonce reaches what was
/// sent. Returns the gaps filled; leaves the manager resynced to the chain.
pub(crate) async fn settle(s: &Settle<'_>, targets: &[(Arc<Wallet>, u64)], grace: Duration) -> u64 {
    let mut filled = 0;
    let mut waiting = Vec::with_capacity(targets.len());
    for (wallet, high) in targets {
        filled += fill_gaps(s, wallet, *high).await;
        let next = s
            .nonces
            .snapshot(wallet.address())
            .map_or(*high, |snap| snap.next.max(*high));
        waiting.push((wallet.address(), next));
    }
    s.counters.holes_filled.fetch_add(filled, Ordering::Relaxed);
    if let Err(err) = wait_mined(s.provider, waiting, 64, s.poll, grace).await {
        tracing::warn!(target: "spam::engine", %err, "transactions still pending at the end");
    }
    filled
}

async fn fill_gaps(s: &Settle<'_>, wallet: &Wallet, high: u64) -> u64 {
    let sender = wallet.address();
    let mut filled = 0;
    // Bounded: each pass fills one gap or gives up; a node that refuses the fillers is
    // reported by the pending check that follows.
    for _ in 0..64 {
        let Ok(pending) = s.nonces.resync(sender).await else {
            return filled;
        };
        if pending >= high {
            return filled;
        }
        let Ok(fees) = s.fees.current().await else {
            return filled;
        };
        let tx = fees.transfer(s.chain_id, pending, sender, U256::ZERO);
        let Ok(envelope) = wallet.sign(tx) else {
            return filled;
        };
        match send_raw_transaction(s.provider, &envelope.encoded_2718(), s.retry).await {
            Ok(_) => filled += 1,
            Err(err) => {
                tracing::debug!(target: "spam::engine", %sender, pending, %err, "gap filler refused");
                if !err.outcome_unknown() && !err.class.is_nonce_conflict() {
                    return filled;
                }
            }
        }
    }
    filled
}
