//! One closed-loop run on a [`Session`]: workers until the stop, the grace period, then the
//! session settles and reports.

use std::{collections::HashMap, sync::Arc, time::Duration};

use parking_lot::Mutex;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{
    SpammerBuilder, Stop,
    egress::Egress,
    sink::TaskSink,
    watch,
    worker::{Budget, Worker},
};
use crate::{
    breaker::BreakerState,
    metrics::Recorder,
    report::{ClosedLoopStats, Report},
    session::{BlockBook, Progress, Running, Session, StartError, spawn_progress},
    task::{
        RunContext, TaskMix,
        inflight::{Cause, Guard, InFlight, Ledger, tally},
    },
};

pub(super) async fn run(mut s: SpammerBuilder) -> Result<Report, StartError> {
    let mix = s.mix.take().expect("checked in build");
    #[cfg(feature = "store")]
    take_share(&mut s)?;
    let session = Session::open(s.session.clone()).await?;
    let egress = egress(&mut s, &session)?;
    let hard_stop = CancellationToken::new();
    let reconcile_after = match s.reconcile_after {
        Some(after) => after,
        None => watch::reconcile_after(&session.sender).await,
    };
    let config = settings(&s, &session, &mix, egress.as_deref(), reconcile_after);
    let start = start_at(&session).await?;
    let running = session.begin(start, s.workers.get(), config.clone());
    let recorder = Arc::new(Mutex::new(Recorder::new(running.start)));
    let (breaker, log) = watch::breaker(s.breaker.clone(), running.start);
    let inflight = Arc::new(InFlight::new(
        Ledger::new(Arc::clone(&recorder)),
        Guard::new(breaker),
        session.reconciler(session.config.http_timeout),
        reconcile_after,
        Arc::clone(&session.counters),
    ));
    let background = CancellationToken::new();
    let context = session.run_context();
    let blocks = Arc::new(Mutex::new(BlockBook::new(running.start)));
    let (head, head_task) = crate::task::head::spawn(
        context.provider.clone(),
        session.read_client.clone(),
        s.receipt_poll,
        Arc::clone(&blocks),
        background.clone(),
    );
    let feed = Arc::new(session.feed(&running, blocks));
    let run = Arc::new(
        context
            .with_receipt_poll(s.receipt_poll)
            .with_cancel(hard_stop.clone())
            .with_config(config)
            .with_inflight(Arc::clone(&inflight))
            .with_head(head),
    );
    let progress = s.session.progress.clone().map(|(every, hook)| {
        let (recorder, inflight) = (Arc::clone(&recorder), Arc::clone(&inflight));
        let start = running.start;
        let feed = Arc::clone(&feed);
        let snapshot = move || {
            let mut p = snapshot(&recorder, &inflight, start.elapsed());
            feed.fill(&mut p);
            p
        };
        spawn_progress(every, hook, start, snapshot, background.clone())
    });
    let rebalancer = egress
        .as_ref()
        .map(|e| e.spawn_rebalancer(session.pool.clone()));
    let watching = CancellationToken::new();
    let watcher = watch::spawn(
        Arc::clone(&inflight),
        session.sender.clone(),
        (Arc::clone(&session.router), session.pool.clone()),
        (s.recovery_tps, s.breaker.is_disabled()),
        Arc::clone(&log),
        watching.clone(),
    );
    let crew = Crew {
        s: &s,
        session: &session,
        run,
        mix,
        recorder: Arc::clone(&recorder),
        egress: egress.clone(),
        hard_stop,
        sink: sink(&running),
    };
    #[cfg(feature = "store")]
    let beats = shard_beats(&session, &recorder, &inflight, running.start);
    tokio::select! {
        () = tokio::time::sleep_until(running.start) => {}
        () = session.config.cancel.cancelled() => {}
    }
    crew.work(running.start).await;
    let elapsed = running.start.elapsed();
    drop(rebalancer);
    watching.cancel();
    let _ = watcher.await;

    settle(&session, &inflight, s.receipt_poll).await;
    background.cancel();
    let _ = head_task.await;
    if let Some(task) = progress {
        let _ = task.await;
    }
    if let Some((_, hook)) = &s.session.progress {
        let mut p = snapshot(&recorder, &inflight, running.start.elapsed());
        feed.fill(&mut p);
        hook(&p);
    }
    let recorder = recorder.lock().clone();
    let closed_loop = closed_loop(&inflight, &log);
    let report = finish(
        &session,
        running,
        &recorder,
        elapsed,
        egress.as_deref(),
        closed_loop,
    )
    .await;
    #[cfg(feature = "store")]
    if let Some(beats) = beats {
        beats
            .finish(
                spam_store::ShardState::Done,
                serde_json::to_value(&report).ok(),
            )
            .await;
    }
    Ok(report)
}

