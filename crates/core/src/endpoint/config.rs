//! [`Endpoints`]: which URLs a run reads from and sends to, and how it uses them.

use std::{fmt, num::NonZeroU32, str::FromStr, time::Duration};

use alloy::transports::http::reqwest::Url;
use serde::{Deserialize, Serialize};

/// How sends use several send endpoints; see the [module docs](crate::Endpoints).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EndpointStrategy {
    /// Senders assigned sticky and balanced: each sender's nonces stay in one mempool.
    #[default]
    Spread,
    /// A primary and ordered backups: everything on the first healthy one.
    Failover,
    /// Every signed transaction to every healthy send endpoint; the first acceptance counts.
    Broadcast,
}

impl EndpointStrategy {
    /// The name on the command line and in reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Spread => "spread",
            Self::Failover => "failover",
            Self::Broadcast => "broadcast",
        }
    }
}

impl fmt::Display for EndpointStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A strategy name that is none of `spread`, `failover`, `broadcast`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown endpoint strategy {0:?}: expected spread, failover or broadcast")]
pub struct ParseStrategyError(String);

impl FromStr for EndpointStrategy {
    type Err = ParseStrategyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "spread" => Ok(Self::Spread),
            "failover" => Ok(Self::Failover),
            "broadcast" => Ok(Self::Broadcast),
            _ => Err(ParseStrategyError(s.to_string())),
        }
    }
}

/// The endpoints of a run: the read set (chain id, fees, blocks, receipts), the send set
/// (transactions and the senders' nonces; default: the read set), the strategy and the
/// per-endpoint request cap.
///
/// # Examples
///
/// ```
/// use std::num::NonZeroU32;
///
/// use spam_core::{EndpointStrategy, Endpoints};
///
/// let endpoints = Endpoints::new(vec!["http://10.0.0.1:8545".parse().unwrap()])
///     .with_sends(vec![
///         "http://10.0.0.2:8545".parse().unwrap(),
///         "http://10.0.0.3:8545".parse().unwrap(),
///     ])
///     .with_strategy(EndpointStrategy::Failover)
///     .with_max_rps(NonZeroU32::new(50).unwrap());
/// assert_eq!(endpoints.sends().len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub(crate) reads: Vec<Url>,
    pub(crate) sends: Vec<Url>,
    pub(crate) strategy: EndpointStrategy,
    pub(crate) max_rps: Option<NonZeroU32>,
    pub(crate) probe_every: Duration,
}

/// Most URLs in one set: more is a typo, and every endpoint is probed.
pub(crate) const MAX_ENDPOINTS: usize = 64;

impl Endpoints {
    /// Reads and sends over `reads` (in order: the first is the primary).
    pub fn new(reads: Vec<Url>) -> Self {
        Self {
            reads,
            ..Self::default()
        }
    }

    /// Sends (and the senders' nonce reads) over these instead of the read set.
    pub fn with_sends(mut self, sends: Vec<Url>) -> Self {
        self.sends = sends;
        self
    }

