//! The open-loop engine: a pacer sends at the intended times of a rate profile, whatever the
//! node does; confirmations come from a block scan. See [`LoadGen`].

mod background;
mod blocks;
mod el;
mod gate;
mod ledger;
mod pacer;
mod preconf;
mod prepare;
mod progress;
mod rate;
mod run;
mod send;
mod sink;
mod tracker;

use std::{fmt, num::NonZeroU32, sync::Arc, time::Duration};

use alloy::transports::{TransportError, http::reqwest::Url};
use tokio_util::sync::CancellationToken;

pub use self::{
    el::{Capabilities, ExecutionLayer, UnknownExecutionLayer},
    preconf::{PreconfError, PreconfEvent, PreconfSource, PreconfStatus, WsPreconfSource},
    progress::Progress,
    rate::{Rate, RateError, Schedule, Step},
    send::SendStrategy,
};
use crate::{
    GuardError, MainnetPolicy, PoolError, Report, TxBuilder, Wallet, breaker::BreakerConfig,
};

/// Errors that keep an open-loop run from starting; failures during a run are counted in the
/// [`Report`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadGenError {
    /// A required setting is missing or invalid.
    #[error("invalid load generator settings: {0}")]
    Config(String),
    /// The rate profile cannot be paced.
    #[error(transparent)]
    Rate(#[from] RateError),
    /// The chain id could not be read, or belongs to a refused mainnet.
    #[error(transparent)]
    Guard(#[from] GuardError),
    /// The execution layer lacks something the settings ask for.
    #[error("{el} does not support {what}; pick another setting or `--el other` if it does")]
    Unsupported {
        /// The execution layer assumed.
        el: ExecutionLayer,
        /// What it lacks.
        what: &'static str,
    },
    /// A read at start-up failed.
    #[error("{what} failed")]
    Rpc {
        /// What was being read.
        what: &'static str,
        /// The error.
        #[source]
        source: TransportError,
    },
    /// A sender's starting nonce could not be read.
    #[error("reading start nonces failed")]
    Nonce(#[from] spam_nonce::Error),
    /// The wallet pool could not be built.
    #[error(transparent)]
    Pool(#[from] PoolError),
}

/// Builder of a [`LoadGen`]; see [`LoadGen::builder`].
pub struct LoadGenBuilder {
    rpc_url: Option<Url>,
    send_url: Option<Url>,
    ws_url: Option<Url>,
    wallets: Vec<Wallet>,
    tx: Option<Arc<dyn TxBuilder>>,
    rate: Rate,
    duration: Duration,
    strategy: SendStrategy,
    connections: usize,
    max_in_flight: usize,
    max_in_flight_per_wallet: NonZeroU32,
    presign: bool,
    lookahead: Duration,
    late_after: Duration,
    breaker: BreakerConfig,
    recovery_tps: f64,
    grace: Duration,
    poll: Duration,
    http_timeout: Duration,
    seed: u64,
    mainnet: MainnetPolicy,
    cancel: CancellationToken,
    el: Option<ExecutionLayer>,
    preconf: Option<Arc<dyn PreconfSource>>,
    receipts: bool,
    store: Option<(Arc<dyn spam_store::Store>, Option<spam_store::RunId>)>,
    progress: Option<(Duration, ProgressHook)>,
}

/// A hook called with a [`Progress`] snapshot while a run goes on.
pub type ProgressHook = Arc<dyn Fn(&Progress) + Send + Sync>;

impl LoadGenBuilder {
    /// The node to read from: chain id, fees, blocks and confirmations (required).
    pub fn rpc_url(mut self, url: Url) -> Self {
        self.rpc_url = Some(url);
        self
    }

    /// Where transactions (and nonce reads) go, e.g. a sequencer's builder; default: the RPC URL.
    pub fn send_url(mut self, url: Url) -> Self {
        self.send_url = Some(url);
        self
    }

    /// A WebSocket URL for new-heads subscriptions; without one, blocks are polled.
    pub fn ws_url(mut self, url: Url) -> Self {
        self.ws_url = Some(url);
        self
    }

    /// The senders (required, at least one).
    pub fn wallets(mut self, wallets: Vec<Wallet>) -> Self {
        self.wallets = wallets;
        self
    }

    /// What each transaction is (required).
    pub fn tx(mut self, builder: impl TxBuilder + 'static) -> Self {
        self.tx = Some(Arc::new(builder));
        self
    }

    /// The rate profile (default: constant 100 tx/s).
    pub fn rate(mut self, rate: Rate) -> Self {
        self.rate = rate;
        self
    }

    /// How long the pacer runs (default 10 s); inclusions are awaited for the grace period after.
    pub const fn duration(mut self, duration: Duration) -> Self {
        self.duration = duration;
        self
    }

    /// How transactions are submitted (default: one request each).
    pub const fn strategy(mut self, strategy: SendStrategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// JSON-RPC batches of up to `max` transactions, each waiting at most `linger`.
    pub const fn batch(self, max: usize, linger: Duration) -> Self {
        self.strategy(SendStrategy::Batch { max, linger })
    }

    /// Keep-alive HTTP clients to the send URL, used in turn (default 8).
    pub const fn connections(mut self, connections: usize) -> Self {
        self.connections = connections;
        self
    }

    /// Most transactions sent and not yet answered, over all senders (default 10 000); a tick
    /// beyond it is dropped.
    pub const fn max_in_flight(mut self, max: usize) -> Self {
        self.max_in_flight = max;
        self
    }

    /// Most transactions per sender signed or sent and not yet included (default 64; nodes
    /// keep 16–100 pending per sender). A tick finding every sender at its cap is dropped.
    pub const fn max_in_flight_per_wallet(mut self, max: NonZeroU32) -> Self {
        self.max_in_flight_per_wallet = max;
        self
    }

    /// Signs every transaction before the run starts (default off: signed `lookahead` ahead).
    /// Senders are then used round-robin without the per-wallet cap.
    pub const fn presign(mut self, presign: bool) -> Self {
        self.presign = presign;
        self
    }

    /// How far ahead of its intended time a transaction is signed (default 100 ms).
    pub const fn lookahead(mut self, lookahead: Duration) -> Self {
        self.lookahead = lookahead;
        self
    }

    /// A send later than this after its intended time counts as late (default 5 ms).
    pub const fn late_after(mut self, late_after: Duration) -> Self {
        self.late_after = late_after;
        self
    }

    /// The circuit breaker's settings (default: [`BreakerConfig::default`]).
    pub fn breaker(mut self, config: BreakerConfig) -> Self {
        self.breaker = config;
        self
    }

    /// The rate while the breaker is not closed (default 10 tx/s).
    pub const fn recovery_rate(mut self, tps: f64) -> Self {
        self.recovery_tps = tps;
        self
    }

    /// How long to wait for inclusions after the pacer stops (default 30 s).
    pub const fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// How often the chain head is polled without a WebSocket (default 50 ms).
    pub const fn poll_interval(mut self, every: Duration) -> Self {
        self.poll = every;
        self
    }

    /// HTTP request timeout (default 10 s).
    pub const fn http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = timeout;
        self
    }

    /// Seed of the transaction builder's RNG.
    pub const fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Whether known public mainnets may be loaded (default: refused).
    pub const fn mainnet(mut self, policy: MainnetPolicy) -> Self {
        self.mainnet = policy;
        self
    }

    /// A token that stops the pacer from outside (Ctrl-C); the run then waits for inclusions
    /// and reports.
    pub fn cancel_on(mut self, token: CancellationToken) -> Self {
        self.cancel = token;
        self
    }

    /// The execution layer, for its [`Capabilities`] (default: detected from
    /// `web3_clientVersion`).
    pub const fn execution_layer(mut self, el: ExecutionLayer) -> Self {
        self.el = Some(el);
        self
    }

    /// A preconfirmation feed: events are counted, timed and fed to the breaker's revocation
    /// rate.
    pub fn preconf(mut self, source: impl PreconfSource + 'static) -> Self {
        self.preconf = Some(Arc::new(source));
        self
    }

    /// Whether receipts (gas used, status) of included transactions are read, one
    /// `eth_getBlockReceipts` per block off the critical path (default on). Off: no revert
    /// count, and gas only from the headers of blocks that hold nothing but the run's
    /// transactions — for capacity runs where the node should spend nothing on reads.
    pub const fn receipts(mut self, read: bool) -> Self {
        self.receipts = read;
        self
    }

    /// Persists the run: the run, one task row per answered send, every transaction's life
    /// (intended, sent, answered, included, receipt) and every block, through a buffered
    /// writer that never blocks the pacer; the report's `store` says how many records were
    /// written and dropped, and [`Report::from_store`] rebuilds it. `run_id`: share one run
    /// between several instances (default: a fresh id).
    pub fn store(
        mut self,
        store: Arc<dyn spam_store::Store>,
        run_id: Option<spam_store::RunId>,
    ) -> Self {
        self.store = Some((store, run_id));
        self
    }

    /// Calls `hook` every `every` with what the run has done so far (from the start until the
    /// report is built), and once more at the end: for progress lines and metric exporters.
    /// Keep it cheap; it runs on the runtime.
    pub fn on_progress(
        mut self,
        every: Duration,
        hook: impl Fn(&Progress) + Send + Sync + 'static,
    ) -> Self {
        self.progress = Some((every.max(Duration::from_millis(10)), Arc::new(hook)));
        self
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`LoadGenError::Config`] or [`LoadGenError::Rate`] naming what to fix.
    pub fn build(self) -> Result<LoadGen, LoadGenError> {
        let config = |what: &str| Err(LoadGenError::Config(what.to_owned()));
        if self.rpc_url.is_none() {
            return config("an RPC URL is required");
        }
        if self.wallets.is_empty() {
            return config("at least one wallet is required");
        }
        if self.tx.is_none() {
            return config("a transaction builder is required (`.tx(..)`)");
        }
        if self.duration.is_zero() {
            return config("the run must last longer than zero");
        }
        if self.max_in_flight == 0 || self.connections == 0 {
            return config("max_in_flight and connections must be at least 1");
        }
        if matches!(self.strategy, SendStrategy::Batch { max: 0, .. }) {
            return config("a batch holds at least one transaction");
        }
        self.rate.validate()?;
        Ok(LoadGen { settings: self })
    }

    /// Builds and runs; see [`LoadGen::run`].
    ///
    /// # Errors
    /// As [`build`](Self::build) and [`LoadGen::run`].
    ///
    /// # Cancel safety
    /// As [`LoadGen::run`]: cancel through [`cancel_on`](Self::cancel_on), not by dropping.
    pub async fn run(self) -> Result<Report, LoadGenError> {
        self.build()?.run().await
    }
}

impl fmt::Debug for LoadGenBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadGenBuilder")
            .field("rpc_url", &self.rpc_url.as_ref().map(Url::as_str))
            .field("send_url", &self.send_url.as_ref().map(Url::as_str))
            .field("wallets", &self.wallets.len())
            .field("tx", &self.tx.as_ref().map(|t| t.name().to_owned()))
            .field("rate", &self.rate)
            .field("duration", &self.duration)
            .field("strategy", &self.strategy)
            .finish_non_exhaustive()
    }
}

/// The open-loop load generator, for sequencers and nodes under a target rate.
///
/// A pacer walks the [`Rate`] profile's intended send times; for each, a sender is leased
/// (round-robin, with a per-sender in-flight cap), a nonce reserved, the transaction built by
/// the [`TxBuilder`] and signed on the blocking pool shortly ahead, then sent at its time
/// ([`SendStrategy`]: single, batched, or sync). The pacer never waits for the node: a tick
/// with no sender, no in-flight slot or no signed transaction is **dropped** with its reason;
/// a send after its time is **late**, with the lag recorded. Answers resolve nonces by error
/// class. A circuit breaker opens on the send-failure (or preconfirmation revocation) rate;
/// while it is open all nonces are resynced and the rate drops to the recovery rate until it
/// closes. A block scan matches inclusions; at the end the run waits for the grace period,
/// fills nonce gaps, and reports. See [`OpenLoopStats`](crate::OpenLoopStats) for the
/// accounting.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
///
/// use spam_core::{LoadGen, Rate, TxBuilder, BuildRequest, Wallet};
/// use alloy::{consensus::TypedTransaction, primitives::U256};
///
/// #[derive(Debug)]
/// struct SelfTransfer;
///
/// impl TxBuilder for SelfTransfer {
///     fn name(&self) -> &str {
///         "self_transfer"
///     }
///     fn build(&self, r: BuildRequest<'_>) -> TypedTransaction {
///         r.fees.transfer(r.chain_id, r.nonce, r.sender, U256::ZERO)
///     }
/// }
///
/// # async fn run(wallets: Vec<Wallet>) -> Result<(), Box<dyn std::error::Error>> {
/// let report = LoadGen::builder()
///     .rpc_url("http://127.0.0.1:8545".parse()?)
///     .wallets(wallets)
///     .tx(SelfTransfer)
///     .rate(Rate::ramp(50.0, 500.0, Duration::from_secs(10)))
///     .duration(Duration::from_secs(10))
///     .batch(50, Duration::from_millis(5))
///     .run()
///     .await?;
/// let open = report.open_loop.as_ref().unwrap();
/// assert_eq!(open.offered, open.dropped + open.sent);
/// println!("{report}");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct LoadGen {
    settings: LoadGenBuilder,
}

