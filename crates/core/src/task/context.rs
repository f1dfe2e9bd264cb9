//! What a task sees while it runs: its wallet, the node, nonces, fees and the run's state.

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use alloy::{
    primitives::{Address, TxHash},
    providers::RootProvider,
};
use parking_lot::{Mutex, MutexGuard};
use rand::{SeedableRng, rngs::StdRng};
use spam_nonce::NonceManager;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::inflight::InFlight;
use crate::{fees::FeeOracle, rpc::RetryPolicy, wallet::Wallet};

/// A contract or token a task created, recorded so later tasks (and later runs) reuse it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct CreatedAsset {
    /// Where it lives.
    pub address: Address,
    /// What it is, e.g. `"erc20"`, `"counter"`.
    pub kind: String,
    /// The wallet that created it.
    pub creator: Address,
}

impl CreatedAsset {
    /// An asset of `kind` at `address`, created by `creator`.
    pub fn new(address: Address, kind: impl Into<String>, creator: Address) -> Self {
        Self {
            address,
            kind: kind.into(),
            creator,
        }
    }
}

/// Counts of what the engine did to nonces, for the report.
#[derive(Debug, Default)]
pub(crate) struct NonceCounters {
    pub(crate) resyncs: AtomicU64,
    pub(crate) fast_forwards: AtomicU64,
    pub(crate) holes_filled: AtomicU64,
}

impl NonceCounters {
    /// Counts what resolving a failed send did.
    pub(crate) fn count(&self, step: crate::rpc::NonceStep) {
        use crate::rpc::NonceStep;
        let counter = match step {
            NonceStep::Resynced | NonceStep::Rewound => &self.resyncs,
            NonceStep::FastForwarded => &self.fast_forwards,
            NonceStep::Committed | NonceStep::RolledBack => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts, for the report.
    pub(crate) fn stats(&self) -> crate::report::NonceStats {
        crate::report::NonceStats {
            resyncs: self.resyncs.load(Ordering::Relaxed),
            fast_forwards: self.fast_forwards.load(Ordering::Relaxed),
            holes_filled: self.holes_filled.load(Ordering::Relaxed),
        }
    }
}

/// Everything shared by all tasks of a run. Built by the engine; cheap to share.
pub struct RunContext {
    pub(crate) provider: RootProvider,
    pub(crate) nonces: NonceManager,
    pub(crate) fees: FeeOracle<RootProvider>,
    pub(crate) chain_id: u64,
    pub(crate) retry: RetryPolicy,
    pub(crate) receipt_poll: Duration,
    pub(crate) cancel: CancellationToken,
    pub(crate) assets: Mutex<Vec<CreatedAsset>>,
    pub(crate) nonce_counters: Arc<NonceCounters>,
    pub(crate) config: serde_json::Value,
    /// The engine's ledger, breaker and reconciliation, when an engine runs the tasks.
    pub(crate) inflight: Option<Arc<InFlight>>,
    /// The chain head, when an engine polls it for the run's tasks.
    pub(crate) head: Option<tokio::sync::watch::Receiver<u64>>,
    /// Where senders refused for lack of funds are parked, under an engine.
    pub(crate) parking: Option<Arc<crate::session::Parking>>,
}

impl RunContext {
    /// A run context over `provider` for `chain_id`; nonces from `nonces`, fees from `fees`.
    pub fn new(
        provider: RootProvider,
        nonces: NonceManager,
        fees: FeeOracle<RootProvider>,
        chain_id: u64,
    ) -> Self {
        Self {
            provider,
            nonces,
            fees,
            chain_id,
            retry: RetryPolicy::default(),
            receipt_poll: Duration::from_millis(100),
            cancel: CancellationToken::new(),
            assets: Mutex::new(Vec::new()),
            nonce_counters: Arc::default(),
            config: serde_json::Value::Null,
            inflight: None,
            head: None,
            parking: None,
        }
    }

    /// How often a task waiting for a receipt asks for it (default 100 ms).
    pub const fn with_receipt_poll(mut self, every: Duration) -> Self {
        self.receipt_poll = every;
        self
    }

    /// Retries of sends and reads (default [`RetryPolicy::default`]).
    pub const fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Cancelled when the run must stop at once (after the grace period).
    pub fn with_cancel(mut self, cancel: CancellationToken) -> Self {
        self.cancel = cancel;
        self
    }

    /// Shares `counters` with the run's other parts (the session counts its own repairs there).
    pub(crate) fn with_counters(mut self, counters: Arc<NonceCounters>) -> Self {
        self.nonce_counters = counters;
        self
    }

    /// Tracks every transaction tasks send, gates their calls and reconciles their senders.
    pub(crate) fn with_inflight(mut self, inflight: Arc<InFlight>) -> Self {
        self.inflight = Some(inflight);
        self
    }

    /// Senders the node refuses for lack of funds are parked here (the engine's pool skips them).
    pub(crate) fn with_parking(mut self, parking: Arc<crate::session::Parking>) -> Self {
        self.parking = Some(parking);
        self
    }

    /// The chain head as an engine polls it: receipt waits ask again only on a new block.
    pub(crate) fn with_head(mut self, head: tokio::sync::watch::Receiver<u64>) -> Self {
        self.head = Some(head);
        self
    }

    /// The run's settings as JSON (the engine puts the same value in the report's run info).
    pub fn with_config(mut self, config: serde_json::Value) -> Self {
        self.config = config;
        self
    }

    /// Counts what resolving a failed send did, for the report's nonce stats.
    pub(crate) fn count(&self, step: crate::rpc::NonceStep) {
        self.nonce_counters.count(step);
    }

    /// Assets created so far in this run.
    pub fn assets(&self) -> Vec<CreatedAsset> {
        self.assets.lock().clone()
    }
}

impl fmt::Debug for RunContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunContext")
            .field("chain_id", &self.chain_id)
            .field("nonces", &self.nonces)
            .field("fees", &self.fees)
            .finish_non_exhaustive()
    }
}

