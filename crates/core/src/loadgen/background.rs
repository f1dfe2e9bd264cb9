//! The tasks that run beside the pacer: the breaker's resyncer, the preconfirmation listener
//! and the progress reporter. Each stops on the run's background token.

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use parking_lot::Mutex;
use spam_nonce::NonceManager;
use tokio::{sync::mpsc, task::JoinHandle, time::Instant};
use tokio_util::sync::CancellationToken;

use super::{PreconfEvent, PreconfSource, PreconfStatus, Progress, ProgressHook, ledger::Ledger};
use crate::{
    LatencySummary, Wallet,
    breaker::{BreakerConfig, BreakerState, CircuitBreaker},
    metrics::Latency,
    report::{BreakerEvent, PreconfStats},
    task::NonceCounters,
};

/// The breaker's transitions, as they happened.
#[derive(Debug, Default)]
pub(super) struct Transitions(Mutex<Vec<(Instant, BreakerState, BreakerState)>>);

impl Transitions {
    /// The transitions for the report, timed from `start`.
    pub(super) fn events(&self, start: Instant) -> Vec<BreakerEvent> {
        let name = |s: BreakerState| format!("{s:?}").to_lowercase();
        self.0
            .lock()
            .iter()
            .map(|&(at, from, to)| BreakerEvent {
                at_ms: at.saturating_duration_since(start).as_millis() as u64,
                from: name(from),
                to: name(to),
            })
            .collect()
    }
}

/// A breaker whose transitions are recorded and whose opening resyncs every sender (on a
/// task of its own, so the hook stays synchronous).
pub(super) fn breaker(
    config: BreakerConfig,
    nonces: NonceManager,
    wallets: Vec<Arc<Wallet>>,
    counters: Arc<NonceCounters>,
    stop: CancellationToken,
) -> (CircuitBreaker, Arc<Transitions>, JoinHandle<()>) {
    let transitions = Arc::new(Transitions::default());
    let (opened, mut open_rx) = mpsc::unbounded_channel::<()>();
    let breaker = CircuitBreaker::new(config).on_transition({
        let transitions = Arc::clone(&transitions);
        move |t| {
            transitions.0.lock().push((Instant::now(), t.from, t.to));
            if t.to == BreakerState::Open {
                let _ = opened.send(());
            }
        }
    });
    let resyncer = tokio::spawn(async move {
        loop {
            tokio::select! {
                opened = open_rx.recv() => if opened.is_none() { return },
                () = stop.cancelled() => return,
            }
            while open_rx.try_recv().is_ok() {}
            tracing::info!(target: "spam::loadgen", "breaker opened: resyncing all senders");
            for wallet in &wallets {
                if nonces.resync(wallet.address()).await.is_ok() {
                    counters.resyncs.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    });
    (breaker, transitions, resyncer)
}

/// A preconfirmation feed being followed.
#[derive(Debug)]
pub(super) struct PreconfListener {
    feed: JoinHandle<()>,
    consume: JoinHandle<()>,
    stats: Arc<Mutex<(PreconfStats, Latency)>>,
}

impl PreconfListener {
    /// Waits for the feed (stopped by the background token) and returns its figures.
    pub(super) async fn finish(self) -> PreconfStats {
        let _ = self.feed.await;
        let _ = self.consume.await;
        let (stats, latency) = &*self.stats.lock();
        PreconfStats {
            preconf_ms: LatencySummary::from_latency(latency),
            ..stats.clone()
        }
    }
}

/// Follows `source`: counts events per status, times intended → preconfirmed, and feeds
/// preconfirmations and revocations of the run's transactions to the breaker.
pub(super) fn preconf(
    source: Arc<dyn PreconfSource>,
    ledger: Arc<Ledger>,
    breaker: CircuitBreaker,
    stop: CancellationToken,
) -> PreconfListener {
    let (tx, mut rx) = mpsc::channel::<PreconfEvent>(4_096);
    let feed = tokio::spawn(async move {
        if let Err(err) = source.run(tx, stop).await {
            tracing::warn!(target: "spam::loadgen", %err, "preconfirmation feed stopped");
        }
    });
    let stats = Arc::new(Mutex::new((PreconfStats::default(), Latency::default())));
    let consume = tokio::spawn({
        let stats = Arc::clone(&stats);
        async move {
            while let Some(event) = rx.recv().await {
                let intended = ledger.intended(&event.hash);
                let mut stats = stats.lock();
                *stats
                    .0
                    .events
                    .entry(event.status.name().into())
                    .or_default() += 1;
                let Some(intended) = intended else {
                    stats.0.unmatched += 1;
                    continue;
                };
                match event.status {
                    PreconfStatus::Preconfirmed => {
                        stats.1.record(event.at.saturating_duration_since(intended));
                        breaker.record_revocation(false);
                    }
                    PreconfStatus::Revoked => breaker.record_revocation(true),
                    _ => {}
                }
            }
        }
    });
    PreconfListener {
        feed,
        consume,
        stats,
    }
}

/// Calls `hook` with a snapshot every `every` from `start` on, until stopped.
pub(super) fn progress(
    every: Duration,
    hook: ProgressHook,
    ledger: Arc<Ledger>,
    breaker: CircuitBreaker,
    start: Instant,
    stop: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(start + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = tick.tick() => hook(&Progress::snapshot(&ledger, start, breaker.state())),
                () = stop.cancelled() => return,
            }
        }
    })
}
