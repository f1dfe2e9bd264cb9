//! [`Counts`] and [`Series`]: event counters, in total and per second of a run.

use std::fmt;

/// Longest series kept: 31 days of seconds. Later events count in the last second, so sums
/// still match, and a bogus far-future instant cannot allocate gigabytes.
pub(crate) const MAX_SECONDS: u64 = 31 * 24 * 3600;

/// Event counters: of one task name, of one second, or of a whole run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    /// Tasks that finished (they are counted on finish, at the second they started).
    pub(crate) started: u64,
    /// Tasks that finished with `Ok`.
    pub(crate) succeeded: u64,
    /// Tasks that finished with an error.
    pub(crate) failed: u64,
    /// Transactions the node answered.
    pub(crate) txs_sent: u64,
    /// Transactions seen in a block.
    pub(crate) txs_included: u64,
    /// Gas used by the included transactions.
    pub(crate) gas_used: u64,
    /// Open loop: transactions due (sent or dropped), counted at their intended time.
    pub(crate) offered: u64,
    /// Open loop: ticks not sent, counted at their intended time.
    pub(crate) dropped: u64,
    /// Open loop: transactions sent later than the late threshold.
    pub(crate) late: u64,
}

impl Counts {
    /// Adds `other` field by field (saturating: a counter never wraps).
    pub(crate) fn add(&mut self, other: &Self) {
        self.started = self.started.saturating_add(other.started);
        self.succeeded = self.succeeded.saturating_add(other.succeeded);
        self.failed = self.failed.saturating_add(other.failed);
        self.txs_sent = self.txs_sent.saturating_add(other.txs_sent);
        self.txs_included = self.txs_included.saturating_add(other.txs_included);
        self.gas_used = self.gas_used.saturating_add(other.gas_used);
        self.offered = self.offered.saturating_add(other.offered);
        self.dropped = self.dropped.saturating_add(other.dropped);
        self.late = self.late.saturating_add(other.late);
    }
}

/// [`Counts`] per whole second since the run start, dense from second 0.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Series {
    seconds: Vec<Counts>,
}

impl Series {
    /// The counters of `second` (clamped to [`MAX_SECONDS`]), growing the series as needed.
    pub(crate) fn at(&mut self, second: u64) -> &mut Counts {
        let index = usize::try_from(second.min(MAX_SECONDS - 1)).unwrap_or(usize::MAX);
        if self.seconds.len() <= index {
            self.seconds.resize(index + 1, Counts::default());
        }
        &mut self.seconds[index]
    }

    /// Adds `other`'s counters second by second.
    pub(crate) fn merge(&mut self, other: &Self) {
        if self.seconds.len() < other.seconds.len() {
            self.seconds.resize(other.seconds.len(), Counts::default());
        }
        for (mine, theirs) in self.seconds.iter_mut().zip(&other.seconds) {
            mine.add(theirs);
        }
    }

    /// The counters, index = second since the run start; empty when nothing was recorded.
    pub(crate) fn seconds(&self) -> &[Counts] {
        &self.seconds
    }

    /// The sum over all seconds.
    pub(crate) fn total(&self) -> Counts {
        self.seconds.iter().fold(Counts::default(), |mut sum, c| {
            sum.add(c);
            sum
        })
    }
}

// The derived form would print every second of a long run.
impl fmt::Debug for Series {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Series")
            .field("seconds", &self.seconds.len())
            .field("total", &self.total())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(started: u64, gas_used: u64) -> Counts {
        Counts {
            started,
            gas_used,
            ..Counts::default()
        }
    }

    #[test]
    fn grows_densely() {
        let mut series = Series::default();
        series.at(3).started += 1;
        assert_eq!(series.seconds().len(), 4);
        assert_eq!(series.seconds()[..3], [Counts::default(); 3]);
        assert_eq!(series.seconds()[3], counts(1, 0));
    }

    #[test]
    fn far_seconds_land_in_the_last_slot() {
        let mut series = Series::default();
        series.at(u64::MAX).started += 1;
        series.at(MAX_SECONDS + 10).started += 1;
        let last = usize::try_from(MAX_SECONDS).unwrap();
        assert_eq!(series.seconds().len(), last);
        assert_eq!(series.seconds()[last - 1], counts(2, 0));
        assert_eq!(series.total(), counts(2, 0));
    }

    #[test]
    fn merge_adds_per_second_and_extends() {
        let mut a = Series::default();
        *a.at(0) = counts(1, 10);
        let mut b = Series::default();
        *b.at(0) = counts(2, 5);
        *b.at(2) = counts(1, 1);
        a.merge(&b);
        assert_eq!(
            a.seconds(),
            [counts(3, 15), Counts::default(), counts(1, 1)]
        );
        assert_eq!(a.total(), counts(4, 16));
    }

    #[test]
    fn counters_saturate() {
        let mut a = counts(u64::MAX, u64::MAX);
        a.add(&counts(1, 1));
        assert_eq!(a, counts(u64::MAX, u64::MAX));
    }

    #[test]
    fn debug_is_short() {
        let mut series = Series::default();
        series.at(10_000).started += 1;
        assert!(format!("{series:?}").len() < 200);
    }
}
