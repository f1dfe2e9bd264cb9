//! [`RunSummary`]: a run's counts, latency percentiles and per-second series, computed from
//! the stored records.
//!
//! The rules are spam-core's live recorder's, so a report rebuilt from the database counts
//! the same: a task counts as started in the second it started and as succeeded or failed in
//! the second it finished; a transaction counts as sent (in the second of `sent_at_us`) once
//! it has both `sent_at_us` and `acked_at_us`, and as included (with its gas, in the second of
//! `included_at_us`) once it has `included_at_us`. Latencies go into HDR histograms with the
//! recorder's bounds (1 µs to one hour, 3 significant digits), so percentiles match too.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::{Cursor, Error, MAX_PAGE, RunId, RunRecord, Store, TaskRecord, TxRecord};

/// Longest series kept: 31 days of seconds (later events count in the last second).
pub const MAX_SECONDS: u64 = 31 * 24 * 3600;

/// Largest latency a histogram tracks, µs (one hour); longer ones count as one hour.
const MAX_MICROS: u64 = 3_600_000_000;

/// What a report needs about one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunSummary {
    /// The run's row.
    pub run: RunRecord,
    /// All tasks together.
    pub totals: TaskSummary,
    /// Per task name.
    pub tasks: BTreeMap<String, TaskSummary>,
    /// Failed tasks per error class.
    pub errors: BTreeMap<String, u64>,
    /// Counters per second since the run start, dense from second 0 to the last second with an
    /// event or the run's end, whichever is later.
    pub series: Vec<SecondCounts>,
    /// Blocks recorded.
    pub blocks: u64,
}

/// Counts and latencies of one task name, or of all (the totals).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskSummary {
    /// Finished tasks (`succeeded + failed`).
    pub started: u64,
    /// Tasks without an error.
    pub succeeded: u64,
    /// Tasks with an error.
    pub failed: u64,
    /// Transactions the node answered.
    pub txs_sent: u64,
    /// Transactions seen in a block.
    pub txs_included: u64,
    /// Gas used by the included ones.
    pub gas_used: u64,
    /// Task start to finish.
    pub task: LatencyStats,
    /// Transaction sent to acknowledged.
    pub send: LatencyStats,
    /// Transaction sent to included.
    pub inclusion: LatencyStats,
}

/// Latency percentiles in microseconds; all 0 when nothing was measured.
///
/// Percentiles are the upper bounds of HDR buckets (3 significant digits): at most 0.1% above
/// the true sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LatencyStats {
    /// Samples.
    pub count: u64,
    /// Mean, µs.
    pub mean_us: f64,
    /// Median, µs.
    pub p50_us: u64,
    /// 90th percentile, µs.
    pub p90_us: u64,
    /// 99th percentile, µs.
    pub p99_us: u64,
    /// 99.9th percentile, µs.
    pub p999_us: u64,
    /// Largest sample, µs.
    pub max_us: u64,
}

/// Counters of one second of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SecondCounts {
    /// Whole seconds since the run start.
    pub second: u64,
    /// Tasks started in this second.
    pub started: u64,
    /// Tasks that succeeded in this second.
    pub succeeded: u64,
    /// Tasks that failed in this second.
    pub failed: u64,
    /// Transactions sent in this second.
    pub txs_sent: u64,
    /// Transactions included in this second.
    pub txs_included: u64,
    /// Gas used by them.
    pub gas_used: u64,
}

pub(crate) async fn summarize<S: Store + ?Sized>(
    store: &S,
    run: RunId,
) -> Result<Option<RunSummary>, Error> {
    let Some(record) = store.run(run).await? else {
        return Ok(None);
    };
    let mut agg = Aggregator::new(record.started_at_us);

    let mut cursor = Some(Cursor::START);
    while let Some(at) = cursor {
        let page = store.task_page(run, at, MAX_PAGE).await?;
        page.items.iter().for_each(|t| agg.task(t));
        cursor = page.next;
    }
    let mut cursor = Some(Cursor::START);
    while let Some(at) = cursor {
        let page = store.tx_page(run, at, MAX_PAGE).await?;
        page.items.iter().for_each(|t| agg.tx(t));
        cursor = page.next;
    }
    let blocks = store.blocks(run).await?.len() as u64;
    Ok(Some(agg.finish(record, blocks)))
}

#[derive(Default)]
struct Hists {
    task: Option<Histogram<u64>>,
    send: Option<Histogram<u64>>,
    inclusion: Option<Histogram<u64>>,
}

