//! The open-loop LoadGen against a real anvil (automine and 1 s blocks): exact accounting,
//! inclusions that match the chain, a ramp that follows its profile, overload that drops
//! instead of slowing down, a faulty sequencer that trips the breaker, batches and single
//! sends that count the same, sync sends, and a preconfirmation feed.

use std::{
    num::NonZeroU32,
    sync::{Arc, Mutex},
    time::Duration,
};

use alloy::{
    consensus::{Transaction, TypedTransaction},
    primitives::{Address, U256, address},
    providers::{Provider, ext::TxPoolApi},
};
use spam_core::{
    BuildRequest, ExecutionLayer, LoadGen, LoadGenBuilder, Progress, Rate, Report, SendStrategy,
    StartErrorKind, Thresholds, TxBuilder, Wallet, WsPreconfSource, breaker::BreakerConfig,
};
use spam_devnet::Devnet;

use crate::support::sequencer::{Faults, sequencer};

/// Where the run's transactions go, so the chain can be searched for them.
const MARK: Address = address!("000000000000000000000000000000000000beef");

/// 1 wei to [`MARK`].
#[derive(Debug)]
pub(crate) struct Marked;

impl TxBuilder for Marked {
    fn name(&self) -> &str {
        "marked_transfer"
    }

    fn build(&self, r: BuildRequest<'_>) -> TypedTransaction {
        r.fees.transfer(r.chain_id, r.nonce, MARK, U256::from(1))
    }
}

/// A breaker that reacts within a short test run: a 2 s window, open for 500 ms.
/// It trips on the 10% faults of the tests' sequencer (the default 50% threshold measures them).
pub(crate) fn fast_breaker() -> BreakerConfig {
    BreakerConfig::builder()
        .window(Duration::from_secs(2))
        .failure_rate(0.05)
        .min_calls(20)
        .open_for(Duration::from_millis(500))
        .build()
        .unwrap()
}

pub(crate) fn wallets(devnet: &Devnet) -> Vec<Wallet> {
    devnet.signers().into_iter().map(Wallet::new).collect()
}

pub(crate) fn loadgen(devnet: &Devnet) -> LoadGenBuilder {
    LoadGen::builder()
        .rpc_url(devnet.endpoint().parse().unwrap())
        .wallets(wallets(devnet))
        .tx(Marked)
        .grace(Duration::from_secs(15))
}

/// The report's identities, and its parts agreeing with each other.
pub(crate) fn assert_accounting(report: &Report) {
    let o = report.open_loop.as_ref().expect("an open-loop report");
    assert_eq!(o.offered, o.dropped + o.sent, "offered = dropped + sent");
    assert_eq!(
        o.sent,
        o.accepted + o.rejected + o.unanswered,
        "sent = accepted + rejected + unanswered"
    );
    assert_eq!(
        o.accepted + o.unanswered,
        o.included + o.pending_at_end + o.superseded + o.duplicates,
        "accepted + unanswered = included + pending + superseded + duplicates"
    );
    assert_eq!(o.dropped, o.dropped_by_reason.values().sum::<u64>());
    assert_eq!(
        o.rejected + o.unanswered,
        report.errors.values().sum::<u64>()
    );
    assert_eq!(o.included, report.totals.txs_included);
    assert_eq!(o.sent, report.totals.txs_sent);
    let offered: u64 = report.series.iter().map(|s| s.offered).sum();
    let dropped: u64 = report.series.iter().map(|s| s.dropped).sum();
    let sent: u64 = report.series.iter().map(|s| s.txs_sent).sum();
    assert_eq!((offered, dropped, sent), (o.offered, o.dropped, o.sent));
    assert_eq!(o.lag_ms.count, o.sent);
}

