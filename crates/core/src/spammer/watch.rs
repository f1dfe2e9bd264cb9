//! The closed loop's watch over the node: pause the workers while the circuit breaker is not
//! closed, or while the node is out (its last attempts all failed), and probe the node at the
//! recovery rate; once it answers with the breaker closed, reconcile every sender with
//! transactions in flight before new tasks start. Between outages, take deep inclusions as
//! final, so the ledger stays bounded.

use std::{sync::Arc, time::Duration};

use alloy::{
    eips::BlockNumberOrTag,
    network::BlockResponse,
    providers::{Provider, RootProvider},
};
use futures_util::StreamExt;
use parking_lot::Mutex;
use tokio::{task::JoinHandle, time::Instant};
use tokio_util::sync::CancellationToken;

use crate::{
    breaker::{BreakerConfig, BreakerState, CircuitBreaker},
    report::{BreakerEvent, Pause},
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

/// The breaker's transitions and the run's pauses, as they happened, timed from the run start.
#[derive(Debug)]
pub(super) struct Log {
    start: Instant,
    transitions: Mutex<Vec<BreakerEvent>>,
    pauses: Mutex<Vec<Pause>>,
}

impl Log {
    fn new(start: Instant) -> Self {
        Self {
            start,
            transitions: Mutex::default(),
            pauses: Mutex::default(),
        }
    }

    fn ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    pub(super) fn transitions(&self) -> Vec<BreakerEvent> {
        self.transitions.lock().clone()
    }

    pub(super) fn pauses(&self) -> Vec<Pause> {
        self.pauses.lock().clone()
    }

    fn paused(&self, cause: &str) {
        let from_ms = self.ms();
        self.pauses.lock().push(Pause {
            from_ms,
            to_ms: from_ms,
            cause: cause.to_string(),
        });
    }

    /// Ends the pause under way (at the end of the watch, one still under way ends there).
    fn resumed(&self) {
        let to_ms = self.ms();
        if let Some(pause) = self.pauses.lock().last_mut() {
            pause.to_ms = to_ms;
        }
    }
}

/// A breaker over `config` whose transitions are recorded in the returned log, from `start` on.
pub(super) fn breaker(config: BreakerConfig, start: Instant) -> (CircuitBreaker, Arc<Log>) {
    let log = Arc::new(Log::new(start));
    let breaker = CircuitBreaker::new(config).on_transition({
        let log = Arc::clone(&log);
        move |t| {
            let name = |s: BreakerState| format!("{s:?}").to_lowercase();
            let event = BreakerEvent {
                at_ms: log.ms(),
                from: name(t.from),
                to: name(t.to),
            };
            log.transitions.lock().push(event);
        }
    });
    (breaker, log)
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
/// times a second (and only when the breaker lets one through); with a rate of 0 (or not
/// finite), or a breaker that is `disabled`, the run pauses only while the breaker is not
/// closed (never, for a disabled one), and probes once a second.
pub(super) fn spawn(
    inflight: Arc<InFlight>,
    provider: RootProvider,
    (router, pool): (
        Arc<crate::endpoint::Router>,
        crate::pool::WalletPool<Arc<crate::wallet::Wallet>>,
    ),
    (recovery_tps, disabled): (f64, bool),
    log: Arc<Log>,
    stop: CancellationToken,
) -> JoinHandle<()> {
    let probing = recovery_tps.is_finite() && recovery_tps > 0.0 && !disabled;
    let probe_every = if probing {
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
                () = stop.cancelled() => break,
            }
            let breaker_out = inflight.guard.breaker().state() != BreakerState::Closed;
            if breaker_out || (probing && inflight.guard.node_out()) {
                if !out {
                    let cause = if breaker_out {
                        "breaker open"
                    } else {
                        "node out"
                    };
                    tracing::warn!(target: "spam::engine", cause, "node out: no new task until it answers again");
                    out = true;
                    log.paused(cause);
                    inflight.guard.pause(true);
                }
                let _ = inflight.guard.probe(&provider).await;
                continue;
            }
            if out {
                tracing::info!(target: "spam::engine", "node back: reconciling senders before new tasks");
                tokio::select! {
                    () = inflight.reconcile_all(Cause::Recovered) => {}
                    () = stop.cancelled() => break,
                }
                out = false;
                log.resumed();
                inflight.guard.pause(false);
                continue;
            }
            reconcile_moved(&inflight, &router, &pool).await;
            if Instant::now() >= confirm_at {
                confirm_at = Instant::now() + CONFIRM_EVERY;
                if let Some(latest) = inflight.guard.probe(&provider).await {
                    inflight.ledger.confirm(latest, Instant::now());
                }
            }
        }
        if out {
            log.resumed();
        }
    })
}

/// Reconciles the senders that moved to another endpoint against it; each is leased again
/// once the new endpoint answered for it (or it had nothing in flight).
async fn reconcile_moved(
    inflight: &InFlight,
    router: &crate::endpoint::Router,
    pool: &crate::pool::WalletPool<Arc<crate::wallet::Wallet>>,
) {
    let moved = router.moved();
    if moved.is_empty() {
        return;
    }
    let done: Vec<_> = futures_util::stream::iter(moved)
        .map(|sender| async move {
            let r = inflight.reconcile(sender, Cause::Moved).await;
            (r.reached || r.fates.is_empty()).then_some(sender)
        })
        .buffer_unordered(16)
        .filter_map(std::future::ready)
        .collect()
        .await;
    router.reconciled(&done);
    if !done.is_empty() {
        // Workers waiting for a wallet look again: these are leasable now.
        pool.refresh();
    }
}
