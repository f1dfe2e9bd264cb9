//! [`LatencyBuckets`]: a latency histogram in Prometheus' shape (cumulative counts at fixed
//! bounds), so that exporters can aggregate and re-bucket it; [`Tally`]: the counts a
//! [`Latency`] keeps as it records.

use hdrhistogram::Histogram;
use serde::Serialize;

use super::Latency;

/// Upper bounds of the [`LatencyBuckets`], in seconds: 1 ms to 5 minutes, so that an ack on a
/// local node and an inclusion on a stalled chain both land in a bucket of their own.
pub const LATENCY_BOUNDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    120.0, 300.0,
];

/// [`LATENCY_BOUNDS`] in microseconds.
pub(crate) const BOUNDS_US: [u64; 17] = [
    1_000,
    2_500,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    30_000_000,
    60_000_000,
    120_000_000,
    300_000_000,
];

/// Samples per bucket of [`BOUNDS_US`] (not cumulative; the last slot: above every bound),
/// their number and their sum, kept exactly as a [`Latency`] records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    counts: [u64; BOUNDS_US.len() + 1],
    count: u64,
    sum_us: u64,
}

impl Tally {
    /// One sample of `micros`, in bucket `index` (the first bound at or above it).
    pub(crate) fn record(&mut self, micros: u64, index: usize) {
        self.counts[index] += 1;
        self.count += 1;
        self.sum_us = self.sum_us.saturating_add(micros);
    }

    pub(crate) fn add(&mut self, other: &Self) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts) {
            *mine += theirs;
        }
        self.count += other.count;
        self.sum_us = self.sum_us.saturating_add(other.sum_us);
    }

    /// What was recorded since `earlier`, a former state of this one.
    #[cfg(feature = "store")]
    pub(crate) fn minus(&self, earlier: &Self) -> Self {
        let mut delta = self.clone();
        for (mine, theirs) in delta.counts.iter_mut().zip(earlier.counts) {
            *mine = mine.saturating_sub(theirs);
        }
        delta.count = delta.count.saturating_sub(earlier.count);
        delta.sum_us = delta.sum_us.saturating_sub(earlier.sum_us);
        delta
    }
}

/// A latency histogram with the bounds of [`LATENCY_BOUNDS`]: the `_bucket`, `_count` and
/// `_sum` of a Prometheus histogram.
///
/// The engines count each sample at the bounds exactly, as they record it, and sum the samples
/// in microseconds. Only buckets of a histogram that came without those counts (read back
/// from a store) are read off the HDR histogram, to its 3 significant digits: a sample within
/// 0.1% of a bound may count on either side, and the sum takes each sample at the middle of
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
    /// The buckets of `latency`'s samples, `None` when it has none: from its tally when that
    /// holds every sample, else read off its histogram.
    pub(crate) fn from_latency(latency: &Latency) -> Option<Self> {
        let histogram = latency.histogram()?;
        let tally = latency.tally();
        if tally.count != histogram.len() {
            return Some(Self::from_micros(histogram));
        }
        let mut running = 0;
        let cumulative = tally.counts[..BOUNDS_US.len()]
            .iter()
            .map(|n| {
                running += n;
                running
            })
            .collect();
        Some(Self {
            cumulative,
            count: tally.count,
            sum: tally.sum_us as f64 / 1e6,
        })
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
    fn the_tally_is_exact_at_the_bounds_and_agrees_with_the_histogram() {
        let mut latency = Latency::default();
        for micros in [
            999,
            1_000,
            1_001,
            999_999,
            1_000_000,
            1_000_001,
            300_000_001,
        ] {
            latency.record(Duration::from_micros(micros));
        }
        let tallied = LatencyBuckets::from_latency(&latency).unwrap();
        let at = |b: &LatencyBuckets, bound: f64| {
            b.cumulative[LATENCY_BOUNDS.iter().position(|&x| x == bound).unwrap()]
        };
        assert_eq!([at(&tallied, 0.001), at(&tallied, 1.0)], [2, 5]);
        assert_eq!(tallied.count, 7);
        assert!((tallied.sum - 303.003_001).abs() < 1e-9, "{}", tallied.sum);
        // Read off the HDR histogram instead: the same but within 0.1% of the bounds.
        let read = LatencyBuckets::from_micros(latency.histogram().unwrap());
        assert_eq!(read.count, 7);
        assert_eq!([at(&read, 0.0025), at(&read, 300.0)], [3, 6]);
    }

    proptest::proptest! {
        /// Split anyhow over two recorders, merged, or as the delta from an earlier state: the
        /// buckets are those of recording everything in one, and agree with the HDR histogram
        /// but for samples within 0.1% of a bound.
        #[test]
        fn tallies_merge_subtract_and_agree_with_hdr(
            samples in proptest::collection::vec(0u64..400_000_000, 1..300),
            split in 0usize..300,
        ) {
            let split = split.min(samples.len());
            let record = |part: &[u64]| {
                let mut l = Latency::default();
                for &us in part {
                    l.record(Duration::from_micros(us));
                }
                l
            };
            let whole = record(&samples);
            let (mut a, b) = (record(&samples[..split]), record(&samples[split..]));
            let earlier = a.clone();
            a.merge(&b);
            let all = LatencyBuckets::from_latency(&whole).unwrap();
            proptest::prop_assert_eq!(LatencyBuckets::from_latency(&a).unwrap(), all.clone());
            #[cfg(feature = "store")]
            if split < samples.len() {
                proptest::prop_assert_eq!(
                    LatencyBuckets::from_latency(&a.since(&earlier)),
                    LatencyBuckets::from_latency(&b)
                );
            }
            proptest::prop_assert_eq!(all.count, samples.len() as u64);
            proptest::prop_assert!(all.cumulative.windows(2).all(|w| w[0] <= w[1]));
            let read = LatencyBuckets::from_micros(whole.histogram().unwrap());
            for (i, bound) in BOUNDS_US.iter().enumerate() {
                let near = samples
                    .iter()
                    .filter(|&&us| us.abs_diff(*bound) * 1_000 <= *bound)
                    .count() as u64;
                proptest::prop_assert!(read.cumulative[i].abs_diff(all.cumulative[i]) <= near);
            }
        }
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
