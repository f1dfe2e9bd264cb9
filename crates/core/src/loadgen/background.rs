//! What runs beside the pacer: the breaker (its transitions and the resyncer it wakes), the
//! preconfirmation listener, and the progress snapshots. Each task stops on the run's
//! background token.

use std::sync::{Arc, atomic::Ordering};

use parking_lot::Mutex;
use spam_nonce::NonceManager;
use tokio::{sync::mpsc, task::JoinHandle, time::Instant};
use tokio_util::sync::CancellationToken;

use super::{
    LoadGenBuilder, PreconfEvent, PreconfSource, PreconfStatus, gate::Gate, ledger::Ledger,
};
use crate::{
    breaker::{BreakerConfig, BreakerState, CircuitBreaker},
    metrics::Latency,
    report::{BreakerEvent, LatencySummary, PreconfStats},
    session::{Progress, Session},
    task::NonceCounters,
    wallet::Wallet,
};

/// The run's circuit breaker, the gate it drives and the resyncer it wakes.
pub(super) struct Control {
    pub(super) breaker: CircuitBreaker,
    pub(super) gate: Arc<Gate>,
    transitions: Arc<Transitions>,
    resyncer: JoinHandle<()>,
}

impl Control {
    /// A breaker on `s`'s settings whose opening resyncs every sender of `session`, and the
    /// gate that holds the recovery rate while it is not closed.
    pub(super) fn start(s: &LoadGenBuilder, session: &Session, stop: CancellationToken) -> Self {
        let (breaker, transitions, resyncer) = breaker(
            s.breaker.clone(),
            session.nonces.clone(),
            session.wallets.clone(),
            Arc::clone(&session.counters),
            stop,
        );
        Self {
            gate: Arc::new(Gate::new(breaker.clone(), s.recovery_tps)),
            breaker,
            transitions,
            resyncer,
        }
    }

    /// Waits for the resyncer (stopped by the background token) and returns the breaker's
    /// transitions, timed from `start`.
    pub(super) async fn stop(self, start: Instant) -> Vec<BreakerEvent> {
        let _ = self.resyncer.await;
        self.transitions.events(start)
    }
}

/// The breaker's transitions, as they happened.
#[derive(Debug, Default)]
struct Transitions(Mutex<Vec<(Instant, BreakerState, BreakerState)>>);

impl Transitions {
    /// The transitions for the report, timed from `start`.
    fn events(&self, start: Instant) -> Vec<BreakerEvent> {
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
fn breaker(
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

/// A snapshot of the run so far, for progress hooks.
pub(super) fn snapshot(ledger: &Ledger, start: Instant, breaker: BreakerState) -> Progress {
    let in_flight = ledger.in_flight.len() as u64;
    let books = ledger.books();
    let c = &books.counters;
    let (ack, inclusion) = books
        .recorder
        .tasks()
        .values()
        .next()
        .map(|m| {
            (
                LatencySummary::from_latency(&m.task),
                LatencySummary::from_latency(&m.inclusion),
            )
        })
        .unwrap_or_default();
    Progress {
        elapsed: start.elapsed(),
        tasks_ok: c.accepted,
        tasks_failed: c.rejected,
        offered: c.offered,
        dropped_by_reason: c
            .dropped
            .iter()
            .map(|(reason, n)| (reason.label().to_owned(), *n))
            .collect(),
        sent: c.sent,
        accepted: c.accepted,
        rejected_by_class: books.recorder.errors().clone(),
        included: c.included,
        in_flight,
        late: c.late,
        breaker,
        task: ack,
        lag: LatencySummary::from_latency(&books.lag),
        ack,
        inclusion,
    }
}
