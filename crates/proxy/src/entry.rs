//! One proxy of a pool: its client, counters and ban state.

use std::{
    fmt,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use parking_lot::Mutex;

use crate::{
    config::PoolConfig,
    failure::Failure,
    health::Health,
    proxy_url::ProxyUrl,
    stats::{BanInfo, ProxyStats},
};

const TARGET: &str = "spam::proxy";

/// The index of a proxy in its [`ProxyPool`](crate::ProxyPool), in list order from 0.
/// `Display`: `#3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProxyId(pub(crate) usize);

impl ProxyId {
    /// The id of the proxy at `index` in the list the pool was built from.
    pub const fn from_index(index: usize) -> Self {
        Self(index)
    }

    /// The position in the list the pool was built from.
    pub const fn index(self) -> usize {
        self.0
    }
}

impl fmt::Display for ProxyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

pub(crate) struct Entry {
    pub(crate) id: ProxyId,
    pub(crate) url: ProxyUrl,
    pub(crate) client: reqwest::Client,
    /// Times handed out by `pick`/`assign`; read by the least-used strategy.
    pub(crate) picks: AtomicU64,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    successes: u64,
    failures: u64,
    consecutive: u32,
    last_latency: Option<Duration>,
    ban: Option<Ban>,
    ban_count: u32,
    last_check: Option<Health>,
}

struct Ban {
    until: Instant,
    reason: Failure,
}

impl Entry {
    pub(crate) fn new(id: ProxyId, url: ProxyUrl, client: reqwest::Client) -> Self {
        Self {
            id,
            url,
            client,
            picks: AtomicU64::new(0),
            state: Mutex::default(),
        }
    }

    /// Whether banned at `now`; lifts a ban whose time is up.
    pub(crate) fn is_banned(&self, now: Instant, config: &PoolConfig) -> bool {
        let mut state = self.state.lock();
        self.expire(&mut state, now, config);
        state.ban.is_some()
    }

    /// Time left on the ban, if banned.
    pub(crate) fn ban_remaining(&self, now: Instant, config: &PoolConfig) -> Option<Duration> {
        let mut state = self.state.lock();
        self.expire(&mut state, now, config);
        state.ban.as_ref().map(|b| b.until - now)
    }

    pub(crate) fn record_success(&self, latency: Duration) {
        let mut state = self.state.lock();
        state.successes += 1;
        state.consecutive = 0;
        state.last_latency = Some(latency);
    }

    /// Counts a failure; bans after `ban_after_failures` in a row. Returns whether this call
    /// banned the proxy.
    pub(crate) fn record_failure(
        &self,
        failure: Failure,
        now: Instant,
        config: &PoolConfig,
    ) -> bool {
        let mut state = self.state.lock();
        self.expire(&mut state, now, config);
        state.failures += 1;
        state.consecutive = state.consecutive.saturating_add(1);
        if state.ban.is_none() && state.consecutive >= config.ban_after_failures.get() {
            self.ban_locked(&mut state, failure, now, config.ban_ttl);
            true
        } else {
            false
        }
    }

    /// Records a health check; a failed one bans (or renews the ban). Returns whether this call
    /// banned a proxy that was not banned.
    pub(crate) fn record_check(&self, health: &Health, now: Instant, config: &PoolConfig) -> bool {
        let mut state = self.state.lock();
        self.expire(&mut state, now, config);
        state.last_check = Some(health.clone());
        match health {
            Health::Healthy { latency } => {
                state.last_latency = Some(*latency);
                false
            }
            Health::Unhealthy(failure) => {
                self.ban_locked(&mut state, failure.clone(), now, config.ban_ttl)
            }
        }
    }

    /// Bans for `ttl` from `now` (renewing a running ban). Returns whether it was not banned.
    pub(crate) fn ban(&self, reason: Failure, now: Instant, config: &PoolConfig) -> bool {
        let mut state = self.state.lock();
        self.expire(&mut state, now, config);
        self.ban_locked(&mut state, reason, now, config.ban_ttl)
    }

    /// Lifts a ban and forgets consecutive failures. Returns whether it was banned.
    pub(crate) fn unban(&self) -> bool {
        let mut state = self.state.lock();
        state.consecutive = 0;
        let was = state.ban.take().is_some();
        if was {
            tracing::info!(target: TARGET, proxy = %self.url, id = %self.id, "proxy unbanned");
        }
        was
    }

    pub(crate) fn stats(&self, now: Instant, config: &PoolConfig) -> ProxyStats {
        let mut state = self.state.lock();
        self.expire(&mut state, now, config);
        ProxyStats {
            id: self.id,
            proxy: self.url.clone(),
            picks: self.picks.load(Ordering::Relaxed),
            requests: state.successes + state.failures,
            successes: state.successes,
            failures: state.failures,
            consecutive_failures: state.consecutive,
            last_latency: state.last_latency,
            ban_count: state.ban_count,
            ban: state.ban.as_ref().map(|b| BanInfo {
                reason: b.reason.clone(),
                remaining: b.until - now,
            }),
            last_check: state.last_check.clone(),
        }
    }

    fn ban_locked(&self, state: &mut State, reason: Failure, now: Instant, ttl: Duration) -> bool {
        let until = now + ttl;
        match &mut state.ban {
            Some(ban) => {
                ban.until = ban.until.max(until);
                ban.reason = reason;
                false
            }
            None => {
                tracing::warn!(
                    target: TARGET, proxy = %self.url, id = %self.id, reason = %reason,
                    ttl_s = ttl.as_secs(), "proxy banned"
                );
                state.ban = Some(Ban { until, reason });
                state.ban_count += 1;
                true
            }
        }
    }

    /// Lifts an expired ban. The proxy comes back on probation: one more failure bans it again,
    /// so a proxy that is still dead does not take `ban_after_failures` requests down with it.
    fn expire(&self, state: &mut State, now: Instant, config: &PoolConfig) {
        if state.ban.as_ref().is_some_and(|b| b.until <= now) {
            state.ban = None;
            state.consecutive = config.ban_after_failures.get() - 1;
            tracing::info!(target: TARGET, proxy = %self.url, id = %self.id, "proxy ban expired");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;
    use crate::failure::FailureKind;

    fn entry() -> Entry {
        Entry::new(
            ProxyId(0),
            "http://127.0.0.1:9".parse().unwrap(),
            reqwest::Client::new(),
        )
    }

    fn fail() -> Failure {
        Failure::new(FailureKind::Connect, "refused")
    }

    #[test]
    fn bans_after_n_consecutive_failures_and_successes_reset_the_count() {
        let config = PoolConfig::default().with_ban_after_failures(NonZeroU32::new(3).unwrap());
        let e = entry();
        let now = Instant::now();
        assert!(!e.record_failure(fail(), now, &config));
        assert!(!e.record_failure(fail(), now, &config));
        e.record_success(Duration::from_millis(5));
        assert!(!e.record_failure(fail(), now, &config));
        assert!(!e.record_failure(fail(), now, &config));
        assert!(!e.is_banned(now, &config));
        assert!(e.record_failure(fail(), now, &config));
        assert!(e.is_banned(now, &config));
        // Further failures while banned do not count as new bans.
        assert!(!e.record_failure(fail(), now, &config));
        let s = e.stats(now, &config);
        assert_eq!(
            (s.requests, s.failures, s.successes, s.ban_count),
            (7, 6, 1, 1)
        );
        assert_eq!(s.ban.unwrap().reason.kind(), FailureKind::Connect);
    }

    #[test]
    fn a_ban_expires_after_its_ttl_and_leaves_the_proxy_on_probation() {
        let config = PoolConfig::default().with_ban_ttl(Duration::from_secs(60));
        let e = entry();
        let t0 = Instant::now();
        assert!(e.ban(fail(), t0, &config));
        assert!(e.is_banned(t0 + Duration::from_secs(59), &config));
        assert_eq!(
            e.ban_remaining(t0 + Duration::from_secs(20), &config),
            Some(Duration::from_secs(40))
        );
        let later = t0 + Duration::from_secs(60);
        assert!(!e.is_banned(later, &config));
        // Probation: a single failure bans again.
        assert!(e.record_failure(fail(), later, &config));
        assert_eq!(e.stats(later, &config).ban_count, 2);
    }

    #[test]
    fn failed_checks_ban_at_once_and_renew_the_ban() {
        let config = PoolConfig::default().with_ban_ttl(Duration::from_secs(60));
        let e = entry();
        let t0 = Instant::now();
        let bad = Health::Unhealthy(Failure::new(FailureKind::Auth, "407"));
        assert!(e.record_check(&bad, t0, &config));
        assert!(!e.record_check(&bad, t0 + Duration::from_secs(30), &config));
        assert!(e.is_banned(t0 + Duration::from_secs(80), &config));
        let ok = Health::Healthy {
            latency: Duration::from_millis(3),
        };
        // A passing check records the latency but does not lift a ban.
        assert!(!e.record_check(&ok, t0 + Duration::from_secs(81), &config));
        assert!(e.is_banned(t0 + Duration::from_secs(81), &config));
        let s = e.stats(t0 + Duration::from_secs(81), &config);
        assert_eq!(s.last_latency, Some(Duration::from_millis(3)));
        assert_eq!(s.ban_count, 1);
        assert!(e.unban());
        assert!(!e.is_banned(t0 + Duration::from_secs(81), &config));
    }
}
