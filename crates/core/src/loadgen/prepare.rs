//! The signing stage: for each tick, a sender, a nonce, a built transaction, signed on the
//! blocking pool a little ahead of its intended time (or all before the run, when presigning).

use std::{collections::VecDeque, sync::Arc, time::Duration};

use alloy::{
    eips::eip2718::Encodable2718,
    primitives::{Address, Bytes, TxHash},
    providers::RootProvider,
};
use rand::{SeedableRng, rngs::StdRng};
use spam_nonce::{NonceManager, Reservation};
use tokio::{sync::mpsc, time::Instant};
use tokio_util::sync::CancellationToken;

use super::{
    gate::Gate,
    ledger::DropReason,
    limit::{SendLimit, Slot},
};
use crate::{
    fees::FeeOracle, pool::Lease, pool::WalletPool, task::BuildRequest, task::TxBuilder,
    wallet::Wallet,
};
use crate::{profile::Schedule, session::Session};

/// Ticks signed in one trip to the blocking pool.
const CHUNK: usize = 256;

/// A tick, ready to send or already known to be dropped.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) index: u64,
    pub(crate) item: Result<Signed, DropReason>,
}

/// A signed transaction and what it holds: its nonce reservation and its sender's lease.
/// Dropping it unsent rolls the nonce back and frees the lease.
#[derive(Debug)]
pub(crate) struct Signed {
    /// When its signature was made.
    pub(crate) signed_at: Instant,
    pub(crate) raw: Bytes,
    pub(crate) hash: TxHash,
    pub(crate) sender: Address,
    pub(crate) reservation: Reservation,
    pub(crate) lease: Option<Lease<Arc<Wallet>>>,
    /// Its place under the send cap, taken before its nonce (live ticks).
    pub(crate) slot: Option<Slot>,
    /// Which of the builder's kinds it is.
    pub(crate) kind: Option<u16>,
}

pub(crate) struct Preparer {
    pub(crate) builder: Arc<dyn TxBuilder>,
    pub(crate) pool: WalletPool<Arc<Wallet>>,
    pub(crate) nonces: NonceManager,
    pub(crate) fees: FeeOracle<RootProvider>,
    pub(crate) chain_id: u64,
    pub(crate) rng: StdRng,
    pub(crate) gate: Arc<Gate>,
    /// The send cap live ticks take their place under before a nonce is reserved: a tick
    /// dropped at the cap after its nonce would leave a hole behind its sender's later ones.
    pub(crate) limit: Arc<SendLimit>,
    /// The endpoints' request caps.
    pub(crate) router: Arc<crate::endpoint::Router>,
    pub(crate) next_wallet: usize,
}

/// How a chunk picks senders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Senders {
    /// Leases from the pool (per-wallet in-flight cap), breaker admission applied.
    Leased,
    /// Round-robin over all wallets, no cap: the whole run is signed before it starts.
    RoundRobin,
}

impl Preparer {
    /// A preparer for `builder`'s transactions from `session`'s senders, nonces and fees,
    /// behind `gate` and `limit`.
    pub(crate) fn new(
        builder: Arc<dyn TxBuilder>,
        session: &Session,
        gate: Arc<Gate>,
        limit: Arc<SendLimit>,
    ) -> Self {
        Self {
            builder,
            pool: session.pool.clone(),
            nonces: session.nonces.clone(),
            fees: session.fees.clone(),
            chain_id: session.chain_id,
            rng: StdRng::seed_from_u64(session.config.seed),
            gate,
            limit,
            router: Arc::clone(&session.router),
            next_wallet: 0,
        }
    }

    /// Signs every tick due before `end`, before the run starts.
    pub(crate) async fn presign(
        mut self,
        mut schedule: Schedule,
        end: Duration,
    ) -> VecDeque<Prepared> {
        let mut all = VecDeque::new();
        let mut chunk = Vec::with_capacity(CHUNK);
        loop {
            chunk.clear();
            while chunk.len() < CHUNK * 4 {
                let index = schedule.next_index();
                match schedule.next_due() {
                    Some(due) if due < end => chunk.push((index, Instant::now())),
                    _ => break,
                }
            }
            if chunk.is_empty() {
                return all;
            }
            all.extend(self.prepare(&chunk, Senders::RoundRobin).await);
        }
    }