struct Aggregator {
    start_us: u64,
    counts: BTreeMap<String, (TaskSummary, Hists)>,
    errors: BTreeMap<String, u64>,
    series: Vec<SecondCounts>,
}

impl Aggregator {
    fn new(start_us: u64) -> Self {
        Self {
            start_us,
            counts: BTreeMap::new(),
            errors: BTreeMap::new(),
            series: Vec::new(),
        }
    }

    fn task(&mut self, t: &TaskRecord) {
        let (s, h) = self.entry(&t.task);
        s.started += 1;
        if t.succeeded() {
            s.succeeded += 1;
        } else {
            s.failed += 1;
        }
        record(&mut h.task, t.duration_us);
        self.second(t.started_at_us).started += 1;
        let end = self.second(t.finished_at_us());
        match &t.error {
            None => end.succeeded += 1,
            Some(class) => {
                end.failed += 1;
                *self.errors.entry(class.clone()).or_default() += 1;
            }
        }
    }

    fn tx(&mut self, t: &TxRecord) {
        let (s, h) = self.entry(&t.task);
        let sent = if let (Some(sent), Some(acked)) = (t.sent_at_us, t.acked_at_us) {
            s.txs_sent += 1;
            record(&mut h.send, acked.saturating_sub(sent));
            true
        } else {
            false
        };
        let gas = t.gas_used.unwrap_or(0);
        if let Some(included) = t.included_at_us {
            s.txs_included += 1;
            s.gas_used = s.gas_used.saturating_add(gas);
            if let Some(sent) = t.sent_at_us {
                record(&mut h.inclusion, included.saturating_sub(sent));
            }
        }
        if let (true, Some(at)) = (sent, t.sent_at_us) {
            self.second(at).txs_sent += 1;
        }
        if let Some(included) = t.included_at_us {
            let second = self.second(included);
            second.txs_included += 1;
            second.gas_used = second.gas_used.saturating_add(gas);
        }
    }

    fn entry(&mut self, task: &str) -> &mut (TaskSummary, Hists) {
        if !self.counts.contains_key(task) {
            self.counts.insert(task.to_owned(), Default::default());
        }
        self.counts.get_mut(task).expect("inserted above")
    }

    fn second(&mut self, at_us: u64) -> &mut SecondCounts {
        let second = (at_us.saturating_sub(self.start_us) / 1_000_000).min(MAX_SECONDS - 1);
        let index = usize::try_from(second).unwrap_or(usize::MAX);
        if self.series.len() <= index {
            let from = self.series.len() as u64;
            self.series
                .extend((from..=second).map(|second| SecondCounts {
                    second,
                    ..SecondCounts::default()
                }));
        }
        &mut self.series[index]
    }

    fn finish(mut self, run: RunRecord, blocks: u64) -> RunSummary {
        if let Some(end) = run.ended_at_us {
            let micros = end.saturating_sub(run.started_at_us);
            let seconds = micros.div_ceil(1_000_000).min(MAX_SECONDS);
            if seconds > 0 && (self.series.len() as u64) < seconds {
                self.second(run.started_at_us + (seconds - 1) * 1_000_000);
            }
        }
        let mut totals = TaskSummary::default();
        let mut all = Hists::default();
        let tasks = self
            .counts
            .into_iter()
            .map(|(name, (mut s, h))| {
                add(&mut totals, &s);
                merge(&mut all.task, h.task.as_ref());
                merge(&mut all.send, h.send.as_ref());
                merge(&mut all.inclusion, h.inclusion.as_ref());
                s.task = stats(h.task.as_ref());
                s.send = stats(h.send.as_ref());
                s.inclusion = stats(h.inclusion.as_ref());
                (name, s)
            })
            .collect();
        totals.task = stats(all.task.as_ref());
        totals.send = stats(all.send.as_ref());
        totals.inclusion = stats(all.inclusion.as_ref());
        RunSummary {
            run,
            totals,
            tasks,
            errors: self.errors,
            series: self.series,
            blocks,
        }
    }
}

fn add(total: &mut TaskSummary, s: &TaskSummary) {
    total.started += s.started;
    total.succeeded += s.succeeded;
    total.failed += s.failed;
    total.txs_sent += s.txs_sent;
    total.txs_included += s.txs_included;
    total.gas_used = total.gas_used.saturating_add(s.gas_used);
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("constant histogram bounds are valid")
}

fn record(h: &mut Option<Histogram<u64>>, micros: u64) {
    h.get_or_insert_with(new_histogram)
        .saturating_record(micros.min(MAX_MICROS));
}

