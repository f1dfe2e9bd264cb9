//! Per-endpoint figures of a run over several RPC endpoints (or with a request cap).

use std::{collections::BTreeMap, fmt};

use serde::{Deserialize, Serialize};

/// A breaker transition of one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EndpointTransition {
    /// Seconds from the start of the run.
    pub at_s: f64,
    /// The state entered: `unhealthy` (its breaker opened, or three calls in a row got no
    /// answer: its senders move) or `healthy` (its breaker closed after a probe, or a call
    /// got an answer).
    pub to: String,
}

/// One endpoint's figures at the end of a run. The URL is redacted to scheme, host and port
/// (public RPC URLs carry API keys in their path).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EndpointSummary {
    /// `#index scheme://host:port`, in the order the URLs were given (reads first).
    pub endpoint: String,
    /// `read`, `send` or `read+send`.
    pub roles: String,
    /// Calls made to it, probes aside (a JSON-RPC batch counts each call).
    pub requests: u64,
    /// Transactions sent to it (with broadcast, each endpoint counts its copy).
    pub sends: u64,
    /// Its part of all endpoints' sends, 0–1.
    pub share: f64,
    /// Sends it accepted ("already known" included).
    pub accepted: u64,
    /// Broadcast only: transactions it accepted after another endpoint had; never counted
    /// twice in the run's figures.
    pub duplicates: u64,
    /// Calls that failed or were refused, by class.
    pub errors: BTreeMap<String, u64>,
    /// Send → answer, median, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack_p50_ms: Option<f64>,
    /// Send → answer, 99th percentile, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack_p99_ms: Option<f64>,
    /// Times its request cap held a request back (closed loop, reads) or dropped a tick
    /// (open loop: "endpoint rate limit").
    pub rate_limited: u64,
    /// Health probes sent, and those that failed.
    pub probes: u64,
    /// Health probes that got no answer.
    pub probe_failures: u64,
    /// Health transitions, in order.
    pub transitions: Vec<EndpointTransition>,
    /// Seconds it was unhealthy.
    pub unhealthy_s: f64,
    /// Whether it was healthy at the end (or at the snapshot).
    pub healthy: bool,
    /// Senders assigned to it at the end.
    pub senders: u64,
    /// Senders that moved to it, and away from it, during the run.
    pub senders_in: u64,
    /// Senders that moved away from it.
    pub senders_out: u64,
}

/// The terminal summary's endpoint section: one row per endpoint.
pub(super) struct EndpointsSummary<'a>(pub(super) &'a [EndpointSummary]);

impl fmt::Display for EndpointsSummary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "endpoints: {}", self.0.len())?;
        let ms = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |ms| format!("{ms:.1}ms"));
        for e in self.0 {
            write!(
                f,
                "\n  {} {}: requests={} sends={} ({:.0}%) ack p50={} p99={}",
                e.endpoint,
                e.roles,
                e.requests,
                e.sends,
                e.share * 100.0,
                ms(e.ack_p50_ms),
                ms(e.ack_p99_ms),
            )?;
            if e.duplicates > 0 {
                write!(f, " duplicates={}", e.duplicates)?;
            }
            if e.rate_limited > 0 {
                write!(f, " rate-limited={}", e.rate_limited)?;
            }
            let errors: u64 = e.errors.values().sum();
            if errors > 0 {
                let by: Vec<String> = e.errors.iter().map(|(k, v)| format!("{k} {v}")).collect();
                write!(f, " errors={errors} ({})", by.join(", "))?;
            }
            if !e.transitions.is_empty() {
                let opened = e.transitions.iter().filter(|t| t.to == "unhealthy").count();
                write!(
                    f,
                    " unhealthy {:.1}s ({opened}×), senders moved in {} out {}",
                    e.unhealthy_s, e.senders_in, e.senders_out
                )?;
            }
        }
        Ok(())
    }
}
