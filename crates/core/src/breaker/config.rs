use std::{num::NonZeroU32, time::Duration};

/// Invalid circuit-breaker settings.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A rate outside `0.0..=1.0` (or NaN).
    #[error("{name} must be within 0..=1, got {value}")]
    Rate {
        /// Which setting.
        name: &'static str,
        /// The rejected value.
        value: f64,
    },
    /// A duration that must be positive was zero.
    #[error("{name} must be longer than zero")]
    ZeroDuration {
        /// Which setting.
        name: &'static str,
    },
    /// A duration longer than [`MAX_DURATION`] (one year).
    #[error("{name} must be at most a year")]
    TooLong {
        /// Which setting.
        name: &'static str,
    },
}

/// The longest window or open period a breaker accepts (one year), so instants never overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// Settings of a [`CircuitBreaker`](super::CircuitBreaker); built only through
/// [`BreakerConfig::builder`], so an invalid one cannot exist.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakerConfig {
    pub(super) window: Duration,
    pub(super) buckets: NonZeroU32,
    pub(super) failure_rate: f64,
    pub(super) revocation_rate: f64,
    pub(super) min_calls: u32,
    pub(super) open_for: Duration,
    pub(super) probes: NonZeroU32,
}

impl Default for BreakerConfig {
    /// 10 s window in 10 buckets, opens above 5% failures or 20% revocations once 20 events
    /// are in the window, stays open 5 s, closes after 3 successful probes.
    fn default() -> Self {
        Self {
            window: Duration::from_secs(10),
            buckets: NonZeroU32::new(10).expect("10 > 0"),
            failure_rate: 0.05,
            revocation_rate: 0.20,
            min_calls: 20,
            open_for: Duration::from_secs(5),
            probes: NonZeroU32::new(3).expect("3 > 0"),
        }
    }
}

impl BreakerConfig {
    /// Starts from the defaults.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use spam_core::breaker::BreakerConfig;
    ///
    /// let config = BreakerConfig::builder().failure_rate(0.10).open_for(Duration::from_secs(1)).build()?;
    /// assert!(BreakerConfig::builder().failure_rate(1.5).build().is_err());
    /// # Ok::<(), spam_core::breaker::ConfigError>(())
    /// ```
    pub fn builder() -> BreakerConfigBuilder {
        BreakerConfigBuilder {
            config: Self::default(),
        }
    }

    /// Length of the rolling window.
    pub const fn window(&self) -> Duration {
        self.window
    }

    /// How long the breaker stays open before probing.
    pub const fn open_for(&self) -> Duration {
        self.open_for
    }
}

/// Builder of [`BreakerConfig`]; [`build`](Self::build) validates.
#[derive(Debug, Clone)]
pub struct BreakerConfigBuilder {
    config: BreakerConfig,
}

impl BreakerConfigBuilder {
    /// Length of the rolling window over which rates are computed (default 10 s).
    pub const fn window(mut self, window: Duration) -> Self {
        self.config.window = window;
        self
    }

    /// Buckets the window is split into; the window slides by one bucket (default 10).
    pub const fn buckets(mut self, buckets: NonZeroU32) -> Self {
        self.config.buckets = buckets;
        self
    }

    /// Failure rate above which the breaker opens (default 0.05).
    pub const fn failure_rate(mut self, rate: f64) -> Self {
        self.config.failure_rate = rate;
        self
    }

    /// Revocation rate above which the breaker opens (default 0.20).
    pub const fn revocation_rate(mut self, rate: f64) -> Self {
        self.config.revocation_rate = rate;
        self
    }

    /// Events a rate needs in the window before it can open the breaker (default 20).
    pub const fn min_calls(mut self, min_calls: u32) -> Self {
        self.config.min_calls = min_calls;
        self
    }

    /// How long the breaker stays open before letting probes through (default 5 s).
    pub const fn open_for(mut self, open_for: Duration) -> Self {
        self.config.open_for = open_for;
        self
    }

    /// Probes let through while half-open; that many successes close it (default 3).
    pub const fn probes(mut self, probes: NonZeroU32) -> Self {
        self.config.probes = probes;
        self
    }

    /// Checks and returns the config.
    ///
    /// # Errors
    /// [`ConfigError`] for a rate outside `0..=1` or a zero window / open duration.
    pub fn build(self) -> Result<BreakerConfig, ConfigError> {
        let c = self.config;
        for (name, value) in [
            ("failure_rate", c.failure_rate),
            ("revocation_rate", c.revocation_rate),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(ConfigError::Rate { name, value });
            }
        }
        for (name, d) in [("window", c.window), ("open_for", c.open_for)] {
            if d.is_zero() {
                return Err(ConfigError::ZeroDuration { name });
            }
            if d > MAX_DURATION {
                return Err(ConfigError::TooLong { name });
            }
        }
        Ok(c)
    }
}
