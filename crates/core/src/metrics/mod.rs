//! Metrics recording: a [`Recorder`] per worker, merged into one at the end of a run.
//!
//! Nothing here keeps individual samples (a peer ran out of memory doing so on long runs):
//! latencies go into HDR histograms, counts into per-second counters.

mod buckets;
mod latency;
mod series;
mod timeline;

use std::collections::BTreeMap;

use tokio::time::Instant;

pub use self::buckets::{LATENCY_BOUNDS, LatencyBuckets};
pub(crate) use self::{
    latency::Latency,
    series::{Counts, MAX_SECONDS, Series},
    timeline::{Kind as LatencyKind, Timeline},
};

/// Per-worker metrics: owned by one worker, no locks, [merged](Recorder::merge) at the end.
///
/// Latencies are kept per task name in HDR histograms (microseconds, 3 significant digits,
/// up to one hour; longer ones count as one hour), counters per task name and per whole second
/// since the run start, failures per error label. Feed the merged recorder to
/// [`Report::build`](crate::Report::build).
///
/// # Accounting
///
/// A task is counted when it *finishes*: as started in the second it started, as succeeded or
/// failed in the second it finished. Tasks still running when the run ends are not counted at
/// all, so `started == succeeded + failed` in every report. Transactions count as sent in the
/// second they were sent, as included (with their gas) in the second they were seen in a block.
/// Instants before the run start count in second 0.
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
/// let ms = Duration::from_millis;
///
/// let mut worker_a = Recorder::new(t0);
/// worker_a.tx_sent("transfer", t0, t0 + ms(3));
/// worker_a.tx_included("transfer", t0, t0 + ms(1_200), 21_000);
/// worker_a.task("transfer", t0, t0 + ms(1_200), Ok(()));
///
/// let mut worker_b = Recorder::new(t0);
/// worker_b.task("transfer", t0 + ms(500), t0 + ms(900), Err("nonce too low"));
///
/// worker_a.merge(&worker_b);
/// let report = Report::build(RunInfo::default(), &worker_a, NonceStats::default(), ms(2_000));
/// assert_eq!(report.totals.started, 2);
/// assert_eq!(report.totals.failed, 1);
/// assert_eq!(report.errors["nonce too low"], 1);
/// assert_eq!(report.series.len(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct Recorder {
    start: Instant,
    tasks: BTreeMap<String, TaskMetrics>,
    errors: BTreeMap<String, u64>,
    series: Series,
    timeline: Timeline,
}

/// What a [`Recorder`] keeps per task name.
#[derive(Debug, Clone, Default)]
pub(crate) struct TaskMetrics {
    /// Counters over the whole run.
    pub(crate) counts: Counts,
    /// Task start to finish.
    pub(crate) task: Latency,
    /// Transaction sent to the node's answer.
    pub(crate) send: Latency,
    /// Transaction sent to seen in a block.
    pub(crate) inclusion: Latency,
}

impl TaskMetrics {
    /// Adds `other`'s counters and samples to this one's.
    pub(crate) fn merge(&mut self, other: &Self) {
        self.counts.add(&other.counts);
        self.task.merge(&other.task);
        self.send.merge(&other.send);
        self.inclusion.merge(&other.inclusion);
    }
}

impl Recorder {
    /// An empty recorder for a run that started at `start`; seconds are counted from it.
    pub fn new(start: Instant) -> Self {
        Self {
            start,
            tasks: BTreeMap::new(),
            errors: BTreeMap::new(),
            series: Series::default(),
            timeline: Timeline::default(),
        }
    }

    /// The run start this recorder counts seconds from.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// A task finished: `outcome` is `Ok`, or `Err` with an error-class label such as
    /// `"nonce too low"`, `"timeout"` or `"panic"`.
    ///
    /// Counts the task as started in the second of `started` and as succeeded or failed in the
    /// second of `finished`; records `finished - started` as its latency (0 if negative).
    pub fn task(
        &mut self,
        task: &str,
        started: Instant,
        finished: Instant,
        outcome: Result<(), &str>,
    ) {
        let metrics = self.metrics(task);
        metrics.counts.started += 1;
        match outcome {
            Ok(()) => metrics.counts.succeeded += 1,
            Err(_) => metrics.counts.failed += 1,
        }
        let took = finished.saturating_duration_since(started);
        metrics.task.record(took);
        let second = self.index(finished);
        self.timeline.record(second, LatencyKind::Task, took);

        self.series.at(self.second(started)).started += 1;
        let end = self.series.at(self.second(finished));
        match outcome {
            Ok(()) => end.succeeded += 1,
            Err(label) => {
                end.failed += 1;
                *counter(&mut self.errors, label) += 1;
            }
        }
    }

