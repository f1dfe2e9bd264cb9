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
    profile::SendStrategy,
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

    // Every check passed: from here on the run goes to its report.
    let background = CancellationToken::new();
    let control = Control::start(&s);
    let (source, start, prepare_task) = sign(&s, &session, &control).await;
    let running = session.begin(start, s.connections as u32, settings(&s, &session));
    let mut watch = Watch::start(
        &s,
        &session,
        &running,
        &control,
        caps,
        from_block,
        &background,
    );
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
    Ok(session
        .finish(running, &figures.recorder, elapsed, |report| {
            report.open_loop = Some(open_loop_stats(
                &s, &session, &ending, &figures, report, split, elapsed,
            ));
            report.endpoints = session.router.summaries(session.wallets.len());
        })
        .await)
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
) -> (Source, Instant, Option<JoinHandle<()>>) {
    let preparer = Preparer::new(
        Arc::clone(s.tx.as_ref().expect("checked in build")),
        session,
        Arc::clone(&control.gate),
        Arc::clone(&control.limit),
    );
    let schedule = s.rate.schedule();
    if s.presign {
        let all = preparer.presign(schedule, s.duration).await;
        tracing::info!(target: "spam::loadgen", txs = all.len(), "presigned");
        let start = Instant::now() + Duration::from_millis(20);
        return (Source::Presigned(all), start, None);
    }
    let start = Instant::now() + s.lookahead + Duration::from_millis(20);
    let (tx, rx) = mpsc::channel(8_192);
    let cancel = session.config.cancel.clone();
    let task =
        tokio::spawn(preparer.run_live(schedule, start, s.duration, s.lookahead, tx, cancel));
    (Source::Live(rx), start, Some(task))
}

/// Paces the sends from `start` to the end (or the stop token), then waits until every send
/// is answered (or timed out). Returns the sending window.
async fn pace(
    s: &LoadGenBuilder,
    session: &Session,
    watch: &Watch,
    control: &Control,
    source: Source,
    start: Instant,
    submitter: Submitter,
) -> Duration {
    let sends = TaskTracker::new();
    Pacer {
        start,
        end: s.duration,
        schedule: s.rate.schedule(),
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
