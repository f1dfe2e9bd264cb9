//! What runs beside the pacer: the breaker (and its transitions), the preconfirmation
//! listener, and the progress snapshots. Each task stops on the run's background token.

use std::{collections::BTreeMap, sync::Arc};

use parking_lot::Mutex;
use tokio::{sync::mpsc, task::JoinHandle, time::Instant};
use tokio_util::sync::CancellationToken;

use super::{
    LoadGenBuilder, PreconfEvent, PreconfSource, PreconfStatus, gate::Gate, ledger::Ledger,
    limit::SendLimit,
};
use crate::{
    breaker::{BreakerState, CircuitBreaker},
    metrics::{Latency, LatencyBuckets},
    report::{BreakerEvent, LatencySummary, PreconfStats},
    session::{ChainProgress, Progress, TaskProgress},
};

/// The run's circuit breaker and the gate it drives.
pub(super) struct Control {
    pub(super) breaker: CircuitBreaker,
    pub(super) gate: Arc<Gate>,
    /// The cap on sends prepared and not yet answered.
    pub(super) limit: Arc<SendLimit>,
    transitions: Arc<Transitions>,
}

impl Control {
    /// A breaker on `s`'s settings whose transitions are recorded, and the gate that holds
    /// the recovery rate while it is not closed. (What an outage did to the senders is
    /// repaired by the reconciliation that follows it, see `repair`.)
    pub(super) fn start(s: &LoadGenBuilder) -> Self {
        let transitions = Arc::new(Transitions::default());
        let breaker = CircuitBreaker::new(s.breaker.clone()).on_transition({
            let transitions = Arc::clone(&transitions);
            move |t| transitions.0.lock().push((Instant::now(), t.from, t.to))
        });
        Self {
            gate: Arc::new(Gate::new(breaker.clone(), s.recovery_tps)),
            limit: send_limit(s),
            breaker,
            transitions,
        }
    }

    /// The breaker's transitions, timed from `start`.
    pub(super) fn events(&self, start: Instant) -> Vec<BreakerEvent> {
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
    // A builder with kinds counts under several names: their latencies together.
    let all = books.recorder.all_tasks();
    let (ack, inclusion) = (
        LatencySummary::from_latency(&all.task),
        LatencySummary::from_latency(&all.inclusion),
    );
    Progress {
        elapsed: start.elapsed(),
        tasks_ok: c.accepted,
        tasks_failed: c.rejected + c.unanswered,
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
        endpoints: Vec::new(),
        tasks: TaskProgress::of(&books.recorder, true),
        lag_buckets: LatencyBuckets::from_latency(&books.lag),
        endpoint_ack: BTreeMap::new(),
        chain: ChainProgress::default(),
        store: None,
    }
}

/// The cap on waiting sends (live ticks count from when they are signed, a lookahead ahead of
/// their time, so the cap has room for what the peak rate signs ahead). One request per
/// transaction: it starts at 32 per connection,
/// what a fast node needs, so a node that slows down meets a short queue rather than
/// thousands of requests (measured: at twice anvil's capacity, starting at the full cap left
/// it swamped and inclusion dragged on for 45 s after the run). Batches: each connection has
/// one request out, so a queue deeper than a second full batch per connection adds only
/// lag — at twice anvil's capacity a 10 000 cap held sends 2.5 s behind their time and had
/// senders reconciled for transactions still in our own queue; a cap of a second's sends
/// (8 000) measured no better than two batches per connection and held sends 1–5 s late. The
/// cap is two batches per connection plus the lookahead's ticks (a tick over the cap is
/// dropped before it takes a nonce) and halves on stalls to no less than one batch each.
fn send_limit(s: &LoadGenBuilder) -> Arc<SendLimit> {
    // Live ticks hold their place from signing, a lookahead before their time.
    let ahead = if s.presign {
        0
    } else {
        (s.rate.peak() * s.lookahead.as_secs_f64()).ceil() as usize
    };
    match s.strategy {
        crate::profile::SendStrategy::Batch { max, .. } => {
            let batch = s.connections * max.max(1);
            let cap = (batch * 2 + ahead).min(s.max_in_flight);
            SendLimit::new(cap, cap).with_floor((batch + ahead).min(cap))
        }
        _ => {
            let start = s.connections * 32 + ahead;
            SendLimit::new(start, s.max_in_flight.max(start)).with_floor(32 + ahead)
        }
    }
}
