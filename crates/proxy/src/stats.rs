//! Per-proxy counters for reports.

use std::{fmt, time::Duration};

use crate::{entry::ProxyId, failure::Failure, health::Health, proxy_url::ProxyUrl};

/// A snapshot of one proxy's counters and state, from
/// [`ProxyPool::stats`](crate::ProxyPool::stats).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProxyStats {
    /// Which proxy.
    pub id: ProxyId,
    /// Its address (`Display` redacts credentials).
    pub proxy: ProxyUrl,
    /// Times it was handed out by `pick` or `assign`.
    pub picks: u64,
    /// Outcomes reported: `successes + failures`.
    pub requests: u64,
    /// Successes reported.
    pub successes: u64,
    /// Failures reported.
    pub failures: u64,
    /// Failures reported since the last success.
    pub consecutive_failures: u32,
    /// Latency of the last success or passing health check.
    pub last_latency: Option<Duration>,
    /// Times it was banned.
    pub ban_count: u32,
    /// The running ban, if any.
    pub ban: Option<BanInfo>,
    /// The last health check's result.
    pub last_check: Option<Health>,
}

/// A running ban.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BanInfo {
    /// Why.
    pub reason: Failure,
    /// Until it expires.
    pub remaining: Duration,
}

impl ProxyStats {
    /// Whether it is banned.
    pub const fn is_banned(&self) -> bool {
        self.ban.is_some()
    }
}

impl fmt::Display for ProxyStats {
    /// `#0 http://***:***@10.0.0.1:3128 picks=10 ok=9 failed=1 latency=12ms bans=1 banned (connect, 1799s left)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} picks={} ok={} failed={}",
            self.id, self.proxy, self.picks, self.successes, self.failures
        )?;
        if let Some(latency) = self.last_latency {
            write!(f, " latency={}ms", latency.as_millis())?;
        }
        write!(f, " bans={}", self.ban_count)?;
        if let Some(ban) = &self.ban {
            write!(
                f,
                " banned ({}, {}s left)",
                ban.reason.kind(),
                ban.remaining.as_secs()
            )?;
        }
        Ok(())
    }
}
