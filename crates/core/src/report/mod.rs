//! [`Report`]: what a run did, built from a merged [`Recorder`]; serde, terminal summary,
//! pass/fail against [`Thresholds`].

mod closed_loop;
mod display;
mod endpoints;
#[cfg(feature = "store")]
mod from_store;
#[cfg(feature = "html")]
mod html;
#[cfg(feature = "store")]
mod merge;
mod open_loop;
mod proxies;
mod shards;
mod stats;
mod thresholds;

use std::{collections::BTreeMap, time::Duration};

use serde::{Deserialize, Serialize};

#[cfg(feature = "store")]
pub use self::from_store::FromStoreError;
pub use self::{
    closed_loop::{ClosedLoopStats, Pause},
    endpoints::{EndpointSummary, EndpointTransition},
    open_loop::{BlockStats, BlockSummary, BreakerEvent, OpenLoopStats, PreconfStats},
    proxies::ProxySummary,
    shards::ShardSummary,
    stats::{
        FundingStats, LatencySummary, NonceStats, RunInfo, SecondStats, StoreStats, StoredRows,
        TaskStats,
    },
    thresholds::{ThresholdError, Thresholds, Verdict},
};
use crate::metrics::{LatencyKind, MAX_SECONDS, Recorder, TaskMetrics};

/// What a run did: totals and per-task figures, error classes, a per-second series, nonce
/// repairs. A value a test can assert on, print ([`Display`](std::fmt::Display): a terminal
/// summary), serialize ([`Report::to_json`]) and [check](Report::check) against thresholds.
///
/// # Accounting
///
/// The figures add up, and a report whose sums do not match is a bug:
/// - `started == succeeded + failed`, in the totals and for each task (a task is counted when
///   it finishes; tasks still running at the end are left out);
/// - each counter of `totals` is the sum of that counter over `tasks`, and over `series`;
/// - the counts in `errors` sum to `totals.failed`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// use spam_core::{NonceStats, Recorder, Report, RunInfo, Thresholds};
/// use tokio::time::Instant;
///
/// let t0 = Instant::now();
/// let mut recorder = Recorder::new(t0);
/// for i in 0..100 {
///     let start = t0 + Duration::from_millis(10 * i);
///     recorder.task("transfer", start, start + Duration::from_millis(40), Ok(()));
/// }
///
/// let report = Report::build(
///     RunInfo::default(),
///     &recorder,
///     NonceStats::default(),
///     Duration::from_secs(1),
/// );
/// assert_eq!(report.tasks["transfer"].succeeded, 100);
/// // Percentiles are bucket upper bounds: at most 0.1% above the samples (40 ms here).
/// assert!((40.0..40.04).contains(&report.totals.task_ms.p99));
///
/// let verdict = report.check(&Thresholds::default().with_min_tasks_per_sec(50.0));
/// assert!(verdict.passed, "{verdict}");
/// println!("{report}");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Report {
    /// What ran.
    pub run: RunInfo,
    /// Length of the run, in seconds (microsecond precision).
    pub elapsed_secs: f64,
    /// All tasks together.
    pub totals: TaskStats,
    /// Per task name.
    pub tasks: BTreeMap<String, TaskStats>,
    /// Failed tasks per error class.
    pub errors: BTreeMap<String, u64>,
    /// Counters per second, dense from second 0 to the last second with an event or the end
    /// of the run, whichever is later (an idle tail shows as zeros).
    pub series: Vec<SecondStats>,
    /// Nonce repairs.
    pub nonces: NonceStats,
    /// The open-loop figures, for a [`LoadGen`](crate::LoadGen) run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_loop: Option<OpenLoopStats>,
    /// The closed-loop figures, for a [`Spammer`](crate::Spammer) run: every transaction's
    /// fate on the final chain, retries, reconciliations, the breaker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_loop: Option<ClosedLoopStats>,
    /// Per proxy, in list order, for a run whose RPC went through a proxy pool
    /// ([`SpammerBuilder::proxies`](crate::SpammerBuilder::proxies)); empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proxies: Vec<ProxySummary>,
    /// Per RPC endpoint, for a run over several endpoints or with a per-endpoint request cap
    /// ([`Endpoints`](crate::Endpoints)); empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<EndpointSummary>,
    /// Where the run was persisted, when a store was configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<StoreStats>,
    /// Per shard, for a run over several shards rebuilt with
    /// [`Report::from_store`](crate::Report::from_store); empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<ShardSummary>,
    /// How the senders were funded before the load, when they were
    /// ([`SpammerBuilder::funding`](crate::SpammerBuilder::funding)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funding: Option<FundingStats>,
}

