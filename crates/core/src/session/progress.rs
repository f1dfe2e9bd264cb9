//! [`Progress`]: what a running run has done so far, for progress lines and exporters; the
//! same snapshot for both engines.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use tokio::{task::JoinHandle, time::Instant};
use tokio_util::sync::CancellationToken;

use parking_lot::Mutex;
use serde::Serialize;

use crate::{
    breaker::BreakerState,
    metrics::{LatencyBuckets, Recorder},
    report::{BlockStats, LatencySummary},
    session::BlockBook,
};

/// A hook called with a [`Progress`] snapshot while a run goes on.
pub type ProgressHook = Arc<dyn Fn(&Progress) + Send + Sync>;

/// A snapshot of a running run; see [`LoadGenBuilder::on_progress`](crate::LoadGenBuilder::on_progress)
/// and [`SpammerBuilder::on_progress`](crate::SpammerBuilder::on_progress). Counts are totals
/// since the start.
///
/// Both engines fill the task and transaction counts, the transactions in flight and the
/// breaker's state; the open-loop fields (offered, dropped, late, lag) have the meanings of
/// [`OpenLoopStats`](crate::OpenLoopStats) and stay zero for the closed-loop
/// [`Spammer`](crate::Spammer). The Spammer's `included` counts a transaction as soon as a
/// block holds it; its report counts it once it is on the final chain, so they agree at the
/// end.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Progress {
    /// Time since the run start (it keeps growing through the grace period).
    pub elapsed: Duration,
    /// Tasks finished with `Ok` (open loop: sends the node took).
    pub tasks_ok: u64,
    /// Tasks finished with an error (open loop: sends refused or unanswered).
    pub tasks_failed: u64,
    /// Ticks due so far (open loop).
    pub offered: u64,
    /// Ticks not sent, per reason (open loop).
    pub dropped_by_reason: BTreeMap<String, u64>,
    /// Transactions sent.
    pub sent: u64,
    /// Sends the node took.
    pub accepted: u64,
    /// Failed tasks (open loop: sends refused or unanswered), per error class.
    pub rejected_by_class: BTreeMap<String, u64>,
    /// Transactions seen in a block.
    pub included: u64,
    /// Transactions sent and not settled yet (open loop: unanswered, or accepted and not yet
    /// seen; closed loop: not yet seen in a block).
    pub in_flight: u64,
    /// Transactions sent later than the late threshold (open loop).
    pub late: u64,
    /// The circuit breaker's state.
    pub breaker: BreakerState,
    /// Task start to finish (closed loop); intended time to sent (open loop) is [`lag`](Self::lag).
    pub task: LatencySummary,
    /// Intended time to sent (open loop).
    pub lag: LatencySummary,
    /// Open loop: intended time to the node's answer. Closed loop: sent to the node's answer.
    pub ack: LatencySummary,
    /// Open loop: intended time to seen in a block. Closed loop: sent to seen in a block.
    pub inclusion: LatencySummary,
    /// Per RPC endpoint so far, when the run has several (or a request cap); see
    /// [`Report::endpoints`](crate::Report::endpoints).
    pub endpoints: Vec<crate::report::EndpointSummary>,
    /// Per task name (closed loop) or transaction kind (open loop): counts and latency
    /// histograms, for exporters that aggregate (Prometheus).
    pub tasks: BTreeMap<String, TaskProgress>,
    /// [`lag`](Self::lag) as histogram buckets (open loop).
    pub lag_buckets: Option<LatencyBuckets>,
    /// Per endpoint label (as in [`endpoints`](Self::endpoints)): send to the node's answer,
    /// as histogram buckets.
    pub endpoint_ack: BTreeMap<String, LatencyBuckets>,
    /// The blocks seen since the start.
    pub chain: ChainProgress,
    /// The store's writer, when the run is persisted.
    pub store: Option<StoreProgress>,
}

/// One task name's (or transaction kind's) part of a [`Progress`]: totals since the start and
/// latency histograms, with the meanings of the [`Progress`] fields of the same names.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TaskProgress {
    /// Tasks finished with `Ok` (open loop: sends the node took).
    pub ok: u64,
    /// Tasks finished with an error (open loop: sends refused or unanswered).
    pub failed: u64,
    /// Transactions sent.
    pub sent: u64,
    /// Transactions seen in a block (closed loop: once final).
    pub included: u64,
    /// Gas the included transactions used, where known.
    pub gas_used: u64,
    /// Task start to finish (closed loop).
    pub task: Option<LatencyBuckets>,
    /// Open loop: intended time to the node's answer. Closed loop: sent to the answer.
    pub ack: Option<LatencyBuckets>,
    /// Open loop: intended time to seen in a block. Closed loop: sent to seen in a block.
    pub inclusion: Option<LatencyBuckets>,
}