    /// A transaction of `task` was sent at `sent` and the node answered at `acked`.
    ///
    /// Counts it in the second of `sent`; records `acked - sent` as its send latency.
    pub fn tx_sent(&mut self, task: &str, sent: Instant, acked: Instant) {
        let metrics = self.metrics(task);
        metrics.counts.txs_sent += 1;
        metrics.send.record(acked.saturating_duration_since(sent));
        self.series.at(self.second(sent)).txs_sent += 1;
    }

    /// A transaction of `task` was sent at `sent` and no answer was ever read (the send was
    /// cut off by a timeout or the run's stop): counted like [`tx_sent`](Self::tx_sent), with
    /// no send latency.
    pub(crate) fn tx_sent_unanswered(&mut self, task: &str, sent: Instant) {
        self.metrics(task).counts.txs_sent += 1;
        self.series.at(self.second(sent)).txs_sent += 1;
    }

    /// A transaction of `task` sent at `sent` was seen in a block at `included`, using
    /// `gas_used`.
    ///
    /// Counts it and its gas in the second of `included`; records `included - sent` as its
    /// inclusion latency.
    pub fn tx_included(&mut self, task: &str, sent: Instant, included: Instant, gas_used: u64) {
        let metrics = self.metrics(task);
        metrics.counts.txs_included += 1;
        metrics.counts.gas_used = metrics.counts.gas_used.saturating_add(gas_used);
        let took = included.saturating_duration_since(sent);
        metrics.inclusion.record(took);
        let second = self.index(included);
        self.timeline.record(second, LatencyKind::Inclusion, took);
        let second = self.series.at(self.second(included));
        second.txs_included += 1;
        second.gas_used = second.gas_used.saturating_add(gas_used);
    }

    /// Open loop: a tick due at `intended`, `dropped` or sent (and `late`).
    ///
    /// Counts it as offered (and dropped) in the second of `intended`.
    pub(crate) fn tick(&mut self, task: &str, intended: Instant, dropped: bool, late: bool) {
        self.ticks(task, intended, 1, dropped, late);
    }

    /// Open loop: `n` ticks due in the second of `intended`, all alike.
    pub(crate) fn ticks(
        &mut self,
        task: &str,
        intended: Instant,
        n: u64,
        dropped: bool,
        late: bool,
    ) {
        let add = |counts: &mut Counts| {
            counts.offered += n;
            counts.dropped += if dropped { n } else { 0 };
            counts.late += if late { n } else { 0 };
        };
        add(&mut self.metrics(task).counts);
        add(self.series.at(self.second(intended)));
    }

    /// Gas of a transaction of `task` included at `included`, learnt from its receipt after
    /// [`tx_included`](Self::tx_included) counted it.
    pub(crate) fn tx_gas(&mut self, task: &str, included: Instant, gas_used: u64) {
        let add = |counts: &mut Counts| counts.gas_used = counts.gas_used.saturating_add(gas_used);
        add(&mut self.metrics(task).counts);
        add(self.series.at(self.second(included)));
    }

    /// Adds another worker's recorder to this one: histograms, counters and series add up.
    ///
    /// Both should count from the same run start, as the engine's workers do: `other`'s
    /// seconds are taken as they are, and this recorder keeps its own start.
    pub fn merge(&mut self, other: &Self) {
        for (name, theirs) in &other.tasks {
            self.metrics(name).merge(theirs);
        }
        for (label, count) in &other.errors {
            let mine = counter(&mut self.errors, label);
            *mine = mine.saturating_add(*count);
        }
        self.series.merge(&other.series);
        self.timeline.merge(&other.timeline);
    }

    /// Metrics per task name.
    pub(crate) fn tasks(&self) -> &BTreeMap<String, TaskMetrics> {
        &self.tasks
    }

    /// Every task name's metrics together.
    pub(crate) fn all_tasks(&self) -> TaskMetrics {
        let mut all = TaskMetrics::default();
        for metrics in self.tasks.values() {
            all.merge(metrics);
        }
        all
    }

