//! One open-loop run on a [`Session`]: sign, pace, drain, wait for inclusions, then the
//! session settles and reports.

use std::{sync::Arc, time::Duration};

use alloy::providers::Provider;
use tokio::{sync::mpsc, task::JoinHandle, time::Instant};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::{
    LoadGenBuilder,
    background::Control,
    deliver::SendContext,
    pacer::{Pacer, Source},
    prepare::Preparer,
    report::{open_loop_stats, split_unincluded},
    send::Submitter,
    watch::Watch,
};
use crate::{
    node::Capabilities,
    pool::WalletPoolConfig,
    profile::{Schedule, SendStrategy},
    report::Report,
    session::{Session, StartError},
};

pub(super) async fn run(s: LoadGenBuilder) -> Result<Report, StartError> {
    let mut config = s.session.clone();
    config.pool = WalletPoolConfig::default()
        .with_cooldown(Duration::ZERO)
        .with_max_in_flight(s.max_in_flight_per_wallet);
    let session = Session::open(config).await?;
    let caps = capabilities(&s, &session)?;
    let from_block = session
        .reader
        .get_block_number()
        .await
        .map_err(StartError::rpc("reading the block number"))?;
    let submitter = Submitter::new(&session.router, s.connections, session.config.http_timeout)
        .map_err(|e| StartError::config(format!("the HTTP client could not be built: {e}")))?;

    let control = Control::start(&s);
    // Presigned, or the live signer started; a shard waits for the others here.
    let (source, start, prepare_task) = sign(&s, &session, &control).await?;

    // Every check passed: from here on the run goes to its report.
    let background = CancellationToken::new();
    let running = session.begin(start.at, s.connections as u32, settings(&s, &session));
    let mut watch = Watch::start(
        &s,
        &session,
        &running,
        &control,
        caps,
        from_block,
        &background,
    );
    #[cfg(feature = "store")]
    let beats = shard_beats(&s, &session, &watch, &control, start);
    let elapsed = pace(&s, &session, &watch, &control, source, start, submitter).await;
    if let Some(task) = prepare_task {
        task.abort();
        let _ = task.await;
    }
    let grace_end = Instant::now() + session.config.grace;
    watch.await_inclusions(grace_end, poll(&s)).await;
    watch.stop_repair().await;
    let high_water = watch.ledger.books().high_water.clone();
    let remaining = grace_end.saturating_duration_since(Instant::now());
    session
        .settle(&high_water, poll(&s), remaining.max(Duration::from_secs(2)))
        .await;
    let ending = watch
        .stop(&s, control, session.config.grace, background)
        .await;
    let split = split_unincluded(&session.sender, ending.ledger.take_unincluded()).await;
    let figures = ending.figures();
    let report = session
        .finish(running, &figures.recorder, elapsed, |report| {
            report.open_loop = Some(open_loop_stats(
                &s, &session, &ending, &figures, report, split, elapsed,
            ));
            report.endpoints = session.router.summaries(session.wallets.len());
        })
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

/// When the run starts, and how late this shard got there (ticks due before `late` are
/// dropped as "shard late").
#[derive(Debug, Clone, Copy)]
struct Started {
    at: Instant,
    late: Duration,
}

/// The run's schedule: the profile, or this shard's part of it.
fn schedule(s: &LoadGenBuilder, session: &Session) -> Schedule {
    let schedule = s.rate.schedule();
    #[cfg(feature = "store")]
    if let Some(shard) = &session.config.shard {
        return schedule.shard(shard.spec().index(), shard.spec().count());
    }
    let _ = session;
    schedule
}

/// The run's start: `earliest`, or the shards' common start.
async fn start_at(session: &Session, earliest: Instant) -> Result<Started, StartError> {
    #[cfg(feature = "store")]
    if let Some(shard) = &session.config.shard {
        let start = shard.barrier(&session.config.cancel).await?;
        return Ok(Started {
            at: start.at,
            late: earliest.saturating_duration_since(start.at),
        });
    }
    let _ = session;
    Ok(Started {
        at: earliest,
        late: Duration::ZERO,
    })
}

/// A shard's heartbeat: its figures and histograms every second.
#[cfg(feature = "store")]
fn shard_beats(
    s: &LoadGenBuilder,
    session: &Session,
    watch: &Watch,
    control: &Control,
    start: Started,
) -> Option<crate::shard::Beats> {
    let shard = session.config.shard.clone()?;
    let planned = schedule(s, session).skip_until(s.duration);
    let (ledger, breaker) = (Arc::clone(&watch.ledger), control.breaker.clone());
    let probe: crate::shard::Probe = Arc::new(move || {
        let progress = super::background::snapshot(&ledger, start.at, breaker.state());
        let books = ledger.books();
        let hists = crate::shard::Hists::of(&books.recorder, books.lag.clone());
        (progress.to_json(), hists)
    });
    let facts = serde_json::json!({
        "engine": "loadgen",
        "planned": planned,
        "late_ms": start.late.as_millis() as u64,
    });
    Some(crate::shard::Beats::spawn(shard, start.at, probe, facts))
}

/// What the execution layer offers, checked against what the settings ask for.
fn capabilities(s: &LoadGenBuilder, session: &Session) -> Result<Capabilities, StartError> {
    let el = session.el;
    let caps = el.capabilities();
    let unsupported = |what| {
        Err(StartError::from(
            crate::session::StartErrorKind::Unsupported { el, what },
        ))
    };
    if s.strategy == SendStrategy::Sync && !caps.sync_send {
        return unsupported("eth_sendRawTransactionSync");
    }
    if s.preconf.is_some() && !caps.preconfirmations {
        return unsupported("preconfirmation feeds");
    }
    Ok(caps)
}

/// Signs every transaction before the run (presign), or starts signing alongside it; returns
/// where the pacer takes them from and the run start.
async fn sign(
    s: &LoadGenBuilder,
    session: &Session,
    control: &Control,
) -> Result<(Source, Started, Option<JoinHandle<()>>), StartError> {
    let preparer = Preparer::new(
        Arc::clone(s.tx.as_ref().expect("checked in build")),
        session,
        Arc::clone(&control.gate),
        Arc::clone(&control.limit),
    );
    let mut schedule = schedule(s, session);
    if s.presign {
        let all = preparer.presign(schedule, s.duration).await;
        tracing::info!(target: "spam::loadgen", txs = all.len(), "presigned");
        let start = start_at(session, Instant::now() + Duration::from_millis(20)).await?;
        return Ok((Source::Presigned(all), start, None));
    }
    let start = start_at(
        session,
        Instant::now() + s.lookahead + Duration::from_millis(20),
    )
    .await?;
    // A late shard signs nothing for the ticks it missed.
    schedule.skip_until(start.late);
    let (tx, rx) = mpsc::channel(8_192);
    let cancel = session.config.cancel.clone();
    let task =
        tokio::spawn(preparer.run_live(schedule, start.at, s.duration, s.lookahead, tx, cancel));
    Ok((Source::Live(rx), start, Some(task)))
}

/// Paces the sends from `start` to the end (or the stop token), then waits until every send
/// is answered (or timed out). Returns the sending window.
async fn pace(
    s: &LoadGenBuilder,
    session: &Session,
    watch: &Watch,
    control: &Control,
    source: Source,
    start: Started,
    submitter: Submitter,
) -> Duration {
    let sends = TaskTracker::new();
    let late = start.late;
    let start = start.at;
    Pacer {
        start,
        end: s.duration,
        late,
        schedule: schedule(s, session),
        source,
        gate: Arc::clone(&control.gate),
        strategy: s.strategy,
        ctx: Arc::new(SendContext {
            parking: Arc::clone(&session.parking),
            ledger: Arc::clone(&watch.ledger),
            submitter,
            nonces: session.nonces.clone(),
            counters: Arc::clone(&session.counters),
            limit: Arc::clone(&watch.limit),
            sync: s.strategy == SendStrategy::Sync,
        }),
        sends: sends.clone(),
        cancel: session.config.cancel.clone(),
    }
    .run()
    .await;
    // The sending window: the pacer stops at the end, or earlier when cancelled.
    let elapsed = start.elapsed().max(Duration::from_millis(1));
    sends.close();
    sends.wait().await;
    elapsed
}

/// How often the chain head is polled, and the grace loop looks at the ledger.
fn poll(s: &LoadGenBuilder) -> Duration {
    s.poll.max(Duration::from_millis(20))
}

/// The settings recorded with the run.
fn settings(s: &LoadGenBuilder, session: &Session) -> serde_json::Value {
    serde_json::json!({
        "engine": "loadgen",
        "rate": s.rate,
        "duration_ms": s.duration.as_millis() as u64,
        "strategy": s.strategy,
        "connections": s.connections,
        "max_in_flight": s.max_in_flight,
        "max_in_flight_per_wallet": s.max_in_flight_per_wallet.get(),
        "presign": s.presign,
        "receipts": s.receipts,
        "lookahead_ms": s.lookahead.as_millis() as u64,
        "grace_ms": session.config.grace.as_millis() as u64,
        "recovery_tps": s.recovery_tps,
        "wallets": session.wallets.len(),
        "tx": s.tx.as_ref().map(|t| t.name().to_owned()),
        "send_url_differs": session.config.send_url() != session.config.rpc_url(),
        "endpoints": {
            "reads": session.config.endpoints.reads().len(),
            "sends": session.config.endpoints.sends().len(),
            "strategy": session.config.endpoints.strategy().as_str(),
            "max_rps": session.config.endpoints.max_rps().map(std::num::NonZeroU32::get),
        },
    })
}
