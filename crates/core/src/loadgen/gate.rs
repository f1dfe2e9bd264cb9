//! The breaker's say over the pace: while it is not closed, ticks pass at the recovery rate
//! at most, and the breaker's own permits decide which of those go out. While senders are
//! reconciled after an outage, no tick passes.

use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use parking_lot::Mutex;
use tokio::time::Instant;

use super::ledger::DropReason;
use crate::breaker::{BreakerState, CircuitBreaker};

#[derive(Debug)]
pub(crate) struct Gate {
    pub(crate) breaker: CircuitBreaker,
    /// Spacing of ticks while the breaker is not closed; `None`: none pass.
    interval: Option<Duration>,
    next: Mutex<Option<Instant>>,
    held: AtomicBool,
}

impl Gate {
    pub(crate) fn new(breaker: CircuitBreaker, recovery_tps: f64) -> Self {
        let interval = (recovery_tps.is_finite() && recovery_tps > 0.0)
            .then(|| Duration::from_secs_f64(1.0 / recovery_tps));
        Self {
            breaker,
            interval,
            next: Mutex::new(None),
            held: AtomicBool::new(false),
        }
    }

    /// Holds every tick back (`true`) while senders are reconciled, or lets them go again.
    pub(crate) fn hold(&self, held: bool) {
        self.held.store(held, Ordering::Relaxed);
    }

    /// Whether ticks are held back.
    pub(crate) fn is_held(&self) -> bool {
        self.held.load(Ordering::Relaxed)
    }

    /// Whether a tick due at `at` may go ahead: always while the breaker is closed, else at
    /// most one per recovery interval; never while held.
    pub(crate) fn admit(&self, at: Instant) -> Result<(), DropReason> {
        if self.held.load(Ordering::Relaxed) {
            return Err(DropReason::Reconciling);
        }
        if self.breaker.state() == BreakerState::Closed {
            return Ok(());
        }
        let Some(interval) = self.interval else {
            return Err(DropReason::BreakerOpen);
        };
        let mut next = self.next.lock();
        match *next {
            Some(n) if at < n => Err(DropReason::BreakerOpen),
            _ => {
                *next = Some(at + interval);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breaker::{BreakerConfig, ManualBreakerClock};

    #[test]
    fn recovery_rate_while_open() {
        let clock = ManualBreakerClock::default();
        let config = BreakerConfig::builder().min_calls(2).build().unwrap();
        let breaker = CircuitBreaker::with_clock(config, clock);
        let gate = Gate::new(breaker.clone(), 10.0);
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        assert!(
            gate.admit(t0).is_ok() && gate.admit(t0).is_ok(),
            "closed: everything passes"
        );
        gate.hold(true);
        assert_eq!(gate.admit(t0), Err(DropReason::Reconciling));
        gate.hold(false);
        breaker.try_acquire().unwrap().failure();
        breaker.try_acquire().unwrap().failure();
        assert_eq!(breaker.state(), BreakerState::Open);
        let admitted = (0..100)
            .filter(|i| gate.admit(t0 + ms(10 * i)).is_ok())
            .count();
        assert_eq!(admitted, 10, "1 s at 10 tx/s");
        let never = Gate::new(breaker, 0.0);
        assert_eq!(never.admit(t0), Err(DropReason::BreakerOpen));
    }
}
