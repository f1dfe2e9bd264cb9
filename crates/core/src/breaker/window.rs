use std::time::{Duration, Instant};

/// Counts in the breaker's rolling window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WindowStats {
    /// Calls that finished.
    pub calls: u64,
    /// Calls that failed.
    pub failures: u64,
    /// Preconfirmed transactions whose fate was observed.
    pub observed: u64,
    /// Observed preconfirmations that were revoked.
    pub revoked: u64,
}

impl WindowStats {
    /// `failures / calls`, 0 without calls.
    pub fn failure_rate(&self) -> f64 {
        ratio(self.failures, self.calls)
    }

    /// `revoked / observed`, 0 without observations.
    pub fn revocation_rate(&self) -> f64 {
        ratio(self.revoked, self.observed)
    }

    fn add(&mut self, other: &Self) {
        self.calls += other.calls;
        self.failures += other.failures;
        self.observed += other.observed;
        self.revoked += other.revoked;
    }
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// A time-based rolling window of `buckets` buckets; it slides one bucket at a time.
#[derive(Debug)]
pub(super) struct Window {
    origin: Instant,
    bucket_len: Duration,
    /// `(bucket number since origin, counts)`, indexed by bucket number modulo their count.
    buckets: Vec<(u64, WindowStats)>,
}

impl Window {
    pub(super) fn new(origin: Instant, window: Duration, buckets: u32) -> Self {
        let bucket_len = (window / buckets).max(Duration::from_nanos(1));
        Self {
            origin,
            bucket_len,
            buckets: vec![(0, WindowStats::default()); buckets as usize],
        }
    }

    fn slot(&self, now: Instant) -> u64 {
        (now.saturating_duration_since(self.origin).as_nanos() / self.bucket_len.as_nanos()) as u64
    }

    pub(super) fn record(&mut self, now: Instant, update: impl FnOnce(&mut WindowStats)) {
        let slot = self.slot(now);
        let len = self.buckets.len() as u64;
        let bucket = &mut self.buckets[(slot % len) as usize];
        if bucket.0 != slot {
            *bucket = (slot, WindowStats::default());
        }
        update(&mut bucket.1);
    }

    pub(super) fn stats(&self, now: Instant) -> WindowStats {
        let slot = self.slot(now);
        let len = self.buckets.len() as u64;
        let mut total = WindowStats::default();
        for (at, stats) in &self.buckets {
            if *at <= slot && at + len > slot {
                total.add(stats);
            }
        }
        total
    }

    pub(super) fn clear(&mut self) {
        self.buckets
            .iter_mut()
            .for_each(|b| *b = (0, WindowStats::default()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_buckets_fall_out_of_the_window() {
        let t0 = Instant::now();
        let mut w = Window::new(t0, Duration::from_secs(10), 10);
        w.record(t0, |s| s.calls += 1);
        w.record(t0 + Duration::from_secs(5), |s| s.failures += 1);
        assert_eq!(w.stats(t0 + Duration::from_millis(9_999)).calls, 1);
        let later = w.stats(t0 + Duration::from_secs(10));
        assert_eq!((later.calls, later.failures), (0, 1));
        assert_eq!(
            w.stats(t0 + Duration::from_secs(15)),
            WindowStats::default()
        );
    }
}
