//! The closed-loop Spammer when the node misbehaves: restarted from its state mid-run, dead,
//! answering 10% of requests with HTTP 503. Each run must end on time, recover, count every
//! retry, and report exactly what the final chain holds.
//!
//! How anvil is stopped matters: dropping a [`Devnet`] sends SIGTERM (alloy-node-bindings
//! waits up to 10 s, then SIGKILLs), and anvil dumps its `--state` file on SIGTERM; a SIGKILL
//! dumps nothing (checked by hand with anvil 1.7.1: no file at all without `--state-interval`).
//! A restart therefore keeps every mined block and loses only the pool.

use std::{
    num::NonZeroU32,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use alloy::{
    primitives::Address,
    providers::{Provider, RootProvider, ext::TxPoolApi},
};
use spam_core::{
    Report, Spammer, SpammerBuilder, Stop, TaskMix, TxTask, Wallet, breaker::BreakerConfig,
};
use spam_devnet::Devnet;
use tokio::time::Instant;

use crate::support::{
    SelfTransfer, free_port,
    sequencer::{Faults, Switches, sequencer},
};

fn wallets(devnet: &Devnet) -> Vec<Wallet> {
    devnet.signers().into_iter().map(Wallet::new).collect()
}

/// 8 workers sending self-transfers that wait for their receipts, without cooldown.
fn spammer(url: &str, wallets: Vec<Wallet>, run_for: Duration, grace: Duration) -> SpammerBuilder {
    Spammer::builder()
        .rpc_url(url.parse().unwrap())
        .wallets(wallets)
        .tasks(TaskMix::single(Arc::new(TxTask(SelfTransfer))))
        .workers(NonZeroU32::new(8).unwrap())
        .cooldown(Duration::ZERO)
        .stop(Stop::After(run_for))
        .grace(grace)
}

/// The run's end, with room for a busy machine: the duration, the grace period for running
/// tasks, and slack for settling and the final check.
fn on_time(took: Duration, run_for: Duration, grace: Duration) {
    let limit = run_for + grace + Duration::from_secs(10);
    assert!(took <= limit, "took {took:?}, limit {limit:?}");
}

/// The closed-loop identities, and the per-task figures agreeing with them.
pub(crate) fn identities(report: &Report) {
    let c = report.closed_loop.as_ref().expect("closed-loop figures");
    assert_eq!(c.sent, c.accepted + c.refused + c.unanswered, "{c:?}");
    assert_eq!(
        c.accepted + c.unanswered,
        c.included + c.superseded + c.pending_at_end + c.unverified,
        "{c:?}"
    );
    assert_eq!(c.accepted + c.unanswered, report.totals.txs_sent, "{c:?}");
    assert_eq!(c.included, report.totals.txs_included, "{c:?}");
    assert!(c.landed_unseen <= c.included);
    assert_eq!(
        report.totals.started,
        report.totals.succeeded + report.totals.failed
    );
}

/// Our transactions on chain (the senders' mined nonces, from 0), checking that nothing of
/// theirs is left in the pool: `latest == pending` for each.
pub(crate) async fn on_chain(provider: &RootProvider, senders: &[Address]) -> u64 {
    let mut total = 0;
    for sender in senders {
        let latest = provider
            .get_transaction_count(*sender)
            .latest()
            .await
            .unwrap();
        let pending = provider
            .get_transaction_count(*sender)
            .pending()
            .await
            .unwrap();
        assert_eq!(latest, pending, "{sender} keeps transactions in the pool");
        total += latest;
    }
    total
}

/// Retries after an HTTP 503: "http 503", or "connection failed" where 5xx are classed so.
fn retries_503(report: &Report) -> u64 {
    let retries = &report.closed_loop.as_ref().unwrap().retries;
    ["http 503", "connection failed"]
        .iter()
        .filter_map(|label| retries.get(*label))
        .sum()
}

/// When the node went away and came back, and the tasks that succeeded around it.
#[derive(Debug, Default)]
struct Restart {
    killed: OnceLock<Instant>,
    back: OnceLock<Instant>,
    ok_before: AtomicU64,
    /// Tasks started after the node answered again, and finished with `Ok`.
    ok_after: AtomicU64,
    first_ok_after_back: OnceLock<Instant>,
}

impl Restart {
    fn task(&self, duration: Duration, ok: bool) {
        let now = Instant::now();
        if !ok {
            return;
        }
        match self.back.get() {
            Some(back) if now >= *back => {
                let _ = self.first_ok_after_back.set(now);
                if now - duration >= *back {
                    self.ok_after.fetch_add(1, Ordering::Relaxed);
                }
            }
            _ if self.killed.get().is_none() => {
                self.ok_before.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_restarted_from_its_state_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let port = free_port();
    let node = move || {
        Devnet::builder()
            .accounts(10)
            .port(port)
            .block_time(1.0)
            .arg("--state")
            .arg(state.to_str().unwrap())
    };
    let Some(devnet) = spam_devnet::for_test(node()) else {
        return;
    };
    let (provider, senders) = (devnet.provider(), devnet.addresses().to_vec());
    let (url, wallets) = (devnet.endpoint(), wallets(&devnet));
    let restart = Arc::new(Restart::default());
    let restarter = tokio::spawn({
        let restart = Arc::clone(&restart);
        async move {
            tokio::time::sleep(Duration::from_secs(4)).await;
            restart.killed.set(Instant::now()).unwrap();
            tokio::task::spawn_blocking(move || drop(devnet)) // SIGTERM: anvil dumps its state
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_secs(2)).await;
            let devnet = tokio::task::spawn_blocking(move || node().start().unwrap())
                .await
                .unwrap();
            restart.back.set(Instant::now()).unwrap();
            devnet
        }
    });
    let (run_for, grace) = (Duration::from_secs(12), Duration::from_secs(5));
    let hook = Arc::clone(&restart);
    let started = Instant::now();
    let run = spammer(&url, wallets, run_for, grace)
        .on_task(move |e| hook.task(e.duration, e.outcome.is_ok()))
        .build()
        .unwrap()
        .run();
    let report = tokio::time::timeout(Duration::from_secs(90), run)
        .await
        .expect("no hang")
        .unwrap();
    let took = started.elapsed();
    let devnet = restarter.await.unwrap();
    println!("{report}");

    on_time(took, run_for, grace);
    let (killed, back) = (restart.killed.get().unwrap(), restart.back.get().unwrap());
    let first = restart.first_ok_after_back.get().copied();
    println!(
        "killed at {:?}, answering again at {:?}; tasks ok before the kill {}, started after it answers and ok {}; first ok task {:?} after it answers",
        *killed - started,
        *back - started,
        restart.ok_before.load(Ordering::Relaxed),
        restart.ok_after.load(Ordering::Relaxed),
        first.map(|f| f - *back),
    );
    assert!(restart.ok_before.load(Ordering::Relaxed) > 0);
    assert!(
        restart.ok_after.load(Ordering::Relaxed) > 0,
        "tasks complete again after the restart"
    );

    identities(&report);
    let c = report.closed_loop.as_ref().unwrap();
    assert!(
        !c.pauses.is_empty(),
        "the run paused while the node was out"
    );
    let chain = on_chain(&devnet.provider(), &senders).await;
    println!(
        "on chain {chain} = included {} + holes filled {}",
        c.included, report.nonces.holes_filled
    );
    assert_eq!(c.included + report.nonces.holes_filled, chain, "{c:?}");
    assert_eq!((c.pending_at_end, c.unverified), (0, 0), "{c:?}");
    let pool = provider.txpool_status().await.unwrap();
    assert_eq!((pool.pending, pool.queued), (0, 0), "no stuck transactions");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_node_opens_the_breaker_without_a_storm() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(8).block_time(1.0)) else {
        return;
    };
    let switches: &'static Switches = Box::leak(Box::default());
    let seq = sequencer(
        devnet.endpoint(),
        Faults {
            switches: Some(switches),
            ..Faults::default()
        },
    )
    .await;
    let down_at = Arc::new(OnceLock::new());
    let killer = tokio::spawn({
        let down_at = Arc::clone(&down_at);
        async move {
            tokio::time::sleep(Duration::from_secs(3)).await;
            switches.down.store(true, Ordering::SeqCst);
            down_at.set(Instant::now()).unwrap();
        }
    });
    let (run_for, grace) = (Duration::from_secs(8), Duration::from_secs(3));
    // The default breaker judges 100 calls over 10 s; a paused closed loop makes only its
    // probes (10 a second), so the successes from before the death would hold it closed past
    // the end of this run. A narrower window, as for any slow run.
    let breaker = BreakerConfig::builder()
        .window(Duration::from_secs(2))
        .min_calls(10)
        .build()
        .unwrap();
    let run_start = Arc::new(OnceLock::new());
    let hook_start = Arc::clone(&run_start);
    let started = Instant::now();
    let run = spammer(&seq.http_url, wallets(&devnet), run_for, grace)
        .breaker(breaker)
        .on_progress(Duration::from_millis(100), move |p| {
            let _ = hook_start.set(Instant::now() - p.elapsed);
        })
        .build()
        .unwrap()
        .run();
    let report = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("no hang")
        .unwrap();
    let took = started.elapsed();
    killer.await.unwrap();
    println!("{report}");

    on_time(took, run_for, grace);
    identities(&report);
    let c = report.closed_loop.as_ref().unwrap();
    let opened = c
        .breaker
        .iter()
        .find(|e| e.to == "open")
        .expect("the breaker opened");
    let paused = c.pauses.first().expect("the run paused");
    let down_ms = (*down_at.get().unwrap() - *run_start.get().unwrap()).as_millis();
    let while_down = switches.while_down.load(Ordering::SeqCst);
    println!(
        "node dead at {down_ms} ms, run paused at {} ms ({}), breaker open at {} ms; {while_down} requests while dead",
        paused.from_ms, paused.cause, opened.at_ms
    );
    assert!(
        c.unverified + c.pending_at_end > 0,
        "nothing can be checked on a dead node: {c:?}"
    );
    assert!(
        while_down < 400,
        "{while_down} requests to a dead node: a storm"
    );
    assert!(report.tasks["self_transfer"].succeeded > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_percent_503s_are_retried_and_counted() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(8)) else {
        return;
    };
    let switches: &'static Switches = Box::leak(Box::default());
    let seq = sequencer(
        devnet.endpoint(),
        Faults {
            switches: Some(switches),
            ..Faults::default()
        },
    )
    .await;
    let (run_for, grace) = (Duration::from_secs(8), Duration::from_secs(5));
    let started = Instant::now();
    let run = spammer(&seq.http_url, wallets(&devnet), run_for, grace)
        // The 503s start with the first task: the session opened on a healthy node.
        .on_task(|_| switches.status_503_every.store(10, Ordering::SeqCst))
        .build()
        .unwrap()
        .run();
    let report = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("no hang")
        .unwrap();
    let took = started.elapsed();
    println!("{report}");
    let answered_503 = switches.answered_503.load(Ordering::SeqCst);
    println!(
        "{answered_503} requests of {} answered 503",
        switches.counted.load(Ordering::SeqCst)
    );

    on_time(took, run_for, grace);
    identities(&report);
    assert!(answered_503 > 0);
    assert!(report.totals.success_rate >= 0.85, "{:?}", report.errors);
    assert!(retries_503(&report) > 0, "{:?}", report.closed_loop);
    let c = report.closed_loop.as_ref().unwrap();
    let chain = on_chain(&devnet.provider(), devnet.addresses()).await;
    assert_eq!(c.included + report.nonces.holes_filled, chain, "{c:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_percent_lost_answers_are_settled() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(8)) else {
        return;
    };
    // Every 20th send is forwarded and its answer lost: the node has the transaction.
    let seq = sequencer(
        devnet.endpoint(),
        Faults {
            lose_every: Some(20),
            ..Faults::default()
        },
    )
    .await;
    let (run_for, grace) = (Duration::from_secs(8), Duration::from_secs(5));
    let started = Instant::now();
    let run = spammer(&seq.http_url, wallets(&devnet), run_for, grace)
        .build()
        .unwrap()
        .run();
    let report = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("no hang")
        .unwrap();
    let took = started.elapsed();
    let lost = seq.failed_requests.load(Ordering::SeqCst);

    on_time(took, run_for, grace);
    identities(&report);
    assert!(lost > 0, "the sequencer lost answers");
    assert!(report.totals.success_rate >= 0.85, "{:?}", report.errors);
    let c = report.closed_loop.as_ref().unwrap();
    assert!(c.total_retries() > 0, "lost answers are retried: {c:?}");
    let chain = on_chain(&devnet.provider(), devnet.addresses()).await;
    assert_eq!(c.included + report.nonces.holes_filled, chain, "{c:?}");
}
