//! The fault suite, open loop: a real anvil, and in front of it (where a real node cannot do
//! it on demand) a sequencer that loses answers or refuses requests. Each scenario asserts the
//! run ends, inclusion goes on, the report's identities hold, the chain holds exactly what the
//! report says, and no sender is left with a gap (`latest == pending`, empty pool).

use std::time::Duration;

use alloy::providers::Provider;
use spam_core::{LoadGenBuilder, Rate, Report};
use spam_devnet::Devnet;
use tokio::time::Instant;

use crate::{
    loadgen_anvil::{assert_accounting, assert_no_gaps, loadgen, marked_on_chain},
    support::{
        free_port,
        sequencer::{Faults, sequencer},
    },
};

/// Runs the open loop against anvil behind a sequencer with `faults` at 300 tx/s for 8 s.
/// Presigned, so that a debug build on a busy machine measures the faults, not its signing.
async fn behind_faulty_sequencer(faults: Faults) -> Option<(Devnet, Report, usize, u64)> {
    let devnet = spam_devnet::for_test(Devnet::builder().accounts(10).block_time(0.5))?;
    let from = devnet.provider().get_block_number().await.unwrap();
    let seq = sequencer(devnet.endpoint(), faults).await;
    let started = Instant::now();
    let report = loadgen(&devnet)
        .send_url(seq.http_url.parse().unwrap())
        .rate(Rate::constant(300.0))
        .duration(Duration::from_secs(8))
        .presign(true)
        .run()
        .await
        .unwrap();
    assert_on_time(started, 8);
    let failed = seq
        .failed_requests
        .load(std::sync::atomic::Ordering::SeqCst);
    Some((devnet, report, failed, from))
}

/// The run ended within its sending window, the 15 s grace of `loadgen` and a generous
/// slack for a busy machine (signing, the final scan, settling).
fn assert_on_time(started: Instant, secs: u64) {
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(secs + 15 + 20),
        "a {secs} s run took {took:?}"
    );
}