    /// Signs ticks `lookahead` ahead of their intended time and hands them to the pacer in
    /// order, until `end` or `cancel`. Ticks already due when their turn comes are skipped
    /// without signing them (the pacer counts them as not signed in time).
    pub(crate) async fn run_live(
        mut self,
        mut schedule: Schedule,
        start: Instant,
        end: Duration,
        lookahead: Duration,
        out: mpsc::Sender<Prepared>,
        cancel: CancellationToken,
    ) {
        let mut next = schedule.next_tick();
        let mut chunk = Vec::with_capacity(CHUNK);
        // How long the last chunk took from picking its ticks to handing them over: a tick due
        // sooner than that cannot be signed in time. Without it, a preparer that fell behind
        // keeps signing ticks that are already due by the time they are ready, which the
        // pacer has dropped by then: under overload almost nothing would go out.
        let mut lag = Duration::ZERO;
        while let Some((_, due)) = next.filter(|&(_, due)| due < end) {
            let intended = start + due;
            let now = Instant::now();
            if intended > now + lookahead {
                tokio::select! {
                    () = tokio::time::sleep_until(intended - lookahead) => continue,
                    () = cancel.cancelled() => return,
                }
            }
            // Ticks due before this chunk could be signed are left out: the pacer finds
            // nothing prepared for them and counts them dropped (not signed in time). Skipping
            // costs the same whatever the rate, and nothing is held for them.
            let signable = (now + lag).saturating_duration_since(start).min(end);
            if next.is_some_and(|(_, due)| due < signable) {
                schedule.skip_until(signable);
                next = schedule.next_tick();
            }
            chunk.clear();
            while let Some((index, due)) = next.filter(|&(_, due)| due < end) {
                let intended = start + due;
                if intended > now + lookahead || chunk.len() == CHUNK {
                    break;
                }
                chunk.push((index, intended));
                next = schedule.next_tick();
            }
            if chunk.is_empty() {
                continue;
            }
            for prepared in self.prepare(&chunk, Senders::Leased).await {
                if out.send(prepared).await.is_err() {
                    return; // the pacer has stopped
                }
            }
            // Half the lookahead at most: beyond that the signer is far behind anyway, and the
            // preparer must keep ticks to sign.
            lag = (lag / 2).max(now.elapsed()).min(lookahead / 2);
            if cancel.is_cancelled() {
                return;
            }
        }
    }

    async fn prepare(&mut self, ticks: &[(u64, Instant)], senders: Senders) -> Vec<Prepared> {
        // The block scan keeps the cached fees current (`observe_block`); asking the node here
        // would stall signing behind a busy node.
        let fees = match self.fees.cached() {
            Some(fees) => Some(fees),
            None => match self.fees.current().await {
                Ok(fees) => Some(fees),
                Err(err) => {
                    tracing::warn!(target: "spam::loadgen", %err, "reading fees failed");
                    None
                }
            },
        };
        let mut out = Vec::with_capacity(ticks.len());
        let mut to_sign = Vec::with_capacity(ticks.len());
        for &(index, intended) in ticks {
            let item = match fees {
                None => Err(DropReason::Prepare),
                Some(fees) => self.reserve(intended, senders).await.map(
                    |(wallet, lease, slot, reservation)| {
                        let (tx, kind) = self.builder.build_kind(BuildRequest {
                            sender: wallet.address(),
                            nonce: reservation.nonce(),
                            fees,
                            chain_id: self.chain_id,
                            rng: &mut self.rng,
                        });
                        to_sign.push((out.len(), Arc::clone(&wallet), tx));
                        let kind = kind.and_then(|k| u16::try_from(k).ok());
                        (wallet, lease, slot, reservation, kind)
                    },
                ),
            };
            out.push((index, item));
        }
        let signed = sign_in_parallel(to_sign).await;
        let signed_at = Instant::now();

        let mut signed = signed.into_iter().peekable();
        out.into_iter()
            .enumerate()
            .map(|(at, (index, item))| {
                let item = item.and_then(|(wallet, lease, slot, reservation, kind)| {
                    let (_, result) = signed
                        .next_if(|(s, _)| *s == at)
                        .expect("every reserved tick was signed");
                    match result {
                        Ok((raw, hash)) => Ok(Signed {
                            signed_at,
                            raw,
                            hash,
                            sender: wallet.address(),
                            reservation,
                            lease,
                            slot,
                            kind,
                        }),
                        Err(err) => {
                            tracing::warn!(target: "spam::loadgen", %err, "signing failed");
                            Err(DropReason::Prepare)
                        }
                    }
                });
                Prepared { index, item }
            })
            .collect()
    }

