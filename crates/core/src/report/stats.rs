//! The parts of a [`Report`](crate::Report): run info, nonce stats, per-task and per-second
//! figures, latency summaries.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::round;
use crate::metrics::{Counts, Latency, TaskMetrics};

/// What ran: the node, when, with which seed and configuration.
///
/// # Examples
///
/// ```
/// use spam_core::RunInfo;
///
/// let mut run = RunInfo::default();
/// run.chain_id = 31_337;
/// run.config = serde_json::json!({ "rate": 200 });
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunInfo {
    /// Chain id the node reported.
    pub chain_id: u64,
    /// The node's `web3_clientVersion`.
    pub client_version: String,
    /// Run start, Unix time in milliseconds.
    pub started_at_unix_ms: u64,
    /// Run end, Unix time in milliseconds.
    pub ended_at_unix_ms: u64,
    /// Seed of the run's random choices, to replay it.
    pub seed: u64,
    /// Number of workers.
    pub workers: u32,
    /// The run's configuration, as given.
    pub config: serde_json::Value,
}

/// What the nonce manager had to repair during the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NonceStats {
    /// Times a sender's nonce was read again from the node.
    pub resyncs: u64,
    /// Times a sender's nonce jumped ahead to the node's.
    pub fast_forwards: u64,
    /// Nonce gaps filled by a later send.
    pub holes_filled: u64,
}

/// Counters, rates and latencies of one task name, or of all of them (the report's totals).
///
/// A task is counted when it finishes, so `started == succeeded + failed`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskStats {
    /// Tasks that finished (tasks still running at the end are not counted).
    pub started: u64,
    /// Tasks that finished with `Ok`.
    pub succeeded: u64,
    /// Tasks that finished with an error.
    pub failed: u64,
    /// `succeeded / started`, in `0..=1` (6 decimals); 0 when no task finished.
    pub success_rate: f64,
    /// Finished tasks (`started`) per second of the run (3 decimals); 0 for an empty run.
    pub tasks_per_sec: f64,
    /// Transactions the node answered.
    pub txs_sent: u64,
    /// Transactions seen in a block.
    pub txs_included: u64,
    /// Gas used by the included transactions.
    pub gas_used: u64,
    /// Task start to finish.
    pub task_ms: LatencySummary,
    /// Transaction sent to the node's answer.
    pub send_ms: LatencySummary,
    /// Transaction sent to seen in a block.
    pub inclusion_ms: LatencySummary,
}

impl TaskStats {
    pub(super) fn from_metrics(metrics: &TaskMetrics, elapsed: Duration) -> Self {
        let c = metrics.counts;
        Self::from_parts(
            [
                c.started,
                c.succeeded,
                c.failed,
                c.txs_sent,
                c.txs_included,
                c.gas_used,
            ],
            [
                LatencySummary::from_latency(&metrics.task),
                LatencySummary::from_latency(&metrics.send),
                LatencySummary::from_latency(&metrics.inclusion),
            ],
            elapsed,
        )
    }

    /// From `[started, succeeded, failed, txs_sent, txs_included, gas_used]` and the task,
    /// send and inclusion latencies of a run that lasted `elapsed`.
    pub(super) fn from_parts(
        [started, succeeded, failed, txs_sent, txs_included, gas_used]: [u64; 6],
        [task_ms, send_ms, inclusion_ms]: [LatencySummary; 3],
        elapsed: Duration,
    ) -> Self {
        let success_rate = if started == 0 {
            0.0
        } else {
            round(succeeded as f64 / started as f64, 6)
        };
        let secs = elapsed.as_secs_f64();
        let tasks_per_sec = if secs > 0.0 {
            round(started as f64 / secs, 3)
        } else {
            0.0
        };
        Self {
            started,
            succeeded,
            failed,
            success_rate,
            tasks_per_sec,
            txs_sent,
            txs_included,
            gas_used,
            task_ms,
            send_ms,
            inclusion_ms,
        }
    }
}

/// Latency percentiles, in milliseconds; all 0 when nothing was measured.
///
/// Values come from an HDR histogram with 3 significant digits: a percentile is the upper
/// bound of its bucket, at most 0.1% above the true sample (`max` too).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LatencySummary {
    /// Number of samples.
    pub count: u64,
    /// Mean (microsecond precision).
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest sample.
    pub max: f64,
}

