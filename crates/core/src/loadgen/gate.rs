//! The breaker's say over the pace: while it is not closed, ticks pass at the recovery rate
//! at most, and the breaker's own permits decide which of those go out.

use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

use crate::breaker::{BreakerState, CircuitBreaker};

#[derive(Debug)]
pub(crate) struct Gate {
    pub(crate) breaker: CircuitBreaker,
    /// Spacing of ticks while the breaker is not closed; `None`: none pass.
    interval: Option<Duration>,
    next: Mutex<Option<Instant>>,
}

impl Gate {
    pub(crate) fn new(breaker: CircuitBreaker, recovery_tps: f64) -> Self {
        let interval = (recovery_tps.is_finite() && recovery_tps > 0.0)
            .then(|| Duration::from_secs_f64(1.0 / recovery_tps));
        Self {
            breaker,
            interval,
            next: Mutex::new(None),
        }
    }

    /// Whether a tick due at `at` may go ahead: always while the breaker is closed, else at
    /// most one per recovery interval.
    pub(crate) fn admit(&self, at: Instant) -> bool {
        if self.breaker.state() == BreakerState::Closed {
            return true;
        }
        let Some(interval) = self.interval else {
            return false;
        };
        let mut next = self.next.lock();
        match *next {
            Some(n) if at < n => false,
            _ => {
                *next = Some(at + interval);
                true
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
            gate.admit(t0) && gate.admit(t0),
            "closed: everything passes"
        );
        breaker.try_acquire().unwrap().failure();
        breaker.try_acquire().unwrap().failure();
        assert_eq!(breaker.state(), BreakerState::Open);
        let admitted = (0..100).filter(|i| gate.admit(t0 + ms(10 * i))).count();
        assert_eq!(admitted, 10, "1 s at 10 tx/s");
        let never = Gate::new(breaker, 0.0);
        assert!(!never.admit(t0));
    }
}
