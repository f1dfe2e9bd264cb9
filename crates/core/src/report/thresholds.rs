//! [`Thresholds`] turn a [`Report`] into a [`Verdict`]: pass or fail, and why.

use std::{fmt, time::Duration};

use serde::{Deserialize, Serialize};

use super::{LatencySummary, Report};

/// Limits a run must meet; each is checked only when set. They apply to the report's totals.
///
/// A latency limit with nothing measured fails: a run that finished no task, or included no
/// transaction, must not pass a p99 check by having no samples.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// use spam_core::Thresholds;
///
/// let thresholds = Thresholds::default()
///     .with_min_success_rate(0.99)
///     .with_max_p99_inclusion(Duration::from_secs(2))
///     .with_max_error_count(10);
/// assert_eq!(thresholds.min_tasks_per_sec, None);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Thresholds {
    /// Lowest acceptable [`success_rate`](crate::TaskStats::success_rate), in `0..=1`.
    pub min_success_rate: Option<f64>,
    /// Highest acceptable p99 of task latency.
    pub max_p99_task: Option<Duration>,
    /// Highest acceptable p99 of inclusion latency (sent to seen in a block).
    pub max_p99_inclusion: Option<Duration>,
    /// Lowest acceptable [`tasks_per_sec`](crate::TaskStats::tasks_per_sec).
    pub min_tasks_per_sec: Option<f64>,
    /// Highest acceptable number of failed tasks.
    pub max_error_count: Option<u64>,
    /// Highest acceptable share of offered transactions that were dropped, in `0..=1` (open
    /// loop only; a closed-loop run drops nothing).
    pub max_drop_rate: Option<f64>,
}

impl Thresholds {
    /// Sets [`min_success_rate`](Self::min_success_rate), a fraction in `0..=1`.
    pub fn with_min_success_rate(mut self, rate: f64) -> Self {
        self.min_success_rate = Some(rate);
        self
    }

    /// Sets [`max_p99_task`](Self::max_p99_task).
    pub fn with_max_p99_task(mut self, limit: Duration) -> Self {
        self.max_p99_task = Some(limit);
        self
    }

    /// Sets [`max_p99_inclusion`](Self::max_p99_inclusion).
    pub fn with_max_p99_inclusion(mut self, limit: Duration) -> Self {
        self.max_p99_inclusion = Some(limit);
        self
    }

    /// Sets [`min_tasks_per_sec`](Self::min_tasks_per_sec).
    pub fn with_min_tasks_per_sec(mut self, rate: f64) -> Self {
        self.min_tasks_per_sec = Some(rate);
        self
    }

    /// Sets [`max_error_count`](Self::max_error_count).
    pub fn with_max_error_count(mut self, count: u64) -> Self {
        self.max_error_count = Some(count);
        self
    }

    /// Sets [`max_drop_rate`](Self::max_drop_rate), a fraction in `0..=1`.
    pub fn with_max_drop_rate(mut self, rate: f64) -> Self {
        self.max_drop_rate = Some(rate);
        self
    }
}

/// Whether a report met its [`Thresholds`], and each limit it missed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Verdict {
    /// `true` when every set threshold was met.
    pub passed: bool,
    /// One line per missed threshold: its name, the limit and the measured value.
    pub failures: Vec<String>,
}