/// A shard's part of the run: its share of the workers (and of a task count).
#[cfg(feature = "store")]
fn take_share(s: &mut SpammerBuilder) -> Result<(), StartError> {
    let Some(shard) = &s.session.shard else {
        return Ok(());
    };
    let spec = shard.spec();
    s.workers = std::num::NonZeroU32::new(spec.workers(s.workers.get())).ok_or_else(|| {
        StartError::config(format!(
            "{} workers cannot be shared by {} shards: give each shard at least one",
            s.workers,
            spec.count()
        ))
    })?;
    if let Stop::Tasks(n) = s.stop {
        let share = spec.slice(usize::try_from(n).unwrap_or(usize::MAX)).len();
        s.stop = Stop::Tasks(share as u64);
    }
    Ok(())
}

/// Now, or the shards' common start (in the past for a late shard: it runs until the
/// common end).
async fn start_at(session: &Session) -> Result<Instant, StartError> {
    #[cfg(feature = "store")]
    if let Some(shard) = &session.config.shard {
        return Ok(shard.barrier(&session.config.cancel).await?.at);
    }
    let _ = session;
    Ok(Instant::now())
}

/// A shard's heartbeat: its figures and histograms every second.
#[cfg(feature = "store")]
fn shard_beats(
    session: &Session,
    recorder: &Arc<Mutex<Recorder>>,
    inflight: &Arc<InFlight>,
    start: Instant,
) -> Option<crate::shard::Beats> {
    let shard = session.config.shard.clone()?;
    let (recorder, inflight) = (Arc::clone(recorder), Arc::clone(inflight));
    let probe: crate::shard::Probe = Arc::new(move || {
        let progress = snapshot(&recorder, &inflight, start.elapsed());
        let hists = crate::shard::Hists::of(&recorder.lock(), crate::metrics::Latency::default());
        (progress.to_json(), hists)
    });
    let late = Instant::now().saturating_duration_since(start);
    let facts = serde_json::json!({
        "engine": "spammer",
        "late_ms": late.as_millis() as u64,
    });
    Some(crate::shard::Beats::spawn(shard, start, probe, facts))
}

/// The end of the load: the bytes the node lost are sent again, nonce gaps are filled and the
/// run waits for the chain (each up to the grace period; none of it when the node is out),
/// then every transaction still in flight is looked up on the final chain (up to the grace
/// period).
async fn settle(session: &Session, inflight: &InFlight, poll: Duration) {
    let grace = session.config.grace;
    if inflight.guard.breaker().state() == BreakerState::Closed {
        let _ = tokio::time::timeout(grace, inflight.reconcile_all(Cause::EndOfRun)).await;
        session.settle(&HashMap::new(), poll, grace).await;
    } else {
        tracing::warn!(target: "spam::engine", "the node is out at the end: no settling");
    }
    tally(&inflight.ledger, &session.sender, grace).await;
}

/// A progress snapshot: the recorder's final figures, plus what the ledger holds (seen in a
/// block but not final yet counts as included), and the breaker.
fn snapshot(recorder: &Mutex<Recorder>, inflight: &InFlight, elapsed: Duration) -> Progress {
    let mut progress = Progress::closed_loop(&recorder.lock(), elapsed);
    let (seen, unseen) = inflight.ledger.provisional();
    progress.included += seen;
    progress.in_flight = unseen;
    progress.breaker = inflight.guard.breaker().state();
    progress
}

/// The closed-loop figures of the report.
fn closed_loop(inflight: &InFlight, log: &watch::Log) -> ClosedLoopStats {
    let c = inflight.ledger.counts();
    ClosedLoopStats {
        sent: c.sent,
        accepted: c.sent - c.refused - c.unanswered,
        refused: c.refused,
        unanswered: c.unanswered,
        included: c.included,
        landed_unseen: c.landed_unseen,
        superseded: c.superseded,
        pending_at_end: c.pending_at_end,
        unverified: c.unverified,
        rebroadcasts: c.rebroadcasts,
        reconciliations: inflight.reconciliations(),
        retries: inflight.guard.retries(),
        breaker: log.transitions(),
        pauses: log.pauses(),
    }
}

/// The report, with the closed-loop figures, and the proxies' when the run had a pool.
async fn finish(
    session: &Session,
    running: Running,
    recorder: &Recorder,
    elapsed: Duration,
    egress: Option<&Egress>,
    closed_loop: ClosedLoopStats,
) -> Report {
    session
        .finish(running, recorder, elapsed, |report| {
            report.closed_loop = Some(closed_loop);
            if let Some(egress) = egress {
                report.proxies = egress.summaries();
            }
            report.endpoints = session.router.summaries(session.wallets.len());
        })
        .await
}

