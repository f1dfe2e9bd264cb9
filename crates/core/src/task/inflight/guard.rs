//! The closed loop's way to the node: a call waits while the run is paused (the node is out, or
//! being reconciled after an outage), passes the circuit breaker, has its retries counted per
//! error class, and tells the breaker whether the node answered: one outcome per call and its
//! retries, as [`CircuitBreaker`] expects.
//!
//! The guard also tells when the node is *out*: its last [`NODE_OUT_AFTER`] attempts,
//! whichever calls they belonged to, failed for a node reason and none was answered. A breaker
//! judges a window of seconds (a closed loop's receipt polls fill it with successes); this
//! sees a dead node within a fraction of a second, so the run pauses before the errors pile up.

use std::{
    collections::BTreeMap,
    future::Future,
    sync::atomic::{AtomicBool, AtomicU32, Ordering},
};

use alloy::{
    primitives::TxHash,
    providers::{Provider, RootProvider},
    transports::{RpcError, TransportError},
};
use parking_lot::Mutex;
use tokio::{sync::watch, time::Duration};
use tokio_util::sync::CancellationToken;

use crate::{
    breaker::{CircuitBreaker, Permit},
    rpc::{
        ErrorClass, RetryCounts, RetryObserver, RetryPolicy, SendError, classify, send_raw_observed,
    },
};

/// How long a call refused by the breaker waits before asking again.
const RECHECK: Duration = Duration::from_millis(200);
/// How long a probe waits for the node's answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts in a row that failed for a node reason, with none answered, that make the node
/// out. With a few workers retrying, a dead node reaches it within a retry delay or two; a
/// node failing 10% of the requests at random, about once in 10^8 attempts.
pub(crate) const NODE_OUT_AFTER: u32 = 8;

/// The run's breaker, pause switch, node-out detector and retry counts, shared by its tasks.
#[derive(Debug)]
pub(crate) struct Guard {
    breaker: CircuitBreaker,
    retries: RetryCounts,
    paused: watch::Sender<bool>,
    /// Attempts in a row that failed for a node reason.
    failed_in_a_row: AtomicU32,
    node_out: AtomicBool,
}

impl Guard {
    pub(crate) fn new(breaker: CircuitBreaker) -> Self {
        Self {
            breaker,
            retries: RetryCounts::default(),
            paused: watch::Sender::new(false),
            failed_in_a_row: AtomicU32::new(0),
            node_out: AtomicBool::new(false),
        }
    }

    pub(crate) const fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    /// Retries so far, per error-class label.
    pub(crate) fn retries(&self) -> BTreeMap<String, u64> {
        self.retries.snapshot()
    }

    /// Whether the node is out: the last [`NODE_OUT_AFTER`] attempts failed for a node reason.
    /// The next answered call (a probe) ends it.
    pub(crate) fn node_out(&self) -> bool {
        self.node_out.load(Ordering::Relaxed)
    }

    /// Stops (or lets again) tasks and their calls from going out.
    pub(crate) fn pause(&self, paused: bool) {
        self.paused.send_replace(paused);
    }

    pub(crate) fn is_paused(&self) -> bool {
        *self.paused.borrow()
    }

    /// Waits until the run is not paused; `false` when `cancel` fired first.
    pub(crate) async fn unpaused(&self, cancel: &CancellationToken) -> bool {
        let mut paused = self.paused.subscribe();
        tokio::select! {
            // The sender lives as long as `self`: waiting cannot fail.
            ok = paused.wait_for(|p| !*p) => ok.is_ok(),
            () = cancel.cancelled() => false,
        }
    }

