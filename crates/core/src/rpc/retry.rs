use std::{
    future::Future,
    num::NonZeroU32,
    sync::atomic::{AtomicBool, AtomicU32, Ordering},
    time::Duration,
};

use alloy::{
    consensus::TxEnvelope,
    eips::eip2718::Decodable2718,
    network::Network,
    primitives::{TxHash, keccak256},
    providers::Provider,
    transports::TransportError,
};
use backon::{ExponentialBuilder, Retryable};

use crate::{rpc::ErrorClass, rpc::classify};

/// Exponential backoff for retryable errors ([`ErrorClass::is_retryable`]).
///
/// Defaults: 5 attempts in all, delays from 100 ms doubling up to 2 s, with jitter. A node's
/// `retry-after` hint lengthens a delay but never adds attempts.
///
/// # Examples
/// ```
/// use std::{num::NonZeroU32, time::Duration};
/// use spam_core::RetryPolicy;
///
/// let policy = RetryPolicy::default()
///     .with_attempts(NonZeroU32::new(3).unwrap())
///     .with_delays(Duration::from_millis(50), Duration::from_secs(1));
/// assert_eq!(policy.attempts(), 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    attempts: NonZeroU32,
    min_delay: Duration,
    max_delay: Duration,
    jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: NonZeroU32::new(5).expect("5 > 0"),
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retries.
    pub const fn never() -> Self {
        Self {
            attempts: NonZeroU32::MIN,
            min_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            jitter: false,
        }
    }

    /// Attempts in all, the first included.
    pub const fn with_attempts(mut self, attempts: NonZeroU32) -> Self {
        self.attempts = attempts;
        self
    }

    /// First delay and the cap; a `max` below `min` is raised to `min`.
    pub fn with_delays(mut self, min: Duration, max: Duration) -> Self {
        self.min_delay = min;
        self.max_delay = max.max(min);
        self
    }

    /// Random jitter on each delay (default on), so many clients do not retry in lockstep.
    pub const fn with_jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// Attempts in all.
    pub const fn attempts(&self) -> u32 {
        self.attempts.get()
    }

    fn backoff(&self) -> ExponentialBuilder {
        let builder = ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.attempts.get() as usize - 1);
        if self.jitter {
            builder.with_jitter()
        } else {
            builder
        }
    }

    /// Runs `call` until it succeeds, fails with a non-retryable error, or the attempts run out.
    ///
    /// Only for idempotent calls (reads). For `eth_sendRawTransaction` use
    /// [`send_raw_transaction`], which re-sends only the same signed bytes.
    ///
    /// # Errors
    /// The last error `call` returned.
    ///
    /// # Cancel safety
    /// Dropping the future drops the attempt in flight and stops retrying.
    pub async fn retry<T, F, Fut>(&self, call: F) -> Result<T, TransportError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, TransportError>>,
    {
        self.retry_observed(call, &()).await
    }

    /// [`retry`](Self::retry), telling `observer` of each retry.
    pub(crate) async fn retry_observed<T, F, Fut>(
        &self,
        call: F,
        observer: &impl RetryObserver,
    ) -> Result<T, TransportError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, TransportError>>,
    {
        call.retry(self.backoff())
            .sleep(tokio::time::sleep)
            .when(|err| classify(err).is_retryable())
            .adjust(|err, delay| lengthen(delay, classify(err).retry_after()))
            .notify(|err, _| observer.retried(&classify(err)))
            .await
    }
}

/// A node's hint lengthens a planned delay; it never revives an exhausted backoff.
fn lengthen(planned: Option<Duration>, hint: Option<Duration>) -> Option<Duration> {
    planned.map(|delay| hint.map_or(delay, |hint| hint.max(delay)))
}

/// Watches the retries of one call, e.g. to count them per class.
pub(crate) trait RetryObserver: Sync {
    /// An attempt failed with `class` and is retried.
    fn retried(&self, class: &ErrorClass);
}

/// No observer: nothing is counted.
impl RetryObserver for () {
    fn retried(&self, _: &ErrorClass) {}
}

/// A transaction send that failed, with the class of the last answer.
#[derive(Debug, thiserror::Error)]
#[error("sending transaction {hash} failed after {attempts} attempt(s): {class}")]
pub struct SendError {
    /// Hash of the signed transaction.
    pub hash: TxHash,
    /// What the last answer means.
    pub class: ErrorClass,
    /// Attempts made.
    pub attempts: u32,
    /// An attempt got no readable answer, so the node may hold the transaction even though the
    /// last answer was a refusal (a *nonce too low* after a timeout usually means it landed).
    pub maybe_delivered: bool,
    /// The last error.
    #[source]
    pub source: TransportError,
}

