//! The closed loop's watch over the node: pause the workers while the circuit breaker is not
//! closed and probe the node at the recovery rate; once it closes, reconcile every sender with
//! transactions in flight before new tasks start. Between outages, take deep inclusions as
//! final, so the ledger stays bounded.

use std::{sync::Arc, time::Duration};

use alloy::{
    eips::BlockNumberOrTag,
    network::BlockResponse,
    providers::{Provider, RootProvider},
};
use parking_lot::Mutex;
use tokio::{task::JoinHandle, time::Instant};
use tokio_util::sync::CancellationToken;

use crate::{
    breaker::{BreakerConfig, BreakerState, CircuitBreaker},
    report::BreakerEvent,
    task::inflight::{Cause, InFlight},
};

/// How often the watcher looks at the breaker while it is closed.
const LOOK_EVERY: Duration = Duration::from_millis(100);
/// How often it reads the chain head to take deep inclusions as final.
const CONFIRM_EVERY: Duration = Duration::from_secs(1);
/// The shortest receipt wait before reconciling, whatever the block time.
const MIN_RECONCILE_AFTER: Duration = Duration::from_secs(2);
/// Block intervals a receipt may take before its sender is reconciled.
const INTERVALS: u32 = 3;
/// Blocks whose timestamps give the block interval.
const SAMPLE_BLOCKS: u64 = 10;

/// The breaker's transitions, as they happened, timed from the run start.
#[derive(Debug)]
pub(super) struct Transitions {
    start: Instant,
    events: Mutex<Vec<BreakerEvent>>,
}

impl Transitions {
    pub(super) fn events(&self) -> Vec<BreakerEvent> {
        self.events.lock().clone()
    }
}

/// A breaker over `config` whose transitions are recorded from `start` on.
pub(super) fn breaker(config: BreakerConfig, start: Instant) -> (CircuitBreaker, Arc<Transitions>) {
    let transitions = Arc::new(Transitions {
        start,
        events: Mutex::default(),
    });
    let breaker = CircuitBreaker::new(config).on_transition({
        let transitions = Arc::clone(&transitions);
        move |t| {
            let name = |s: BreakerState| format!("{s:?}").to_lowercase();
            let event = BreakerEvent {
                at_ms: transitions.start.elapsed().as_millis() as u64,
                from: name(t.from),
                to: name(t.to),
            };
            transitions.events.lock().push(event);
        }
    });
    (breaker, transitions)
}

/// The receipt wait before reconciling: [`INTERVALS`] block intervals, at least
/// [`MIN_RECONCILE_AFTER`]. The interval is read from the timestamps of the last
/// [`SAMPLE_BLOCKS`] blocks; a young chain, or one that mines on demand, gives the minimum.
pub(super) async fn reconcile_after(provider: &RootProvider) -> Duration {
    block_interval(provider)
        .await
        .map_or(MIN_RECONCILE_AFTER, |b| {
            (b * INTERVALS).max(MIN_RECONCILE_AFTER)
        })
}

async fn block_interval(provider: &RootProvider) -> Option<Duration> {
    let latest = provider
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await
        .ok()??;
    let head = latest.header();
    let (number, time) = (
        alloy::consensus::BlockHeader::number(head),
        alloy::consensus::BlockHeader::timestamp(head),
    );
    let back = number.min(SAMPLE_BLOCKS);
    if back == 0 {
        return None;
    }
    let old = provider
        .get_block_by_number(BlockNumberOrTag::Number(number - back))
        .await
        .ok()??;
    let old_time = alloy::consensus::BlockHeader::timestamp(old.header());
    Some(Duration::from_secs(time.saturating_sub(old_time)) / back as u32)
}

/// Watches the node until `stop`: see the module docs. Probes go out at most `recovery_tps`
/// times a second (and only when the breaker lets one through).
pub(super) fn spawn(
    inflight: Arc<InFlight>,
    provider: RootProvider,
    recovery_tps: f64,
    stop: CancellationToken,
) -> JoinHandle<()> {
    let probe_every = if recovery_tps.is_finite() && recovery_tps > 0.0 {
        Duration::from_secs_f64((1.0 / recovery_tps).clamp(0.01, 10.0))
    } else {
        Duration::from_secs(1)
    };
    tokio::spawn(async move {
        let mut out = false;
        let mut confirm_at = Instant::now() + CONFIRM_EVERY;
        loop {
            let wait = if out { probe_every } else { LOOK_EVERY };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = stop.cancelled() => return,
            }
            if inflight.guard.breaker().state() != BreakerState::Closed {
                if !out {
                    tracing::warn!(target: "spam::engine", "node out (breaker open): no new task until it answers again");
                    out = true;
                    inflight.guard.pause(true);
                }
                let _ = inflight.guard.probe(&provider).await;
                continue;
            }
            if out {
                tracing::info!(target: "spam::engine", "node back: reconciling senders before new tasks");
                tokio::select! {
                    () = inflight.reconcile_all(Cause::Recovered) => {}
                    () = stop.cancelled() => return,
                }
                out = false;
                inflight.guard.pause(false);
                continue;
            }
            if Instant::now() >= confirm_at {
                confirm_at = Instant::now() + CONFIRM_EVERY;
                if let Some(latest) = inflight.guard.probe(&provider).await {
                    inflight.ledger.confirm(latest, Instant::now());
                }
            }
        }
    })
}
