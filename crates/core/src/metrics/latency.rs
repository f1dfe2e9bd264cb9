//! [`Latency`]: one HDR histogram of durations, in microseconds, allocated on first use, with
//! the counts at the Prometheus bounds tallied as samples come (a snapshot reads 17 numbers,
//! not the histogram's thousands of buckets).

use std::{fmt, time::Duration};

use hdrhistogram::Histogram;

use super::buckets::{BOUNDS_US, Tally};

/// Highest latency a histogram tracks, in microseconds (one hour). Longer ones are recorded as
/// one hour: a load test that waits that long has a problem no percentile will hide.
pub(crate) const MAX_MICROS: u64 = 3_600_000_000;

/// Precision of the histograms: values are kept to 3 significant digits (0.1%).
const SIGNIFICANT_DIGITS: u8 = 3;

/// A latency histogram in microseconds; never keeps individual samples.
///
/// The histogram (about 190 KB at these bounds) is allocated on the first sample, because a
/// recorder holds three per task name and most workers only ever see a few of them.
#[derive(Clone, Default)]
pub(crate) struct Latency {
    histogram: Option<Histogram<u64>>,
    /// The samples at the bounds of [`LATENCY_BOUNDS`](super::LATENCY_BOUNDS), and their sum.
    tally: Tally,
}

impl Latency {
    /// Records one duration; below a microsecond counts as 0, above [`MAX_MICROS`] as the max.
    pub(crate) fn record(&mut self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.histogram
            .get_or_insert_with(new_histogram)
            .saturating_record(micros);
        self.tally
            .record(micros, BOUNDS_US.partition_point(|&b| b < micros));
    }

    /// Adds `other`'s samples to this one's.
    pub(crate) fn merge(&mut self, other: &Self) {
        let Some(source) = &other.histogram else {
            return;
        };
        self.tally.add(&other.tally);
        match &mut self.histogram {
            // Both histograms come from `new_histogram` and samples are clamped to its range, so
            // `add` cannot find a value out of range or a different bucket layout.
            Some(histogram) => histogram
                .add(source)
                .expect("latency histograms share their bounds"),
            None => self.histogram = Some(source.clone()),
        }
    }

    /// The histogram, `None` when nothing was recorded.
    pub(crate) fn histogram(&self) -> Option<&Histogram<u64>> {
        self.histogram.as_ref().filter(|h| !h.is_empty())
    }

    /// A latency holding `histogram` (one of these bounds, e.g. deserialized).
    /// Its tally is empty: [`LatencyBuckets`](super::LatencyBuckets) of it are read off the
    /// histogram instead.
    #[cfg(feature = "store")]
    pub(crate) fn from_histogram(histogram: Histogram<u64>) -> Self {
        Self {
            histogram: Some(histogram),
            tally: Tally::default(),
        }
    }

    /// The samples recorded since `earlier`, a former state of this one.
    #[cfg(feature = "store")]
    pub(crate) fn since(&self, earlier: &Self) -> Self {
        match (&self.histogram, &earlier.histogram) {
            (Some(now), Some(before)) => {
                let mut delta = now.clone();
                // `earlier` is a prefix of `self`: subtracting it cannot go below zero. If it
                // somehow does, the whole state is kept (counted again, never lost).
                match delta.subtract(before) {
                    Ok(()) => Self {
                        histogram: Some(delta),
                        tally: self.tally.minus(&earlier.tally),
                    },
                    Err(_) => self.clone(),
                }
            }
            (Some(_), None) => self.clone(),
            (None, _) => Self::default(),
        }
    }

    /// The tally at the Prometheus bounds; it holds every sample unless the histogram came
    /// from elsewhere ([`from_histogram`](Self::from_histogram)).
    pub(crate) const fn tally(&self) -> &Tally {
        &self.tally
    }

    /// Number of samples.
    pub(crate) fn count(&self) -> u64 {
        self.histogram.as_ref().map_or(0, Histogram::len)
    }
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_MICROS, SIGNIFICANT_DIGITS)
        .expect("constant histogram bounds are valid")
}

// The derived form would print every one of the ~23k buckets.
impl fmt::Debug for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Latency");
        s.field("count", &self.count());
        if let Some(h) = self.histogram() {
            s.field("min_us", &h.min()).field("max_us", &h.max());
        }
        s.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_until_the_first_sample() {
        let latency = Latency::default();
        assert_eq!(latency.count(), 0);
        assert!(latency.histogram().is_none());
    }

    #[test]
    fn records_in_microseconds() {
        let mut latency = Latency::default();
        latency.record(Duration::from_micros(1_500));
        latency.record(Duration::from_micros(500));
        let h = latency.histogram().unwrap();
        assert_eq!((h.len(), h.min(), h.max()), (2, 500, 1_500));
    }

    #[test]
    fn out_of_range_values_are_clamped_not_lost() {
        let mut latency = Latency::default();
        latency.record(Duration::ZERO);
        latency.record(Duration::from_nanos(300));
        latency.record(Duration::from_secs(10 * 3600));
        latency.record(Duration::MAX);
        let h = latency.histogram().unwrap();
        assert_eq!(h.len(), 4);
        assert_eq!(h.min(), 0);
        assert!(h.equivalent(h.max(), MAX_MICROS));
    }

    #[test]
    fn merge_adds_samples() {
        let (mut a, mut b) = (Latency::default(), Latency::default());
        a.record(Duration::from_millis(1));
        b.record(Duration::from_millis(3));
        b.record(Duration::from_secs(7_200));
        let mut into_empty = Latency::default();
        into_empty.merge(&b);
        a.merge(&b);
        a.merge(&Latency::default());
        assert_eq!(a.count(), 3);
        assert_eq!(into_empty.histogram(), b.histogram());
        let h = a.histogram().unwrap();
        assert_eq!(h.min(), 1_000);
        assert!(h.equivalent(h.max(), MAX_MICROS));
    }

    #[test]
    fn debug_is_short() {
        let mut latency = Latency::default();
        latency.record(Duration::from_millis(2));
        let text = format!("{latency:?}");
        assert!(text.len() < 100, "{text}");
        assert!(text.contains("count: 1"), "{text}");
    }
}
