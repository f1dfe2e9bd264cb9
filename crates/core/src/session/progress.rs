//! [`Progress`]: what a running run has done so far, for progress lines and exporters; the
//! same snapshot for both engines.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use tokio::{task::JoinHandle, time::Instant};
use tokio_util::sync::CancellationToken;

use crate::{breaker::BreakerState, metrics::Recorder, report::LatencySummary};

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
