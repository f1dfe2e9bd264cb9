//! Senders that cannot pay: parked (the pool skips them) instead of retried into "insufficient
//! funds" storms, and, when a funder is set ([`TopUp`]), topped up in the background and let
//! back in.

use std::{
    collections::HashSet,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
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
    parkings: AtomicU64,
}

impl Parking {
    /// Parks `sender`; counted once per parking.
    pub(crate) fn park(&self, sender: Address) {
        if self.parked.lock().insert(sender) {
            self.parkings.fetch_add(1, Ordering::Relaxed);
            tracing::info!(target: "spam::wallet", %sender, "sender parked: insufficient funds");
        }
    }

    pub(crate) fn is_parked(&self, sender: &Address) -> bool {
        self.parked.lock().contains(sender)
    }

    /// Lets `senders` send again; whether any was parked.
    fn unpark(&self, senders: impl IntoIterator<Item = Address>) -> bool {
        let mut parked = self.parked.lock();
        let mut any = false;
        for sender in senders {
            any |= parked.remove(&sender);
        }
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

    /// Stops it (a round under way finishes first) and returns what it did.
    pub(crate) async fn stop(self) -> TopUpStats {
        self.stop.cancel();
        self.handle.await.unwrap_or_default()
    }
}

async fn run(with: TopUpWith, stop: CancellationToken) -> TopUpStats {
    let mut stats = TopUpStats::default();
    loop {
        tokio::select! {
            () = stop.cancelled() => return stats,
            () = tokio::time::sleep(with.config.every) => {}
        }
        if !round(&with, &mut stats).await {
            stats.failed_rounds += 1;
        }
    }
}

/// One look at every balance: the low ones topped up, those holding enough let back in.
/// `false` when something low could not be funded.
async fn round(with: &TopUpWith, stats: &mut TopUpStats) -> bool {
    let Some(fees) = with.fees.cached() else {
        return false;
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
            return false;
        }
    };
    let (low, enough): (Vec<_>, Vec<_>) = with
        .senders
        .iter()
        .zip(balances)
        .filter(|&(&address, _)| address != funder.address())
        .partition(|&(_, balance)| balance < with.config.threshold);
    if with.parking.unpark(enough.into_iter().map(|(&a, _)| a)) {
        with.pool.refresh();
    }
    if low.is_empty() {
        return true;
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
            refused.is_empty()
        }
        Err(err) => {
            tracing::warn!(target: "spam::wallet", %err, senders = transfers.len(), "top-up failed; low senders stay parked when refused");
            false
        }
    }
}
