//! [`SessionConfig`]: the settings every run shares, whichever engine decides when to send.

use std::{fmt, time::Duration};

use alloy::transports::http::reqwest::Url;
use tokio_util::sync::CancellationToken;

use super::{ProgressHook, StartError};
use crate::{
    endpoint::Endpoints, node::ExecutionLayer, node::MainnetPolicy, pool::WalletPoolConfig,
    wallet::Wallet,
};

/// Where a run persists its records: the store and, to share one run between instances, its id.
#[cfg(feature = "store")]
pub(crate) type StoreTarget = (
    std::sync::Arc<dyn spam_store::Store>,
    Option<spam_store::RunId>,
);

/// The longest a run (or its grace period) may be set to last: 30 days. Longer is a typo, and
/// the clock arithmetic of a run stays far from overflow.
pub const MAX_RUN_DURATION: Duration = Duration::from_secs(30 * 24 * 3600);

/// The settings every run shares: the node, the senders, the seed, the mainnet policy, the
/// stop token, the grace period, the HTTP timeout and the store.
///
/// [`LoadGenBuilder`](crate::LoadGenBuilder) and [`SpammerBuilder`](crate::SpammerBuilder)
/// embed one and expose its setters; [`Session::open`](crate::Session::open) takes one
/// directly, for tools that run their own load on a checked, synced session (a one-shot task,
/// a funding step).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// use spam_core::{MainnetPolicy, SessionConfig};
///
/// let config = SessionConfig::new("http://127.0.0.1:8545".parse().unwrap())
///     .with_http_timeout(Duration::from_secs(5))
///     .with_mainnet(MainnetPolicy::Refuse);
/// assert_eq!(config.rpc_url().unwrap().port(), Some(8545));
/// ```
#[derive(Clone)]
pub struct SessionConfig {
    pub(crate) endpoints: Endpoints,
    pub(crate) wallets: Vec<Wallet>,
    pub(crate) seed: u64,
    pub(crate) mainnet: MainnetPolicy,
    pub(crate) cancel: CancellationToken,
    pub(crate) grace: Duration,
    pub(crate) http_timeout: Duration,
    pub(crate) el: Option<ExecutionLayer>,
    pub(crate) pool: WalletPoolConfig,
    pub(crate) progress: Option<(Duration, ProgressHook)>,
    pub(crate) funding: Option<crate::report::FundingStats>,
    pub(crate) top_up: Option<super::TopUp>,
    /// Contracts made before the run that it uses (a scenario's), recorded with the run.
    pub(crate) assets: Vec<crate::task::CreatedAsset>,
    #[cfg(feature = "store")]
    pub(crate) store: Option<StoreTarget>,
    #[cfg(feature = "store")]
    pub(crate) shard: Option<crate::Shard>,
}

impl SessionConfig {
    /// Settings for the node at `rpc_url`, with the defaults of [`Default`].
    pub fn new(rpc_url: Url) -> Self {
        Self::default().with_rpc_url(rpc_url)
    }

    /// The node's JSON-RPC URL: chain id, fees, blocks, nonces (required; replaces the read
    /// endpoints).
    pub fn with_rpc_url(mut self, url: Url) -> Self {
        self.endpoints.reads = vec![url];
        self
    }

    /// Where transactions (and nonce reads) go, e.g. a sequencer's builder; default: the RPC
    /// URL. Replaces the send endpoints.
    pub fn with_send_url(mut self, url: Url) -> Self {
        self.endpoints.sends = vec![url];
        self
    }

    /// Several read and send endpoints, the strategy and the per-endpoint request cap
    /// (replaces the URLs set before).
    pub fn with_endpoints(mut self, endpoints: Endpoints) -> Self {
        self.endpoints = endpoints;
        self
    }

    /// The senders (required, at least one).
    pub fn with_wallets(mut self, wallets: Vec<Wallet>) -> Self {
        self.wallets = wallets;
        self
    }

    /// Seed of every random choice of the run.
    pub const fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Whether known public mainnets may be loaded (default: refused).
    pub const fn with_mainnet(mut self, policy: MainnetPolicy) -> Self {
        self.mainnet = policy;
        self
    }

    /// A token that stops the run from outside (Ctrl-C): nothing new starts, what runs gets the
    /// grace period, then the run reports.
    pub fn with_cancel(mut self, token: CancellationToken) -> Self {
        self.cancel = token;
        self
    }

