//! [`Timeline`]: latency percentiles per second of a run, from compact sparse histograms.
//!
//! The run-wide HDR histograms ([`Latency`](super::Latency), ~190 KB each) are too big to keep
//! per second; here each second keeps only the buckets it used, on a log scale of 2% steps
//! (1 µs to 1 h), so a second costs a few dozen bytes and a percentile is exact to 2%.

use std::time::Duration;

/// Ratio between bucket bounds: values are kept to 2%.
const STEP: f64 = 1.02;

/// The buckets one second used: `(bucket, count)` sorted by bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Sparse(Vec<(u16, u32)>);

impl Sparse {
    fn record(&mut self, bucket: u16) {
        match self.0.binary_search_by_key(&bucket, |&(b, _)| b) {
            Ok(i) => self.0[i].1 = self.0[i].1.saturating_add(1),
            Err(i) => self.0.insert(i, (bucket, 1)),
        }
    }

    fn merge(&mut self, other: &Self) {
        for &(bucket, count) in &other.0 {
            match self.0.binary_search_by_key(&bucket, |&(b, _)| b) {
                Ok(i) => self.0[i].1 = self.0[i].1.saturating_add(count),
                Err(i) => self.0.insert(i, (bucket, count)),
            }
        }
    }

    /// The upper bound of the bucket holding quantile `q`, in ms; 0 when empty.
    fn quantile_ms(&self, q: f64) -> f64 {
        let total: u64 = self.0.iter().map(|&(_, c)| u64::from(c)).sum();
        if total == 0 {
            return 0.0;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for &(bucket, count) in &self.0 {
            seen += u64::from(count);
            if seen >= rank {
                return upper_us(bucket) / 1_000.0;
            }
        }
        0.0
    }
}

fn bucket(elapsed: Duration) -> u16 {
    let us = elapsed.as_secs_f64() * 1e6;
    if us <= 1.0 {
        return 0;
    }
    let b = (us.ln() / STEP.ln()).ceil();
    b.min(f64::from(u16::MAX)) as u16
}

/// The largest value of `bucket`, µs, rounded to whole µs like the HDR summaries.
fn upper_us(bucket: u16) -> f64 {
    STEP.powi(i32::from(bucket)).round()
}

/// Per second: the task (or answer) latency and the inclusion latency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Timeline {
    seconds: Vec<[Sparse; 2]>,
}

/// Which latency of a second.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// A task's duration (open loop: intended time to answer), at the second it ended.
    Task = 0,
    /// Sent (open loop: intended) to seen in a block, at the second it was seen.
    Inclusion = 1,
}

impl Timeline {
    pub(crate) fn record(&mut self, second: usize, kind: Kind, elapsed: Duration) {
        if self.seconds.len() <= second {
            self.seconds.resize_with(second + 1, Default::default);
        }
        self.seconds[second][kind as usize].record(bucket(elapsed));
    }

    pub(crate) fn merge(&mut self, other: &Self) {
        if self.seconds.len() < other.seconds.len() {
            self.seconds
                .resize_with(other.seconds.len(), Default::default);
        }
        for (mine, theirs) in self.seconds.iter_mut().zip(&other.seconds) {
            mine[0].merge(&theirs[0]);
            mine[1].merge(&theirs[1]);
        }
    }

    /// `[p50, p99]` of `kind` in `second`, ms; zeros when nothing was recorded.
    pub(crate) fn percentiles(&self, second: usize, kind: Kind) -> [f64; 2] {
        self.seconds.get(second).map_or([0.0; 2], |s| {
            let h = &s[kind as usize];
            [h.quantile_ms(0.5), h.quantile_ms(0.99)]
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn percentiles_of_a_second() {
        let mut t = Timeline::default();
        for ms in 1..=100 {
            t.record(3, Kind::Task, Duration::from_millis(ms));
        }
        t.record(3, Kind::Inclusion, Duration::from_secs(1));
        let [p50, p99] = t.percentiles(3, Kind::Task);
        assert!((50.0..=51.0).contains(&p50), "{p50}");
        assert!((99.0..=101.0).contains(&p99), "{p99}");
        assert_eq!(t.percentiles(0, Kind::Task), [0.0, 0.0]);
        let [i50, i99] = t.percentiles(3, Kind::Inclusion);
        assert!((1_000.0..=1_020.0).contains(&i50) && i50 == i99);
        assert_eq!(t.percentiles(99, Kind::Inclusion), [0.0, 0.0]);
    }

    #[test]
    fn merge_adds_counts() {
        let (mut a, mut b) = (Timeline::default(), Timeline::default());
        a.record(0, Kind::Task, Duration::from_millis(10));
        b.record(0, Kind::Task, Duration::from_millis(10));
        b.record(0, Kind::Task, Duration::from_millis(1_000));
        b.record(2, Kind::Task, Duration::from_millis(5));
        a.merge(&b);
        let [p50, _] = a.percentiles(0, Kind::Task);
        assert!((10.0..=10.2).contains(&p50), "two of three at 10 ms: {p50}");
        assert!(a.percentiles(2, Kind::Task)[0] > 0.0);
    }

    proptest! {
        /// A bucket's upper bound is within 2% above every value it holds.
        #[test]
        fn buckets_are_within_two_percent(us in 2u64..3_600_000_000) {
            let b = bucket(Duration::from_micros(us));
            let upper = STEP.powi(i32::from(b));
            prop_assert!(upper >= us as f64 * 0.999_999);
            prop_assert!(upper <= us as f64 * STEP * 1.000_001);
        }
    }
}
