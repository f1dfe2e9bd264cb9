//! [`LatencyBuckets`]: a latency histogram in Prometheus' shape (cumulative counts at fixed
//! bounds), read off an HDR histogram, so that exporters can aggregate and re-bucket it.

use hdrhistogram::Histogram;
use serde::Serialize;

use super::Latency;

/// Upper bounds of the [`LatencyBuckets`], in seconds: 1 ms to 5 minutes, so that an ack on a
/// local node and an inclusion on a stalled chain both land in a bucket of their own.
pub const LATENCY_BOUNDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    120.0, 300.0,
];

/// A latency histogram with the bounds of [`LATENCY_BOUNDS`]: the `_bucket`, `_count` and
/// `_sum` of a Prometheus histogram.
///
/// It is read off the engine's HDR histogram (3 significant digits): a sample within 0.1% of
/// a bound may count on either side of it, and the sum takes every sample at the middle of
/// its HDR bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct LatencyBuckets {
    /// Samples at or below each bound of [`LATENCY_BOUNDS`], in the same order (cumulative).
    pub cumulative: Vec<u64>,
    /// Every sample (the `+Inf` bucket).
    pub count: u64,
    /// The sum of the samples, in seconds.
    pub sum: f64,
}

impl LatencyBuckets {
    /// The buckets of `latency`'s samples, `None` when it has none.
    pub(crate) fn from_latency(latency: &Latency) -> Option<Self> {
        latency.histogram().map(Self::from_micros)
    }

    /// The buckets of a histogram of microseconds.
    pub(crate) fn from_micros(histogram: &Histogram<u64>) -> Self {
        let mut counts = vec![0_u64; LATENCY_BOUNDS.len()];
        let mut sum_us = 0_f64;
        for v in histogram.iter_recorded() {
            let micros = histogram.median_equivalent(v.value_iterated_to());
            let n = v.count_at_value();
            sum_us += micros as f64 * n as f64;
            let seconds = micros as f64 / 1e6;
            if let Some(i) = LATENCY_BOUNDS.iter().position(|&b| seconds <= b) {
                counts[i] += n;
            }
        }
        let mut running = 0;
        for c in &mut counts {
            running += *c;
            *c = running;
        }
        Self {
            cumulative: counts,
            count: histogram.len(),
            sum: sum_us / 1e6,
        }
    }

    /// Adds `other`'s samples (both have the bounds of [`LATENCY_BOUNDS`]).
    pub fn merge(&mut self, other: &Self) {
        for (mine, theirs) in self.cumulative.iter_mut().zip(&other.cumulative) {
            *mine += theirs;
        }
        self.count += other.count;
        self.sum += other.sum;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn samples_count_in_the_first_bucket_that_holds_them() {
        let mut latency = Latency::default();
        for ms in [0.5, 0.9, 3.0, 40.0, 700.0, 70_000.0, 400_000.0] {
            latency.record(Duration::from_secs_f64(ms / 1e3));
        }
        let b = LatencyBuckets::from_latency(&latency).unwrap();
        assert_eq!(b.cumulative.len(), LATENCY_BOUNDS.len());
        // 1 ms: 2; 2.5 ms: 2; 5 ms: 3; ... 50 ms: 4; 1 s: 5; 120 s: 6; 300 s: 6.
        let at =
            |bound: f64| b.cumulative[LATENCY_BOUNDS.iter().position(|&x| x == bound).unwrap()];
        assert_eq!(
            [
                at(0.001),
                at(0.0025),
                at(0.005),
                at(0.05),
                at(1.0),
                at(120.0),
                at(300.0)
            ],
            [2, 2, 3, 4, 5, 6, 6]
        );
        assert_eq!(b.count, 7, "the 400 s sample is only in +Inf");
        let exact = (0.5 + 0.9 + 3.0 + 40.0 + 700.0 + 70_000.0 + 400_000.0) / 1e3;
        assert!((b.sum - exact).abs() / exact < 1e-3, "{} vs {exact}", b.sum);
        assert!(b.cumulative.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn merge_adds_up() {
        let mut a = Latency::default();
        a.record(Duration::from_millis(2));
        let mut b = Latency::default();
        b.record(Duration::from_secs(2));
        let mut merged = LatencyBuckets::from_latency(&a).unwrap();
        merged.merge(&LatencyBuckets::from_latency(&b).unwrap());
        a.merge(&b);
        let whole = LatencyBuckets::from_latency(&a).unwrap();
        assert_eq!(
            (merged.cumulative, merged.count),
            (whole.cumulative, whole.count)
        );
        assert!(LatencyBuckets::from_latency(&Latency::default()).is_none());
    }
}