impl Verdict {
    /// `Ok` when the report passed, else the failures as an error, for `?` in tests.
    ///
    /// # Errors
    ///
    /// [`ThresholdError`] listing the missed thresholds.
    pub fn into_result(self) -> Result<(), ThresholdError> {
        if self.passed {
            Ok(())
        } else {
            Err(ThresholdError {
                failures: self.failures,
            })
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.passed {
            return f.write_str("passed");
        }
        write!(f, "failed:")?;
        for failure in &self.failures {
            write!(f, "\n  - {failure}")?;
        }
        Ok(())
    }
}

/// A report missed one or more [`Thresholds`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} threshold(s) failed: {}", failures.len(), failures.join("; "))]
#[non_exhaustive]
pub struct ThresholdError {
    /// One line per missed threshold, as in [`Verdict::failures`].
    pub failures: Vec<String>,
}

impl Report {
    /// Checks the report's totals against `thresholds`.
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
    /// recorder.task("deploy", t0, t0 + Duration::from_millis(30), Err("timeout"));
    /// let report = Report::build(
    ///     RunInfo::default(),
    ///     &recorder,
    ///     NonceStats::default(),
    ///     Duration::from_secs(1),
    /// );
    ///
    /// let verdict = report.check(&Thresholds::default().with_min_success_rate(0.99));
    /// assert!(!verdict.passed);
    /// assert!(verdict.failures[0].starts_with("min_success_rate"));
    /// assert!(verdict.into_result().is_err());
    /// ```
    pub fn check(&self, thresholds: &Thresholds) -> Verdict {
        let totals = &self.totals;
        let mut failures = Vec::new();

        // A NaN limit fails: a check that cannot be met must not pass silently.
        if let Some(limit) = thresholds.min_success_rate
            && (limit.is_nan() || totals.success_rate < limit)
        {
            failures.push(format!(
                "min_success_rate: success rate {} is below the limit {} ({} of {} tasks succeeded)",
                percent(totals.success_rate),
                percent(limit),
                totals.succeeded,
                totals.started,
            ));
        }
        if let Some(limit) = thresholds.max_p99_task {
            check_p99(
                &mut failures,
                "max_p99_task",
                "task",
                &totals.task_ms,
                limit,
            );
        }
        if let Some(limit) = thresholds.max_p99_inclusion {
            check_p99(
                &mut failures,
                "max_p99_inclusion",
                "inclusion",
                &totals.inclusion_ms,
                limit,
            );
        }
        if let Some(limit) = thresholds.min_tasks_per_sec
            && (limit.is_nan() || totals.tasks_per_sec < limit)
        {
            failures.push(format!(
                "min_tasks_per_sec: {} tasks/s is below the limit {limit} tasks/s ({} tasks in {} s)",
                totals.tasks_per_sec, totals.started, self.elapsed_secs,
            ));
        }
        if let Some(limit) = thresholds.max_error_count
            && totals.failed > limit
        {
            failures.push(format!(
                "max_error_count: {} failed tasks is above the limit {limit} ({})",
                totals.failed,
                self.top_errors(3),
            ));
        }
        if let Some(limit) = thresholds.max_drop_rate {
            let (dropped, offered) = self
                .open_loop
                .as_ref()
                .map_or((0, 0), |o| (o.dropped, o.offered));
            let rate = if offered == 0 {
                0.0
            } else {
                dropped as f64 / offered as f64
            };
            if limit.is_nan() || rate > limit {
                failures.push(format!(
                    "max_drop_rate: {} of offered transactions were dropped, above the limit {} ({dropped} of {offered})",
                    percent(rate),
                    percent(limit),
                ));
            }
        }

        Verdict {
            passed: failures.is_empty(),
            failures,
        }
    }

    /// The `n` most frequent error classes, as `label: count, ...`.
    fn top_errors(&self, n: usize) -> String {
        let mut errors: Vec<_> = self.errors.iter().collect();
        errors.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let mut text: Vec<_> = errors
            .iter()
            .take(n)
            .map(|(label, count)| format!("{label}: {count}"))
            .collect();
        if errors.len() > n {
            text.push(format!("{} more classes", errors.len() - n));
        }
        text.join(", ")
    }
}

fn check_p99(
    failures: &mut Vec<String>,
    name: &str,
    what: &str,
    latency: &LatencySummary,
    limit: Duration,
) {
    let limit_ms = limit.as_secs_f64() * 1_000.0;
    if latency.count == 0 {
        failures.push(format!(
            "{name}: no {what} latency was measured, so p99 cannot be checked against the limit {limit_ms} ms"
        ));
    } else if latency.p99 > limit_ms {
        failures.push(format!(
            "{name}: p99 {what} latency {} ms is above the limit {limit_ms} ms ({} samples)",
            latency.p99, latency.count,
        ));
    }
}

fn percent(rate: f64) -> String {
    format!("{:.2}%", rate * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_display_and_result() {
        let passed = Verdict {
            passed: true,
            failures: vec![],
        };
        assert_eq!(passed.to_string(), "passed");
        assert_eq!(passed.into_result(), Ok(()));

        let failed = Verdict {
            passed: false,
            failures: vec!["a: 1 > 0".into(), "b: 2 > 0".into()],
        };
        assert_eq!(failed.to_string(), "failed:\n  - a: 1 > 0\n  - b: 2 > 0");
        let error = failed.into_result().unwrap_err();
        assert_eq!(
            error.to_string(),
            "2 threshold(s) failed: a: 1 > 0; b: 2 > 0"
        );
    }

    #[test]
    fn setters() {
        let t = Thresholds::default()
            .with_min_success_rate(0.5)
            .with_max_p99_task(Duration::from_secs(1))
            .with_max_p99_inclusion(Duration::from_secs(2))
            .with_min_tasks_per_sec(3.0)
            .with_max_error_count(4)
            .with_max_drop_rate(0.01);
        assert_eq!(t.min_success_rate, Some(0.5));
        assert_eq!(t.max_p99_task, Some(Duration::from_secs(1)));
        assert_eq!(t.max_p99_inclusion, Some(Duration::from_secs(2)));
        assert_eq!(t.min_tasks_per_sec, Some(3.0));
        assert_eq!(t.max_error_count, Some(4));
        assert_eq!(t.max_drop_rate, Some(0.01));
    }

    #[test]
    fn percent_format() {
        assert_eq!(percent(0.99), "99.00%");
        assert_eq!(percent(1.0), "100.00%");
    }
}