    /// Failed tasks per error label.
    pub(crate) fn errors(&self) -> &BTreeMap<String, u64> {
        &self.errors
    }

    /// Counters per second since the start.
    pub(crate) fn series(&self) -> &Series {
        &self.series
    }

    /// Latency percentiles per second.
    pub(crate) fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// The series slot of `at` (the second, clamped like [`Series::at`]).
    fn index(&self, at: Instant) -> usize {
        usize::try_from(self.second(at).min(MAX_SECONDS - 1)).unwrap_or(usize::MAX)
    }

    fn second(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.start).as_secs()
    }

    fn metrics(&mut self, task: &str) -> &mut TaskMetrics {
        // Look up by `&str` first: the hot path must not allocate a `String` per event.
        if !self.tasks.contains_key(task) {
            self.tasks.insert(task.to_owned(), TaskMetrics::default());
        }
        self.tasks.get_mut(task).expect("inserted above")
    }
}

fn counter<'a>(counters: &'a mut BTreeMap<String, u64>, label: &str) -> &'a mut u64 {
    if !counters.contains_key(label) {
        counters.insert(label.to_owned(), 0);
    }
    counters.get_mut(label).expect("inserted above")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn task_counts_start_and_finish_seconds() {
        let t0 = Instant::now();
        let mut r = Recorder::new(t0);
        r.task("a", t0 + ms(500), t0 + ms(2_100), Ok(()));
        r.task("a", t0 + ms(900), t0 + ms(1_000), Err("timeout"));
        let s = r.series().seconds();
        assert_eq!(s.len(), 3);
        assert_eq!((s[0].started, s[0].succeeded, s[0].failed), (2, 0, 0));
        assert_eq!((s[1].started, s[1].succeeded, s[1].failed), (0, 0, 1));
        assert_eq!((s[2].started, s[2].succeeded, s[2].failed), (0, 1, 0));
        let a = &r.tasks()["a"];
        assert_eq!(
            (a.counts.started, a.counts.succeeded, a.counts.failed),
            (2, 1, 1)
        );
        assert_eq!(a.task.count(), 2);
        assert_eq!(r.errors()["timeout"], 1);
    }

    #[test]
    fn txs_count_at_send_and_inclusion() {
        let t0 = Instant::now();
        let mut r = Recorder::new(t0);
        r.tx_sent("a", t0 + ms(100), t0 + ms(150));
        r.tx_included("a", t0 + ms(100), t0 + ms(3_000), 21_000);
        let s = r.series().seconds();
        assert_eq!(s.len(), 4);
        assert_eq!(s[0].txs_sent, 1);
        assert_eq!((s[3].txs_included, s[3].gas_used), (1, 21_000));
        let a = &r.tasks()["a"];
        let send = a.send.histogram().unwrap();
        assert!(send.equivalent(send.max(), 50_000));
        let inclusion = a.inclusion.histogram().unwrap();
        assert!(inclusion.equivalent(inclusion.max(), 2_900_000));
        assert_eq!(a.counts.gas_used, 21_000);
        assert_eq!(a.task.count(), 0);
    }

    #[test]
    fn instants_before_start_and_negative_durations_are_safe() {
        let t0 = Instant::now() + ms(10_000);
        let mut r = Recorder::new(t0);
        r.task("a", t0 - ms(5_000), t0 - ms(6_000), Ok(()));
        let s = r.series().seconds();
        assert_eq!((s.len(), s[0].started, s[0].succeeded), (1, 1, 1));
        assert_eq!(r.tasks()["a"].task.histogram().unwrap().max(), 0);
    }

    #[test]
    fn merge_adds_everything() {
        let t0 = Instant::now();
        let mut a = Recorder::new(t0);
        a.task("x", t0, t0 + ms(10), Err("timeout"));
        let mut b = Recorder::new(t0);
        b.task("x", t0, t0 + ms(20), Err("timeout"));
        b.task("y", t0 + ms(1_500), t0 + ms(1_600), Ok(()));
        a.merge(&b);
        assert_eq!(a.errors()["timeout"], 2);
        assert_eq!(a.tasks()["x"].counts.failed, 2);
        assert_eq!(a.tasks()["y"].counts.succeeded, 1);
        assert_eq!(a.series().total().started, 3);
        assert_eq!(a.series().seconds().len(), 2);
    }
}