impl LatencySummary {
    pub(crate) fn from_latency(latency: &Latency) -> Self {
        let Some(h) = latency.histogram() else {
            return Self::default();
        };
        // Samples are whole microseconds: `us / 1000` has at most 3 decimals, so it prints
        // short and survives a JSON round trip exactly.
        let ms = |us: u64| us as f64 / 1_000.0;
        Self {
            count: h.len(),
            mean: round(h.mean() / 1_000.0, 3),
            p50: ms(h.value_at_quantile(0.5)),
            p90: ms(h.value_at_quantile(0.9)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        }
    }
}

/// Counters of one second of the run.
///
/// A task counts as started in the second it started and as succeeded or failed in the second
/// it finished; a transaction as sent in the second it was sent, as included (with its gas) in
/// the second its block was seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SecondStats {
    /// Whole seconds since the run start.
    pub second: u64,
    /// Tasks started in this second (and finished before the end).
    pub started: u64,
    /// Tasks that succeeded in this second.
    pub succeeded: u64,
    /// Tasks that failed in this second.
    pub failed: u64,
    /// Transactions sent in this second.
    pub txs_sent: u64,
    /// Transactions seen in a block in this second.
    pub txs_included: u64,
    /// Gas used by them.
    pub gas_used: u64,
    /// Open loop: transactions due in this second (sent or dropped).
    #[serde(default)]
    pub offered: u64,
    /// Open loop: ticks due in this second that were not sent.
    #[serde(default)]
    pub dropped: u64,
    /// Open loop: transactions sent in this second later than the late threshold.
    #[serde(default)]
    pub late: u64,
    /// Median task latency of the tasks that ended in this second (open loop: intended time to
    /// the node's answer), ms to 2%; 0 when none ended.
    #[serde(default)]
    pub task_p50_ms: f64,
    /// 99th percentile of the same.
    #[serde(default)]
    pub task_p99_ms: f64,
    /// Median inclusion latency of the transactions seen in a block in this second, ms to 2%.
    #[serde(default)]
    pub inclusion_p50_ms: f64,
    /// 99th percentile of the same.
    #[serde(default)]
    pub inclusion_p99_ms: f64,
}

impl SecondStats {
    pub(super) fn new(second: u64, counts: &Counts) -> Self {
        Self {
            second,
            started: counts.started,
            succeeded: counts.succeeded,
            failed: counts.failed,
            txs_sent: counts.txs_sent,
            txs_included: counts.txs_included,
            gas_used: counts.gas_used,
            offered: counts.offered,
            dropped: counts.dropped,
            late: counts.late,
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_latency_is_all_zero() {
        assert_eq!(
            LatencySummary::from_latency(&Latency::default()),
            LatencySummary::default()
        );
    }

    #[test]
    fn latency_summary_in_ms() {
        let mut latency = Latency::default();
        for us in 1..=1_000 {
            latency.record(Duration::from_micros(us));
        }
        let s = LatencySummary::from_latency(&latency);
        assert_eq!(s.count, 1_000);
        assert_eq!(
            (s.p50, s.p90, s.p99, s.p999, s.max),
            (0.5, 0.9, 0.99, 0.999, 1.0)
        );
        assert!((0.5..=0.501).contains(&s.mean), "{}", s.mean);
    }

    #[test]
    fn rates() {
        let mut metrics = TaskMetrics::default();
        metrics.counts.started = 3;
        metrics.counts.succeeded = 2;
        metrics.counts.failed = 1;
        let stats = TaskStats::from_metrics(&metrics, Duration::from_secs(2));
        assert_eq!(stats.success_rate, 0.666667);
        assert_eq!(stats.tasks_per_sec, 1.5);
        let none = TaskStats::from_metrics(&TaskMetrics::default(), Duration::ZERO);
        assert_eq!((none.success_rate, none.tasks_per_sec), (0.0, 0.0));
    }
}

/// Where a run was persisted, and how completely: `dropped` is 0 unless the database could
/// not keep up or failed (then the rebuilt report undercounts by that many records).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StoreStats {
    /// The run's id in the store.
    pub run_id: u64,
    /// Records committed (a transaction's later updates are records of their own; the run's
    /// row counts once).
    pub written: u64,
    /// Records lost: dropped while the writer's queue was full, given up after retries, or
    /// not attempted after the store failed for good; 1 more when the run's final row (its end
    /// and figures) could not be written.
    pub dropped: u64,
    /// The rows the database holds for the run, read back after the last write: what is
    /// stored, whatever the writes reported. `None` when the read failed.
    #[serde(default)]
    pub rows: Option<StoredRows>,
}

/// A run's rows in the store, per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StoredRows {
    /// Finished tasks (for the open loop: answered sends).
    pub tasks: u64,
    /// Transactions, one row per hash.
    pub txs: u64,
    /// Blocks.
    pub blocks: u64,
}

/// How the senders were funded before the load, and topped up during it: never part of the
/// load's figures. Start from `FundingStats::default()` and set the fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FundingStats {
    /// The funder's address (empty when the senders were not funded before the load).
    pub funder: String,
    /// What each sender was budgeted, in words (transactions, gas, fee, margin).
    pub budget: String,
    /// What each sender needed to hold, in wei (decimal).
    pub per_sender_wei: String,
    /// Senders the funder topped up.
    pub funded: u64,
    /// Senders that already held enough.
    pub already_funded: u64,
    /// Value sent, in wei (decimal).
    pub value_wei: String,
    /// Most the transfers could pay in fees (each transfer's gas limit at its max fee), in
    /// wei (decimal).
    pub max_fees_wei: String,
    /// Seconds from the balance reads to the last transfer's inclusion.
    pub secs: f64,
    /// Top-up transfers sent during the run ([`TopUp`](crate::TopUp)).
    #[serde(default)]
    pub top_ups: u64,
    /// Value of the top-ups, in wei (decimal; empty without top-ups).
    #[serde(default)]
    pub top_up_value_wei: String,
    /// Top-up rounds that could not fund every low sender (the funder short, a read failed).
    #[serde(default)]
    pub top_up_failed_rounds: u64,
    /// Times a sender was parked because the node refused it for lack of funds.
    #[serde(default)]
    pub parkings: u64,
}
