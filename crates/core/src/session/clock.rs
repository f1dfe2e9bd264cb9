//! Wall-clock time of a run: Unix milliseconds for the report, and [`UnixClock`] to turn the
//! run's monotonic instants into Unix microseconds for the store.

use std::time::{SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// Now, in Unix milliseconds (0 before 1970).
pub(crate) fn unix_ms() -> u64 {
    unix_us() / 1_000
}

/// Now, in Unix microseconds (0 before 1970).
pub(crate) fn unix_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Converts the run's instants to Unix µs, all relative to the run start, so the store's
/// seconds are the report's seconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UnixClock {
    start: Instant,
    start_us: u64,
}

impl UnixClock {
    /// The clock of a run starting at `start` (now or a little later).
    pub(crate) fn new(start: Instant) -> Self {
        let ahead = start.saturating_duration_since(Instant::now()).as_micros();
        Self {
            start,
            start_us: unix_us().saturating_add(u64::try_from(ahead).unwrap_or(u64::MAX)),
        }
    }

    /// The run start, in Unix µs.
    pub(crate) const fn start_us(&self) -> u64 {
        self.start_us
    }

    /// `at`, in Unix µs.
    #[cfg_attr(not(feature = "store"), allow(dead_code))]
    pub(crate) fn us(&self, at: Instant) -> u64 {
        let since = at.saturating_duration_since(self.start).as_micros();
        self.start_us
            .saturating_add(u64::try_from(since).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn instants_map_to_unix_micros_from_the_start() {
        let start = Instant::now() + Duration::from_millis(20);
        let clock = UnixClock::new(start);
        assert!(clock.start_us() >= unix_us());
        assert_eq!(clock.us(start), clock.start_us());
        assert_eq!(
            clock.us(start + Duration::from_millis(3)),
            clock.start_us() + 3_000
        );
        // Before the start: the start.
        assert_eq!(clock.us(start - Duration::from_millis(5)), clock.start_us());
    }
}
