//! The pool: proxies with their clients, bans and counters.

use std::{
    collections::HashMap,
    fmt,
    path::Path,
    sync::{Arc, atomic::AtomicUsize},
    time::{Duration, Instant},
};

use parking_lot::Mutex;

use crate::{
    config::PoolConfig,
    entry::{Entry, ProxyId},
    error::Error,
    failure::Failure,
    proxy_url::{ProxyUrl, load_list, parse_list},
    route::Route,
    stats::ProxyStats,
};

/// A pool of proxies, each with one pooled `reqwest::Client` built once. Cheap to clone
/// (shared state); safe to use from many tasks.
///
/// - selection: [`pick`](Self::pick) by the configured [`Strategy`](crate::Strategy), or
///   [`assign`](Self::assign) for sticky-by-key;
/// - health: [`check_all`](Self::check_all) on demand,
///   [`spawn_health_checks`](Self::spawn_health_checks) periodically;
/// - bans: a failed check, or `ban_after_failures` consecutive failures reported with
///   [`report_failure`](Self::report_failure), ban a proxy for `ban_ttl`;
/// - counters: [`stats`](Self::stats).
///
/// See the crate documentation for an example.
#[derive(Clone)]
pub struct ProxyPool {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) entries: Vec<Entry>,
    pub(crate) config: PoolConfig,
    pub(crate) direct: reqwest::Client,
    pub(crate) next: AtomicUsize,
    pub(crate) sticky: Mutex<Sticky>,
}

/// Sticky assignments: key hash → entry index, and how many keys each entry holds.
#[derive(Default)]
pub(crate) struct Sticky {
    pub(crate) by_key: HashMap<u64, usize>,
    pub(crate) load: Vec<usize>,
}

