//! One open-loop run, start to report.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
    time::Duration,
};

use alloy::{
    primitives::Address,
    providers::{Provider, ProviderBuilder, RootProvider},
    rpc::client::{ClientBuilder, RpcClient},
    transports::http::reqwest,
};
use parking_lot::Mutex;
use spam_nonce::{NonceManager, ProviderSource};
use tokio::{
    sync::{Semaphore, mpsc},
    time::Instant,
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::{
    ExecutionLayer, LoadGenBuilder, LoadGenError, Progress, SendStrategy, background,
    blocks::BlockBook,
    gate::Gate,
    ledger::Ledger,
    pacer::{Pacer, SendContext, Source},
    prepare::Preparer,
    send::Submitter,
    sink::Sink,
    tracker::{Tracker, receipts},
};
use crate::{
    FeeOracle, FeeOracleConfig, PoolConfig, Report, RetryPolicy, RunInfo, Wallet, WalletPool,
    persist::{Persist, UnixClock},
    read_chain_id,
    report::{LatencySummary, OpenLoopStats, round},
    settle::{Settle, handed_out, settle},
    spammer::unix_ms,
    task::NonceCounters,
};

fn http_client(timeout: Duration) -> Result<reqwest::Client, LoadGenError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .tcp_nodelay(true)
        .build()
        .map_err(|e| LoadGenError::Config(format!("the HTTP client could not be built: {e}")))
}

fn rpc(url: &reqwest::Url, timeout: Duration) -> Result<(RpcClient, RootProvider), LoadGenError> {
    let client = ClientBuilder::default().http_with_client(http_client(timeout)?, url.clone());
    let provider = ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_client(client.clone());
    Ok((client, provider))
}