fn merge(into: &mut Option<Histogram<u64>>, from: Option<&Histogram<u64>>) {
    if let Some(from) = from {
        into.get_or_insert_with(new_histogram)
            .add(from)
            .expect("histograms share their bounds");
    }
}

fn stats(h: Option<&Histogram<u64>>) -> LatencyStats {
    let Some(h) = h.filter(|h| !h.is_empty()) else {
        return LatencyStats::default();
    };
    LatencyStats {
        count: h.len(),
        mean_us: h.mean(),
        p50_us: h.value_at_quantile(0.5),
        p90_us: h.value_at_quantile(0.9),
        p99_us: h.value_at_quantile(0.99),
        p999_us: h.value_at_quantile(0.999),
        max_us: h.max(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TxStatus;

    const S: u64 = 1_000_000;

    fn run() -> RunId {
        RunId::new(3).unwrap()
    }

    #[test]
    fn counts_like_the_live_recorder() {
        let t0 = 100 * S;
        let mut agg = Aggregator::new(t0);
        agg.task(&TaskRecord::new(
            run(),
            0,
            [0; 20],
            "a",
            t0 + S / 2,
            1_600_000,
        ));
        agg.task(
            &TaskRecord::new(run(), 0, [0; 20], "a", t0 + 900_000, 100_000).with_error("timeout"),
        );
        let mut tx = TxRecord::new(run(), [1; 32], [0; 20], 0, "a");
        tx.sent_at_us = Some(t0 + 100_000);
        tx.acked_at_us = Some(t0 + 150_000);
        tx.included_at_us = Some(t0 + 3 * S);
        tx.gas_used = Some(21_000);
        tx.status = TxStatus::Succeeded;
        agg.tx(&tx);
        // Sent but never answered: not counted as sent.
        let mut lost = TxRecord::new(run(), [2; 32], [0; 20], 1, "b");
        lost.sent_at_us = Some(t0);
        agg.tx(&lost);

        let mut record = RunRecord::new(run(), t0, 1);
        record.ended_at_us = Some(t0 + 5 * S + 1);
        let s = agg.finish(record, 2);

        assert_eq!(s.series.len(), 6);
        assert!(
            s.series
                .iter()
                .enumerate()
                .all(|(i, c)| c.second == i as u64)
        );
        let row = |i: usize| {
            let c = s.series[i];
            (
                c.started,
                c.succeeded,
                c.failed,
                c.txs_sent,
                c.txs_included,
                c.gas_used,
            )
        };
        assert_eq!(row(0), (2, 0, 0, 1, 0, 0));
        assert_eq!(row(1), (0, 0, 1, 0, 0, 0));
        assert_eq!(row(2), (0, 1, 0, 0, 0, 0));
        assert_eq!(row(3), (0, 0, 0, 0, 1, 21_000));

        let a = &s.tasks["a"];
        assert_eq!((a.started, a.succeeded, a.failed), (2, 1, 1));
        assert_eq!((a.txs_sent, a.txs_included, a.gas_used), (1, 1, 21_000));
        assert_eq!(a.send.count, 1);
        // A bucket's upper bound: at most 0.1% above the sample.
        assert!(
            (50_000..=50_050).contains(&a.send.max_us),
            "{}",
            a.send.max_us
        );
        assert_eq!(a.inclusion.count, 1);
        assert_eq!(s.tasks["b"], TaskSummary::default());
        assert_eq!(s.totals.started, 2);
        assert_eq!(s.totals.task.count, 2);
        assert_eq!(s.errors["timeout"], 1);
        assert_eq!(s.blocks, 2);
    }

    #[test]
    fn percentiles_in_micros() {
        let mut agg = Aggregator::new(0);
        for us in 1..=1_000 {
            agg.task(&TaskRecord::new(run(), 0, [0; 20], "a", 0, us));
        }
        let s = agg.finish(RunRecord::new(run(), 0, 1), 0);
        let l = s.tasks["a"].task;
        assert_eq!(
            (l.count, l.p50_us, l.p90_us, l.p99_us, l.p999_us, l.max_us),
            (1_000, 500, 900, 990, 999, 1_000)
        );
        assert!((500.0..=500.6).contains(&l.mean_us), "{}", l.mean_us);
        assert_eq!(s.totals.task, l);
    }

    #[test]
    fn events_before_the_start_count_in_second_zero() {
        let mut agg = Aggregator::new(10 * S);
        agg.task(&TaskRecord::new(run(), 0, [0; 20], "a", 0, 0));
        assert_eq!(agg.series.len(), 1);
        assert_eq!(agg.series[0].started, 1);
    }
}