impl ProxyPool {
    /// Builds a pool and one client per proxy (with the configured connect and request
    /// timeouts). An empty pool is allowed: it hands out direct routes if
    /// [`allow_direct`](PoolConfig::with_allow_direct), else errors.
    ///
    /// # Errors
    /// [`Error::Client`] if reqwest cannot build a client.
    pub fn new(
        proxies: impl IntoIterator<Item = ProxyUrl>,
        config: PoolConfig,
    ) -> Result<Self, Error> {
        let entries = proxies
            .into_iter()
            .enumerate()
            .map(|(i, url)| {
                let client = url
                    .to_reqwest()
                    .and_then(|proxy| {
                        config
                            .client_builder(Some(url.scheme()))
                            .proxy(proxy)
                            .build()
                    })
                    .map_err(|source| Error::Client {
                        proxy: url.to_string(),
                        source: source.without_url(),
                    })?;
                Ok(Entry::new(ProxyId(i), url, client))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        // `no_proxy` so HTTP(S)_PROXY in the environment cannot reroute "direct" traffic.
        let direct = config
            .client_builder(None)
            .no_proxy()
            .build()
            .map_err(|source| Error::Client {
                proxy: "direct".into(),
                source,
            })?;
        let sticky = Sticky {
            by_key: HashMap::new(),
            load: vec![0; entries.len()],
        };
        Ok(Self {
            inner: Arc::new(Inner {
                entries,
                config,
                direct,
                next: AtomicUsize::new(0),
                sticky: Mutex::new(sticky),
            }),
        })
    }

    /// Parses a proxy list (see [`parse_list`]) and builds a pool.
    ///
    /// # Errors
    /// [`Error::InvalidLine`] for a bad line, [`Error::Client`] as in [`new`](Self::new).
    pub fn from_list(text: &str, config: PoolConfig) -> Result<Self, Error> {
        Self::new(parse_list(text)?, config)
    }

    /// Reads a proxy list file (see [`load_list`]) and builds a pool.
    ///
    /// # Errors
    /// [`Error::Read`], [`Error::InvalidLine`], [`Error::Client`].
    pub fn from_file(path: impl AsRef<Path>, config: PoolConfig) -> Result<Self, Error> {
        Self::new(load_list(path)?, config)
    }

    /// The configuration.
    pub fn config(&self) -> &PoolConfig {
        &self.inner.config
    }

    /// Number of proxies.
    pub fn len(&self) -> usize {
        self.inner.entries.len()
    }

    /// Whether the pool has no proxies.
    pub fn is_empty(&self) -> bool {
        self.inner.entries.is_empty()
    }

    /// The ids of all proxies, in list order.
    pub fn ids(&self) -> impl ExactSizeIterator<Item = ProxyId> + '_ {
        self.inner.entries.iter().map(|e| e.id)
    }

    /// The address of a proxy (`Display` redacts credentials).
    pub fn proxy(&self, id: ProxyId) -> Option<&ProxyUrl> {
        self.entry(id).map(|e| &e.url)
    }

    /// A route through this proxy, banned or not (does not count as a pick).
    pub fn route(&self, id: ProxyId) -> Option<Route> {
        self.entry(id).map(|_| Route::proxy(self.clone(), id))
    }

    /// A route without a proxy, whatever [`allow_direct`](PoolConfig::with_allow_direct) says.
    pub fn direct(&self) -> Route {
        Route::direct(self.clone())
    }

    /// Whether the proxy is banned now (false for an id of another pool). Lifts an expired ban.
    pub fn is_banned(&self, id: ProxyId) -> bool {
        let now = self.now();
        self.entry(id)
            .is_some_and(|e| e.is_banned(now, &self.inner.config))
    }

    /// Proxies not banned now.
    pub fn available(&self) -> usize {
        let now = self.now();
        self.inner
            .entries
            .iter()
            .filter(|e| !e.is_banned(now, &self.inner.config))
            .count()
    }

    /// Records a successful request through the proxy: resets its consecutive failures.
    pub fn report_success(&self, id: ProxyId, latency: Duration) {
        if let Some(e) = self.entry(id) {
            e.record_success(latency);
        }
    }

    /// Records a failed request through the proxy. After
    /// [`ban_after_failures`](PoolConfig::with_ban_after_failures) in a row the proxy is banned
    /// with this failure as the reason. Returns whether this report banned it.
    ///
    /// Report only failures that are the proxy's (see [`Failure`]); a JSON-RPC error answer
    /// means the proxy worked.
    pub fn report_failure(&self, id: ProxyId, failure: Failure) -> bool {
        let now = self.now();
        self.entry(id)
            .is_some_and(|e| e.record_failure(failure, now, &self.inner.config))
    }

    /// Bans a proxy for the configured TTL (renews a running ban). Returns whether it was not
    /// banned before.
    pub fn ban(&self, id: ProxyId, reason: Failure) -> bool {
        let now = self.now();
        self.entry(id)
            .is_some_and(|e| e.ban(reason, now, &self.inner.config))
    }

    /// Lifts a proxy's ban and forgets its consecutive failures. Returns whether it was banned.
    pub fn unban(&self, id: ProxyId) -> bool {
        self.entry(id).is_some_and(Entry::unban)
    }

    /// Lifts every ban. Counters are kept.
    pub fn reset(&self) {
        for e in &self.inner.entries {
            e.unban();
        }
    }

    /// One proxy's counters and state.
    pub fn stats(&self, id: ProxyId) -> Option<ProxyStats> {
        let now = self.now();
        self.entry(id).map(|e| e.stats(now, &self.inner.config))
    }

    /// Every proxy's counters and state, in list order.
    pub fn stats_all(&self) -> Vec<ProxyStats> {
        let now = self.now();
        self.inner
            .entries
            .iter()
            .map(|e| e.stats(now, &self.inner.config))
            .collect()
    }

    pub(crate) fn entry(&self, id: ProxyId) -> Option<&Entry> {
        self.inner.entries.get(id.0)
    }

    pub(crate) fn now(&self) -> Instant {
        self.inner.config.clock.now()
    }
}

impl fmt::Debug for ProxyPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let proxies: Vec<String> = self
            .inner
            .entries
            .iter()
            .map(|e| e.url.to_string())
            .collect();
        f.debug_struct("ProxyPool")
            .field("proxies", &proxies)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}
