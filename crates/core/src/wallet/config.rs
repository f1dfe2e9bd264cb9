//! [`FundingConfig`]: how a [`Funder`](super::Funder) paces its sends and waits.

use std::{
    num::{NonZeroU32, NonZeroUsize},
    time::Duration,
};

use crate::rpc::RetryPolicy;

/// How a [`Funder`](super::Funder) paces its sends and waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FundingConfig {
    max_in_flight: NonZeroUsize,
    attempts: NonZeroU32,
    inclusion_timeout: Duration,
    poll_interval: Duration,
    retry: RetryPolicy,
}

impl Default for FundingConfig {
    /// 64 sends in flight, 3 rounds per transfer, 120 s to inclusion polled every 250 ms, and
    /// [`RetryPolicy::default`] for re-sending the same bytes when the node does not answer.
    fn default() -> Self {
        Self {
            max_in_flight: NonZeroUsize::new(64).expect("64 is not zero"),
            attempts: NonZeroU32::new(3).expect("3 is not zero"),
            inclusion_timeout: Duration::from_secs(120),
            poll_interval: Duration::from_millis(250),
            retry: RetryPolicy::default(),
        }
    }
}

impl FundingConfig {
    /// Most `eth_sendRawTransaction` (and balance or nonce reads) awaiting an answer at once.
    pub const fn with_max_in_flight(mut self, sends: NonZeroUsize) -> Self {
        self.max_in_flight = sends;
        self
    }

    /// Rounds in which transfers the node refused are signed again with a fresh nonce.
    pub const fn with_attempts(mut self, attempts: NonZeroU32) -> Self {
        self.attempts = attempts;
        self
    }

    /// How long to wait for sent transfers to be included before giving up.
    pub const fn with_inclusion_timeout(mut self, timeout: Duration) -> Self {
        self.inclusion_timeout = timeout;
        self
    }

    /// How often to read the senders' mined nonces while waiting.
    pub const fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// How one send is retried (only the same signed bytes, only for transient errors; see
    /// [`send_raw_transaction`](crate::send_raw_transaction)).
    pub const fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Most sends or reads in flight at once.
    pub const fn max_in_flight(&self) -> NonZeroUsize {
        self.max_in_flight
    }

    /// Rounds per transfer.
    pub const fn attempts(&self) -> NonZeroU32 {
        self.attempts
    }

    /// How long to wait for inclusion.
    pub const fn inclusion_timeout(&self) -> Duration {
        self.inclusion_timeout
    }

    /// How often to poll while waiting.
    pub const fn poll_interval(&self) -> Duration {
        self.poll_interval
    }

    /// How one send is retried.
    pub const fn retry(&self) -> RetryPolicy {
        self.retry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_and_setters() {
        let config = FundingConfig::default()
            .with_max_in_flight(NonZeroUsize::new(8).unwrap())
            .with_attempts(NonZeroU32::MIN)
            .with_inclusion_timeout(Duration::from_secs(5))
            .with_poll_interval(Duration::from_millis(10));
        assert_eq!(config.max_in_flight().get(), 8);
        assert_eq!(config.attempts().get(), 1);
        assert_eq!(FundingConfig::default().max_in_flight().get(), 64);
    }
}
