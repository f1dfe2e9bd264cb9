//! One worker's loop.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use rand::{Rng, SeedableRng, rngs::StdRng};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{Stop, egress::Egress, sink::TaskSink};
use alloy::primitives::Address;

use crate::{
    metrics::Recorder,
    pool::{Lease, WalletPool},
    task::{RunContext, Task, TaskContext, TaskError, TaskMix, TaskOutcome, TxTiming},
    wallet::Wallet,
};

/// How many tasks may still start (unbounded for a timed run).
#[derive(Debug)]
pub(super) struct Budget {
    left: Option<AtomicU64>,
}

impl Budget {
    pub(super) fn new(stop: Stop) -> Self {
        Self {
            left: matches!(stop, Stop::Tasks(_)).then(|| {
                AtomicU64::new(match stop {
                    Stop::Tasks(n) => n,
                    Stop::After(_) => 0,
                })
            }),
        }
    }

    /// Takes one task from the budget; `false` when it is spent.
    fn take(&self) -> bool {
        self.left.as_ref().is_none_or(|left| {
            left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
        })
    }
}

pub(super) struct Worker {
    pub(super) id: usize,
    pub(super) run: Arc<RunContext>,
    pub(super) pool: WalletPool<Arc<Wallet>>,
    pub(super) mix: TaskMix,
    pub(super) budget: Arc<Budget>,
    pub(super) soft_stop: CancellationToken,
    pub(super) hard_stop: CancellationToken,
    pub(super) task_timeout: Duration,
    pub(super) seed: u64,
    pub(super) hook: Option<super::TaskHook>,
    /// Shared by all workers: one set of histograms (each ~190 KB) instead of one per worker;
    /// a record holds the lock for well under a microsecond.
    pub(super) recorder: Arc<parking_lot::Mutex<Recorder>>,
    /// The wallets' proxies, when the run has a proxy pool.
    pub(super) egress: Option<Arc<Egress>>,
    /// Where finished tasks and their transactions go, when the run is persisted.
    pub(super) sink: Option<Arc<TaskSink>>,
    /// Per wallet (by lease index), a provider of its send endpoint of the moment, when the
    /// run has several endpoints and no proxies.
    pub(super) providers: Option<Arc<[alloy::providers::RootProvider]>>,
    /// The cap on task starts per second, shared by all workers.
    pub(super) max_rate: Option<Arc<governor::DefaultDirectRateLimiter>>,
}