    /// How long the end of a run may take: running work finishing, transactions landing
    /// (default 30 s).
    pub const fn with_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Timeout of each HTTP request to the node (default 30 s).
    pub const fn with_http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = timeout;
        self
    }

    /// The execution layer, for its [`Capabilities`](crate::Capabilities) (default: detected
    /// from `web3_clientVersion`).
    pub const fn with_execution_layer(mut self, el: ExecutionLayer) -> Self {
        self.el = Some(el);
        self
    }

    /// The wallet pool's settings (strategy, in-flight cap, cooldown).
    pub fn with_pool(mut self, pool: WalletPoolConfig) -> Self {
        self.pool = pool;
        self
    }

    /// Persists the run in `store` (run row, task rows, transactions, blocks) through a
    /// buffered writer that never blocks the load; `run_id` shares one run between several
    /// instances (default: a fresh id).
    #[cfg(feature = "store")]
    pub fn with_store(
        mut self,
        store: std::sync::Arc<dyn spam_store::Store>,
        run_id: Option<spam_store::RunId>,
    ) -> Self {
        self.store = Some((store, run_id));
        self
    }

    /// Runs as `shard` of a run over several processes: records go to the shard's store
    /// under its run, the run starts at the shards' common start, and the engine takes its
    /// part of the load (the open loop's ticks `k ≡ index (mod count)`, the closed loop's
    /// share of the workers). Give each shard its own senders
    /// ([`ShardSpec::slice`](crate::ShardSpec::slice)).
    #[cfg(feature = "store")]
    pub fn with_shard(mut self, shard: crate::Shard) -> Self {
        self.store = Some((std::sync::Arc::clone(shard.store()), Some(shard.run())));
        self.shard = Some(shard);
        self
    }

    /// The node's JSON-RPC URL (the first read endpoint), when set.
    pub fn rpc_url(&self) -> Option<&Url> {
        self.endpoints.reads.first()
    }

    /// Where transactions go (the first send endpoint): the send URL, else the RPC URL.
    pub fn send_url(&self) -> Option<&Url> {
        self.endpoints.sends().first()
    }

    /// The read and send endpoints.
    pub const fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// The grace period.
    pub const fn grace(&self) -> Duration {
        self.grace
    }

    /// The stop token.
    pub fn cancel(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Checks what needs no node: a URL, at least one wallet, a positive HTTP timeout.
    pub(crate) fn check(&self) -> Result<(), StartError> {
        self.endpoints.check().map_err(StartError::config)?;
        if self.wallets.is_empty() {
            return Err(StartError::config("at least one wallet is required"));
        }
        if self.http_timeout.is_zero() {
            return Err(StartError::config(
                "the HTTP timeout must be longer than zero",
            ));
        }
        if self.grace > MAX_RUN_DURATION || self.http_timeout > MAX_RUN_DURATION {
            return Err(StartError::config(
                "the grace period and the HTTP timeout must be at most 30 days",
            ));
        }
        #[cfg(feature = "store")]
        if let (Some(shard), Some((_, run))) = (&self.shard, &self.store)
            && *run != Some(shard.run())
        {
            return Err(StartError::config(format!(
                "a shard writes into its run ({}): set no other store or run id",
                shard.spec().name()
            )));
        }
        Ok(())
    }

    /// Whether a store is set.
    pub(crate) fn persists(&self) -> bool {
        #[cfg(feature = "store")]
        return self.store.is_some();
        #[cfg(not(feature = "store"))]
        false
    }
}

impl Default for SessionConfig {
    /// No URL, no wallets, seed 0, mainnets refused, a fresh stop token, grace 30 s, HTTP
    /// timeout 30 s, the execution layer detected, the default wallet pool, no store.
    fn default() -> Self {
        Self {
            endpoints: Endpoints::default(),
            wallets: Vec::new(),
            seed: 0,
            mainnet: MainnetPolicy::Refuse,
            cancel: CancellationToken::new(),
            grace: Duration::from_secs(30),
            http_timeout: Duration::from_secs(30),
            el: None,
            pool: WalletPoolConfig::default(),
            progress: None,
            funding: None,
            top_up: None,
            assets: Vec::new(),
            #[cfg(feature = "store")]
            store: None,
            #[cfg(feature = "store")]
            shard: None,
        }
    }
}

impl fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfig")
            .field("endpoints", &self.endpoints)
            .field("wallets", &self.wallets.len())
            .field("seed", &self.seed)
            .field("mainnet", &self.mainnet)
            .field("grace", &self.grace)
            .field("http_timeout", &self.http_timeout)
            .field("el", &self.el)
            .field("persists", &self.persists())
            .finish_non_exhaustive()
    }
}