/// When one transaction of a task was sent, answered and included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxTiming {
    /// The transaction.
    pub hash: TxHash,
    /// Its nonce.
    pub nonce: u64,
    /// Handed to the node.
    pub sent: Instant,
    /// The node answered the send.
    pub acked: Instant,
    /// Seen in a block (receipt observed), with the gas it used.
    pub included: Option<(Instant, u64)>,
}

/// What a running task gets: its leased wallet, the node, the shared nonce manager and fee
/// oracle, a seeded RNG, its worker id and the run's cancellation token.
pub struct TaskContext {
    pub(super) run: Arc<RunContext>,
    pub(super) wallet: Arc<Wallet>,
    /// The wallet's own way to the node (its proxy), when it has one.
    provider: Option<RootProvider>,
    worker: usize,
    /// The task's name, for the run's transaction accounting.
    pub(super) task: Arc<str>,
    rng: Mutex<StdRng>,
    pub(super) txs: Mutex<Vec<TxTiming>>,
}

impl TaskContext {
    /// A context for one task run on `wallet` by `worker`, its RNG seeded with `seed`.
    pub fn new(run: Arc<RunContext>, wallet: Arc<Wallet>, worker: usize, seed: u64) -> Self {
        Self {
            run,
            wallet,
            provider: None,
            worker,
            task: Arc::from("task"),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            txs: Mutex::new(Vec::new()),
        }
    }

    /// Sends this task's RPC through `provider` instead of the run's shared one. The
    /// [`Spammer`](crate::Spammer) does this when it has a proxy pool: each wallet's requests
    /// go through the proxy assigned to it.
    #[must_use]
    pub fn with_provider(mut self, provider: RootProvider) -> Self {
        self.provider = Some(provider);
        self
    }