pub(super) async fn run(s: LoadGenBuilder) -> Result<Report, LoadGenError> {
    let rpc_url = s.rpc_url.clone().expect("checked in build");
    let send_url = s.send_url.clone().unwrap_or_else(|| rpc_url.clone());
    let builder = s.tx.clone().expect("checked in build");
    let (read_client, reader) = rpc(&rpc_url, s.http_timeout)?;
    let (_, sender_provider) = rpc(&send_url, s.http_timeout)?;

    let chain_id = read_chain_id(&reader, s.mainnet).await?;
    if send_url != rpc_url {
        read_chain_id(&sender_provider, s.mainnet).await?;
    }
    let client_version = reader
        .get_client_version()
        .await
        .unwrap_or_else(|_| "unknown".into());
    let el =
        s.el.unwrap_or_else(|| ExecutionLayer::detect(&client_version));
    let caps = el.capabilities();
    if s.strategy == SendStrategy::Sync && !caps.sync_send {
        return Err(LoadGenError::Unsupported {
            el,
            what: "eth_sendRawTransactionSync",
        });
    }
    if s.preconf.is_some() && !caps.preconfirmations {
        return Err(LoadGenError::Unsupported {
            el,
            what: "preconfirmation feeds",
        });
    }
    let ws_url = s.ws_url.clone().filter(|_| caps.ws_new_heads);

    let nonce_source = if caps.pending_nonce_method {
        "eth_getPendingNonce (send URL)"
    } else {
        "eth_getTransactionCount pending (send URL)"
    };
    let nonces = NonceManager::new(
        ProviderSource::new(sender_provider.clone())
            .with_pending_nonce_method(caps.pending_nonce_method),
    );
    for wallet in &s.wallets {
        nonces.resync(wallet.address()).await?;
    }
    let fees = FeeOracle::new(reader.clone(), FeeOracleConfig::default());
    fees.current().await.map_err(|source| LoadGenError::Rpc {
        what: "reading fees",
        source,
    })?;
    let from_block = reader
        .get_block_number()
        .await
        .map_err(|source| LoadGenError::Rpc {
            what: "reading the block number",
            source,
        })?;
    let wallets: Vec<Arc<Wallet>> = s.wallets.iter().cloned().map(Arc::new).collect();
    let pool = WalletPool::new(
        wallets.clone(),
        PoolConfig::default()
            .with_cooldown(Duration::ZERO)
            .with_max_in_flight(s.max_in_flight_per_wallet),
    )?;
    let submitter = Submitter::new(&send_url, s.connections, s.http_timeout)
        .map_err(|e| LoadGenError::Config(format!("the HTTP client could not be built: {e}")))?;

    // The breaker: transitions are recorded, and opening resyncs every sender.
    let counters = Arc::new(NonceCounters::default());
    let background = CancellationToken::new();
    let (breaker, transitions, resyncer) = background::breaker(
        s.breaker.clone(),
        nonces.clone(),
        wallets.clone(),
        Arc::clone(&counters),
        background.clone(),
    );
    let gate = Arc::new(Gate::new(breaker.clone(), s.recovery_tps));

    // Signing: before the run, or alongside it.
    let schedule = s.rate.schedule();
    let preparer = Preparer::new(
        Arc::clone(&builder),
        pool,
        nonces.clone(),
        fees.clone(),
        chain_id,
        s.seed,
        Arc::clone(&gate),
    );
    let (source, start, prepare_task) = if s.presign {
        let all = preparer.presign(schedule.clone(), s.duration).await;
        tracing::info!(target: "spam::loadgen", txs = all.len(), "presigned");
        (
            Source::Presigned(all),
            Instant::now() + Duration::from_millis(20),
            None,
        )
    } else {
        let start = Instant::now() + s.lookahead + Duration::from_millis(20);
        let (tx, rx) = mpsc::channel(8_192);
        let task = tokio::spawn(preparer.run_live(
            schedule.clone(),
            start,
            s.duration,
            s.lookahead,
            tx,
            s.cancel.clone(),
        ));
        (Source::Live(rx), start, Some(task))
    };

    let settings = serde_json::json!({
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
        "grace_ms": s.grace.as_millis() as u64,
        "recovery_tps": s.recovery_tps,
        "wallets": wallets.len(),
        "tx": builder.name(),
        "send_url_differs": send_url != rpc_url,
    });
    // Persistence: the run row now, records while it runs, the rest at the end.
    let clock = UnixClock::new(start);
    let persist = s.store.clone().map(|(store, id)| {
        let info = RunInfo {
            chain_id,
            client_version: client_version.clone(),
            seed: s.seed,
            workers: u32::try_from(s.connections).unwrap_or(u32::MAX),
            config: settings.clone(),
            ..RunInfo::default()
        };
        Persist::start(store, id, &info, clock.start_us())
    });
    let sink = persist
        .as_ref()
        .map(|p| Sink::new(p.handle(), p.run_id(), builder.name().to_owned(), clock));
    let ledger = Arc::new(Ledger::new(
        builder.name().to_owned(),
        start,
        s.late_after,
        sink,
    ));
    let blocks = Arc::new(Mutex::new(BlockBook::new(start)));
    let (receipt_tx, receipts_task) = if s.receipts {
        let (tx, rx) = mpsc::channel(4_096);
        let task = tokio::spawn(receipts(read_client.clone(), Arc::clone(&ledger), rx));
        (Some(tx), Some(task))
    } else {
        (None, None)
    };
    let tracker_stop = CancellationToken::new();
    let tracker_task = tokio::spawn(
        Tracker {
            client: read_client.clone(),
            ledger: Arc::clone(&ledger),
            fees: fees.clone(),
            blocks: Arc::clone(&blocks),
            receipts: receipt_tx,
            poll: s.poll,
            ws_url,
        }
        .run(from_block, tracker_stop.clone()),
    );
    let preconf = s.preconf.clone().map(|source| {
        background::preconf(
            source,
            Arc::clone(&ledger),
            breaker.clone(),
            background.clone(),
        )
    });

    // Progress snapshots, until the report is built.
    let progress_task = s.progress.clone().map(|(every, hook)| {
        background::progress(
            every,
            hook,
            Arc::clone(&ledger),
            breaker.clone(),
            start,
            background.clone(),
        )
    });

    // The run.
    let started_at = unix_ms();
    let in_flight = Arc::new(Semaphore::new(s.max_in_flight));
    let sends = TaskTracker::new();
    let ctx = Arc::new(SendContext {
        ledger: Arc::clone(&ledger),
        submitter,
        nonces: nonces.clone(),
        counters: Arc::clone(&counters),
    });
    Pacer {
        start,
        end: s.duration,
        schedule,
        source,
        gate: Arc::clone(&gate),
        in_flight: Arc::clone(&in_flight),
        strategy: s.strategy,
        ctx: Arc::clone(&ctx),
        sends: sends.clone(),
        cancel: s.cancel.clone(),
    }
    .run()
    .await;
    // The sending window: the pacer stops at the end, or earlier when cancelled.
    let elapsed = start.elapsed();
    let sending_window = elapsed.max(Duration::from_millis(1));
    if let Some(task) = prepare_task {
        task.abort();
        let _ = task.await;
    }
    // Every send is answered (or times out) before anything is counted as final.
    sends.close();
    sends.wait().await;

    // Grace: wait for the accepted transactions to show up in blocks.
    let grace_end = Instant::now() + s.grace;
    while ledger.awaiting_inclusion() > 0 && Instant::now() < grace_end {
        tokio::time::sleep(s.poll.max(Duration::from_millis(20))).await;
    }
    // Fill nonce gaps so nothing of the run stays queued, then a final block scan.
    let high_water = ledger.books().high_water.clone();
    let targets: Vec<_> = wallets
        .iter()
        .filter_map(|w| {
            let sent = high_water.get(&w.address()).copied();
            let kept = handed_out(&nonces, w);
            let high = sent.max(kept)?;
            Some((Arc::clone(w), high))
        })
        .collect();
    let retry = RetryPolicy::default();
    let finish = Settle {
        provider: &sender_provider,
        nonces: &nonces,
        fees: &fees,
        chain_id,
        retry: &retry,
        counters: &counters,
        poll: s.poll.max(Duration::from_millis(20)),
    };
    let remaining = grace_end.saturating_duration_since(Instant::now());
    settle(&finish, &targets, remaining.max(Duration::from_secs(2))).await;
    tracker_stop.cancel();
    let _ = tracker_task.await;
    background.cancel();
    let _ = resyncer.await;
    if let Some(task) = progress_task {
        let _ = task.await;
    }
    if let Some((_, hook)) = &s.progress {
        hook(&Progress::snapshot(&ledger, start, breaker.state()));
    }
    let preconf = match preconf {
        Some(listener) => Some(listener.finish().await),
        None => None,
    };
    let receipts_missing = match receipts_task {
        Some(task) => match tokio::time::timeout(s.grace.max(Duration::from_secs(5)), task).await {
            Ok(Ok(missing)) => missing,
            _ => 0,
        },
        None => 0,
    };

    // Accepted but never seen: pending at the end, or superseded by another transaction.
    let unincluded = ledger.take_unincluded();
    let (pending_at_end, superseded) = split_unincluded(&sender_provider, unincluded).await;

    let mut report = {
        let books = ledger.books();
        let c = &books.counters;
        let nonce_stats = counters.stats();
        let block_book = blocks.lock();
        let base = books.recorder.clone();
        let info = RunInfo {
            chain_id,
            client_version,
            started_at_unix_ms: started_at,
            ended_at_unix_ms: unix_ms(),
            seed: s.seed,
            workers: u32::try_from(s.connections).unwrap_or(u32::MAX),
            config: settings,
        };
        let mut report = Report::build(info, &base, nonce_stats, elapsed);
        let dropped: u64 = c.dropped.values().sum();
        let task = report.totals.clone();
        report.open_loop = Some(OpenLoopStats {
            rate: s.rate.clone(),
            strategy: s.strategy,
            presigned: s.presign,
            execution_layer: el,
            capabilities: caps,
            nonce_source: nonce_source.into(),
            blocks_via: block_book.via.clone(),
            offered: c.offered,
            dropped,
            dropped_by_reason: c
                .dropped
                .iter()
                .map(|(r, n)| (r.label().to_owned(), *n))
                .collect::<BTreeMap<_, _>>(),
            sent: c.sent,
            accepted: c.accepted,
            rejected: c.rejected,
            included: c.included,
            pending_at_end,
            superseded,
            landed_after_error: c.landed_after_error,
            duplicates: c.duplicates,
            late: c.late,
            late_after_ms: s.late_after.as_secs_f64() * 1_000.0,
            lag_ms: LatencySummary::from_latency(&books.lag),
            ack_ms: task.task_ms,
            inclusion_ms: task.inclusion_ms,
            send_ms: task.send_ms,
            included_tps: round(c.included as f64 / sending_window.as_secs_f64(), 3),
            gas_per_sec: round(c.own_gas as f64 / sending_window.as_secs_f64(), 3),
            receipts: c.receipts,
            receipts_missing: receipts_missing + block_book.receipts_skipped,
            reverted: c.reverted,
            blocks: block_book.summary(),
            breaker: transitions.events(start),
            preconf,
        });
        report
    };
    if let Some(persist) = persist {
        persist.finish(&mut report, spam_store::now_micros()).await;
    }
    Ok(report)
}

/// Splits accepted-but-unseen transactions by the chain's mined nonce of their sender: at or
/// above it they are still pending (or evicted); below it another transaction took the nonce.
async fn split_unincluded(provider: &RootProvider, txs: Vec<(Address, u64)>) -> (u64, u64) {
    let mut mined: HashMap<Address, Option<u64>> = HashMap::new();
    let (mut pending, mut superseded) = (0, 0);
    for (sender, nonce) in txs {
        let latest = match mined.get(&sender) {
            Some(n) => *n,
            None => {
                let n = provider.get_transaction_count(sender).latest().await.ok();
                mined.insert(sender, n);
                n
            }
        };
        match latest {
            Some(latest) if nonce < latest => superseded += 1,
            _ => pending += 1,
        }
    }
    (pending, superseded)
}
