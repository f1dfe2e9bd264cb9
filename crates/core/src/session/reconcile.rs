//! Mid-run reconciliation of one sender: compare what the node holds with the transactions we
//! keep in flight, re-broadcast the exact bytes it lost, fill nonces nobody will send, and
//! name the transactions whose nonce another transaction took.
//!
//! Replay safety: only the same signed bytes are sent again (same hash), so the node sees one
//! transaction however often it arrives, and *already known* counts as success. A nonce below
//! our lowest in-flight one that the node's pool lacks, and that the nonce manager holds as a
//! hole (a send refused for good), is filled with a zero-value self-transfer reserved from the
//! manager like any other transaction, so it never races a workload transaction for a nonce.

use std::{collections::HashMap, sync::Arc, time::Duration};

use alloy::{
    eips::eip2718::Encodable2718,
    primitives::{Address, Bytes, TxHash, U64, U256},
    providers::{Provider, RootProvider},
    rpc::client::BatchRequest,
};

use spam_nonce::NonceManager;

use crate::{
    fees::FeeOracle,
    rpc::{ErrorClass, RetryPolicy, classify},
    wallet::Wallet,
};

/// A transaction of ours whose inclusion is not yet seen.
#[derive(Debug, Clone)]
pub(crate) struct Unsettled {
    pub(crate) hash: TxHash,
    pub(crate) nonce: u64,
    pub(crate) raw: Bytes,
}

/// What became of one [`Unsettled`] transaction during reconciliation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    /// The node has it in its pool, nothing was sent.
    Held,
    /// It is in this block (one the block scan may have missed: a node that restarted
    /// re-mines block numbers).
    Mined(u64),
    /// The node did not have it; its bytes were sent again and taken.
    Rebroadcast,
    /// Another transaction used its nonce; it can never land.
    Superseded,
    /// The node could not be asked, or refused the re-broadcast for a reason that may pass
    /// (a full pool, a rate limit): left as it was, tried again at the next reconciliation.
    Unresolved,
}

/// What reconciling one sender found and did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Reconciled {
    /// The fate of each transaction passed in, by hash.
    pub(crate) fates: HashMap<TxHash, Fate>,
    /// Nonces below our lowest in-flight one that the node lacked, filled with self-transfers.
    pub(crate) filled: u64,
    /// Whether the node answered the nonce reads (an unreachable node reconciles nothing).
    pub(crate) reached: bool,
}

/// The session's parts reconciliation needs, cheap to clone into a background task.
#[derive(Clone)]
pub(crate) struct Reconciler {
    router: Arc<crate::endpoint::Router>,
    nonces: NonceManager,
    fees: FeeOracle<RootProvider>,
    chain_id: u64,
    wallets: Arc<HashMap<Address, Arc<Wallet>>>,
    timeout: Duration,
    retry: RetryPolicy,
}

impl Reconciler {
    /// Reconciles each sender over its send endpoint of the moment (its pool is the one that
    /// matters).
    pub(crate) fn new(
        router: Arc<crate::endpoint::Router>,
        nonces: NonceManager,
        fees: FeeOracle<RootProvider>,
        chain_id: u64,
        wallets: &[Arc<Wallet>],
        timeout: Duration,
    ) -> Self {
        Self {
            router,
            nonces,
            fees,
            chain_id,
            wallets: Arc::new(
                wallets
                    .iter()
                    .map(|w| (w.address(), Arc::clone(w)))
                    .collect(),
            ),
            timeout,
            retry: RetryPolicy::default(),
        }
    }

    /// Reconciles `sender`, whose unsettled transactions are `txs` (any order).
    ///
    /// Reads the sender's mined and pending nonces. A transaction below the mined nonce is
    /// looked up by hash (absent: superseded); one below the pending nonce is in the pool
    /// (held); from the pending nonce up, the bytes are sent again in nonce order, after
    /// filling the missing nonces below each that the nonce manager holds as holes. Cancel
    /// safe in effect: every send is a replay of known bytes or a filler on a reserved nonce.
    pub(crate) async fn reconcile(&self, sender: Address, mut txs: Vec<Unsettled>) -> Reconciled {
        let mut out = Reconciled::default();
        txs.sort_by_key(|t| t.nonce);
        let provider = &self.router.provider_for(sender);
        let Some((latest, pending)) = self.nonces(provider, sender).await else {
            out.fates = txs.iter().map(|t| (t.hash, Fate::Unresolved)).collect();
            return out;
        };
        out.reached = true;
        let mut expected = pending;
        for tx in &txs {
            let fate = if tx.nonce < latest {
                self.look_up(provider, tx).await
            } else if tx.nonce < pending {
                Fate::Held
            } else {
                if tx.nonce > expected {
                    out.filled += self.fill(provider, sender, expected, tx.nonce).await;
                }
                expected = tx.nonce + 1;
                self.rebroadcast(provider, tx).await
            };
            out.fates.insert(tx.hash, fate);
        }
        out
    }

