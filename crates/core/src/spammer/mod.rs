//! The closed-loop engine: workers lease a wallet, run a task picked by weight, record, release.

mod egress;
mod sink;
mod worker;

use std::{
    num::NonZeroU32,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use alloy::{
    providers::{Provider, ProviderBuilder},
    rpc::client::ClientBuilder,
    transports::{TransportError, http::reqwest},
};
use spam_nonce::{NonceManager, ProviderSource};
use spam_proxy::ProxyPool;
use tokio_util::sync::CancellationToken;

use self::{
    egress::Egress,
    sink::TaskSink,
    worker::{Budget, Worker},
};
use crate::{
    FeeOracle, FeeOracleConfig, GuardError, MainnetPolicy, PoolConfig, PoolError, Recorder, Report,
    RunContext, RunInfo, TaskMix, Wallet, WalletPool,
    persist::{Persist, UnixClock},
    read_chain_id,
    settle::{Settle, handed_out, settle},
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

/// Errors that keep a run from starting; failures during a run are counted in the [`Report`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpamError {
    /// A required setting is missing or invalid.
    #[error("invalid spammer settings: {0}")]
    Config(&'static str),
    /// The chain id could not be read, or belongs to a refused mainnet.
    #[error(transparent)]
    Guard(#[from] GuardError),
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
    /// The proxy pool has no proxy to assign the wallets to (every one banned, or none) and
    /// does not allow direct connections.
    #[error(transparent)]
    Proxy(#[from] spam_proxy::Error),
}

/// Builder of a [`Spammer`]; see [`Spammer::builder`].
pub struct SpammerBuilder {
    rpc_url: Option<reqwest::Url>,
    wallets: Vec<Wallet>,
    mix: Option<TaskMix>,
    workers: NonZeroU32,
    stop: Stop,
    task_timeout: Duration,
    http_timeout: Duration,
    grace: Duration,
    pool: PoolConfig,
    seed: u64,
    mainnet: MainnetPolicy,
    cancel: CancellationToken,
    receipt_poll: Duration,
    hook: Option<TaskHook>,
    proxies: Option<ProxyPool>,
    store: Option<(Arc<dyn spam_store::Store>, Option<spam_store::RunId>)>,
}

impl SpammerBuilder {
    /// Sends each wallet's RPC through a proxy of `pool` (none by default).
    ///
    /// At the start every wallet is assigned a proxy, sticky by address
    /// ([`ProxyPool::assign`]), spread evenly; a wallet's tasks get a provider
    /// ([`TaskContext::provider`](crate::TaskContext::provider)) that sends each request through
    /// the wallet's proxy of the moment and reports its outcome to the pool, so failures ban
    /// the proxy and the next request (a retry) already takes the wallet's new proxy. A wallet
    /// whose proxy is banned is skipped by the lease predicate, then moved (within 250 ms) to
    /// the available proxy holding the fewest wallets; while every proxy is banned wallets wait
    /// for a ban to end, and an all-banned pool at the start is [`SpamError::Proxy`].
    /// A pool that [allows direct connections](spam_proxy::PoolConfig::with_allow_direct)
    /// never skips: its wallets move, or go direct while every proxy is banned.
    ///
    /// The run's shared reads (chain id, fees, nonce resyncs, the end-of-run settling) go to
    /// the node directly. Requests through a proxy use the pool's timeouts, not
    /// [`http_timeout`](Self::http_timeout). The pool is shared: keep a clone to look at it
    /// after the run, or to run health checks during it
    /// ([`ProxyPool::spawn_health_checks`]). Per-proxy counters land in
    /// [`Report::proxies`](crate::Report::proxies).
    pub fn proxies(mut self, pool: ProxyPool) -> Self {
        self.proxies = Some(pool);
        self
    }

    /// Persists the run: the run, one row per finished task and per transaction, through a
    /// buffered writer that workers never wait on; the report's `store` says how many records
    /// were written and dropped, and [`Report::from_store`] rebuilds it. `run_id`: share one
    /// run between several instances (default: a fresh id).
    pub fn store(
        mut self,
        store: Arc<dyn spam_store::Store>,
        run_id: Option<spam_store::RunId>,
    ) -> Self {
        self.store = Some((store, run_id));
        self
    }

    /// Calls `hook` after every task, on the worker (keep it cheap: a counter, a histogram
    /// record). No hook by default.
    pub fn on_task(mut self, hook: impl Fn(&TaskEvent<'_>) + Send + Sync + 'static) -> Self {
        self.hook = Some(Arc::new(hook));
        self
    }

    /// The node's JSON-RPC URL (required).
    pub fn rpc_url(mut self, url: reqwest::Url) -> Self {
        self.rpc_url = Some(url);
        self
    }

    /// The wallets workers lease (required, at least one).
    pub fn wallets(mut self, wallets: Vec<Wallet>) -> Self {
        self.wallets = wallets;
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

    /// HTTP request timeout (default 30 s).
    pub const fn http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = timeout;
        self
    }

    /// How long running tasks may finish after the stop before they are cancelled (default 30 s).
    pub const fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Wallet cooldown after each task (default 4 s, may be zero).
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.pool = self.pool.with_cooldown(cooldown);
        self
    }

    /// The wallet pool's settings (strategy, in-flight cap, cooldown).
    pub fn pool(mut self, pool: PoolConfig) -> Self {
        self.pool = pool;
        self
    }

    /// Seed of every random choice (task picks, task RNGs); the same seed picks the same tasks.
    pub const fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Whether known public mainnets may be loaded (default: refused).
    pub const fn mainnet(mut self, policy: MainnetPolicy) -> Self {
        self.mainnet = policy;
        self
    }

    /// A token that stops the run from outside (Ctrl-C): new tasks stop at once, running
    /// ones get the grace period.
    pub fn cancel_on(mut self, token: CancellationToken) -> Self {
        self.cancel = token;
        self
    }

    /// How often tasks poll for receipts (default 100 ms).
    pub const fn receipt_poll(mut self, every: Duration) -> Self {
        self.receipt_poll = every;
        self
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`SpamError::Config`] without a URL, wallets or tasks.
    pub fn build(self) -> Result<Spammer, SpamError> {
        if self.rpc_url.is_none() {
            return Err(SpamError::Config("an RPC URL is required"));
        }
        if self.wallets.is_empty() {
            return Err(SpamError::Config("at least one wallet is required"));
        }
        if self.mix.is_none() {
            return Err(SpamError::Config("a task mix is required"));
        }
        if matches!(self.stop, Stop::After(d) if d.is_zero()) || self.stop == Stop::Tasks(0) {
            return Err(SpamError::Config("the run must last longer than zero"));
        }
        Ok(Spammer { settings: self })
    }
}

impl std::fmt::Debug for SpammerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpammerBuilder")
            .field("rpc_url", &self.rpc_url.as_ref().map(|u| u.as_str()))
            .field("wallets", &self.wallets.len())
            .field("mix", &self.mix)
            .field("workers", &self.workers)
            .field("stop", &self.stop)
            .field("seed", &self.seed)
            .field("proxies", &self.proxies.as_ref().map(ProxyPool::len))
            .finish_non_exhaustive()
    }
}

/// The closed-loop load engine.
///
/// `workers` workers each loop: lease a wallet (waiting while none is ready), pick a task by
/// weight, run it under the task timeout, record the outcome, release the wallet. Throughput
/// follows from latency, like a population of users. At the end, nonce holes are filled with
/// zero-value self-transfers and the run waits (up to the grace period) until every sender's
/// transactions are mined.
#[derive(Debug)]
pub struct Spammer {
    settings: SpammerBuilder,
}

impl Spammer {
    /// Settings with defaults: 8 workers, 10 s, task timeout 180 s, HTTP timeout 30 s,
    /// grace 30 s, cooldown 4 s, seed 0, mainnets refused.
    pub fn builder() -> SpammerBuilder {
        SpammerBuilder {
            rpc_url: None,
            wallets: Vec::new(),
            mix: None,
            workers: NonZeroU32::new(8).expect("8 > 0"),
            stop: Stop::After(Duration::from_secs(10)),
            task_timeout: Duration::from_secs(180),
            http_timeout: Duration::from_secs(30),
            grace: Duration::from_secs(30),
            pool: PoolConfig::default(),
            seed: 0,
            mainnet: MainnetPolicy::Refuse,
            cancel: CancellationToken::new(),
            receipt_poll: Duration::from_millis(100),
            hook: None,
            proxies: None,
            store: None,
        }
    }

    /// Runs to the end and returns the report.
    ///
    /// # Errors
    /// [`SpamError`] when the run cannot start; task failures are counted in the report.
    ///
    /// # Cancel safety
    /// Cancel through [`SpammerBuilder::cancel_on`], not by dropping: a dropped run aborts its
    /// workers where they are and returns no report.
    pub async fn run(self) -> Result<Report, SpamError> {
        let s = self.settings;
        let url = s.rpc_url.expect("checked in build");
        let mix = s.mix.expect("checked in build");
        let http = reqwest::Client::builder()
            .timeout(s.http_timeout)
            .tcp_nodelay(true)
            .build()
            .map_err(|_| SpamError::Config("the HTTP client could not be built"))?;
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect_client(ClientBuilder::default().http_with_client(http, url.clone()));
        let chain_id = read_chain_id(&provider, s.mainnet).await?;
        let client_version = provider
            .get_client_version()
            .await
            .unwrap_or_else(|_| "unknown".into());

        let nonces = NonceManager::new(ProviderSource::new(provider.clone()));
        for wallet in &s.wallets {
            nonces.resync(wallet.address()).await?;
        }
        let fees = FeeOracle::new(provider.clone(), FeeOracleConfig::default());
        fees.current().await.map_err(|source| SpamError::Rpc {
            what: "reading fees",
            source,
        })?;
        let wallets: Vec<Arc<Wallet>> = s.wallets.into_iter().map(Arc::new).collect();
        let pool = WalletPool::new(wallets.clone(), s.pool)?;
        let egress = match s.proxies {
            Some(proxies) => {
                let egress = Arc::new(Egress::new(proxies, url, &wallets)?);
                pool.set_skip(egress.skip());
                Some(egress)
            }
            None => None,
        };
        let config = serde_json::json!({
            "engine": "spammer",
            "stop": format!("{:?}", s.stop),
            "task_timeout_ms": s.task_timeout.as_millis() as u64,
            "http_timeout_ms": s.http_timeout.as_millis() as u64,
            "grace_ms": s.grace.as_millis() as u64,
            "cooldown_ms": pool.config().cooldown().as_millis() as u64,
            "wallets": wallets.len(),
            "proxies": egress.as_ref().map_or(0, |e| e.len()),
            "tasks": mix.tasks().map(|(t, w)| (t.name().to_string(), w)).collect::<Vec<_>>(),
        });
        let hard_stop = CancellationToken::new();
        let run = Arc::new(
            RunContext::new(provider, nonces, fees, chain_id)
                .with_receipt_poll(s.receipt_poll)
                .with_cancel(hard_stop.clone())
                .with_config(config.clone()),
        );

        let started_at = unix_ms();
        let start = tokio::time::Instant::now();
        let soft_stop = s.cancel.child_token();
        let budget = Arc::new(Budget::new(s.stop));
        if let Stop::After(duration) = s.stop {
            let soft_stop = soft_stop.clone();
            tokio::spawn(async move {
                tokio::time::sleep(duration).await;
                soft_stop.cancel();
            });
        }
        let recorder = Arc::new(parking_lot::Mutex::new(Recorder::new(start)));
        let clock = UnixClock::new(start);
        let persist = s.store.clone().map(|(store, id)| {
            let info = RunInfo {
                chain_id,
                client_version: client_version.clone(),
                seed: s.seed,
                workers: s.workers.get(),
                config: config.clone(),
                ..RunInfo::default()
            };
            Persist::start(store, id, &info, clock.start_us())
        });
        let sink = persist
            .as_ref()
            .map(|p| Arc::new(TaskSink::new(p.handle(), p.run_id(), clock)));
        let rebalancer = egress.as_ref().map(|e| e.spawn_rebalancer(pool.clone()));
        let mut workers = tokio::task::JoinSet::new();
        for id in 0..s.workers.get() as usize {
            let worker = Worker {
                id,
                run: Arc::clone(&run),
                pool: pool.clone(),
                mix: mix.clone(),
                budget: Arc::clone(&budget),
                soft_stop: soft_stop.clone(),
                hard_stop: hard_stop.clone(),
                task_timeout: s.task_timeout,
                seed: s.seed,
                hook: s.hook.clone(),
                recorder: Arc::clone(&recorder),
                egress: egress.clone(),
                sink: sink.clone(),
            };
            workers.spawn(worker.run());
        }
        // Once no new task may start, running ones get the grace period, then are cancelled.
        let collect = async {
            while let Some(done) = workers.join_next().await {
                done.expect("workers catch task panics");
            }
        };
        tokio::pin!(collect);
        tokio::select! {
            () = &mut collect => {}
            () = async { soft_stop.cancelled().await; tokio::time::sleep(s.grace).await } => {
                hard_stop.cancel();
                collect.await
            }
        };
        let elapsed = start.elapsed();
        drop(rebalancer);

        let targets: Vec<_> = wallets
            .iter()
            .filter_map(|w| Some((Arc::clone(w), handed_out(&run.nonces, w)?)))
            .collect();
        let finish = Settle {
            provider: &run.provider,
            nonces: &run.nonces,
            fees: &run.fees,
            chain_id: run.chain_id,
            retry: &run.retry,
            counters: &run.nonce_counters,
            poll: run.receipt_poll,
        };
        settle(&finish, &targets, s.grace).await;
        let recorder = recorder.lock().clone();
        let nonce_stats = run.nonce_counters.stats();
        let info = RunInfo {
            chain_id,
            client_version,
            started_at_unix_ms: started_at,
            ended_at_unix_ms: unix_ms(),
            seed: s.seed,
            workers: s.workers.get(),
            config,
        };
        let mut report = Report::build(info, &recorder, nonce_stats, elapsed);
        if let Some(egress) = &egress {
            report.proxies = egress.summaries();
        }
        if let Some(persist) = persist {
            persist.finish(&mut report, spam_store::now_micros()).await;
        }
        Ok(report)
    }
}

pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