    /// A sender and a nonce for the tick due at `intended`.
    async fn reserve(
        &mut self,
        intended: Instant,
        senders: Senders,
    ) -> Result<Reserved, DropReason> {
        let (wallet, lease, slot) = match senders {
            Senders::Leased => {
                self.gate.admit(intended)?;
                let slot = self.limit.try_acquire().ok_or(DropReason::InFlightCap)?;
                let lease = self.pool.try_acquire().ok_or(DropReason::WalletCap)?;
                if !self.router.admit(lease.address()) {
                    return Err(DropReason::EndpointRateLimit);
                }
                (Arc::clone(lease.wallet()), Some(lease), Some(slot))
            }
            Senders::RoundRobin => {
                let wallets = self.pool.wallets();
                let wallet = Arc::clone(&wallets[self.next_wallet % wallets.len()]);
                self.next_wallet = self.next_wallet.wrapping_add(1);
                (wallet, None, None)
            }
        };
        let sender = wallet.address();
        let reservation = match self.nonces.try_reserve(sender) {
            Ok(r) => r,
            Err(_) => self
                .nonces
                .reserve(sender)
                .await
                .map_err(|_| DropReason::Prepare)?,
        };
        Ok((wallet, lease, slot, reservation))
    }
}

/// A tick's sender, its lease and send-cap slot (live ticks), and its nonce.
type Reserved = (
    Arc<Wallet>,
    Option<Lease<Arc<Wallet>>>,
    Option<Slot>,
    Reservation,
);

/// A transaction to sign: its slot in the chunk, its sender, the transaction.
type ToSign = (usize, Arc<Wallet>, alloy::consensus::TypedTransaction);
/// A signature made: the slot, the encoded bytes and hash, or why it failed.
type SignedSlot = (usize, Result<(Bytes, TxHash), crate::wallet::WalletError>);

/// Signs on the blocking pool, split over the machine's cores; results in slot order.
async fn sign_in_parallel(mut to_sign: Vec<ToSign>) -> Vec<SignedSlot> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Parts of at least 32: below that a trip to the pool costs more than it saves.
    let size = to_sign.len().div_ceil(cores).max(32);
    let mut parts = Vec::new();
    while !to_sign.is_empty() {
        let rest = to_sign.split_off(size.min(to_sign.len()));
        let part = std::mem::replace(&mut to_sign, rest);
        parts.push(tokio::task::spawn_blocking(move || {
            part.into_iter()
                .map(|(slot, wallet, tx)| {
                    let signed = wallet.sign(tx).map(|envelope| {
                        (Bytes::from(envelope.encoded_2718()), *envelope.tx_hash())
                    });
                    (slot, signed)
                })
                .collect::<Vec<_>>()
        }));
    }
    let mut signed = Vec::new();
    for part in parts {
        signed.extend(part.await.expect("signing does not panic"));
    }
    signed
}

impl std::fmt::Debug for Preparer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Preparer")
            .field("builder", &self.builder.name())
            .finish_non_exhaustive()
    }
}