impl LoadGen {
    /// Settings with defaults: constant 100 tx/s for 10 s, single sends over 8 connections,
    /// in-flight caps 10 000 overall and 64 per sender, signed 100 ms ahead, late after 5 ms,
    /// default breaker with a 10 tx/s recovery rate, grace 30 s, polling every 50 ms, HTTP
    /// timeout 10 s, mainnets refused.
    pub fn builder() -> LoadGenBuilder {
        LoadGenBuilder {
            rpc_url: None,
            send_url: None,
            ws_url: None,
            wallets: Vec::new(),
            tx: None,
            rate: Rate::constant(100.0),
            duration: Duration::from_secs(10),
            strategy: SendStrategy::Single,
            connections: 8,
            max_in_flight: 10_000,
            max_in_flight_per_wallet: NonZeroU32::new(64).expect("64 > 0"),
            presign: false,
            lookahead: Duration::from_millis(100),
            late_after: Duration::from_millis(5),
            breaker: BreakerConfig::default(),
            recovery_tps: 10.0,
            grace: Duration::from_secs(30),
            poll: Duration::from_millis(50),
            http_timeout: Duration::from_secs(10),
            seed: 0,
            mainnet: MainnetPolicy::Refuse,
            cancel: CancellationToken::new(),
            el: None,
            preconf: None,
            receipts: true,
            store: None,
            progress: None,
        }
    }

    /// Runs to the end and returns the report (with [`Report::open_loop`] set).
    ///
    /// # Errors
    /// [`LoadGenError`] when the run cannot start; failures during the run are counted.
    ///
    /// # Cancel safety
    /// Cancel through [`LoadGenBuilder::cancel_on`], not by dropping: a dropped run abandons
    /// its sends where they are and returns no report.
    pub async fn run(self) -> Result<Report, LoadGenError> {
        run::run(self.settings).await
    }
}
