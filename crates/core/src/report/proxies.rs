//! Per-proxy figures of a run that went through a [`ProxyPool`](spam_proxy::ProxyPool).

use std::fmt;

use serde::{Deserialize, Serialize};

#[cfg(feature = "proxy")]
use super::round;

/// One proxy's counters at the end of a run, from
/// [`ProxyPool::stats_all`](spam_proxy::ProxyPool::stats_all). The address is redacted: it
/// never carries credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProxySummary {
    /// The proxy, credentials replaced by `***` (`http://***:***@10.0.0.1:3128`).
    pub proxy: String,
    /// Times it was handed out to a wallet (one per task, plus moves).
    pub picks: u64,
    /// Requests whose outcome was reported: `successes + failures`.
    pub requests: u64,
    /// Requests that failed on the way to the node (connect, timeout, auth, 403/429, bad
    /// answer); JSON-RPC error answers count as successes.
    pub failures: u64,
    /// Latency of the last successful request or passing health check, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_latency_ms: Option<f64>,
    /// Times it was banned.
    pub ban_count: u32,
    /// Why it was still banned at the end (`"connect"`, `"auth"` …), if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banned: Option<String>,
}

impl ProxySummary {
    /// Whether the proxy was banned when the run ended.
    pub const fn is_banned(&self) -> bool {
        self.banned.is_some()
    }
}

#[cfg(feature = "proxy")]
impl From<&spam_proxy::ProxyStats> for ProxySummary {
    fn from(stats: &spam_proxy::ProxyStats) -> Self {
        Self {
            // `ProxyUrl`'s Display redacts user and password.
            proxy: stats.proxy.to_string(),
            picks: stats.picks,
            requests: stats.requests,
            failures: stats.failures,
            last_latency_ms: stats
                .last_latency
                .map(|l| round(l.as_secs_f64() * 1_000.0, 3)),
            ban_count: stats.ban_count,
            banned: stats.ban.as_ref().map(|ban| ban.reason.kind().to_string()),
        }
    }
}

/// Rows printed at most; the JSON report has them all.
const MAX_ROWS: usize = 20;

/// The terminal summary's proxy section: a count, then one row per proxy.
pub(super) struct ProxiesSummary<'a>(pub(super) &'a [ProxySummary]);

impl fmt::Display for ProxiesSummary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let proxies = self.0;
        let banned = proxies.iter().filter(|p| p.is_banned()).count();
        write!(f, "proxies: {}, {banned} banned at the end", proxies.len())?;
        for p in proxies.iter().take(MAX_ROWS) {
            write!(
                f,
                "\n  {} requests={} failed={} latency={} bans={}",
                p.proxy,
                p.requests,
                p.failures,
                p.last_latency_ms
                    .map_or_else(|| "-".to_string(), |ms| format!("{ms:.1}ms")),
                p.ban_count,
            )?;
            if let Some(reason) = &p.banned {
                write!(f, " banned ({reason})")?;
            }
        }
        if proxies.len() > MAX_ROWS {
            write!(
                f,
                "\n  … {} more in the JSON report",
                proxies.len() - MAX_ROWS
            )?;
        }
        Ok(())
    }
}

#[cfg(all(test, feature = "proxy"))]
mod tests {
    use std::time::Duration;

    use spam_proxy::{Failure, FailureKind, PoolConfig, ProxyPool};

    use super::*;

    #[test]
    fn summaries_are_redacted_and_show_bans() {
        let pool = ProxyPool::from_list(
            "http://alice:s3cret@127.0.0.1:3128\nsocks5h://127.0.0.1:1080",
            PoolConfig::default(),
        )
        .unwrap();
        let ids: Vec<_> = pool.ids().collect();
        pool.report_success(ids[1], Duration::from_micros(1_500));
        pool.ban(ids[0], Failure::new(FailureKind::Connect, "refused"));
        let summaries: Vec<ProxySummary> =
            pool.stats_all().iter().map(ProxySummary::from).collect();
        assert_eq!(summaries[0].proxy, "http://***:***@127.0.0.1:3128");
        assert_eq!(summaries[0].banned.as_deref(), Some("connect"));
        assert_eq!(summaries[0].ban_count, 1);
        assert_eq!(summaries[1].last_latency_ms, Some(1.5));
        assert_eq!((summaries[1].requests, summaries[1].failures), (1, 0));

        let shown = ProxiesSummary(&summaries).to_string();
        assert!(
            !shown.contains("s3cret") && !shown.contains("alice"),
            "{shown}"
        );
        assert!(
            shown.starts_with("proxies: 2, 1 banned at the end"),
            "{shown}"
        );
        assert!(shown.contains("bans=1 banned (connect)"), "{shown}");
        assert!(shown.contains("latency=1.5ms"), "{shown}");

        let json = serde_json::to_string(&summaries).unwrap();
        assert!(!json.contains("s3cret"));
        let back: Vec<ProxySummary> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, summaries);
    }

    #[test]
    fn long_lists_are_cut_in_the_terminal() {
        let list: String = (0..25)
            .map(|i| format!("http://127.0.0.1:{}\n", 10_000 + i))
            .collect();
        let pool = ProxyPool::from_list(&list, PoolConfig::default()).unwrap();
        let summaries: Vec<ProxySummary> =
            pool.stats_all().iter().map(ProxySummary::from).collect();
        let shown = ProxiesSummary(&summaries).to_string();
        assert_eq!(shown.lines().count(), 1 + MAX_ROWS + 1);
        assert!(shown.ends_with("… 5 more in the JSON report"), "{shown}");
    }
}
