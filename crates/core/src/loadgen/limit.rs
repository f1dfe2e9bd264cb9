//! The cap on sends waiting for their answer, adapted to the node: it halves when sends time
//! out (a node pausing to mine a huge block must not collect thousands of requests that all
//! time out together) and grows back by an eighth per window of answered sends, up to the
//! configured cap. Ticks over the cap are dropped ("global in-flight cap"), as the open loop
//! drops whatever the node cannot take.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use parking_lot::Mutex;
use tokio::time::{Duration, Instant};

/// The cap never goes below this.
const FLOOR: usize = 32;
/// At most one halving per this long: the timeouts of one stall count once.
const COOL_DOWN: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub(crate) struct SendLimit {
    in_flight: AtomicUsize,
    limit: AtomicUsize,
    max: usize,
    /// Answers since the cap last grew.
    answered: AtomicUsize,
    last_cut: Mutex<Option<Instant>>,
    /// The lowest the cap went.
    low: AtomicUsize,
}

/// One send waiting for its answer; frees its place when dropped.
#[derive(Debug)]
pub(crate) struct Slot(Arc<SendLimit>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl SendLimit {
    /// A cap of `max` sends (at least 1), starting there.
    pub(crate) fn new(max: usize) -> Arc<Self> {
        let max = max.max(1);
        Arc::new(Self {
            in_flight: AtomicUsize::new(0),
            limit: AtomicUsize::new(max),
            max,
            answered: AtomicUsize::new(0),
            last_cut: Mutex::new(None),
            low: AtomicUsize::new(max),
        })
    }

    /// A place for one more send, unless the cap is reached.
    pub(crate) fn try_acquire(self: &Arc<Self>) -> Option<Slot> {
        let limit = self.limit.load(Ordering::Acquire);
        self.in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(Arc::clone(self)))
    }

    /// A send was answered (`timed_out`: it was not, in time) at `now`.
    pub(crate) fn answered(&self, timed_out: bool, now: Instant) {
        let limit = self.limit.load(Ordering::Acquire);
        if timed_out {
            let mut last = self.last_cut.lock();
            if last.is_none_or(|at| now.saturating_duration_since(at) >= COOL_DOWN) {
                *last = Some(now);
                let cut = (limit / 2).max(FLOOR.min(self.max));
                self.limit.store(cut, Ordering::Release);
                self.low.fetch_min(cut, Ordering::AcqRel);
                self.answered.store(0, Ordering::Release);
            }
            return;
        }
        if limit < self.max && self.answered.fetch_add(1, Ordering::AcqRel) + 1 >= limit {
            self.answered.store(0, Ordering::Release);
            let grown = (limit + limit / 8 + 1).min(self.max);
            let _ = self
                .limit
                .compare_exchange(limit, grown, Ordering::AcqRel, Ordering::Acquire);
        }
    }

    /// The lowest the cap went during the run.
    pub(crate) fn lowest(&self) -> usize {
        self.low.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_once_per_stall_and_grows_back() {
        let limit = SendLimit::new(1_000);
        let t0 = Instant::now();
        let slots: Vec<Slot> = (0..1_000).filter_map(|_| limit.try_acquire()).collect();
        assert_eq!(slots.len(), 1_000);
        assert!(limit.try_acquire().is_none());
        drop(slots);
        for _ in 0..100 {
            limit.answered(true, t0);
        }
        assert_eq!(
            limit.limit.load(Ordering::Relaxed),
            500,
            "one stall, one cut"
        );
        limit.answered(true, t0 + COOL_DOWN);
        assert_eq!(limit.limit.load(Ordering::Relaxed), 250);
        assert_eq!(limit.lowest(), 250);
        for _ in 0..250 {
            limit.answered(false, t0);
        }
        assert_eq!(limit.limit.load(Ordering::Relaxed), 282);
        for _ in 0..100_000 {
            limit.answered(false, t0);
        }
        assert_eq!(
            limit.limit.load(Ordering::Relaxed),
            1_000,
            "back to the cap, not above"
        );
    }

    #[test]
    fn never_below_the_floor() {
        let limit = SendLimit::new(40);
        let t0 = Instant::now();
        for i in 0..10 {
            limit.answered(true, t0 + COOL_DOWN * i);
        }
        assert_eq!(limit.limit.load(Ordering::Relaxed), 32);
        let tiny = SendLimit::new(4);
        tiny.answered(true, t0);
        assert_eq!(tiny.limit.load(Ordering::Relaxed), 4);
    }
}