    /// Names the task this context runs, for the run's transaction accounting.
    pub(crate) fn with_task(mut self, task: Arc<str>) -> Self {
        self.task = task;
        self
    }

    /// The leased wallet.
    pub fn wallet(&self) -> &Wallet {
        &self.wallet
    }

    /// The node (HTTP): the wallet's own provider if the engine gave it one (through its
    /// proxy, see [`with_provider`](Self::with_provider)), else the run's shared one.
    pub fn provider(&self) -> &RootProvider {
        self.provider.as_ref().unwrap_or(&self.run.provider)
    }

    /// The run's nonce manager, shared by all workers.
    pub fn nonces(&self) -> &NonceManager {
        &self.run.nonces
    }

    /// The run's fee oracle, shared by all workers.
    pub fn fees(&self) -> &FeeOracle<RootProvider> {
        &self.run.fees
    }

    /// The chain id, checked against the mainnet guard before the run started.
    pub fn chain_id(&self) -> u64 {
        self.run.chain_id
    }

    /// Retry policy for sends and reads.
    pub fn retry(&self) -> &RetryPolicy {
        &self.run.retry
    }

    /// How often to poll for a receipt.
    pub fn receipt_poll(&self) -> Duration {
        self.run.receipt_poll
    }

    /// The run's settings (workers, stop, timeouts, task weights …) as JSON.
    pub fn config(&self) -> &serde_json::Value {
        &self.run.config
    }

    /// The worker running this task.
    pub const fn worker(&self) -> usize {
        self.worker
    }

    /// The task's random numbers; seeded from the run's seed, so a run is reproducible.
    pub fn rng(&self) -> MutexGuard<'_, StdRng> {
        self.rng.lock()
    }

    /// Cancelled when the run stops for good; long waits should select on it.
    pub fn cancelled(&self) -> &CancellationToken {
        &self.run.cancel
    }

    /// Records an asset the task created.
    pub fn record_asset(&self, asset: CreatedAsset) {
        self.run.assets.lock().push(asset);
    }

    /// The first recorded asset of `kind`, if any.
    pub fn find_asset(&self, kind: &str) -> Option<CreatedAsset> {
        self.run
            .assets
            .lock()
            .iter()
            .find(|a| a.kind == kind)
            .cloned()
    }

    /// Records the timing of one transaction (the engine turns them into latencies).
    ///
    /// [`send_raw`](Self::send_raw) and [`wait_receipt`](Self::wait_receipt) record their
    /// transactions themselves; recording one of those again replaces its timing. A
    /// transaction sent another way is accounted for by the engine from this record.
    pub fn record_tx(&self, timing: TxTiming) {
        {
            let mut txs = self.txs.lock();
            if let Some(known) = txs.iter_mut().find(|t| t.hash == timing.hash) {
                *known = timing;
                return;
            }
            txs.push(timing);
        }
        if let Some(inflight) = &self.run.inflight {
            inflight.ledger.adopt(super::inflight::Entry {
                hash: timing.hash,
                sender: self.wallet.address(),
                nonce: timing.nonce,
                raw: None,
                task: Arc::clone(&self.task),
                sent: timing.sent,
                acked: Some(timing.acked),
                answered: true,
                seen: timing.included.map(|(at, gas)| super::inflight::Seen {
                    block: None,
                    at,
                    gas,
                }),
                task_saw: timing.included.is_some(),
            });
        }
    }

    pub(crate) fn take_txs(&self) -> Vec<TxTiming> {
        std::mem::take(&mut self.txs.lock())
    }

    pub(crate) fn run(&self) -> &RunContext {
        &self.run
    }
}

impl fmt::Debug for TaskContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskContext")
            .field("wallet", &self.wallet)
            .field("worker", &self.worker)
            .field("own_provider", &self.provider.is_some())
            .finish_non_exhaustive()
    }
}