    /// `(latest, pending)` nonces of `sender`, read in one batch (retried on transient errors:
    /// a lone 503 must not leave a sender unreconciled).
    async fn nonces(&self, provider: &RootProvider, sender: Address) -> Option<(u64, u64)> {
        let once = || async {
            // A batch on the provider's client (`new_batch` is on `RpcClient`, not on the
            // `ClientRef` a provider hands out).
            let mut batch = BatchRequest::new(provider.client());
            let latest =
                batch.add_call::<_, U64>("eth_getTransactionCount", &(sender, "latest"))?;
            let pending =
                batch.add_call::<_, U64>("eth_getTransactionCount", &(sender, "pending"))?;
            batch.send().await?;
            Ok((latest.await?.to::<u64>(), pending.await?.to::<u64>()))
        };
        tokio::time::timeout(self.timeout, self.retry.retry(once))
            .await
            .ok()?
            .ok()
    }

    /// A transaction below the node's mined nonce: mined when the node knows its hash (in
    /// which block), else another transaction took the nonce.
    async fn look_up(&self, provider: &RootProvider, tx: &Unsettled) -> Fate {
        let found: Result<Option<serde_json::Value>, _> = tokio::time::timeout(
            self.timeout,
            self.retry.retry(|| {
                provider
                    .client()
                    .request("eth_getTransactionByHash", (tx.hash,))
            }),
        )
        .await
        .map_err(drop)
        .and_then(|r| r.map_err(drop));
        match found {
            Ok(Some(tx)) => match tx.get("blockNumber").and_then(|n| n.as_str()) {
                Some(n) => u64::from_str_radix(n.trim_start_matches("0x"), 16)
                    .map_or(Fate::Held, Fate::Mined),
                None => Fate::Held,
            },
            Ok(None) => Fate::Superseded,
            Err(()) => Fate::Unresolved,
        }
    }

    /// Sends `tx`'s bytes again.
    async fn rebroadcast(&self, provider: &RootProvider, tx: &Unsettled) -> Fate {
        // The same bytes: safe to retry, and *already known* after a lost answer means held.
        let send = self.retry.retry(|| provider.send_raw_transaction(&tx.raw));
        let sent = tokio::time::timeout(self.timeout, send).await;
        match sent {
            Ok(Ok(_)) => Fate::Rebroadcast,
            Ok(Err(err)) => match classify(&err) {
                ErrorClass::AlreadyKnown => Fate::Held,
                // Mined or replaced since the nonce read: the hash tells which.
                ErrorClass::NonceTooLow { .. } | ErrorClass::ReplacementUnderpriced => {
                    self.look_up(provider, tx).await
                }
                _ => Fate::Unresolved,
            },
            Err(_) => Fate::Unresolved,
        }
    }

    /// Fills the nonces in `from..to` of `sender` that the nonce manager hands out as holes
    /// (lowest first) with zero-value self-transfers; returns how many the node took. A nonce
    /// the manager does not hand out (a transaction of ours holds it, signed and not yet
    /// sent) is left alone, and so is everything above it.
    async fn fill(&self, provider: &RootProvider, sender: Address, from: u64, to: u64) -> u64 {
        let Some(wallet) = self.wallets.get(&sender) else {
            return 0;
        };
        let Ok(fees) = self.fees.current().await else {
            return 0;
        };
        let mut filled = 0;
        loop {
            let Ok(reservation) = self.nonces.try_reserve(sender) else {
                return filled;
            };
            let nonce = reservation.nonce();
            if !(from..to).contains(&nonce) {
                let _ = reservation.rollback();
                return filled;
            }
            let tx = fees.transfer(self.chain_id, nonce, sender, U256::ZERO);
            let Ok(envelope) = wallet.sign(tx) else {
                let _ = reservation.rollback();
                return filled;
            };
            let sent = tokio::time::timeout(
                self.timeout,
                provider.send_raw_transaction(&envelope.encoded_2718()),
            )
            .await;
            match sent {
                Ok(Ok(_)) => {
                    let _ = reservation.commit();
                    filled += 1;
                }
                Ok(Err(err)) if classify(&err) == ErrorClass::AlreadyKnown => {
                    let _ = reservation.commit();
                }
                // No answer: it may be in the pool, so the nonce stays used.
                Err(_) => {
                    let _ = reservation.commit();
                    return filled;
                }
                Ok(Err(err)) if classify(&err).outcome_unknown() => {
                    let _ = reservation.commit();
                    return filled;
                }
                Ok(Err(_)) => {
                    let _ = reservation.rollback();
                    return filled;
                }
            }
        }
    }
}

impl std::fmt::Debug for Reconciler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reconciler")
            .field("wallets", &self.wallets.len())
            .finish_non_exhaustive()
    }
}
