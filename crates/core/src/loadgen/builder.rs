//! [`LoadGenBuilder`] and [`LoadGen`]: the open-loop engine's settings.

use std::{fmt, num::NonZeroU32, sync::Arc, time::Duration};

use alloy::transports::http::reqwest::Url;

use super::PreconfSource;
use crate::{
    breaker::BreakerConfig,
    node::ExecutionLayer,
    profile::{Rate, SendStrategy},
    report::Report,
    session::{MAX_RUN_DURATION, SessionConfig, StartError, session_setters},
    task::TxBuilder,
};

/// Most transactions [`presign`](LoadGenBuilder::presign) holds: 5 000 000, about 1.5 GB.
pub const MAX_PRESIGNED: u64 = 5_000_000;

/// Builder of a [`LoadGen`]; see [`LoadGen::builder`].
pub struct LoadGenBuilder {
    pub(super) session: SessionConfig,
    pub(super) ws_url: Option<Url>,
    pub(super) tx: Option<Arc<dyn TxBuilder>>,
    pub(super) rate: Rate,
    pub(super) duration: Duration,
    pub(super) strategy: SendStrategy,
    pub(super) connections: usize,
    pub(super) max_in_flight: usize,
    pub(super) max_in_flight_per_wallet: NonZeroU32,
    pub(super) presign: bool,
    pub(super) lookahead: Duration,
    pub(super) late_after: Duration,
    pub(super) breaker: BreakerConfig,
    pub(super) recovery_tps: f64,
    pub(super) poll: Duration,
    pub(super) preconf: Option<Arc<dyn PreconfSource>>,
    pub(super) receipts: bool,
}

impl LoadGenBuilder {
    session_setters!();

    /// Where transactions (and nonce reads) go, e.g. a sequencer's builder; default: the RPC URL.
    pub fn send_url(mut self, url: Url) -> Self {
        self.session.endpoints.sends = vec![url];
        self
    }

