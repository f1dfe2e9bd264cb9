//! [`WalletPoolConfig`]: cooldown, in-flight cap and strategy of a [`WalletPool`](crate::WalletPool).

use std::{num::NonZeroU32, time::Duration};

use super::LeaseStrategy;

/// How a [`WalletPool`](crate::WalletPool) hands out its wallets.
///
/// Defaults: cooldown 4 s, one lease per wallet at a time, [`LeaseStrategy::RoundRobin`].
///
/// # Cooldown and the in-flight cap
///
/// Each wallet holds `max_in_flight` *permits*. A lease takes one; releasing the lease gives
/// the permit back `cooldown` after the release (`ready_at = released_at + cooldown`), so at
/// any instant `live leases + cooling permits <= max_in_flight` per wallet, and a wallet is
/// available while it has a permit left. With the default cap of 1 this is simply: a released
/// wallet is not handed out again before `ready_at`. With a cap of `k`, the cooldown counts
/// from each release separately: releasing one of `k` leases lets that one permit back in
/// after the cooldown, whatever the other leases do.
///
/// # Examples
///
/// ```
/// use std::{num::NonZeroU32, time::Duration};
///
/// use spam_core::{WalletPoolConfig, LeaseStrategy};
///
/// let config = WalletPoolConfig::default()
///     .with_cooldown(Duration::from_secs(2))
///     .with_max_in_flight(NonZeroU32::new(16).unwrap())
///     .with_strategy(LeaseStrategy::LeastRecentlyUsed);
/// assert_eq!(config.max_in_flight().get(), 16);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletPoolConfig {
    cooldown: Duration,
    max_in_flight: NonZeroU32,
    strategy: LeaseStrategy,
}

impl WalletPoolConfig {
    /// The default cooldown: about a block on most chains, so a reused wallet's previous
    /// transaction has had a chance to land.
    pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(4);
    /// Longest cooldown kept; longer ones are clamped to it (a year is "never" for a load test,
    /// and keeps `now + cooldown` far from overflowing).
    pub const MAX_COOLDOWN: Duration = Duration::from_secs(365 * 24 * 60 * 60);

    /// Sets how long a released wallet's permit waits before it can be leased again; zero
    /// hands it out again at once. Values above [`MAX_COOLDOWN`](Self::MAX_COOLDOWN) are
    /// clamped to it.
    #[must_use]
    pub fn with_cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown.min(Self::MAX_COOLDOWN);
        self
    }

    /// Sets how many leases one wallet may have at once (nodes accept roughly 16–100 pending
    /// transactions per sender). Engines that wait for each transaction keep the default 1.
    #[must_use]
    pub const fn with_max_in_flight(mut self, max_in_flight: NonZeroU32) -> Self {
        self.max_in_flight = max_in_flight;
        self
    }

    /// Sets how the pool picks among the available wallets.
    #[must_use]
    pub const fn with_strategy(mut self, strategy: LeaseStrategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// How long a released permit waits before it is handed out again.
    pub const fn cooldown(&self) -> Duration {
        self.cooldown
    }

    /// How many leases one wallet may have at once.
    pub const fn max_in_flight(&self) -> NonZeroU32 {
        self.max_in_flight
    }

    /// How the pool picks among the available wallets.
    pub const fn strategy(&self) -> LeaseStrategy {
        self.strategy
    }
}

impl Default for WalletPoolConfig {
    fn default() -> Self {
        Self {
            cooldown: Self::DEFAULT_COOLDOWN,
            max_in_flight: NonZeroU32::MIN,
            strategy: LeaseStrategy::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_setters() {
        let config = WalletPoolConfig::default();
        assert_eq!(config.cooldown(), Duration::from_secs(4));
        assert_eq!(config.max_in_flight().get(), 1);
        assert_eq!(config.strategy(), LeaseStrategy::RoundRobin);

        let config = config
            .with_cooldown(Duration::ZERO)
            .with_max_in_flight(NonZeroU32::new(3).unwrap())
            .with_strategy(LeaseStrategy::LeastRecentlyUsed);
        assert_eq!(config.cooldown(), Duration::ZERO);
        assert_eq!(config.max_in_flight().get(), 3);
        assert_eq!(config.strategy(), LeaseStrategy::LeastRecentlyUsed);
    }

    #[test]
    fn huge_cooldown_is_clamped() {
        let config = WalletPoolConfig::default().with_cooldown(Duration::MAX);
        assert_eq!(config.cooldown(), WalletPoolConfig::MAX_COOLDOWN);
    }
}
