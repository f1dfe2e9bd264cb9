//! Pool configuration.

use std::{fmt, num::NonZeroU32, num::NonZeroUsize, sync::Arc, time::Duration};

use crate::{
    clock::{Clock, SystemClock},
    proxy_url::Scheme,
};

/// How [`ProxyPool::pick`](crate::ProxyPool::pick) chooses among the proxies that are not
/// banned. Sticky-by-key selection is [`ProxyPool::assign`](crate::ProxyPool::assign).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Strategy {
    /// Each proxy in turn.
    #[default]
    RoundRobin,
    /// Uniformly at random.
    Random,
    /// The proxy picked the fewest times so far (ties: the first in the list).
    LeastUsed,
}

/// Settings of a [`ProxyPool`](crate::ProxyPool). `Default` gives the documented defaults;
/// change them with the `with_*` setters.
///
/// # Examples
///
/// ```
/// use std::{num::NonZeroU32, time::Duration};
/// use spam_proxy::{PoolConfig, Strategy};
///
/// let config = PoolConfig::default()
///     .with_strategy(Strategy::LeastUsed)
///     .with_ban_ttl(Duration::from_secs(300))
///     .with_ban_after_failures(NonZeroU32::new(5).unwrap())
///     .with_allow_direct(true);
/// assert_eq!(config.ban_ttl(), Duration::from_secs(300));
/// ```
#[derive(Clone)]
pub struct PoolConfig {
    pub(crate) strategy: Strategy,
    pub(crate) connect_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) max_idle_per_host: usize,
    pub(crate) http_proxy_keep_alive: bool,
    pub(crate) check_timeout: Duration,
    pub(crate) check_concurrency: NonZeroUsize,
    pub(crate) ban_ttl: Duration,
    pub(crate) ban_after_failures: NonZeroU32,
    pub(crate) allow_direct: bool,
    pub(crate) clock: Arc<dyn Clock>,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            strategy: Strategy::RoundRobin,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            max_idle_per_host: 64,
            http_proxy_keep_alive: false,
            check_timeout: Duration::from_secs(10),
            check_concurrency: NonZeroUsize::new(50).expect("50 > 0"),
            ban_ttl: Duration::from_secs(30 * 60),
            ban_after_failures: NonZeroU32::new(3).expect("3 > 0"),
            allow_direct: false,
            clock: Arc::new(SystemClock),
        }
    }
}

impl fmt::Debug for PoolConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolConfig")
            .field("strategy", &self.strategy)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("max_idle_per_host", &self.max_idle_per_host)
            .field("http_proxy_keep_alive", &self.http_proxy_keep_alive)
            .field("check_timeout", &self.check_timeout)
            .field("check_concurrency", &self.check_concurrency)
            .field("ban_ttl", &self.ban_ttl)
            .field("ban_after_failures", &self.ban_after_failures)
            .field("allow_direct", &self.allow_direct)
            .finish_non_exhaustive()
    }
}

impl PoolConfig {
    /// Selection strategy for [`pick`](crate::ProxyPool::pick) (default round-robin).
    pub const fn with_strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// TCP connect timeout of every client, to the proxy (default 5 s).
    pub const fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Whole-request timeout of every client (default 30 s).
    pub const fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Idle keep-alive connections each client keeps per target host (default 64).
    pub const fn with_max_idle_per_host(mut self, max: usize) -> Self {
        self.max_idle_per_host = max;
        self
    }

    /// Reuse connections to `http://`/`https://` proxies (default false; SOCKS5 connections
    /// are always reused).
    ///
    /// Off by default because some HTTP proxies answer a forwarded `http://` request with an
    /// HTTP/1.1 response and then close the connection without saying so (tinyproxy 1.11 does):
    /// a client that reuses it sends the next request into a closed socket and gets an error
    /// for a request that may or may not have been forwarded — unacceptable for
    /// `eth_sendRawTransaction`. Turn it on for proxies that keep client connections alive
    /// (squid, most commercial gateways) or when targets are `https://` (CONNECT tunnels stay
    /// open): it saves a TCP (and TLS) handshake per request.
    pub const fn with_http_proxy_keep_alive(mut self, keep_alive: bool) -> Self {
        self.http_proxy_keep_alive = keep_alive;
        self
    }

    /// Deadline of one health check, body included (default 10 s).
    pub const fn with_check_timeout(mut self, timeout: Duration) -> Self {
        self.check_timeout = timeout;
        self
    }

    /// Health checks run at once at most (default 50).
    pub const fn with_check_concurrency(mut self, max: NonZeroUsize) -> Self {
        self.check_concurrency = max;
        self
    }

    /// How long a ban lasts (default 30 min).
    pub const fn with_ban_ttl(mut self, ttl: Duration) -> Self {
        self.ban_ttl = ttl;
        self
    }

    /// Consecutive failures reported by users that ban a proxy (default 3). A failed health
    /// check bans at once.
    pub const fn with_ban_after_failures(mut self, failures: NonZeroU32) -> Self {
        self.ban_after_failures = failures;
        self
    }

    /// When every proxy is banned, hand out a direct (proxy-less) client instead of an error
    /// (default false).
    pub const fn with_allow_direct(mut self, allow: bool) -> Self {
        self.allow_direct = allow;
        self
    }

    /// The clock bans are timed with (default [`SystemClock`]); tests pass a
    /// [`ManualClock`](crate::ManualClock).
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The selection strategy.
    pub const fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// The ban duration.
    pub const fn ban_ttl(&self) -> Duration {
        self.ban_ttl
    }

    /// Consecutive reported failures that ban a proxy.
    pub const fn ban_after_failures(&self) -> NonZeroU32 {
        self.ban_after_failures
    }

    /// Whether all-banned falls back to direct connections.
    pub const fn allow_direct(&self) -> bool {
        self.allow_direct
    }

    /// Health check concurrency cap.
    pub const fn check_concurrency(&self) -> NonZeroUsize {
        self.check_concurrency
    }

    /// Health check deadline.
    pub const fn check_timeout(&self) -> Duration {
        self.check_timeout
    }

    /// A client builder with the timeouts; `scheme` is the proxy's, `None` for direct.
    pub(crate) fn client_builder(&self, scheme: Option<Scheme>) -> reqwest::ClientBuilder {
        let http_proxy = matches!(scheme, Some(Scheme::Http | Scheme::Https));
        let idle = if http_proxy && !self.http_proxy_keep_alive {
            0
        } else {
            self.max_idle_per_host
        };
        reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout)
            .pool_max_idle_per_host(idle)
            .tcp_nodelay(true)
    }
}