/// Transactions to [`MARK`] in blocks after `from`.
pub(crate) async fn marked_on_chain(devnet: &Devnet, from: u64) -> u64 {
    let provider = devnet.provider();
    let head = provider.get_block_number().await.unwrap();
    let mut count = 0;
    for n in from + 1..=head {
        let block = provider
            .get_block_by_number(n.into())
            .full()
            .await
            .unwrap()
            .unwrap();
        let marked = block
            .transactions
            .txns()
            .filter(|tx| Transaction::to(*tx) == Some(MARK))
            .count();
        count += marked as u64;
    }
    count
}

/// Every sender's transactions are mined: nothing pending or queued, latest == pending.
pub(crate) async fn assert_no_gaps(devnet: &Devnet) {
    let provider = devnet.provider();
    let status = provider.txpool_status().await.unwrap();
    assert_eq!((status.pending, status.queued), (0, 0), "{status:?}");
    for address in devnet.addresses() {
        let latest = provider
            .get_transaction_count(*address)
            .latest()
            .await
            .unwrap();
        let pending = provider
            .get_transaction_count(*address)
            .pending()
            .await
            .unwrap();
        assert_eq!(latest, pending, "{address}");
    }
}

async fn constant_200_for_10s(devnet: Devnet) {
    let from = devnet.provider().get_block_number().await.unwrap();
    // Receipts off: with automine every block holds one of ours, so gas comes from headers.
    let report = loadgen(&devnet)
        .rate(Rate::constant(200.0))
        .duration(Duration::from_secs(10))
        .receipts(false)
        .run()
        .await
        .unwrap();
    assert_accounting(&report);
    let o = report.open_loop.as_ref().unwrap();
    assert_eq!(o.receipts, 0);
    assert_eq!(report.totals.gas_used, o.included * 21_000);
    assert!((1_999..=2_001).contains(&o.offered), "{}", o.offered);
    assert!(
        o.included as f64 >= 0.99 * o.accepted as f64,
        "included {} of {} accepted",
        o.included,
        o.accepted
    );
    let on_chain = marked_on_chain(&devnet, from).await;
    assert_eq!(o.included + o.landed_after_error, on_chain);
    assert_eq!(o.inclusion_ms.count, o.included);
    assert!(o.blocks.own_txs >= o.included);
    assert_no_gaps(&devnet).await;
    println!("{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn constant_rate_automine() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(20)) else {
        return;
    };
    constant_200_for_10s(devnet).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn constant_rate_one_second_blocks_over_ws() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(20).block_time(1.0)) else {
        return;
    };
    let from = devnet.provider().get_block_number().await.unwrap();
    let report = loadgen(&devnet)
        .ws_url(devnet.ws_endpoint().parse().unwrap())
        .rate(Rate::constant(200.0))
        .duration(Duration::from_secs(10))
        .run()
        .await
        .unwrap();
    assert_accounting(&report);
    let o = report.open_loop.as_ref().unwrap();
    assert_eq!(o.blocks_via, "ws new heads");
    // Latency over time: every second with inclusions has their percentiles.
    for second in &report.series {
        assert_eq!(
            second.txs_included > 0,
            second.inclusion_p50_ms > 0.0,
            "{second:?}"
        );
        assert!(second.inclusion_p50_ms <= second.inclusion_p99_ms);
    }
    assert!((1_999..=2_001).contains(&o.offered), "{}", o.offered);
    assert!(o.included as f64 >= 0.99 * o.accepted as f64);
    assert_eq!(
        o.included + o.landed_after_error,
        marked_on_chain(&devnet, from).await
    );
    assert_eq!(o.receipts, o.included, "gas and status for every inclusion");
    assert_eq!(o.gas_per_sec > 0.0, o.included > 0);
    assert!(o.blocks.count >= 9, "{:?}", o.blocks.count);
    assert_no_gaps(&devnet).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ramp_follows_the_profile() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(20).block_time(1.0)) else {
        return;
    };
    let rate = Rate::ramp(50.0, 500.0, Duration::from_secs(10));
    let report = loadgen(&devnet)
        .rate(rate.clone())
        .duration(Duration::from_secs(10))
        .batch(50, Duration::from_millis(5))
        .run()
        .await
        .unwrap();
    assert_accounting(&report);
    let o = report.open_loop.as_ref().unwrap();
    assert_eq!(o.offered, rate.count_until(Duration::from_secs(10)));
    let mut checked = 0;
    for (i, s) in report.series.iter().take(10).enumerate() {
        let second = Duration::from_secs(s.second);
        let expected =
            (rate.count_until(second + Duration::from_secs(1)) - rate.count_until(second)) as f64;
        assert_eq!(s.offered as f64, expected, "offered is exact");
        // Where every tick of this second and the one before went out on time (no drop, none
        // late), the sends follow the profile: only ticks due in a second's last few
        // milliseconds (batch linger, late threshold) may land in the next one. A busy machine
        // makes some seconds late; those are counted, and skipped here.
        let on_time = |s: &spam_core::SecondStats| s.dropped == 0 && s.late == 0;
        if !on_time(s) || (i > 0 && !on_time(&report.series[i - 1])) {
            continue;
        }
        checked += 1;
        let allowed = 0.02 * expected + 3.0;
        assert!(
            (s.txs_sent as f64 - expected).abs() <= allowed,
            "second {}: sent {} expected {expected}",
            s.second,
            s.txs_sent
        );
    }
    eprintln!("{checked} of 10 seconds went out on time and were checked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn far_above_capacity_drops_and_ends_on_time() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(4).block_time(1.0)) else {
        return;
    };
    let rss_before = rss_kb();
    let started = tokio::time::Instant::now();
    let report = loadgen(&devnet)
        .rate(Rate::constant(20_000.0))
        .duration(Duration::from_secs(3))
        .max_in_flight_per_wallet(NonZeroU32::new(16).unwrap())
        .grace(Duration::from_secs(5))
        .run()
        .await
        .unwrap();
    let took = started.elapsed();
    assert_accounting(&report);
    let o = report.open_loop.as_ref().unwrap();
    assert_eq!(o.offered, 60_000);
    assert!(o.dropped > 50_000, "{:?}", o.dropped_by_reason);
    assert!(o.dropped_by_reason.contains_key("wallet in-flight cap"));
    assert!(
        o.sent <= 4 * 16 * 4,
        "at most the caps' worth per block: {}",
        o.sent
    );
    assert!(
        report.elapsed_secs <= 3.5,
        "the pacer stops at the end: {}",
        report.elapsed_secs
    );
    let verdict = report.check(&Thresholds::default().with_max_drop_rate(0.01));
    assert!(
        verdict
            .failures
            .iter()
            .any(|f| f.starts_with("max_drop_rate")),
        "{verdict}"
    );
    assert!(
        report.to_string().contains("wallet in-flight cap"),
        "{report}"
    );
    assert!(took < Duration::from_secs(3 + 5 + 10), "{took:?}");
    let grown_mb = rss_kb().saturating_sub(rss_before) / 1024;
    assert!(grown_mb < 100, "memory grew {grown_mb} MB");
    assert_no_gaps(&devnet).await;
}

