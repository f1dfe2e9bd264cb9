//! One transfer's send and the nonce resolution that follows the node's answer; bounded
//! concurrent reads; waiting for inclusion.

use std::{future::Future, time::Duration};

use alloy::{
    consensus::TxEnvelope, eips::eip2718::Encodable2718, primitives::Address, providers::Provider,
};
use spam_nonce::{NonceManager, Reservation};
use tokio::{task::JoinSet, time::Instant};

use super::WalletError;
use crate::{
    rpc::Action, rpc::RetryPolicy, rpc::SendError, rpc::resolve_failed_send,
    rpc::send_raw_transaction,
};

/// What became of one transfer.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The node took it, or may have (no answer even after re-sending the same bytes); the
    /// nonce is committed.
    Sent {
        /// Its nonce.
        nonce: u64,
    },
    /// The node refused it; its nonce was resolved by the refusal's [`Action`] (rolled back,
    /// or left used with the sender fast-forwarded or resynced).
    Rejected {
        /// Its nonce.
        nonce: u64,
        /// The node's answer, classified.
        error: SendError,
    },
}

/// Sends `envelope` and resolves `reservation` by the answer, following
/// [`ErrorClass::action`](crate::ErrorClass::action).
///
/// Replay safety: [`send_raw_transaction`] re-sends only the *same bytes* (same hash), so the
/// node sees one transaction. A transaction that may have arrived is committed, never rolled
/// back, so its nonce is not handed to another transaction.
pub(crate) async fn send<P: Provider>(
    provider: &P,
    envelope: TxEnvelope,
    nonces: &NonceManager,
    reservation: Reservation,
    policy: &RetryPolicy,
) -> Outcome {
    let raw = envelope.encoded_2718();
    let nonce = reservation.nonce();
    let Err(error) = send_raw_transaction(provider, &raw, policy).await else {
        let _ = reservation.commit();
        return Outcome::Sent { nonce };
    };
    let unknown = error.outcome_unknown();
    let action = error.action();
    resolve_failed_send(nonces, reservation, action).await;
    // Not readable as a refusal: an attempt got no answer, so an earlier copy may be in the pool
    // even if the last answer was "nonce too low"; its nonce stays used, never re-signed.
    if unknown {
        tracing::warn!(
            target: "spam::wallet",
            nonce, %error,
            "no clear answer to a transfer; assuming it reached the pool"
        );
    }
    if unknown || action == Action::Commit {
        return Outcome::Sent { nonce };
    }
    Outcome::Rejected { nonce, error }
}

/// Runs `read` on every item with at most `limit` in flight; results in input order.
///
/// Reads only: dropping the returned future aborts the reads still running.
pub(crate) async fn concurrently<T, R, F, Fut>(items: Vec<T>, limit: usize, read: F) -> Vec<R>
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = R> + Send + 'static,
    R: Send + 'static,
{
    let mut results: Vec<Option<R>> = std::iter::repeat_with(|| None).take(items.len()).collect();
    let mut pending = items.into_iter().enumerate();
    let mut running = JoinSet::new();
    loop {
        while running.len() < limit.max(1) {
            let Some((i, item)) = pending.next() else {
                break;
            };
            let fut = read(item);
            running.spawn(async move { (i, fut.await) });
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        match done {
            Ok((i, result)) => results[i] = Some(result),
            Err(err) => std::panic::resume_unwind(err.into_panic()),
        }
    }
    results.into_iter().flatten().collect()
}

/// Polls each account's mined (`latest`) nonce until it reaches the expected next nonce.
///
/// Cancel safe: reads only.
pub(crate) async fn wait_mined<P>(
    provider: &P,
    mut waiting: Vec<(Address, u64)>,
    limit: usize,
    poll: Duration,
    timeout: Duration,
) -> Result<(), WalletError>
where
    P: Provider + Clone + 'static,
{
    let started = Instant::now();
    loop {
        let addresses: Vec<Address> = waiting.iter().map(|(a, _)| *a).collect();
        let mined = concurrently(addresses, limit, |address| {
            let provider = provider.clone();
            async move { provider.get_transaction_count(address).latest().await }
        })
        .await;
        let mut behind = None;
        let mut still = Vec::new();
        for ((address, expected), mined) in waiting.into_iter().zip(mined) {
            let mined = mined.map_err(|source| WalletError::Rpc {
                what: "nonce",
                address,
                source,
            })?;
            if mined < expected {
                behind.get_or_insert((address, expected, mined));
                still.push((address, expected));
            }
        }
        let Some((address, expected, mined)) = behind else {
            return Ok(());
        };
        let waited = started.elapsed();
        if waited >= timeout {
            return Err(WalletError::InclusionTimeout {
                address,
                expected,
                mined,
                waited,
            });
        }
        tracing::trace!(target: "spam::wallet", pending = still.len(), "waiting for inclusion");
        waiting = still;
        tokio::time::sleep(poll.min(timeout - waited)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn concurrently_keeps_input_order_and_bounds_in_flight() {
        use std::sync::{
            Arc,
            atomic::{AtomicUsize, Ordering},
        };
        let now = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let items: Vec<u64> = (0..50).collect();
        let out = concurrently(items, 4, |i| {
            let (now, peak) = (Arc::clone(&now), Arc::clone(&peak));
            async move {
                let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(n, Ordering::SeqCst);
                tokio::task::yield_now().await;
                now.fetch_sub(1, Ordering::SeqCst);
                i * 2
            }
        })
        .await;
        assert_eq!(out, (0..50).map(|i| i * 2).collect::<Vec<_>>());
        assert!(peak.load(Ordering::SeqCst) <= 4);
    }
}
