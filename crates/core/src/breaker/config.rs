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
/// [`BreakerConfig::builder`] (or [`disabled`](BreakerConfig::disabled)), so an invalid one
/// cannot exist.
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
    /// 10 s window in 10 buckets; opens above **50% failures** or 20% revocations once
    /// **100 events** are in the window; stays open 5 s; closes after 3 successful probes.
    ///
    /// The breaker of a load generator guards against a node that is *down*, not one that
    /// is *faulty*: a node that fails a few percent of the requests is what a load test
    /// measures, so it must see the whole load. Hence:
    /// - **50% failures**: a node (or its gateway) losing 5% of the answers or returning 10%
    ///   503s keeps the load and shows up in the report's error classes; one that fails most
    ///   requests is as good as down. The same threshold as resilience4j's default.
    /// - **100 calls**: at the rates of a load test a 20-call minimum fills in tens of
    ///   milliseconds, where a short burst of failures (a node mining a huge block, a dropped
    ///   connection) is enough to open it; 100 calls make a rate of 50% statistically
    ///   meaningful. A run slower than 10 calls/s (100 per 10 s window) never reaches the
    ///   minimum: lower [`min_calls`](BreakerConfigBuilder::min_calls) for slow runs.
    ///
    /// The window forgets everything when the breaker closes, so failures from before an
    /// outage never re-open it.
    fn default() -> Self {
        Self {
            window: Duration::from_secs(10),
            buckets: NonZeroU32::new(10).expect("10 > 0"),
            failure_rate: 0.5,
            revocation_rate: 0.20,
            min_calls: 100,
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

    /// A breaker that never opens: both thresholds are 100%, which no rate exceeds. Calls are
    /// still counted in the window ([`stats`](super::CircuitBreaker::stats)), so a run can
    /// report the failure rate it would have reacted to.
    ///
    /// # Examples
    /// ```
    /// use spam_core::breaker::{BreakerConfig, BreakerState, CircuitBreaker};
    ///
    /// let breaker = CircuitBreaker::new(BreakerConfig::disabled());
    /// for _ in 0..1_000 {
    ///     breaker.try_acquire().expect("never open").failure();
    /// }
    /// assert_eq!(breaker.state(), BreakerState::Closed);
    /// assert_eq!(breaker.stats().failures, 1_000);
    /// ```
    pub fn disabled() -> Self {
        Self {
            failure_rate: 1.0,
            revocation_rate: 1.0,
            ..Self::default()
        }
    }

    /// Whether this breaker can never open (both thresholds at 100%), as
    /// [`disabled`](Self::disabled) makes it.
    pub fn is_disabled(&self) -> bool {
        self.failure_rate >= 1.0 && self.revocation_rate >= 1.0
    }

    /// Length of the rolling window.
    pub const fn window(&self) -> Duration {
        self.window
    }

    /// Failure rate above which the breaker opens.
    pub const fn failure_rate(&self) -> f64 {
        self.failure_rate
    }

    /// Events a rate needs in the window before it can open the breaker.
    pub const fn min_calls(&self) -> u32 {
        self.min_calls
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

    /// Failure rate above which the breaker opens (default 0.5); 1.0 never opens on failures.
    pub const fn failure_rate(mut self, rate: f64) -> Self {
        self.config.failure_rate = rate;
        self
    }

    /// Revocation rate above which the breaker opens (default 0.20); 1.0 never opens on
    /// revocations.
    pub const fn revocation_rate(mut self, rate: f64) -> Self {
        self.config.revocation_rate = rate;
        self
    }

    /// Events a rate needs in the window before it can open the breaker (default 100; 0 acts
    /// as 1). Calls and revocation observations are counted apart, each against this minimum.
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