pub(crate) fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_and_single_count_the_same() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(10).block_time(0.5)) else {
        return;
    };
    let mut figures = Vec::new();
    for strategy in [
        SendStrategy::Single,
        SendStrategy::batch(20, Duration::from_millis(5)),
    ] {
        let report = loadgen(&devnet)
            .rate(Rate::constant(100.0))
            .duration(Duration::from_secs(3))
            .strategy(strategy)
            .run()
            .await
            .unwrap();
        assert_accounting(&report);
        // A loaded machine may miss ticks (counted, with their reason); nothing else may
        // differ between the strategies.
        report
            .check(&Thresholds::default().with_min_success_rate(1.0))
            .into_result()
            .unwrap();
        let o = report.open_loop.unwrap();
        assert_eq!(o.strategy, strategy);
        assert_eq!((o.offered, o.rejected), (300, 0));
        assert_eq!(o.sent, o.accepted);
        assert_eq!(o.accepted, o.included, "{:?}", o.dropped_by_reason);
        figures.push((o.offered, o.sent + o.dropped, o.rejected, o.pending_at_end));
    }
    assert_eq!(figures[0], (300, 300, 0, 0));
    assert_eq!(figures[0], figures[1]);
    assert_no_gaps(&devnet).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_sends_and_presigning() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(10)) else {
        return;
    };
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let report = loadgen(&devnet)
        .rate(Rate::constant(50.0))
        .duration(Duration::from_secs(2))
        .strategy(SendStrategy::Sync)
        .presign(true)
        .on_progress(Duration::from_millis(200), {
            let seen = Arc::clone(&seen);
            move |p| seen.lock().unwrap().push(p.clone())
        })
        .run()
        .await
        .unwrap();
    assert_accounting(&report);
    let o = report.open_loop.as_ref().unwrap();
    assert!(o.presigned);
    assert_eq!(
        (o.offered, o.sent, o.accepted, o.included),
        (100, 100, 100, 100),
        "{:?} {:?}",
        report.errors,
        o.dropped_by_reason
    );
    assert_eq!(o.receipts, 100);
    // Progress snapshots grow monotonically and the last one matches the report.
    let seen = seen.lock().unwrap().clone();
    assert!(seen.len() >= 5, "{}", seen.len());
    assert!(
        seen.windows(2)
            .all(|w| w[0].offered <= w[1].offered && w[0].sent <= w[1].sent)
    );
    let last = seen.last().unwrap();
    assert_eq!(
        (
            last.offered,
            last.sent,
            last.accepted,
            last.included,
            last.in_flight
        ),
        (o.offered, o.sent, o.accepted, o.included, 0)
    );
    assert_eq!(report.totals.gas_used, 100 * 21_000);
    assert_no_gaps(&devnet).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preconfirmation_revocations_open_the_breaker() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(10).block_time(0.5)) else {
        return;
    };
    // anvil pushes no preconfirmations: the capability table refuses the feed.
    let refused = loadgen(&devnet)
        .preconf(WsPreconfSource::new("ws://127.0.0.1:1"))
        .run()
        .await;
    let refused = refused.unwrap_err();
    assert!(refused.is_bad_input() && !refused.is_unreachable());
    assert!(
        matches!(
            refused.kind(),
            StartErrorKind::Unsupported {
                el: ExecutionLayer::Anvil,
                ..
            }
        ),
        "{refused:?}"
    );

    let seq = sequencer(
        devnet.endpoint(),
        Faults {
            revoke_every: Some(3),
            ..Faults::default()
        },
    )
    .await;
    let report = loadgen(&devnet)
        .send_url(seq.http_url.parse().unwrap())
        .execution_layer(ExecutionLayer::Other)
        .preconf(WsPreconfSource::new(seq.ws_url.clone()))
        .rate(Rate::constant(100.0))
        .duration(Duration::from_secs(4))
        .breaker(fast_breaker())
        .run()
        .await
        .unwrap();
    assert_accounting(&report);
    let o = report.open_loop.as_ref().unwrap();
    let preconf = o.preconf.as_ref().expect("preconf stats");
    assert!(
        preconf.events.get("preconfirmed").copied().unwrap_or(0) > 0,
        "{preconf:?}"
    );
    assert!(
        preconf.events.get("revoked").copied().unwrap_or(0) > 0,
        "{preconf:?}"
    );
    assert!(preconf.preconf_ms.count > 0);
    assert!(o.breaker.iter().any(|e| e.to == "open"), "{:?}", o.breaker);
    assert_eq!(o.rejected, 0, "revocations are not send failures");
}