    /// Waits for leave to call the node: the run not paused and a permit from the breaker.
    /// `None` when `cancel` fired first.
    ///
    /// Cancel safety: cancel safe, nothing was sent.
    pub(crate) async fn admit(&self, cancel: &CancellationToken) -> Option<Admitted<'_>> {
        let mut waited = false;
        loop {
            if self.is_paused() {
                waited = true;
                if !self.unpaused(cancel).await {
                    return None;
                }
            }
            match self.breaker.try_acquire() {
                Ok(permit) => {
                    return Some(Admitted {
                        verdict: Verdict::new(self, permit),
                        waited,
                    });
                }
                Err(open) => {
                    waited = true;
                    let wait = open.retry_in.map_or(RECHECK, |d| d.min(RECHECK));
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = cancel.cancelled() => return None,
                    }
                }
            }
        }
    }

    /// One `eth_blockNumber`, without retries, when the breaker lets it through (a probe while
    /// it is half-open): the chain head when the node answered within [`PROBE_TIMEOUT`] (a
    /// node that does not answer by then failed the probe). Never waits for the pause.
    pub(crate) async fn probe(&self, provider: &RootProvider) -> Option<u64> {
        let verdict = Verdict::new(self, self.breaker.try_acquire().ok()?);
        match tokio::time::timeout(PROBE_TIMEOUT, provider.get_block_number()).await {
            Ok(result) => {
                verdict.finish(result.as_ref().err());
                result.ok()
            }
            Err(_) => {
                self.attempt_failed();
                if let Some(permit) = verdict.permit.into_inner() {
                    permit.failure();
                }
                None
            }
        }
    }

    fn attempt_failed(&self) {
        if self.failed_in_a_row.fetch_add(1, Ordering::Relaxed) + 1 >= NODE_OUT_AFTER {
            self.node_out.store(true, Ordering::Relaxed);
        }
    }

    fn answered(&self) {
        self.failed_in_a_row.store(0, Ordering::Relaxed);
        self.node_out.store(false, Ordering::Relaxed);
    }
}

/// Leave to make one call (with its retries).
#[derive(Debug)]
pub(crate) struct Admitted<'a> {
    verdict: Verdict<'a>,
    waited: bool,
}

impl Admitted<'_> {
    /// Whether the call had to wait for the pause or the breaker.
    pub(crate) const fn waited(&self) -> bool {
        self.waited
    }

    /// A read, retried by `policy`.
    pub(crate) async fn read<T, F, Fut>(
        self,
        policy: &RetryPolicy,
        call: F,
    ) -> Result<T, TransportError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, TransportError>>,
    {
        let verdict = self.verdict;
        let result = policy.retry_observed(call, &verdict).await;
        verdict.finish(result.as_ref().err());
        result
    }

    /// `eth_sendRawTransaction` of `raw`, retried by `policy` as
    /// [`send_raw_transaction`](crate::send_raw_transaction) does.
    pub(crate) async fn send(
        self,
        provider: &RootProvider,
        raw: &[u8],
        policy: &RetryPolicy,
    ) -> Result<TxHash, SendError> {
        let verdict = self.verdict;
        let result = send_raw_observed(provider, raw, policy, &verdict).await;
        verdict.finish(result.as_ref().err().map(|e| &e.source));
        result
    }
}

/// One call's permit, resolved with the call's final outcome: a node failure
/// ([`ErrorClass::is_node_failure`]) is a failure; an answer, a refusal (nonce, fee, revert)
/// too, a success, also after retries; anything else (an unreadable answer) neither. Every
/// attempt also feeds the guard's node-out detector.
#[derive(Debug)]
struct Verdict<'a> {
    guard: &'a Guard,
    permit: Mutex<Option<Permit>>,
}

impl<'a> Verdict<'a> {
    fn new(guard: &'a Guard, permit: Permit) -> Self {
        Self {
            guard,
            permit: Mutex::new(Some(permit)),
        }
    }

    /// The call ended with `err` (or succeeded).
    fn finish(self, err: Option<&TransportError>) {
        let node_failed = err.is_some_and(|e| classify(e).is_node_failure());
        let answered = matches!(err, None | Some(RpcError::ErrorResp(_)));
        if node_failed {
            self.guard.attempt_failed();
        } else if answered {
            self.guard.answered();
        }
        let Some(permit) = self.permit.into_inner() else {
            return;
        };
        if node_failed {
            permit.failure();
        } else if answered {
            permit.success();
        }
    }
}

