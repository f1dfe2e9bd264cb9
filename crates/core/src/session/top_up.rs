//! Senders that cannot pay: parked (the pool skips them) instead of retried into "insufficient
//! funds" storms, and, when a funder is set ([`TopUp`]), topped up in the background and let
//! back in.

use std::{
    collections::HashSet,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use alloy::{
    primitives::{Address, U256},
    providers::RootProvider,
};
use parking_lot::Mutex;
use spam_nonce::NonceManager;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::{
    fees::FeeOracle,
    pool::WalletPool,
    wallet::{Funder, Wallet},
};

/// Keeping senders funded during a run: every `every`, the senders holding less than
/// `threshold` are sent enough to hold `target` by `funder`, with nonces from the run's own
/// nonce manager (the funder may be a sender too).
#[derive(Debug, Clone)]
pub struct TopUp {
    pub(crate) funder: Wallet,
    pub(crate) threshold: U256,
    pub(crate) target: U256,
    pub(crate) every: Duration,
}

impl TopUp {
    /// Tops senders below `threshold` up to `target` (at least `threshold`) from `funder`,
    /// looking every 2 s.
    pub fn new(funder: Wallet, threshold: U256, target: U256) -> Self {
        Self {
            funder,
            threshold,
            target: target.max(threshold),
            every: Duration::from_secs(2),
        }
    }

    /// How often the balances are read (default 2 s; at least 100 ms).
    pub fn with_every(mut self, every: Duration) -> Self {
        self.every = every.max(Duration::from_millis(100));
        self
    }
}

/// The senders parked because the node refused them for lack of funds.
#[derive(Debug, Default)]
pub(crate) struct Parking {
    parked: Mutex<HashSet<Address>>,
    /// How many are parked: the pool asks on every lease, and almost always none is.
    count: AtomicUsize,
    parkings: AtomicU64,
}

impl Parking {
    /// Parks `sender`; counted once per parking.
    pub(crate) fn park(&self, sender: Address) {
        let mut parked = self.parked.lock();
        if parked.insert(sender) {
            self.count.store(parked.len(), Ordering::Release);
            self.parkings.fetch_add(1, Ordering::Relaxed);
            tracing::info!(target: "spam::wallet", %sender, "sender parked: insufficient funds");
        }
    }

    pub(crate) fn is_parked(&self, sender: &Address) -> bool {
        self.count.load(Ordering::Acquire) > 0 && self.parked.lock().contains(sender)
    }

    /// Lets `senders` send again; whether any was parked.
    fn unpark(&self, senders: impl IntoIterator<Item = Address>) -> bool {
        let mut parked = self.parked.lock();
        let mut any = false;
        for sender in senders {
            any |= parked.remove(&sender);
        }
        self.count.store(parked.len(), Ordering::Release);
        any
    }

    /// Times a sender was parked.
    pub(crate) fn parkings(&self) -> u64 {
        self.parkings.load(Ordering::Relaxed)
    }
}

/// What the background top-up did.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct TopUpStats {
    pub(crate) transfers: u64,
    pub(crate) value: U256,
    /// Rounds that could not fund what was low (the funder short, a read failed).
    pub(crate) failed_rounds: u64,
}

/// The background top-up of a run.
pub(crate) struct TopUpTask {
    stop: CancellationToken,
    handle: JoinHandle<TopUpStats>,
}

/// What the top-up works with.
pub(crate) struct TopUpWith {
    pub(crate) config: TopUp,
    pub(crate) provider: RootProvider,
    pub(crate) nonces: NonceManager,
    pub(crate) fees: FeeOracle<RootProvider>,
    pub(crate) chain_id: u64,
    pub(crate) senders: Vec<Address>,
    pub(crate) parking: Arc<Parking>,
    pub(crate) pool: WalletPool<Arc<Wallet>>,
}

impl TopUpTask {
    pub(crate) fn spawn(with: TopUpWith) -> Self {
        let stop = CancellationToken::new();
        let handle = tokio::spawn(run(with, stop.clone()));
        Self { stop, handle }
    }

