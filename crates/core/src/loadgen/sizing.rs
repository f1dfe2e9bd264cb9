//! How many senders a rate needs: each sender holds at most its in-flight cap of transactions
//! between signing and inclusion, so the senders together must cover what the rate sends
//! while a transaction waits to be included.

use std::{num::NonZeroU32, time::Duration};

use crate::profile::Rate;

/// The shortest wait for inclusion the sizing assumes: even instant blocks leave answers,
/// scans and CPU bursts between a send and its inclusion being seen.
const MIN_HORIZON: Duration = Duration::from_secs(2);

/// Block times a transaction may wait under load: the rest of the current block, the next
/// one (when the current is full), and the time the node takes to build and the scan to see it.
const BLOCKS_IN_HORIZON: u32 = 3;

/// How long a sent transaction is expected to stay in flight on a chain with `block_time`.
pub(crate) fn horizon(block_time: Duration) -> Duration {
    (block_time * BLOCKS_IN_HORIZON).max(MIN_HORIZON)
}

/// The senders `rate` needs at its peak with `per_sender` transactions in flight each, on a
/// chain with `block_time`: peak × horizon / per_sender, at least 1. See
/// [`LoadGen::senders_for`](super::LoadGen::senders_for).
pub(crate) fn senders_for(rate: &Rate, block_time: Duration, per_sender: NonZeroU32) -> u32 {
    let in_flight = rate.peak() * horizon(block_time).as_secs_f64();
    let senders = (in_flight / f64::from(per_sender.get())).ceil();
    if senders.is_finite() {
        senders.clamp(1.0, f64::from(u32::MAX)) as u32
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAP: NonZeroU32 = NonZeroU32::new(64).unwrap();

    #[test]
    fn covers_the_peak_over_three_block_times() {
        let second = Duration::from_secs(1);
        // 8 000 tx/s × 3 s / 64 = 375.
        assert_eq!(senders_for(&Rate::constant(8_000.0), second, CAP), 375);
        // 12 s blocks: 36 s in flight.
        let slow = Duration::from_secs(12);
        assert_eq!(senders_for(&Rate::constant(100.0), slow, CAP), 57);
        // Instant blocks still assume 2 s.
        assert_eq!(senders_for(&Rate::constant(640.0), Duration::ZERO, CAP), 20);
        // The peak of a profile, not its start.
        let ramp = Rate::ramp(10.0, 6_400.0, Duration::from_secs(10));
        assert_eq!(senders_for(&ramp, second, CAP), 300);
        assert_eq!(senders_for(&Rate::constant(0.0), second, CAP), 1);
    }
}