impl TaskProgress {
    /// Every task name of `recorder`. The open loop records the intended time to the answer
    /// as a task's latency: that is its `ack`, and it has no `task` latency.
    pub(crate) fn of(recorder: &Recorder, open_loop: bool) -> BTreeMap<String, Self> {
        let buckets = LatencyBuckets::from_latency;
        recorder
            .tasks()
            .iter()
            .map(|(name, m)| {
                let c = &m.counts;
                let (task, ack) = if open_loop {
                    (None, buckets(&m.task))
                } else {
                    (buckets(&m.task), buckets(&m.send))
                };
                let progress = Self {
                    ok: c.succeeded,
                    failed: c.failed,
                    sent: c.txs_sent,
                    included: c.txs_included,
                    gas_used: c.gas_used,
                    task,
                    ack,
                    inclusion: buckets(&m.inclusion),
                };
                (name.clone(), progress)
            })
            .collect()
    }
}

/// The blocks a run has seen so far (everyone's transactions, not only ours).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ChainProgress {
    /// Blocks seen.
    pub blocks: u64,
    /// Transactions in them.
    pub txs: u64,
    /// Gas they used.
    pub gas_used: u64,
    /// The latest block seen (its `own_txs` is 0 in the closed loop, which does not scan
    /// blocks for its transactions).
    pub last: Option<BlockStats>,
}

/// What the store's buffered writer has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StoreProgress {
    /// Records committed.
    pub written: u64,
    /// Records that will not reach the store (queue full, or given up after retries).
    pub lost: u64,
}

impl Progress {
    /// Ticks dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped_by_reason.values().sum()
    }

    /// Sends refused or left without an answer so far (open loop).
    pub fn rejected(&self) -> u64 {
        self.rejected_by_class.values().sum()
    }

    /// The counters as JSON (a shard's heartbeat figures).
    #[cfg(feature = "store")]
    pub(crate) fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "elapsed_ms": self.elapsed.as_millis() as u64,
            "tasks_ok": self.tasks_ok,
            "tasks_failed": self.tasks_failed,
            "offered": self.offered,
            "dropped_by_reason": self.dropped_by_reason,
            "sent": self.sent,
            "accepted": self.accepted,
            "rejected_by_class": self.rejected_by_class,
            "included": self.included,
            "in_flight": self.in_flight,
            "late": self.late,
        })
    }

    /// A closed-loop snapshot from the run's shared recorder.
    pub(crate) fn closed_loop(recorder: &Recorder, elapsed: Duration) -> Self {
        let all = recorder.all_tasks();
        let tasks = TaskProgress::of(recorder, false);
        let c = all.counts;
        Self {
            elapsed,
            tasks_ok: c.succeeded,
            tasks_failed: c.failed,
            offered: 0,
            dropped_by_reason: BTreeMap::new(),
            sent: c.txs_sent,
            accepted: c.txs_sent,
            rejected_by_class: recorder.errors().clone(),
            included: c.txs_included,
            in_flight: 0,
            late: 0,
            breaker: BreakerState::Closed,
            task: LatencySummary::from_latency(&all.task),
            lag: LatencySummary::default(),
            ack: LatencySummary::from_latency(&all.send),
            inclusion: LatencySummary::from_latency(&all.inclusion),
            endpoints: Vec::new(),
            tasks,
            lag_buckets: None,
            endpoint_ack: BTreeMap::new(),
            chain: ChainProgress::default(),
            store: None,
        }
    }
}

/// What the session adds to an engine's snapshot: the endpoints, the blocks seen and the
/// store's writer.
pub(crate) struct Feed {
    pub(crate) router: Arc<crate::endpoint::Router>,
    pub(crate) senders: usize,
    pub(crate) blocks: Arc<Mutex<BlockBook>>,
    #[cfg(feature = "store")]
    pub(crate) writer: Option<spam_store::WriterHandle>,
}

impl Feed {
    /// Fills in `p`'s endpoints, blocks and store.
    pub(crate) fn fill(&self, p: &mut Progress) {
        p.endpoints = self.router.summaries(self.senders);
        p.endpoint_ack = self.router.ack_buckets();
        p.chain = self.blocks.lock().progress();
        #[cfg(feature = "store")]
        {
            p.store = self.writer.as_ref().map(|w| {
                let stats = w.stats();
                StoreProgress {
                    written: stats.written,
                    lost: stats.lost(),
                }
            });
        }
    }
}

/// Calls `hook` with `snapshot()` every `every` from `start` on, until `stop`.
pub(crate) fn spawn_progress(
    every: Duration,
    hook: ProgressHook,
    start: Instant,
    snapshot: impl Fn() -> Progress + Send + 'static,
    stop: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(start + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = tick.tick() => hook(&snapshot()),
                () = stop.cancelled() => return,
            }
        }
    })
}
