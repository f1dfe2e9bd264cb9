use std::{
    fmt,
    sync::Arc,
    time::{Duration, Instant},
};

use parking_lot::Mutex;

/// A source of the current time, injected so timing logic is tested without sleeping.
pub trait BreakerClock: fmt::Debug + Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// The system's monotonic clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemBreakerClock;

impl BreakerClock for SystemBreakerClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told to; clones share the time.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use spam_core::breaker::{BreakerClock, ManualBreakerClock};
///
/// let clock = ManualBreakerClock::default();
/// let start = clock.now();
/// clock.advance(Duration::from_secs(3));
/// assert_eq!(clock.now() - start, Duration::from_secs(3));
/// ```
#[derive(Debug, Clone)]
pub struct ManualBreakerClock {
    now: Arc<Mutex<Instant>>,
}

impl Default for ManualBreakerClock {
    fn default() -> Self {
        Self {
            now: Arc::new(Mutex::new(Instant::now())),
        }
    }
}

impl ManualBreakerClock {
    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        *self.now.lock() += by;
    }
}

impl BreakerClock for ManualBreakerClock {
    fn now(&self) -> Instant {
        *self.now.lock()
    }
}