    /// A WebSocket URL for new-heads subscriptions; without one, blocks are polled.
    pub fn ws_url(mut self, url: Url) -> Self {
        self.ws_url = Some(url);
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

    /// How transactions are submitted (default: [`SendStrategy::adaptive`], batches of up to
    /// 100 that never wait to fill: one request per transaction while the node keeps up).
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

    /// Most transactions signed or sent and not yet answered, over all senders (default
    /// 10 000); a tick beyond it is dropped — a live tick before it takes a nonce. The cap in
    /// force adapts below this. Single sends: it starts at 32 requests per connection (plus
    /// what the lookahead signs ahead at the peak rate), halves when sends time out or take
    /// over 3 s (at most once a second), and grows by an eighth per window of answers while
    /// the sends fill it — so a node that pauses meets a short queue, not thousands of
    /// requests that all time out together. Batches (one request out per connection): two
    /// full batches per connection plus the lookahead's, halving to one on stalls. The report
    /// gives its low point (`in_flight_cap_low`).
    pub const fn max_in_flight(mut self, max: usize) -> Self {
        self.max_in_flight = max;
        self
    }

    /// Most transactions per sender signed or sent and not yet included (default 64; nodes
    /// keep 16–100 pending per sender). A tick finding every sender at its cap is dropped.
    ///
    /// A sender whose lowest unsettled transaction is neither included nor found in the node
    /// for three block times (at least 1 s) is reconciled: the node is asked for its nonces,
    /// the exact bytes it lost are sent again, holes are filled and transactions whose nonce
    /// another took are let go — so no sender sits at this cap behind a lost transaction.
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

    /// How often the chain head is polled without a WebSocket (default 50 ms).
    pub const fn poll_interval(mut self, every: Duration) -> Self {
        self.poll = every;
        self
    }

    /// The execution layer, for its [`Capabilities`](crate::Capabilities) (default: detected from
    /// `web3_clientVersion`).
    pub const fn execution_layer(mut self, el: ExecutionLayer) -> Self {
        self.session.el = Some(el);
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

    /// Checks the settings.
    ///
    /// # Errors
    /// A [`StartError`] that [is bad input](StartError::is_bad_input), naming what to fix.
    pub fn build(self) -> Result<LoadGen, StartError> {
        self.session.check()?;
        let config = |what: &str| Err(StartError::config(what));
        if self.tx.is_none() {
            return config("a transaction builder is required (`.tx(..)`)");
        }
        if self.duration.is_zero() || self.duration > MAX_RUN_DURATION {
            return config("the run must last longer than zero and at most 30 days");
        }
        self.rate.validate()?;
        if self.presign {
            let count = self.rate.count_until(self.duration);
            if count > MAX_PRESIGNED {
                return Err(StartError::config(format!(
                    "presigning would hold {count} transactions in memory, more than \
                     {MAX_PRESIGNED}: shorten the run, lower the rate or sign live"
                )));
            }
        }
        if self.max_in_flight == 0 || self.connections == 0 {
            return config("max_in_flight and connections must be at least 1");
        }
        if matches!(self.strategy, SendStrategy::Batch { max: 0, .. }) {
            return config("a batch holds at least one transaction");
        }
        Ok(LoadGen { settings: self })
    }

    /// Builds and runs; see [`LoadGen::run`].
    ///
    /// # Errors
    /// As [`build`](Self::build) and [`LoadGen::run`].
    ///
    /// # Cancel safety
    /// As [`LoadGen::run`]: cancel through [`cancel_on`](Self::cancel_on), not by dropping.
    pub async fn run(self) -> Result<Report, StartError> {
        self.build()?.run().await
    }
}

impl fmt::Debug for LoadGenBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadGenBuilder")
            .field("session", &self.session)
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
    pub(super) settings: LoadGenBuilder,
}

impl LoadGen {
    /// Settings with defaults: constant 100 tx/s for 10 s, adaptive batches over 8 connections,
    /// in-flight caps 10 000 overall and 64 per sender, signed 100 ms ahead, late after 5 ms,
    /// default breaker with a 10 tx/s recovery rate, grace 30 s, polling every 50 ms, HTTP
    /// timeout 10 s, mainnets refused.
    pub fn builder() -> LoadGenBuilder {
        LoadGenBuilder {
            session: SessionConfig::default().with_http_timeout(Duration::from_secs(10)),
            ws_url: None,
            tx: None,
            rate: Rate::constant(100.0),
            duration: Duration::from_secs(10),
            strategy: SendStrategy::adaptive(),
            connections: 8,
            max_in_flight: 10_000,
            max_in_flight_per_wallet: NonZeroU32::new(64).expect("64 > 0"),
            presign: false,
            lookahead: Duration::from_millis(100),
            late_after: Duration::from_millis(5),
            breaker: BreakerConfig::default(),
            recovery_tps: 10.0,
            poll: Duration::from_millis(50),
            preconf: None,
            receipts: true,
        }
    }

    /// How many senders `rate` needs at its peak with `per_sender` transactions in flight each,
    /// on a chain with `block_time`: a sender holds its transactions from signing until a
    /// block includes them, about three block times under load (at least 2 s), so
    /// `peak × horizon / per_sender`. Fewer senders cap the rate the run can carry: the excess
    /// is dropped at the per-sender cap.
    ///
    /// ```
    /// use std::{num::NonZeroU32, time::Duration};
    /// use spam_core::{LoadGen, Rate};
    ///
    /// let per_sender = NonZeroU32::new(64).unwrap();
    /// let n = LoadGen::senders_for(&Rate::constant(8_000.0), Duration::from_secs(1), per_sender);
    /// assert_eq!(n, 375);
    /// ```
    pub fn senders_for(rate: &Rate, block_time: Duration, per_sender: NonZeroU32) -> u32 {
        super::sizing::senders_for(rate, block_time, per_sender)
    }

    /// Runs to the end and returns the report (with [`Report::open_loop`] set).
    ///
    /// # Errors
    /// [`StartError`] when the run cannot start; failures during the run are counted.
    ///
    /// # Cancel safety
    /// Cancel through [`LoadGenBuilder::cancel_on`], not by dropping: a dropped run abandons
    /// its sends where they are and returns no report.
    pub async fn run(self) -> Result<Report, StartError> {
        super::run::run(self.settings).await
    }
}