impl Worker {
    pub(super) async fn run(self) {
        // Each worker draws from its own stream of the run's seed: reproducible picks.
        let mut rng =
            StdRng::seed_from_u64(self.seed ^ (self.id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut backoff = NodeBackoff::default();
        while !self.soft_stop.is_cancelled() {
            // No task starts while the node is out or its senders are being reconciled.
            if let Some(inflight) = &self.run.inflight
                && !inflight.guard.unpaused(&self.soft_stop).await
            {
                break;
            }
            let lease = tokio::select! {
                lease = self.pool.acquire() => lease,
                () = self.soft_stop.cancelled() => break,
            };
            if !self.budget.take() {
                break;
            }
            let task = Arc::clone(self.mix.pick(&mut rng));
            // The wait for a start permit is part of the task's time.
            let started = Instant::now();
            if let Some(limiter) = &self.max_rate {
                tokio::select! {
                    () = limiter.until_ready() => {}
                    () = self.soft_stop.cancelled() => break,
                }
            }
            let done = self.execute(task, &lease, rng.random(), started).await;
            self.record(&done, lease.address());
            drop(lease);
            if matches!(done.result, Err(TaskError::Cancelled)) && self.hard_stop.is_cancelled() {
                break;
            }
            if let Some(wait) = backoff.after(&done.result) {
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = self.soft_stop.cancelled() => break,
                }
            }
        }
    }

    /// Runs `task` with the leased wallet under the task timeout, on a tokio task of its own
    /// so that a panic is caught and counted; the hard stop aborts it.
    async fn execute(
        &self,
        task: Arc<dyn Task>,
        lease: &Lease<Arc<Wallet>>,
        seed: u64,
        started: Instant,
    ) -> Done {
        let mut ctx = TaskContext::new(Arc::clone(&self.run), Arc::clone(lease), self.id, seed)
            .with_task(Arc::from(task.name()));
        if let Some(egress) = &self.egress {
            ctx = ctx.with_provider(egress.provider(lease.index()));
        } else if let Some(providers) = &self.providers {
            ctx = ctx.with_provider(providers[lease.index()].clone());
        }
        let timeout = task.timeout().unwrap_or(self.task_timeout);
        let name = task.name().to_string();
        let span = tracing::debug_span!(target: "spam::task", "task", worker = self.id, task = %name, wallet = %lease.address());
        let mut handle = tokio::spawn(tracing::Instrument::instrument(
            async move {
                let result = match tokio::time::timeout(timeout, task.run(&ctx)).await {
                    Ok(result) => result,
                    Err(_) => Err(TaskError::Timeout(timeout)),
                };
                (result, ctx.take_txs())
            },
            span,
        ));
        let joined = tokio::select! {
            joined = &mut handle => joined,
            () = self.hard_stop.cancelled() => {
                handle.abort();
                Ok((Err(TaskError::Cancelled), Vec::new()))
            }
        };
        let finished = Instant::now();
        let (result, txs) = match joined {
            Ok(done) => done,
            Err(join) => (Err(TaskError::Panicked(panic_message(join))), Vec::new()),
        };
        if let Err(err) = &result {
            tracing::debug!(target: "spam::task", worker = self.id, task = %name, %err, "task failed");
        }
        Done {
            label: result.as_ref().err().map(TaskError::label),
            name,
            started,
            finished,
            result,
            txs,
        }
    }

    /// Counts a finished task: the shared recorder, the store, the hook.
    fn record(&self, done: &Done, wallet: Address) {
        let outcome = done.label.as_deref().map_or(Ok(()), Err);
        let name = done.name.as_str();
        // Its transactions are counted by the run's ledger, once their fate is known.
        self.recorder
            .lock()
            .task(name, done.started, done.finished, outcome);
        if let Some(sink) = &self.sink {
            sink.finished(
                self.id,
                wallet,
                name,
                done.started,
                done.finished,
                outcome,
                &done.txs,
            );
        }
        if let Some(hook) = &self.hook {
            hook(&super::TaskEvent {
                worker: self.id,
                task: name,
                duration: done.finished - done.started,
                outcome,
                txs_sent: done.txs.len(),
            });
        }
    }
}

/// A worker's wait after a task that failed because the node is out: 100 ms, doubling up to
/// 1 s, gone after a task that did not. A dead node does not become thousands of failed tasks
/// a second before the breaker opens, whatever the tasks read on their own.
#[derive(Debug, Default)]
struct NodeBackoff {
    next: Option<Duration>,
}

impl NodeBackoff {
    const FIRST: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(1);

    fn after(&mut self, result: &Result<TaskOutcome, TaskError>) -> Option<Duration> {
        if !matches!(result, Err(err) if err.is_node_failure()) {
            self.next = None;
            return None;
        }
        let wait = self.next.unwrap_or(Self::FIRST);
        self.next = Some((wait * 2).min(Self::MAX));
        Some(wait)
    }
}

/// A task that ran: its outcome, timing and transactions.
struct Done {
    name: String,
    started: Instant,
    finished: Instant,
    result: Result<TaskOutcome, TaskError>,
    label: Option<String>,
    txs: Vec<TxTiming>,
}

fn panic_message(join: tokio::task::JoinError) -> String {
    if !join.is_panic() {
        return "aborted".into();
    }
    let payload = join.into_panic();
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_after_node_failures_and_resets() {
        let out = || -> Result<TaskOutcome, TaskError> {
            Err(TaskError::rpc(
                "receipt",
                alloy::transports::TransportErrorKind::http_error(503, String::new()),
            ))
        };
        let mut backoff = NodeBackoff::default();
        let waits: Vec<_> = (0..6).map(|_| backoff.after(&out()).unwrap()).collect();
        let ms = Duration::from_millis;
        assert_eq!(
            waits,
            [ms(100), ms(200), ms(400), ms(800), ms(1_000), ms(1_000)]
        );
        assert_eq!(backoff.after(&Err(TaskError::Cancelled)), None);
        assert_eq!(backoff.after(&out()), Some(ms(100)), "reset");
        assert_eq!(backoff.after(&Ok(TaskOutcome::default())), None);
    }
}
