//! [`Report::from_store`]: a report rebuilt from what a run persisted in spam-store.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use spam_store::{LatencyStats, RunId, RunSummary, Store, TaskSummary};

use super::{
    ClosedLoopStats, FundingStats, LatencySummary, NonceStats, OpenLoopStats, ProxySummary, Report,
    RunInfo, SecondStats, StoreStats, TaskStats, round,
};

/// Why a report could not be rebuilt.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FromStoreError {
    /// No such run.
    #[error("run {0} is not in the store")]
    NotFound(u64),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] spam_store::Error),
}

/// What the engines keep in the run row beside the settings: the figures task and
/// transaction rows cannot give back (nonce repairs, the open-loop accounting of ticks that
/// never became transactions, per-second offered/dropped/late counts).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Saved {
    elapsed_secs: f64,
    series_len: usize,
    nonces: NonceStats,
    open_loop: Option<OpenLoopStats>,
    #[serde(default)]
    closed_loop: Option<ClosedLoopStats>,
    /// Per second: offered, dropped, late.
    open_series: Vec<[u64; 3]>,
    /// Per second: task p50, p99, inclusion p50, p99 (ms).
    #[serde(default)]
    latency_series: Vec<[f64; 4]>,
    proxies: Vec<ProxySummary>,
    #[serde(default)]
    endpoints: Vec<super::EndpointSummary>,
    #[serde(default)]
    funding: Option<FundingStats>,
}

impl Report {
    /// The run row's `config` at the end of a run: `{"settings": …, "saved": …}`.
    pub(crate) fn saved_config(&self) -> serde_json::Value {
        let saved = Saved {
            elapsed_secs: self.elapsed_secs,
            series_len: self.series.len(),
            nonces: self.nonces,
            open_loop: self.open_loop.clone(),
            closed_loop: self.closed_loop.clone(),
            open_series: self
                .series
                .iter()
                .map(|s| [s.offered, s.dropped, s.late])
                .collect(),
            latency_series: self
                .series
                .iter()
                .map(|s| {
                    [
                        s.task_p50_ms,
                        s.task_p99_ms,
                        s.inclusion_p50_ms,
                        s.inclusion_p99_ms,
                    ]
                })
                .collect(),
            proxies: self.proxies.clone(),
            endpoints: self.endpoints.clone(),
            funding: self.funding.clone(),
        };
        serde_json::json!({ "settings": self.run.config, "saved": saved })
    }

    /// Rebuilds the report of `run` from the store alone: counts, error classes, latencies
    /// and the per-second series from the task and transaction rows, the rest (nonce repairs,
    /// open-loop accounting) from the run row. A run over several [shards](crate::Shard) is
    /// merged: the shards' figures summed over those that reported, latencies from their
    /// merged histograms, and a row per shard in [`shards`](Report::shards). Counts equal the live report's when no record
    /// was dropped; latency percentiles agree within a microsecond of rounding.
    ///
    /// # Errors
    /// [`FromStoreError`] when the run is unknown or the store fails.
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads.
    pub async fn from_store(store: &dyn Store, run: RunId) -> Result<Self, FromStoreError> {
        let summary = store
            .run_summary(run)
            .await?
            .ok_or(FromStoreError::NotFound(run.get()))?;
        let mut report = Self::from_summary(summary);
        if let Some(view) = store.shards(run).await? {
            let seconds = store.shard_seconds(run).await?;
            report.merge_shards(&view, &seconds);
        }
        Ok(report)
    }

    fn from_summary(summary: RunSummary) -> Self {
        let config = &summary.run.config;
        let saved: Saved = config
            .get("saved")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default();
        let settings = config
            .get("settings")
            .cloned()
            .unwrap_or_else(|| config.clone());
        let elapsed_secs = if saved.series_len > 0 || saved.elapsed_secs > 0.0 {
            saved.elapsed_secs
        } else {
            summary.run.ended_at_us.map_or(0.0, |end| {
                end.saturating_sub(summary.run.started_at_us) as f64 / 1e6
            })
        };
        let elapsed = Duration::from_secs_f64(elapsed_secs.max(0.0));
        let len = if saved.series_len > 0 {
            saved.series_len
        } else {
            summary.series.len()
        };
        let series = (0..len)
            .map(|i| {
                let mut second = SecondStats {
                    second: i as u64,
                    ..SecondStats::default()
                };
                if let Some(c) = summary.series.get(i) {
                    second.started = c.started;
                    second.succeeded = c.succeeded;
                    second.failed = c.failed;
                    second.txs_sent = c.txs_sent;
                    second.txs_included = c.txs_included;
                    second.gas_used = c.gas_used;
                }
                if let Some([offered, dropped, late]) = saved.open_series.get(i) {
                    second.offered = *offered;
                    second.dropped = *dropped;
                    second.late = *late;
                }
                if let Some(&[t50, t99, i50, i99]) = saved.latency_series.get(i) {
                    second.task_p50_ms = t50;
                    second.task_p99_ms = t99;
                    second.inclusion_p50_ms = i50;
                    second.inclusion_p99_ms = i99;
                }
                second
            })
            .collect();
        let run = &summary.run;
        Self {
            run: RunInfo {
                chain_id: run.chain_id,
                client_version: run.client_version.clone(),
                started_at_unix_ms: run.started_at_us / 1_000,
                ended_at_unix_ms: run.ended_at_us.map_or(0, |us| us / 1_000),
                seed: run.seed,
                workers: run.workers,
                config: settings,
            },
            elapsed_secs,
            totals: task_stats(&summary.totals, elapsed),
            tasks: summary
                .tasks
                .iter()
                .map(|(name, t)| (name.clone(), task_stats(t, elapsed)))
                .collect(),
            errors: summary.errors.clone(),
            series,
            nonces: saved.nonces,
            open_loop: saved.open_loop,
            closed_loop: saved.closed_loop,
            proxies: saved.proxies,
            endpoints: saved.endpoints,
            funding: saved.funding,
            shards: Vec::new(),
            store: Some(StoreStats {
                run_id: run.id.get(),
                written: 0,
                dropped: run.records_dropped,
                rows: None,
            }),
        }
    }
}

fn task_stats(t: &TaskSummary, elapsed: Duration) -> TaskStats {
    TaskStats::from_parts(
        [
            t.started,
            t.succeeded,
            t.failed,
            t.txs_sent,
            t.txs_included,
            t.gas_used,
        ],
        [latency(&t.task), latency(&t.send), latency(&t.inclusion)],
        elapsed,
    )
}

fn latency(l: &LatencyStats) -> LatencySummary {
    if l.count == 0 {
        return LatencySummary::default();
    }
    let ms = |us: u64| us as f64 / 1_000.0;
    LatencySummary {
        count: l.count,
        mean: round(l.mean_us / 1_000.0, 3),
        p50: ms(l.p50_us),
        p90: ms(l.p90_us),
        p99: ms(l.p99_us),
        p999: ms(l.p999_us),
        max: ms(l.max_us),
    }
}
