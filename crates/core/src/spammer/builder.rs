//! [`SpammerBuilder`] and [`Spammer`]: the closed-loop engine's settings.

use std::{fmt, num::NonZeroU32, sync::Arc, time::Duration};

use crate::{
    breaker::BreakerConfig,
    pool::WalletPoolConfig,
    report::Report,
    session::{SessionConfig, StartError, session_setters},
    task::TaskMix,
};

/// When a run stops scheduling new tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// After this long.
    After(Duration),
    /// After this many tasks have been started.
    Tasks(u64),
}

/// One finished task, as passed to the [`SpammerBuilder::on_task`] hook.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct TaskEvent<'a> {
    /// The worker that ran it.
    pub worker: usize,
    /// The task's name.
    pub task: &'a str,
    /// How long it ran.
    pub duration: Duration,
    /// `Ok(())`, or the error class label the report counts.
    pub outcome: Result<(), &'a str>,
    /// Transactions it sent.
    pub txs_sent: usize,
}

/// A hook called after every task, e.g. to feed Prometheus counters.
pub type TaskHook = Arc<dyn Fn(&TaskEvent<'_>) + Send + Sync>;

/// Builder of a [`Spammer`]; see [`Spammer::builder`].
pub struct SpammerBuilder {
    pub(super) session: SessionConfig,
    pub(super) mix: Option<TaskMix>,
    pub(super) workers: NonZeroU32,
    pub(super) stop: Stop,
    pub(super) task_timeout: Duration,
    pub(super) receipt_poll: Duration,
    pub(super) hook: Option<TaskHook>,
    pub(super) breaker: BreakerConfig,
    /// Per second while the breaker is not closed; `<= 0` or not finite: nothing passes.
    pub(super) recovery_tps: f64,
    pub(super) reconcile_after: Option<Duration>,
    pub(super) max_rate: Option<NonZeroU32>,
    #[cfg(feature = "proxy")]
    pub(super) proxies: Option<spam_proxy::ProxyPool>,
}

impl SpammerBuilder {
    session_setters!();

    /// Sends each wallet's RPC through a proxy of `pool` (none by default).
    ///
    /// At the start every wallet is assigned a proxy, sticky by address
    /// ([`ProxyPool::assign`](spam_proxy::ProxyPool::assign)), spread evenly; a wallet's tasks
    /// get a provider ([`TaskContext::provider`](crate::TaskContext::provider)) that sends
    /// each request through the wallet's proxy of the moment and reports its outcome to the
    /// pool, so failures ban the proxy and the next request (a retry) already takes the
    /// wallet's new proxy. A wallet whose proxy is banned is skipped by the lease predicate,
    /// then moved (within 250 ms) to the available proxy holding the fewest wallets; while
    /// every proxy is banned wallets wait for a ban to end, and an all-banned pool at the
    /// start is [`StartErrorKind::Proxy`](crate::StartErrorKind::Proxy).
    /// A pool that [allows direct connections](spam_proxy::PoolConfig::with_allow_direct)
    /// never skips: its wallets move, or go direct while every proxy is banned.
    ///
    /// The run's shared reads (chain id, fees, nonce resyncs, the end-of-run settling) go to
    /// the node directly. Requests through a proxy use the pool's timeouts, not
    /// [`http_timeout`](Self::http_timeout). The pool is shared: keep a clone to look at it
    /// after the run, or to run health checks during it
    /// ([`ProxyPool::spawn_health_checks`](spam_proxy::ProxyPool::spawn_health_checks)).
    /// Per-proxy counters land in [`Report::proxies`](crate::Report::proxies).
    #[cfg(feature = "proxy")]
    pub fn proxies(mut self, pool: spam_proxy::ProxyPool) -> Self {
        self.proxies = Some(pool);
        self
    }

    /// Most tasks started per second over all workers (default: no cap), with governor: a
    /// worker that has leased a wallet waits for a permit before it starts its task, and the
    /// wait is part of the task's time (a run held back by the cap shows it in its latency,
    /// not in a lower offered rate that hides it).
    pub const fn max_rate(mut self, per_second: NonZeroU32) -> Self {
        self.max_rate = Some(per_second);
        self
    }

    /// Calls `hook` after every task, on the worker (keep it cheap: a counter, a histogram
    /// record). No hook by default.
    pub fn on_task(mut self, hook: impl Fn(&TaskEvent<'_>) + Send + Sync + 'static) -> Self {
        self.hook = Some(Arc::new(hook));
        self
    }

    /// The tasks and their weights (required).
    pub fn tasks(mut self, mix: TaskMix) -> Self {
        self.mix = Some(mix);
        self
    }

    /// Concurrent workers (default 8).
    pub const fn workers(mut self, workers: NonZeroU32) -> Self {
        self.workers = workers;
        self
    }

    /// When to stop starting tasks (default: after 10 s).
    pub const fn stop(mut self, stop: Stop) -> Self {
        self.stop = stop;
        self
    }

    /// Longest a task may run before it counts as a `"task timeout"` (default 180 s).
    pub const fn task_timeout(mut self, timeout: Duration) -> Self {
        self.task_timeout = timeout;
        self
    }

    /// Wallet cooldown after each task (default 4 s, may be zero).
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.session.pool = self.session.pool.with_cooldown(cooldown);
        self
    }

    /// The wallet pool's settings (strategy, in-flight cap, cooldown).
    pub fn pool(mut self, pool: WalletPoolConfig) -> Self {
        self.session.pool = pool;
        self
    }

    /// How often tasks poll for receipts (default 100 ms).
    pub const fn receipt_poll(mut self, every: Duration) -> Self {
        self.receipt_poll = every;
        self
    }

    /// The circuit breaker's settings (default: [`BreakerConfig::default`], which opens on a
    /// node that is down, not on one failing a few percent of the calls;
    /// [`BreakerConfig::disabled`] never opens). The same settings as
    /// [`LoadGenBuilder::breaker`](crate::LoadGenBuilder::breaker).
    ///
    /// Every call a task makes to the node (sends, receipt and [`read`](crate::TaskContext::read)s)
    /// passes it, with one outcome per call and its retries: a node failure
    /// ([`ErrorClass::is_node_failure`](crate::ErrorClass::is_node_failure)) is a failure, any
    /// answer (a refusal too) a success. No task starts while it is not closed, or while the
    /// node is out (its last eight attempts, whichever calls they belonged to, all failed for
    /// a node reason): running tasks' calls wait, and the node is probed at the
    /// [`recovery_rate`](Self::recovery_rate). Once the breaker is closed and the node answers,
    /// every sender with transactions in flight is reconciled before new tasks start. With
    /// [`BreakerConfig::disabled`] the run never pauses (stalled receipt waits still reconcile
    /// their senders).
    /// Transitions are in [`ClosedLoopStats::breaker`](crate::ClosedLoopStats::breaker), the
    /// pauses in [`ClosedLoopStats::pauses`](crate::ClosedLoopStats::pauses).
    pub fn breaker(mut self, config: BreakerConfig) -> Self {
        self.breaker = config;
        self
    }

    /// The rate, per second, at which work passes while the breaker is not closed: the probes
    /// that find out whether the node is back (default 10; 0 lets nothing pass until the
    /// open period ends). As [`LoadGenBuilder::recovery_rate`](crate::LoadGenBuilder::recovery_rate).
    ///
    /// In the closed loop no task starts before the node answers again; only the probes pass.
    /// With 0 (or a rate that is not finite) the run pauses only while the breaker is not
    /// closed, and probes once a second, which the breaker lets through when its open period
    /// ends.
    pub const fn recovery_rate(mut self, per_second: f64) -> Self {
        self.recovery_tps = per_second;
        self
    }

    /// How long a task waits for a receipt before its sender is reconciled: the node is asked
    /// for the sender's nonces, the exact bytes it lost (a restart, a lost answer) are sent
    /// again, and a transaction whose nonce went to another ends the task as `"superseded"`.
    /// The wait then goes on, with the bound doubled up to four times this.
    ///
    /// Default: three block intervals, read from the last blocks' timestamps when the run
    /// starts, and at least 2 s.
    pub const fn reconcile_after(mut self, after: Duration) -> Self {
        self.reconcile_after = Some(after);
        self
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// A [`StartError`] that [is bad input](StartError::is_bad_input) without a URL, wallets
    /// or tasks, or for a run that would last no time.
    pub fn build(self) -> Result<Spammer, StartError> {
        self.session.check()?;
        if self.mix.is_none() {
            return Err(StartError::config("a task mix is required"));
        }
        if matches!(self.stop, Stop::After(d) if d.is_zero()) || self.stop == Stop::Tasks(0) {
            return Err(StartError::config("the run must last longer than zero"));
        }
        if matches!(self.stop, Stop::After(d) if d > crate::session::MAX_RUN_DURATION) {
            return Err(StartError::config("the run must last at most 30 days"));
        }
        if self
            .max_rate
            .is_some_and(|r| f64::from(r.get()) > crate::Rate::MAX_TPS)
        {
            return Err(StartError::config(format!(
                "the start-rate cap must be at most {} per second",
                crate::Rate::MAX_TPS
            )));
        }
        #[cfg(feature = "proxy")]
        if self.proxies.is_some() && {
            let e = &self.session.endpoints;
            e.reads().len() > 1 || e.sends().len() > 1
        } {
            return Err(StartError::config(
                "a proxy pool with several RPC endpoints is not supported: give one RPC URL",
            ));
        }
        Ok(Spammer { settings: self })
    }
}

impl fmt::Debug for SpammerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("SpammerBuilder");
        s.field("session", &self.session)
            .field("mix", &self.mix)
            .field("workers", &self.workers)
            .field("stop", &self.stop)
            .field("breaker", &self.breaker)
            .field("recovery_tps", &self.recovery_tps);
        #[cfg(feature = "proxy")]
        s.field(
            "proxies",
            &self.proxies.as_ref().map(spam_proxy::ProxyPool::len),
        );
        s.finish_non_exhaustive()
    }
}