/// What every faulty run must show: identities, ≥ 85% of the offered load sent, the chain
/// holding exactly what the report counts, no gaps, and the faults counted as retries.
async fn assert_measured_not_hidden(devnet: &Devnet, report: &Report, failed: usize, from: u64) {
    assert_accounting(report);
    let o = report.open_loop.as_ref().unwrap();
    eprintln!(
        "{failed} faults: sent {} of {} offered, included {}, unanswered {}, retries {:?}, \
         reconciliations {:?}, re-broadcasts {}, breaker {:?}",
        o.sent,
        o.offered,
        o.included,
        o.unanswered,
        o.retries,
        o.reconciliations,
        o.rebroadcasts,
        o.breaker
    );
    assert!(failed > 0, "the sequencer injected faults");
    assert!(
        o.sent as f64 >= 0.85 * o.offered as f64,
        "sent {} of {} offered; dropped {:?}; breaker {:?}",
        o.sent,
        o.offered,
        o.dropped_by_reason,
        o.breaker
    );
    let retries: u64 = o.retries.values().sum();
    assert!(
        retries > 0,
        "faults are retried and counted: {:?}",
        o.retries
    );
    let on_chain = marked_on_chain(devnet, from).await;
    assert_eq!(o.included + o.landed_after_error, on_chain, "{o:#?}");
    assert_eq!(o.pending_at_end, 0);
    assert_no_gaps(devnet).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_five_percent() {
    let faults = Faults {
        lose_every: Some(20),
        ..Faults::default()
    };
    let Some((devnet, report, failed, from)) = behind_faulty_sequencer(faults).await else {
        return;
    };
    assert_measured_not_hidden(&devnet, &report, failed, from).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_503_ten_percent() {
    let faults = Faults {
        refuse_every: Some(10),
        ..Faults::default()
    };
    let Some((devnet, report, failed, from)) = behind_faulty_sequencer(faults).await else {
        return;
    };
    assert_measured_not_hidden(&devnet, &report, failed, from).await;
    let o = report.open_loop.as_ref().unwrap();
    let http: u64 = o
        .retries
        .iter()
        .filter(|(class, _)| class.contains("503") || class.as_str() == "connection failed")
        .map(|(_, n)| n)
        .sum();
    assert!(http > 0, "{:?}", o.retries);
}

/// Stops anvil the way an operator does (SIGTERM: it dumps its `--state` and exits).
async fn stop(devnet: Devnet) {
    tokio::task::spawn_blocking(move || drop(devnet))
        .await
        .unwrap();
}

/// Anvil on `port`, 1 s blocks, keeping its chain in `state` across restarts.
fn anvil_with_state(port: u16, state: &std::path::Path) -> Option<Devnet> {
    spam_devnet::for_test(
        Devnet::builder()
            .accounts(10)
            .block_time(1.0)
            .port(port)
            .arg("--state")
            .arg(state.to_str().unwrap()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_restart_with_state() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let port = free_port();
    let Some(devnet) = anvil_with_state(port, &state) else {
        return;
    };
    let from = devnet.provider().get_block_number().await.unwrap();
    let run: LoadGenBuilder = loadgen(&devnet)
        .rate(Rate::constant(100.0))
        .duration(Duration::from_secs(14));
    let t0 = Instant::now();
    let running = tokio::spawn(run.run());
    tokio::time::sleep(Duration::from_secs(4)).await;
    stop(devnet).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let devnet = anvil_with_state(port, &state).expect("anvil restarts");
    let answering_ms = t0.elapsed().as_millis() as u64;
    let report = running.await.unwrap().unwrap();
    assert_on_time(t0, 14);
    assert_accounting(&report);
    let o = report.open_loop.as_ref().unwrap();
    // The run's clock starts a little after `t0`, so its times are at most the test's.
    let resumed = o
        .blocks
        .list
        .iter()
        .find(|b| b.own_txs > 0 && b.seen_ms >= answering_ms)
        .map(|b| b.seen_ms - answering_ms);
    eprintln!(
        "node answered at {answering_ms} ms; our txs in a block {resumed:?} ms later; \
         reconciliations {:?}, re-broadcasts {}, breaker {:?}",
        o.reconciliations, o.rebroadcasts, o.breaker
    );
    let resumed = resumed.expect("inclusion resumes after the restart");
    assert!(
        resumed < 10_000,
        "inclusion resumed {resumed} ms after the node answered"
    );
    assert!(
        o.rebroadcasts > 0,
        "the pool was lost: its txs re-broadcast"
    );
    let on_chain = marked_on_chain(&devnet, from).await;
    assert_eq!(o.included + o.landed_after_error, on_chain, "{o:#?}");
    assert_no_gaps(&devnet).await;
}

/// Anvil whose blocks hold 100 transfers (gas limit 2.1 M), one a second: a capacity of
/// 100 tx/s that does not depend on the machine.
fn narrow_anvil() -> Option<Devnet> {
    spam_devnet::for_test(
        Devnet::builder()
            .accounts(10)
            .block_time(1.0)
            .arg("--gas-limit")
            .arg("2100000"),
    )
}

/// Offers `times` the capacity for 8 s: every block while the load is on is (nearly) full.
async fn overload(times: f64) {
    let Some(devnet) = narrow_anvil() else {
        return;
    };
    let from = devnet.provider().get_block_number().await.unwrap();
    let started = Instant::now();
    let report = loadgen(&devnet)
        .rate(Rate::constant(100.0 * times))
        .duration(Duration::from_secs(8))
        .run()
        .await
        .unwrap();
    assert_on_time(started, 8);
    assert_accounting(&report);
    let o = report.open_loop.as_ref().unwrap();
    // Blocks seen once the load has built up (2.5 s: a debug build signing on a busy machine
    // needs a moment) to the end of the sending window.
    let loaded: Vec<_> = o
        .blocks
        .list
        .iter()
        .filter(|b| (2_500..=8_000).contains(&b.seen_ms))
        .collect();
    let ours: u64 = loaded.iter().map(|b| b.own_txs).sum();
    eprintln!(
        "{times}x: {} blocks under load, {ours} of ours, fill {:?}; dropped {:?}; included {}",
        loaded.len(),
        loaded.iter().map(|b| b.own_txs).collect::<Vec<_>>(),
        o.dropped_by_reason,
        o.included
    );
    assert!(!loaded.is_empty());
    assert!(
        loaded.iter().all(|b| b.own_txs >= 90),
        "no empty or thin block while the load is on"
    );
    assert!(o.dropped > 0, "the excess is dropped, with reasons");
    let on_chain = marked_on_chain(&devnet, from).await;
    assert_eq!(o.included + o.landed_after_error, on_chain);
    assert_no_gaps(&devnet).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_twice_the_capacity() {
    overload(2.0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_four_times_the_capacity() {
    overload(4.0).await;
}