    /// How several send endpoints are used (default [`EndpointStrategy::Spread`]). Reads
    /// go to the first healthy read endpoint, whatever the strategy: the block scan needs
    /// one consistent view of the chain.
    pub const fn with_strategy(mut self, strategy: EndpointStrategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// Most requests per second to each endpoint (a JSON-RPC batch counts each call), for
    /// public RPCs with a rate limit. Reads and probes wait for a permit; the closed loop's
    /// sends wait too (the wait is part of the task's time); the open loop drops a tick
    /// whose endpoint has no permit ("endpoint rate limit") and never delays it.
    pub const fn with_max_rps(mut self, max: NonZeroU32) -> Self {
        self.max_rps = Some(max);
        self
    }

    /// How often an endpoint without traffic, or with an open breaker, is probed (default
    /// 250 ms).
    pub const fn with_probe_every(mut self, every: Duration) -> Self {
        self.probe_every = every;
        self
    }

    /// The read endpoints.
    pub fn reads(&self) -> &[Url] {
        &self.reads
    }

    /// The send endpoints: as set, else the read endpoints.
    pub fn sends(&self) -> &[Url] {
        if self.sends.is_empty() {
            &self.reads
        } else {
            &self.sends
        }
    }

    /// The strategy.
    pub const fn strategy(&self) -> EndpointStrategy {
        self.strategy
    }

    /// The per-endpoint request cap, if any.
    pub const fn max_rps(&self) -> Option<NonZeroU32> {
        self.max_rps
    }

    /// Whether more than one URL is in play, or a cap: the report then has per-endpoint
    /// figures.
    pub(crate) fn has_figures(&self) -> bool {
        let mut all: Vec<&Url> = self.reads.iter().chain(self.sends()).collect();
        all.sort();
        all.dedup();
        all.len() > 1 || self.max_rps.is_some()
    }

    /// Checks what needs no node.
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.reads.is_empty() {
            return Err("an RPC URL is required".into());
        }
        for (set, urls) in [("RPC", &self.reads), ("send", &self.sends)] {
            if urls.len() > MAX_ENDPOINTS {
                return Err(format!(
                    "at most {MAX_ENDPOINTS} {set} URLs, got {}",
                    urls.len()
                ));
            }
            let mut seen: Vec<&Url> = Vec::new();
            for url in urls.iter() {
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(format!(
                        "{set} URL {}: only http and https are supported",
                        redact(url)
                    ));
                }
                if seen.contains(&url) {
                    return Err(format!("{set} URL {} is given twice", redact(url)));
                }
                seen.push(url);
            }
        }
        if self.probe_every.is_zero() {
            return Err("the endpoint probe interval must be longer than zero".into());
        }
        Ok(())
    }
}

impl Default for Endpoints {
    /// No URL, [`EndpointStrategy::Spread`], no cap, probes every 250 ms.
    fn default() -> Self {
        Self {
            reads: Vec::new(),
            sends: Vec::new(),
            strategy: EndpointStrategy::Spread,
            max_rps: None,
            probe_every: Duration::from_millis(250),
        }
    }
}

/// `scheme://host:port`, plus `/…` when the URL has a path or query: public RPC URLs carry
/// API keys there, and reports and logs must not.
pub(crate) fn redact(url: &Url) -> String {
    let host = url.host_str().unwrap_or("?");
    let port = url
        .port_or_known_default()
        .map_or(String::new(), |p| format!(":{p}"));
    let rest = if url.path().len() > 1 || url.query().is_some() {
        "/…"
    } else {
        ""
    };
    format!("{}://{host}{port}{rest}", url.scheme())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        s.parse().unwrap()
    }

    #[test]
    fn strategies_parse_and_print() {
        for s in [
            EndpointStrategy::Spread,
            EndpointStrategy::Failover,
            EndpointStrategy::Broadcast,
        ] {
            assert_eq!(s.as_str().parse::<EndpointStrategy>().unwrap(), s);
        }
        let err = "round-robin".parse::<EndpointStrategy>().unwrap_err();
        assert!(err.to_string().contains("spread, failover or broadcast"));
    }

    #[test]
    fn sends_default_to_reads_and_bad_sets_are_refused() {
        let e = Endpoints::new(vec![url("http://a:1")]);
        assert_eq!(e.sends(), [url("http://a:1")]);
        assert!(!e.has_figures());
        assert!(e.check().is_ok());
        let two = e
            .clone()
            .with_sends(vec![url("http://a:1"), url("http://b:1")]);
        assert!(two.has_figures());
        let twice = e
            .clone()
            .with_sends(vec![url("http://b:1"), url("http://b:1")]);
        assert!(twice.check().unwrap_err().contains("given twice"));
        let ws = Endpoints::new(vec![url("ws://a:1")]);
        assert!(ws.check().unwrap_err().contains("only http and https"));
        assert!(Endpoints::default().check().is_err());
    }

    #[test]
    fn redaction_keeps_host_and_port_only() {
        assert_eq!(
            redact(&url("https://eth.example/v3/SECRETKEY")),
            "https://eth.example:443/…"
        );
        assert_eq!(
            redact(&url("http://127.0.0.1:8545")),
            "http://127.0.0.1:8545"
        );
        assert_eq!(
            redact(&url("http://user:pw@10.0.0.1:8545/?key=x")),
            "http://10.0.0.1:8545/…"
        );
    }
}