impl RetryObserver for Verdict<'_> {
    fn retried(&self, class: &ErrorClass) {
        self.guard.retries.count(class);
        if class.is_node_failure() {
            self.guard.attempt_failed();
        } else {
            self.guard.answered(); // a rate limit or a full pool: the node answered
        }
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use alloy::transports::TransportErrorKind;

    use super::*;
    use crate::breaker::{BreakerConfig, BreakerState, ManualBreakerClock};

    fn guard(min_calls: u32) -> Guard {
        let config = BreakerConfig::builder()
            .min_calls(min_calls)
            .failure_rate(0.05)
            .build()
            .unwrap();
        Guard::new(CircuitBreaker::with_clock(
            config,
            ManualBreakerClock::default(),
        ))
    }

    fn policy() -> RetryPolicy {
        RetryPolicy::default()
            .with_attempts(NonZeroU32::new(5).unwrap())
            .with_delays(Duration::ZERO, Duration::ZERO)
            .with_jitter(false)
    }

    fn http(status: u16) -> TransportError {
        TransportErrorKind::http_error(status, String::new())
    }

    /// Runs one read whose attempts answer `script` in order (`None`: success).
    async fn read(guard: &Guard, script: &[Option<u16>]) -> Result<(), TransportError> {
        let attempt = AtomicU32::new(0);
        let call = guard.admit(&CancellationToken::new()).await.unwrap();
        call.read(&policy(), || {
            let n = attempt.fetch_add(1, Ordering::Relaxed) as usize;
            let answer = script[n.min(script.len() - 1)];
            async move { answer.map_or(Ok(()), |s| Err(http(s))) }
        })
        .await
    }

    fn label(status: u16) -> String {
        ErrorClass::Http { status }.to_string()
    }

    #[tokio::test]
    async fn a_call_retried_to_success_is_one_success_and_its_retries_count() {
        let g = guard(1);
        for _ in 0..20 {
            read(&g, &[Some(503), Some(502), None]).await.unwrap();
        }
        assert_eq!(g.breaker().state(), BreakerState::Closed);
        let stats = g.breaker().stats();
        assert_eq!((stats.calls, stats.failures), (20, 0));
        assert_eq!(g.retries()[&label(503)], 20);
        assert_eq!(g.retries()[&label(502)], 20);
        assert!(!g.node_out());
    }

    #[tokio::test]
    async fn a_call_that_never_gets_an_answer_is_one_failure() {
        let g = guard(100);
        assert!(read(&g, &[Some(503)]).await.is_err());
        let stats = g.breaker().stats();
        assert_eq!((stats.calls, stats.failures), (1, 1));
        assert_eq!(g.retries()[&label(503)], 4);
        // a rate limit is an answer: neither a failure nor the node out
        let g = guard(100);
        assert!(read(&g, &[Some(429)]).await.is_err());
        assert_eq!(g.retries()["rate limited"], 4);
        assert_eq!(g.breaker().stats().failures, 0);
        assert!(!g.node_out());
    }

    #[tokio::test]
    async fn eight_failed_attempts_in_a_row_make_the_node_out_until_an_answer() {
        let g = guard(1_000);
        read(&g, &[Some(503), Some(503), Some(503), None])
            .await
            .unwrap();
        assert!(
            read(&g, &[Some(503), Some(503), Some(503), Some(503), None])
                .await
                .is_ok()
        );
        assert!(!g.node_out(), "answered in between: never eight in a row");
        assert!(read(&g, &[Some(503)]).await.is_err()); // 5 attempts
        assert!(!g.node_out());
        assert!(
            read(&g, &[Some(503), Some(503), Some(503), None])
                .await
                .is_ok()
        );
        assert!(!g.node_out(), "the last attempt was answered");
        assert!(read(&g, &[Some(503)]).await.is_err());
        assert!(read(&g, &[Some(503)]).await.is_err()); // 10 in a row
        assert!(g.node_out());
        read(&g, &[None]).await.unwrap();
        assert!(!g.node_out(), "an answer ends it");
    }

    #[tokio::test]
    async fn refusals_are_answers() {
        let g = guard(1);
        let call = g.admit(&CancellationToken::new()).await.unwrap();
        let refused: Result<(), _> = call
            .read(&policy(), || async {
                Err(TransportError::ErrorResp(
                    alloy::rpc::json_rpc::ErrorPayload {
                        code: -32000,
                        message: "nonce too low".into(),
                        data: None,
                    },
                ))
            })
            .await;
        assert!(refused.is_err());
        let stats = g.breaker().stats();
        assert_eq!((stats.calls, stats.failures), (1, 0));
        assert!(g.retries().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn calls_wait_while_paused_and_stop_on_cancel() {
        let g = guard(1);
        g.pause(true);
        let cancel = CancellationToken::new();
        let waiting = g.admit(&cancel);
        tokio::pin!(waiting);
        assert!(
            tokio::time::timeout(Duration::from_secs(5), &mut waiting)
                .await
                .is_err()
        );
        g.pause(false);
        assert!(waiting.await.unwrap().waited());
        g.pause(true);
        cancel.cancel();
        assert!(g.admit(&cancel).await.is_none());
    }
}