impl SendError {
    /// Whether the transaction may be in the pool or on chain despite the error.
    pub const fn outcome_unknown(&self) -> bool {
        self.maybe_delivered || self.class.outcome_unknown()
    }

    /// What to do next: [`Action::ResendSame`](crate::Action::ResendSame) (keep the nonce
    /// used) whenever the outcome is unknown, else the last class's [`ErrorClass::action`].
    pub const fn action(&self) -> crate::rpc::Action {
        if self.outcome_unknown() {
            crate::rpc::Action::ResendSame
        } else {
            self.class.action()
        }
    }
}

/// Sends a signed transaction (`eth_sendRawTransaction`), retrying only where that is safe.
///
/// Returns the transaction hash once the node has it. Retries re-send the *same* bytes, so the
/// node sees one transaction however often it arrives; a retry answered *already known* means
/// an earlier attempt got through and counts as success. Refusals that are not transient
/// (nonce, fee, funds …) return at once with their [`ErrorClass`].
///
/// # Errors
/// [`SendError`] with the class of the last answer. When [`SendError::outcome_unknown`] (an
/// attempt got no readable answer), the transaction may still be in the pool or on chain:
/// follow [`SendError::action`], not the last class alone.
///
/// # Cancel safety
/// Not cancel safe in effect: a dropped call may already have delivered the transaction. Treat
/// its nonce like an unknown outcome ([`Action::ResendSame`](crate::Action::ResendSame)).
pub async fn send_raw_transaction<P, N>(
    provider: &P,
    raw: &[u8],
    policy: &RetryPolicy,
) -> Result<TxHash, SendError>
where
    P: Provider<N>,
    N: Network,
{
    send_raw_observed(provider, raw, policy, &()).await
}

/// [`send_raw_transaction`] with its retries under `observer`.
pub(crate) async fn send_raw_observed<P, N>(
    provider: &P,
    raw: &[u8],
    policy: &RetryPolicy,
    observer: &impl RetryObserver,
) -> Result<TxHash, SendError>
where
    P: Provider<N>,
    N: Network,
{
    let hash = tx_hash_of(raw);
    let attempts = AtomicU32::new(0);
    let maybe_delivered = AtomicBool::new(false);
    let once = || async {
        attempts.fetch_add(1, Ordering::Relaxed);
        match provider.send_raw_transaction(raw).await {
            Ok(_) => Ok(hash),
            Err(err) => match classify(&err) {
                ErrorClass::AlreadyKnown => Ok(hash),
                class => {
                    if class.outcome_unknown() {
                        maybe_delivered.store(true, Ordering::Relaxed);
                    }
                    Err(err)
                }
            },
        }
    };
    policy
        .retry_observed(once, observer)
        .await
        .map_err(|source| {
            let class = classify(&source);
            SendError {
                hash,
                maybe_delivered: maybe_delivered.load(Ordering::Relaxed) || class.outcome_unknown(),
                class,
                attempts: attempts.load(Ordering::Relaxed),
                source,
            }
        })
}

/// The hash of a signed transaction in its network encoding. An EIP-4844 transaction is sent
/// with its blob sidecar, which its hash leaves out, so it is decoded first.
pub(crate) fn tx_hash_of(raw: &[u8]) -> TxHash {
    if raw.first() == Some(&0x03)
        && let Ok(envelope) = TxEnvelope::network_decode(&mut &raw[..])
    {
        return *envelope.tx_hash();
    }
    keccak256(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_lengthen_but_never_revive() {
        let s = Duration::from_secs;
        assert_eq!(lengthen(Some(s(1)), Some(s(30))), Some(s(30)));
        assert_eq!(lengthen(Some(s(2)), Some(s(1))), Some(s(2)));
        assert_eq!(lengthen(None, Some(s(30))), None);
    }

    #[test]
    fn attempts_count_the_first_call() {
        assert_eq!(RetryPolicy::default().attempts(), 5);
        assert_eq!(RetryPolicy::never().attempts(), 1);
        let p = RetryPolicy::default().with_delays(Duration::from_secs(2), Duration::from_secs(1));
        assert_eq!(p.max_delay, Duration::from_secs(2));
    }
}