/// The closed-loop load engine.
///
/// `workers` workers each loop: lease a wallet (waiting while none is ready), pick a task by
/// weight, run it under the task timeout, record the outcome, release the wallet. Throughput
/// follows from latency, like a population of users. At the end, nonce holes are filled with
/// zero-value self-transfers and the run waits (up to the grace period) until every sender's
/// transactions are mined.
///
/// No transaction is lost or miscounted when the node fails: every one sent is kept with its
/// bytes until its fate on the final chain is known; a receipt that does not come within
/// [`reconcile_after`](SpammerBuilder::reconcile_after) has its sender reconciled (the bytes
/// the node lost are sent again); a [breaker](SpammerBuilder::breaker) pauses the run while
/// the node is out, and every sender is reconciled when it answers again. The report's
/// [`ClosedLoopStats`](crate::ClosedLoopStats) count each transaction once, by its fate on
/// the final chain.
#[derive(Debug)]
pub struct Spammer {
    pub(super) settings: SpammerBuilder,
}

impl Spammer {
    /// Settings with defaults: 8 workers, 10 s, task timeout 180 s, HTTP timeout 30 s,
    /// grace 30 s, cooldown 4 s, seed 0, mainnets refused, the default breaker with a
    /// recovery rate of 10 per second, receipt waits reconciled after three block intervals.
    pub fn builder() -> SpammerBuilder {
        SpammerBuilder {
            session: SessionConfig::default(),
            mix: None,
            workers: NonZeroU32::new(8).expect("8 > 0"),
            stop: Stop::After(Duration::from_secs(10)),
            task_timeout: Duration::from_secs(180),
            receipt_poll: Duration::from_millis(100),
            hook: None,
            breaker: BreakerConfig::default(),
            recovery_tps: 10.0,
            reconcile_after: None,
            max_rate: None,
            #[cfg(feature = "proxy")]
            proxies: None,
        }
    }

    /// Runs to the end and returns the report.
    ///
    /// # Errors
    /// [`StartError`] when the run cannot start; task failures are counted in the report.
    ///
    /// # Cancel safety
    /// Cancel through [`SpammerBuilder::cancel_on`], not by dropping: a dropped run aborts its
    /// workers where they are and returns no report.
    pub async fn run(self) -> Result<Report, StartError> {
        super::run::run(self.settings).await
    }
}