/// The senders' proxies, when the run has a pool: each sender assigned one, and the pool's
/// leases skip senders whose proxy is banned.
fn egress(s: &mut SpammerBuilder, session: &Session) -> Result<Option<Arc<Egress>>, StartError> {
    #[cfg(feature = "proxy")]
    if let Some(proxies) = s.proxies.take() {
        let url = session.config.rpc_url().cloned().expect("checked in build");
        let egress = Arc::new(Egress::new(proxies, url, &session.wallets)?);
        let (skip, parking) = (egress.skip(), Arc::clone(&session.parking));
        let router = Arc::clone(&session.router);
        session
            .pool
            .set_skip(move |w: &Arc<crate::wallet::Wallet>| {
                let address = w.address();
                skip(w) || parking.is_parked(&address) || router.is_moving(&address)
            });
        return Ok(Some(egress));
    }
    let _ = (s, session);
    Ok(None)
}

/// The settings recorded with the run.
fn settings(
    s: &SpammerBuilder,
    session: &Session,
    mix: &TaskMix,
    egress: Option<&Egress>,
    reconcile_after: Duration,
) -> serde_json::Value {
    serde_json::json!({
        "engine": "spammer",
        "stop": format!("{:?}", s.stop),
        "task_timeout_ms": s.task_timeout.as_millis() as u64,
        "http_timeout_ms": session.config.http_timeout.as_millis() as u64,
        "grace_ms": session.config.grace.as_millis() as u64,
        "cooldown_ms": session.pool.config().cooldown().as_millis() as u64,
        "reconcile_after_ms": reconcile_after.as_millis() as u64,
        "recovery_tps": s.recovery_tps,
        "wallets": session.wallets.len(),
        "proxies": egress.map_or(0, Egress::len),
        "tasks": mix.tasks().map(|(t, w)| (t.name().to_string(), w)).collect::<Vec<_>>(),
    })
}

/// Where finished tasks go, when the run is persisted.
fn sink(running: &Running) -> Option<Arc<TaskSink>> {
    #[cfg(feature = "store")]
    return running
        .writer()
        .map(|(handle, id)| Arc::new(TaskSink::new(handle, id, running.clock)));
    #[cfg(not(feature = "store"))]
    {
        let _ = running;
        None
    }
}

/// The workers of one run and what they share.
struct Crew<'a> {
    s: &'a SpammerBuilder,
    session: &'a Session,
    run: Arc<RunContext>,
    mix: TaskMix,
    recorder: Arc<Mutex<Recorder>>,
    egress: Option<Arc<Egress>>,
    hard_stop: CancellationToken,
    sink: Option<Arc<TaskSink>>,
}

impl Crew<'_> {
    /// Runs the workers until the stop; once no new task may start, running ones get the
    /// grace period, then are cancelled.
    async fn work(self, start: Instant) {
        let s = self.s;
        let soft_stop = s.session.cancel.child_token();
        if let Stop::After(duration) = s.stop {
            let soft_stop = soft_stop.clone();
            tokio::spawn(async move {
                tokio::time::sleep_until(start + duration).await;
                soft_stop.cancel();
            });
        }
        let budget = Arc::new(Budget::new(s.stop));
        let router = &self.session.router;
        let providers: Option<Arc<[alloy::providers::RootProvider]>> =
            (self.egress.is_none() && router.is_multi()).then(|| {
                let wallets = self.session.pool.wallets();
                wallets
                    .iter()
                    .map(|w| router.provider_for(w.address()))
                    .collect()
            });
        let max_rate = s.max_rate.map(|rate| Arc::new(start_limiter(rate)));
        let mut workers = tokio::task::JoinSet::new();
        for id in 0..s.workers.get() as usize {
            workers.spawn(
                Worker {
                    id,
                    run: Arc::clone(&self.run),
                    pool: self.session.pool.clone(),
                    mix: self.mix.clone(),
                    budget: Arc::clone(&budget),
                    soft_stop: soft_stop.clone(),
                    hard_stop: self.hard_stop.clone(),
                    task_timeout: s.task_timeout,
                    seed: self.session.config.seed,
                    hook: s.hook.clone(),
                    recorder: Arc::clone(&self.recorder),
                    egress: self.egress.clone(),
                    sink: self.sink.clone(),
                    providers: providers.clone(),
                    max_rate: max_rate.clone(),
                }
                .run(),
            );
        }
        let collect = async {
            while let Some(done) = workers.join_next().await {
                done.expect("workers catch task panics");
            }
        };
        tokio::pin!(collect);
        let grace = self.session.config.grace;
        tokio::select! {
            () = &mut collect => {}
            () = async { soft_stop.cancelled().await; tokio::time::sleep(grace).await } => {
                self.hard_stop.cancel();
                collect.await
            }
        };
    }
}

/// A limiter of `rate` task starts per second: a burst of 10 ms of starts (at least one),
/// drained up front so the first second holds the cap like the others.
fn start_limiter(rate: std::num::NonZeroU32) -> governor::DefaultDirectRateLimiter {
    let burst = std::num::NonZeroU32::new((rate.get() / 100).max(1)).expect("at least 1");
    let limiter =
        governor::RateLimiter::direct(governor::Quota::per_second(rate).allow_burst(burst));
    let _ = limiter.check_n(burst);
    limiter
}