    /// Stops it at once and returns what it did. A round under way is dropped: transfers
    /// already handed to the node finish on their own tasks (see
    /// [`Funder::fund_each`](crate::Funder::fund_each)), so the run's end never waits for
    /// a slow node to include a top-up.
    pub(crate) async fn stop(self) -> TopUpStats {
        self.stop.cancel();
        self.handle.await.unwrap_or_default()
    }
}

async fn run(with: TopUpWith, stop: CancellationToken) -> TopUpStats {
    let mut stats = TopUpStats::default();
    let mut wait = with.config.every;
    loop {
        tokio::select! {
            () = stop.cancelled() => return stats,
            () = tokio::time::sleep(wait) => {}
        }
        let (funded, lowest) = tokio::select! {
            () = stop.cancelled() => return stats,
            done = round(&with, &mut stats) => done,
        };
        if !funded {
            stats.failed_rounds += 1;
        }
        wait = next_wait(with.config.every, lowest, with.config.threshold);
    }
}

/// The wait before the next round: `every` while a sender is near the threshold, up to 15×
/// longer while the poorest holds many thresholds (it cannot drain meanwhile: the threshold
/// is half a budget that lasts at least four waits).
fn next_wait(every: Duration, lowest: Option<U256>, threshold: U256) -> Duration {
    let factor = match lowest {
        Some(lowest) if !threshold.is_zero() => {
            let thresholds = lowest / threshold;
            u32::try_from(thresholds / U256::from(2)).unwrap_or(u32::MAX)
        }
        _ => 1,
    };
    every * factor.clamp(1, 15)
}

/// One look at every balance: the low ones topped up, those holding enough let back in.
/// Whether everything low was funded, and the lowest balance seen after it.
async fn round(with: &TopUpWith, stats: &mut TopUpStats) -> (bool, Option<U256>) {
    let Some(fees) = with.fees.cached() else {
        return (false, None);
    };
    let funder = Funder::new(
        with.provider.clone(),
        with.config.funder.clone(),
        with.nonces.clone(),
        with.chain_id,
        fees,
    );
    let balances = match funder.balances(&with.senders).await {
        Ok(balances) => balances,
        Err(err) => {
            tracing::warn!(target: "spam::wallet", %err, "top-up: reading balances failed");
            return (false, None);
        }
    };
    let (low, enough): (Vec<_>, Vec<_>) = with
        .senders
        .iter()
        .zip(balances)
        .filter(|&(&address, _)| address != funder.address())
        .partition(|&(_, balance)| balance < with.config.threshold);
    let lowest = enough.iter().map(|&(_, b)| b).min();
    if with.parking.unpark(enough.into_iter().map(|(&a, _)| a)) {
        with.pool.refresh();
    }
    if low.is_empty() {
        return (true, lowest);
    }
    let transfers: Vec<(Address, U256)> = low
        .iter()
        .map(|&(&address, balance)| (address, with.config.target - balance))
        .collect();
    match funder.fund_each(&transfers).await {
        Ok(report) => {
            stats.transfers += report.sent as u64;
            stats.value = stats.value.saturating_add(report.value);
            let refused: HashSet<Address> = report.failed.iter().map(|f| f.to).collect();
            let funded = transfers
                .iter()
                .map(|&(a, _)| a)
                .filter(|a| !refused.contains(a));
            if with.parking.unpark(funded) {
                with.pool.refresh();
            }
            // The ones just funded hold the target now.
            let lowest = lowest.map_or(with.config.target, |l| l.min(with.config.target));
            (refused.is_empty(), Some(lowest))
        }
        Err(err) => {
            tracing::warn!(target: "spam::wallet", %err, senders = transfers.len(), "top-up failed; low senders stay parked when refused");
            (false, None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rich_senders_are_looked_at_less_often() {
        let every = Duration::from_secs(2);
        let t = U256::from(100);
        assert_eq!(next_wait(every, None, t), every);
        assert_eq!(next_wait(every, Some(U256::from(150)), t), every);
        assert_eq!(next_wait(every, Some(U256::from(600)), t), every * 3);
        assert_eq!(next_wait(every, Some(U256::MAX), t), every * 15);
        assert_eq!(next_wait(every, Some(U256::from(5)), U256::ZERO), every);
    }
}
