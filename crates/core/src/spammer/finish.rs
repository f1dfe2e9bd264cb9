//! The end of a run: no sender keeps a gap, nothing stays stuck in the pool.

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use alloy::{eips::eip2718::Encodable2718, primitives::U256};

use crate::{
    RunContext, Wallet, rpc::resolve_failed_send, send_raw_transaction, wallet::wait_mined,
};

/// Fills every sender's holes with zero-value self-transfers, then waits (up to `grace`) until
/// each sender's mined nonce reaches what was handed out.
pub(super) async fn settle(run: &Arc<RunContext>, wallets: &[Arc<Wallet>], grace: Duration) {
    for wallet in wallets {
        fill_holes(run, wallet).await;
    }
    let waiting: Vec<_> = wallets
        .iter()
        .filter_map(|w| {
            run.nonces
                .snapshot(w.address())
                .map(|s| (w.address(), s.next))
        })
        .collect();
    if let Err(err) = wait_mined(&run.provider, waiting, 64, run.receipt_poll, grace).await {
        tracing::warn!(target: "spam::spammer", %err, "transactions still pending at the end");
    }
}

async fn fill_holes(run: &RunContext, wallet: &Wallet) {
    let sender = wallet.address();
    // Bounded: every hole gets a few tries; a node that refuses them all is reported by the
    // pending check that follows.
    let holes = run.nonces.snapshot(sender).map_or(0, |s| s.holes.len());
    for _ in 0..holes * 3 {
        if run
            .nonces
            .snapshot(sender)
            .is_none_or(|s| s.holes.is_empty())
        {
            return;
        }
        let Ok(fees) = run.fees.current().await else {
            return;
        };
        let Ok(reservation) = run.nonces.reserve(sender).await else {
            return;
        };
        let tx = fees.transfer(run.chain_id, reservation.nonce(), sender, U256::ZERO);
        let Ok(envelope) = wallet.sign(tx) else {
            return;
        };
        match send_raw_transaction(&run.provider, &envelope.encoded_2718(), &run.retry).await {
            Ok(_) => {
                let _ = reservation.commit();
                run.nonce_counters
                    .holes_filled
                    .fetch_add(1, Ordering::Relaxed);
            }
            Err(err) => {
                run.count(resolve_failed_send(&run.nonces, reservation, err.action()).await)
            }
        }
    }
}