impl Report {
    /// Builds the report of a run that lasted `elapsed`, from the merge of its workers'
    /// recorders.
    pub fn build(run: RunInfo, recorder: &Recorder, nonces: NonceStats, elapsed: Duration) -> Self {
        let mut all = TaskMetrics::default();
        let tasks = recorder
            .tasks()
            .iter()
            .map(|(name, metrics)| {
                all.merge(metrics);
                (name.clone(), TaskStats::from_metrics(metrics, elapsed))
            })
            .collect();
        debug_assert_eq!(
            all.counts,
            recorder.series().total(),
            "series and totals differ"
        );

        let run_seconds = elapsed
            .as_secs()
            .saturating_add(u64::from(elapsed.subsec_nanos() > 0));
        let seconds = recorder.series().seconds();
        let len = (seconds.len() as u64).max(run_seconds.min(MAX_SECONDS));
        let series = (0..len)
            .map(|second| {
                let counts = usize::try_from(second)
                    .ok()
                    .and_then(|i| seconds.get(i))
                    .copied()
                    .unwrap_or_default();
                let mut stats = SecondStats::new(second, &counts);
                let index = usize::try_from(second).unwrap_or(usize::MAX);
                [stats.task_p50_ms, stats.task_p99_ms] =
                    recorder.timeline().percentiles(index, LatencyKind::Task);
                [stats.inclusion_p50_ms, stats.inclusion_p99_ms] = recorder
                    .timeline()
                    .percentiles(index, LatencyKind::Inclusion);
                stats
            })
            .collect();

        Self {
            run,
            elapsed_secs: round(elapsed.as_secs_f64(), 6),
            totals: TaskStats::from_metrics(&all, elapsed),
            tasks,
            errors: recorder.errors().clone(),
            series,
            nonces,
            open_loop: None,
            closed_loop: None,
            proxies: Vec::new(),
            endpoints: Vec::new(),
            store: None,
            funding: None,
            shards: Vec::new(),
        }
    }

    /// The report as pretty-printed JSON; [`serde_json::from_str`] reads it back equal.
    pub fn to_json(&self) -> String {
        // Every map key is a string and every float finite, so serializing cannot fail.
        serde_json::to_string_pretty(self).expect("a report serializes to JSON")
    }

    /// The report as one self-contained HTML page: run info, the accounting identities checked,
    /// per-second, per-block, per-task, per-error-class and latency tables and SVG charts, and
    /// the proxies. Inline CSS and SVG, no scripts, nothing fetched: open it from disk or attach
    /// it to a CI run. Every text taken from the run (task names, error classes, the config) is
    /// HTML-escaped.
    ///
    /// Needs the `html` feature (on by default).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use spam_core::{NonceStats, Recorder, Report, RunInfo};
    /// use tokio::time::Instant;
    ///
    /// let t0 = Instant::now();
    /// let mut recorder = Recorder::new(t0);
    /// recorder.task("transfer", t0, t0 + Duration::from_millis(40), Ok(()));
    /// let report = Report::build(RunInfo::default(), &recorder, NonceStats::default(), Duration::from_secs(1));
    ///
    /// let page = report.to_html();
    /// assert!(page.starts_with("<!DOCTYPE html>") && page.contains("transfer"));
    /// # let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("report.html"), page)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[cfg(feature = "html")]
    pub fn to_html(&self) -> String {
        html::render(self)
    }
}

/// `value` rounded to `decimals`: short to print, and exact through a JSON round trip (serde_json
/// parses numbers with up to 15 significant digits exactly).
pub(crate) fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    let rounded = (value * scale).round() / scale;
    if rounded.is_finite() { rounded } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use tokio::time::Instant;

    use super::*;

    #[test]
    fn series_covers_the_whole_run() {
        let t0 = Instant::now();
        let mut r = Recorder::new(t0);
        r.task("a", t0, t0 + Duration::from_millis(1_200), Ok(()));
        let report = Report::build(
            RunInfo::default(),
            &r,
            NonceStats::default(),
            Duration::from_millis(4_500),
        );
        assert_eq!(report.series.len(), 5);
        assert_eq!(report.series[1].succeeded, 1);
        assert_eq!(report.series[4], SecondStats::new(4, &Default::default()));
        assert!(
            report
                .series
                .iter()
                .enumerate()
                .all(|(i, s)| s.second == i as u64)
        );
    }

    #[test]
    fn empty_report() {
        let report = Report::build(
            RunInfo::default(),
            &Recorder::new(Instant::now()),
            NonceStats::default(),
            Duration::ZERO,
        );
        assert!(report.series.is_empty() && report.tasks.is_empty());
        assert_eq!(report.totals, TaskStats::default());
        assert_eq!(report.elapsed_secs, 0.0);
    }

    #[test]
    fn huge_elapsed_does_not_allocate_forever() {
        let report = Report::build(
            RunInfo::default(),
            &Recorder::new(Instant::now()),
            NonceStats::default(),
            Duration::MAX,
        );
        assert_eq!(report.series.len() as u64, MAX_SECONDS);
    }

    #[test]
    fn rounding() {
        assert_eq!(round(2.0 / 3.0, 6), 0.666667);
        assert_eq!(round(f64::NAN, 3), 0.0);
        assert_eq!(round(f64::MAX, 3), 0.0);
    }
}