/// The setters of [`SessionConfig`] on an engine builder that holds one in `self.session`, so
/// both builders offer them with one definition.
macro_rules! session_setters {
    () => {
        /// The node's JSON-RPC URL (required; replaces the read endpoints).
        pub fn rpc_url(mut self, url: alloy::transports::http::reqwest::Url) -> Self {
            self.session.endpoints.reads = vec![url];
            self
        }

        /// Several read and send endpoints, the strategy and the per-endpoint request cap
        /// (replaces the URLs set before); see [`Endpoints`]($crate::Endpoints).
        pub fn endpoints(mut self, endpoints: $crate::Endpoints) -> Self {
            self.session.endpoints = endpoints;
            self
        }

        /// How the senders were funded before the run (e.g. by a
        /// [`Funder`](crate::Funder)); the report shows it in its own section, apart from the
        /// load's figures.
        pub fn funding(mut self, funding: $crate::report::FundingStats) -> Self {
            self.session.funding = Some(funding);
            self
        }

        /// Keeps the senders funded during the run: a background task tops up those below the
        /// threshold (counted in the report's funding section). Without it a sender the node
        /// refuses for lack of funds is parked for the rest of the run; with it, until topped up.
        pub fn top_up(mut self, top_up: $crate::TopUp) -> Self {
            self.session.top_up = Some(top_up);
            self
        }

        /// Contracts made before the run that it uses (e.g. a scenario's, deployed or found by
        /// its preparation): recorded as the run's assets in the store, when one is set.
        pub fn assets(mut self, assets: Vec<$crate::CreatedAsset>) -> Self {
            self.session.assets = assets;
            self
        }

        /// The senders (required, at least one).
        pub fn wallets(mut self, wallets: Vec<$crate::wallet::Wallet>) -> Self {
            self.session.wallets = wallets;
            self
        }

        /// Seed of every random choice (task picks, transaction builders); the same seed
        /// makes the same choices.
        pub const fn seed(mut self, seed: u64) -> Self {
            self.session.seed = seed;
            self
        }

        /// Whether known public mainnets may be loaded (default: refused).
        pub const fn mainnet(mut self, policy: $crate::node::MainnetPolicy) -> Self {
            self.session.mainnet = policy;
            self
        }

        /// A token that stops the run from outside (Ctrl-C): nothing new starts, what runs
        /// gets the grace period, then the run reports.
        pub fn cancel_on(mut self, token: tokio_util::sync::CancellationToken) -> Self {
            self.session.cancel = token;
            self
        }

        /// How long the end of the run may take: running work finishing, transactions
        /// landing (default 30 s).
        pub const fn grace(mut self, grace: std::time::Duration) -> Self {
            self.session.grace = grace;
            self
        }

        /// Timeout of each HTTP request to the node.
        pub const fn http_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.session.http_timeout = timeout;
            self
        }

        /// Calls `hook` every `every` with what the run has done so far (tasks, transactions,
        /// latencies, and for the open loop drops and the breaker; see
        /// [`Progress`](crate::Progress)), from the start until the report is built, and once
        /// more at the end: for progress lines and metric exporters. Keep it cheap; it runs on
        /// the runtime.
        pub fn on_progress(
            mut self,
            every: std::time::Duration,
            hook: impl Fn(&$crate::session::Progress) + Send + Sync + 'static,
        ) -> Self {
            let every = every.max(std::time::Duration::from_millis(10));
            self.session.progress = Some((every, std::sync::Arc::new(hook)));
            self
        }

        /// Persists the run: the run row, one row per finished task and per transaction (the
        /// open loop adds every transaction's life and every block), through a buffered
        /// writer the load never waits on; the report's `store` says how many records were
        /// written and dropped, and [`Report::from_store`](crate::Report::from_store) rebuilds
        /// it. `run_id`: share one run between several instances (default: a fresh id).
        #[cfg(feature = "store")]
        pub fn store(
            mut self,
            store: std::sync::Arc<dyn spam_store::Store>,
            run_id: Option<spam_store::RunId>,
        ) -> Self {
            self.session.store = Some((store, run_id));
            self
        }

        /// Runs as one shard of a run over several processes; see
        /// [`SessionConfig::with_shard`](crate::SessionConfig::with_shard).
        #[cfg(feature = "store")]
        pub fn shard(mut self, shard: $crate::Shard) -> Self {
            self.session = self.session.with_shard(shard);
            self
        }
    };
}
pub(crate) use session_setters;
