//! The cap on sends waiting for their answer, adapted to the node. It starts low (what the
//! send strategy needs at a fast node), halves when sends time out or answers take longer
//! than [`SLOW`] (a node pausing to mine a huge block must not collect thousands of requests
//! that all time out together), and grows by an eighth per window of answers while the sends
//! fill it, up to the configured cap. Ticks over the cap are dropped ("global in-flight
//! cap"), as the open loop drops whatever the node cannot take.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use parking_lot::Mutex;
use tokio::time::{Duration, Instant};

/// The cap never goes below this unless set otherwise.
const FLOOR: usize = 32;
/// At most one halving per this long: the timeouts of one stall count once.
const COOL_DOWN: Duration = Duration::from_secs(1);
/// An answer slower than this counts as a stall.
pub(crate) const SLOW: Duration = Duration::from_secs(3);

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
    /// The cap never goes below this (or `max`).
    floor: usize,
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
    /// A cap of at most `max` sends (at least 1), starting at `initial` (at most `max`).
    pub(crate) fn new(initial: usize, max: usize) -> Arc<Self> {
        let max = max.max(1);
        let initial = initial.clamp(1, max);
        Arc::new(Self {
            in_flight: AtomicUsize::new(0),
            limit: AtomicUsize::new(initial),
            max,
            answered: AtomicUsize::new(0),
            last_cut: Mutex::new(None),
            low: AtomicUsize::new(initial),
            floor: FLOOR,
        })
    }

    /// The same cap with another floor for halving (at most the cap's `max`).
    pub(crate) fn with_floor(self: Arc<Self>, floor: usize) -> Arc<Self> {
        let mut limit = Arc::into_inner(self).expect("not shared yet");
        limit.floor = floor.clamp(1, limit.max);
        Arc::new(limit)
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

    /// A send was answered (`stalled`: it timed out, or took longer than [`SLOW`]) at `now`.
    pub(crate) fn answered(&self, stalled: bool, now: Instant) {
        let limit = self.limit.load(Ordering::Acquire);
        if stalled {
            let mut last = self.last_cut.lock();
            if last.is_none_or(|at| now.saturating_duration_since(at) >= COOL_DOWN) {
                *last = Some(now);
                let cut = (limit / 2).max(self.floor.min(self.max));
                self.limit.store(cut, Ordering::Release);
                self.low.fetch_min(cut, Ordering::AcqRel);
                self.answered.store(0, Ordering::Release);
            }
            return;
        }
        // Grows only while the sends fill it: an idle cap says nothing about the node.
        let busy = self.in_flight.load(Ordering::Acquire) * 4 >= limit * 3;
        if limit < self.max && busy && self.answered.fetch_add(1, Ordering::AcqRel) + 1 >= limit {
            self.answered.store(0, Ordering::Release);
            let grown = (limit + limit / 8 + 1).min(self.max);
            let _ = self
                .limit
                .compare_exchange(limit, grown, Ordering::AcqRel, Ordering::Acquire);
        }
    }

    /// The cap in force.
    #[cfg(test)]
    pub(crate) fn current(&self) -> usize {
        self.limit.load(Ordering::Acquire)
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
    fn halves_once_per_stall_and_grows_back_while_busy() {
        let limit = SendLimit::new(1_000, 1_000);
        let t0 = Instant::now();
        let slots: Vec<Slot> = (0..1_000).filter_map(|_| limit.try_acquire()).collect();
        assert_eq!(slots.len(), 1_000);
        assert!(limit.try_acquire().is_none());
        for _ in 0..100 {
            limit.answered(true, t0);
        }
        assert_eq!(limit.current(), 500, "one stall, one cut");
        limit.answered(true, t0 + COOL_DOWN);
        assert_eq!(limit.current(), 250);
        assert_eq!(limit.lowest(), 250);
        // 1 000 sends still out: the cap is full, so answers grow it.
        for _ in 0..250 {
            limit.answered(false, t0);
        }
        assert_eq!(limit.current(), 282);
        for _ in 0..100_000 {
            limit.answered(false, t0);
        }
        assert_eq!(limit.current(), 1_000, "back to the cap, not above");
        drop(slots);
    }

    #[test]
    fn an_idle_cap_does_not_grow() {
        let limit = SendLimit::new(64, 10_000);
        let t0 = Instant::now();
        let _one = limit.try_acquire().unwrap();
        for _ in 0..10_000 {
            limit.answered(false, t0);
        }
        assert_eq!(limit.current(), 64);
    }

    #[test]
    fn never_below_the_floor() {
        let limit = SendLimit::new(40, 40);
        let t0 = Instant::now();
        for i in 0..10 {
            limit.answered(true, t0 + COOL_DOWN * i);
        }
        assert_eq!(limit.current(), 32);
        let tiny = SendLimit::new(4, 4);
        tiny.answered(true, t0);
        assert_eq!(tiny.current(), 4);
    }
}
