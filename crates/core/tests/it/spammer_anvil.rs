//! The closed-loop Spammer against a real anvil: counts that match the chain, no gaps, no
//! stuck transactions; timeouts, panics and a node that dies mid-run end in error counts and a
//! report, never a hang.

use std::{num::NonZeroU32, sync::Arc, time::Duration};

use alloy::{
    consensus::TypedTransaction,
    primitives::{Address, U256},
    providers::{Provider, ext::TxPoolApi},
};
use async_trait::async_trait;
use rand::Rng;
use spam_core::{
    BuildRequest, Spammer, Stop, Task, TaskContext, TaskError, TaskMix, TaskOutcome, Thresholds,
    TxBuilder, TxTask, Wallet,
};
use spam_devnet::Devnet;

/// 1 wei to the sender itself, or to a fresh random address.
#[derive(Debug)]
struct Transfer {
    name: &'static str,
    to_self: bool,
}

impl TxBuilder for Transfer {
    fn name(&self) -> &str {
        self.name
    }

    fn build(&self, r: BuildRequest<'_>) -> TypedTransaction {
        let to = if self.to_self {
            r.sender
        } else {
            Address::from(r.rng.random::<[u8; 20]>())
        };
        r.fees.transfer(r.chain_id, r.nonce, to, U256::from(1))
    }
}

fn wallets(devnet: &Devnet) -> Vec<Wallet> {
    devnet.signers().into_iter().map(Wallet::new).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weighted_mix_on_anvil_matches_the_chain() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(20)) else {
        return;
    };
    let provider = devnet.provider();
    let mix = TaskMix::new(vec![
        (
            Arc::new(TxTask(Transfer {
                name: "transfer_self",
                to_self: true,
            })) as Arc<dyn Task>,
            3,
        ),
        (
            Arc::new(TxTask(Transfer {
                name: "transfer_fresh",
                to_self: false,
            })),
            1,
        ),
    ])
    .unwrap();
    let report = Spammer::builder()
        .rpc_url(devnet.endpoint().parse().unwrap())
        .wallets(wallets(&devnet))
        .tasks(mix)
        .workers(NonZeroU32::new(16).unwrap())
        .cooldown(Duration::ZERO)
        .stop(Stop::After(Duration::from_secs(10)))
        .seed(1)
        .build()
        .unwrap()
        .run()
        .await
        .unwrap();
    println!("{report}");

    report
        .check(&Thresholds::default().with_min_success_rate(0.99))
        .into_result()
        .unwrap();
    let (self_tasks, fresh_tasks) = (
        &report.tasks["transfer_self"],
        &report.tasks["transfer_fresh"],
    );
    let share = self_tasks.started as f64 / (self_tasks.started + fresh_tasks.started) as f64;
    assert!((share - 0.75).abs() < 0.05, "weights 3:1, got {share}");

    // every included tx of the report is on chain, and nothing else was sent but hole fills
    let mut on_chain = 0;
    for address in devnet.addresses() {
        on_chain += provider
            .get_transaction_count(*address)
            .latest()
            .await
            .unwrap();
    }
    assert_eq!(
        report.totals.txs_included + report.nonces.holes_filled,
        on_chain
    );
    assert_eq!(
        report.totals.txs_included, report.totals.succeeded,
        "one tx per task"
    );
    let pool = provider.txpool_status().await.unwrap();
    assert_eq!((pool.pending, pool.queued), (0, 0), "no stuck transactions");
}

#[derive(Debug)]
/// Sleeps an hour; its own timeout when set.
struct Sleeper(Option<Duration>);

#[async_trait]
impl Task for Sleeper {
    fn name(&self) -> &str {
        "sleeper"
    }

    fn timeout(&self) -> Option<Duration> {
        self.0
    }

    async fn run(&self, _ctx: &TaskContext) -> Result<TaskOutcome, TaskError> {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok(TaskOutcome::default())
    }
}

#[derive(Debug)]
struct Panicker;

#[async_trait]
impl Task for Panicker {
    fn name(&self) -> &str {
        "panicker"
    }

    async fn run(&self, _ctx: &TaskContext) -> Result<TaskOutcome, TaskError> {
        panic!("boom")
    }
}

/// Fails unless the run's config reaches the task.
#[derive(Debug)]
struct ConfigCheck;

#[async_trait]
impl Task for ConfigCheck {
    fn name(&self) -> &str {
        "config_check"
    }

    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutcome, TaskError> {
        match ctx.config()["wallets"].as_u64() {
            Some(4) => Ok(TaskOutcome::default()),
            other => Err(TaskError::Other(format!("config wallets = {other:?}"))),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_and_panics_are_counted_not_fatal() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(4)) else {
        return;
    };
    let mix = TaskMix::new(vec![
        (
            Arc::new(Sleeper(Some(Duration::from_millis(200)))) as Arc<dyn Task>,
            1,
        ),
        (Arc::new(Panicker), 1),
        (Arc::new(ConfigCheck), 1),
        (
            Arc::new(TxTask(Transfer {
                name: "transfer",
                to_self: true,
            })),
            1,
        ),
    ])
    .unwrap();
    let seen = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let failed_seen = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (hook_seen, hook_failed) = (Arc::clone(&seen), Arc::clone(&failed_seen));
    let report = Spammer::builder()
        .rpc_url(devnet.endpoint().parse().unwrap())
        .wallets(wallets(&devnet))
        .tasks(mix)
        .workers(NonZeroU32::new(4).unwrap())
        .cooldown(Duration::ZERO)
        .on_task(move |event| {
            hook_seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if event.outcome.is_err() {
                hook_failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        })
        // The sleepers bound themselves (200 ms); the transfers keep the engine's default, so
        // a busy machine never turns a slow transfer into a timeout.
        .stop(Stop::Tasks(24))
        .build()
        .unwrap()
        .run()
        .await
        .unwrap();
    assert_eq!(report.totals.started, 24);
    assert_eq!(
        seen.load(std::sync::atomic::Ordering::Relaxed),
        24,
        "the hook saw every task"
    );
    assert_eq!(
        failed_seen.load(std::sync::atomic::Ordering::Relaxed),
        report.totals.failed
    );
    assert!(
        report.errors.get("task timeout").copied().unwrap_or(0) > 0,
        "{:?}",
        report.errors
    );
    assert!(
        report.errors.get("panic").copied().unwrap_or(0) > 0,
        "{:?}",
        report.errors
    );
    assert!(report.tasks["transfer"].succeeded > 0);
    assert_eq!(report.tasks["transfer"].failed, 0);
    assert!(report.tasks["config_check"].succeeded > 0);
    assert_eq!(
        report.tasks["config_check"].failed, 0,
        "{:?}",
        report.errors
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_dies_mid_run_ends_in_error_counts() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(4)) else {
        return;
    };
    let url = devnet.endpoint().parse().unwrap();
    let wallets = wallets(&devnet);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        drop(devnet); // anvil is killed
    });
    let run = Spammer::builder()
        .rpc_url(url)
        .wallets(wallets)
        .tasks(TaskMix::single(Arc::new(TxTask(Transfer {
            name: "transfer",
            to_self: true,
        }))))
        .workers(NonZeroU32::new(4).unwrap())
        .cooldown(Duration::ZERO)
        .stop(Stop::After(Duration::from_secs(5)))
        .grace(Duration::from_secs(2))
        .build()
        .unwrap()
        .run();
    let report = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("no hang")
        .unwrap();
    assert!(
        report.tasks["transfer"].succeeded > 0,
        "worked before the node died"
    );
    let failed: u64 = report.errors.values().sum();
    assert!(failed > 0, "failures after it died: {:?}", report.errors);
    assert_eq!(
        report.totals.started,
        report.totals.succeeded + report.totals.failed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_stops_new_tasks_and_returns_after_the_grace_period() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(2)) else {
        return;
    };
    let cancel = tokio_util::sync::CancellationToken::new();
    let run = Spammer::builder()
        .rpc_url(devnet.endpoint().parse().unwrap())
        .wallets(wallets(&devnet))
        .tasks(TaskMix::single(Arc::new(Sleeper(None))))
        .workers(NonZeroU32::new(2).unwrap())
        .stop(Stop::After(Duration::from_secs(3600)))
        .grace(Duration::from_millis(300))
        .cancel_on(cancel.clone())
        .build()
        .unwrap()
        .run();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        cancel.cancel(); // what Ctrl-C does in the binary
    });
    let report = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("returns")
        .unwrap();
    // both workers were inside a one-hour task: cut off after the grace period, counted
    assert_eq!(report.totals.started, 2);
    assert_eq!(
        report.errors.get("cancelled"),
        Some(&2),
        "{:?}",
        report.errors
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_snapshots_grow_and_the_last_one_matches_the_report() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(4)) else {
        return;
    };
    let seen = Arc::new(parking_lot::Mutex::new(Vec::<spam_core::Progress>::new()));
    let hook_seen = Arc::clone(&seen);
    let report = Spammer::builder()
        .rpc_url(devnet.endpoint().parse().unwrap())
        .wallets(wallets(&devnet))
        .tasks(TaskMix::single(Arc::new(TxTask(Transfer {
            name: "transfer",
            to_self: true,
        }))))
        .workers(NonZeroU32::new(4).unwrap())
        .cooldown(Duration::ZERO)
        .stop(Stop::Tasks(40))
        .on_progress(Duration::from_millis(20), move |p| {
            hook_seen.lock().push(p.clone());
        })
        .build()
        .unwrap()
        .run()
        .await
        .unwrap();
    let seen = seen.lock();
    // At least the final snapshot; the periodic ones depend on how fast anvil answers.
    let last = seen.last().expect("the hook runs at the end");
    for pair in seen.windows(2) {
        assert!(pair[0].tasks_ok + pair[0].tasks_failed <= pair[1].tasks_ok + pair[1].tasks_failed);
        assert!(pair[0].sent <= pair[1].sent && pair[0].elapsed <= pair[1].elapsed);
    }
    assert_eq!(last.tasks_ok, report.totals.succeeded);
    assert_eq!(last.tasks_failed, report.totals.failed);
    assert_eq!(last.tasks_ok + last.tasks_failed, 40);
    assert_eq!(last.sent, report.totals.txs_sent);
    assert_eq!(last.included, report.totals.txs_included);
    assert_eq!(last.task.count, 40);
    assert_eq!(
        (last.offered, last.dropped(), last.late),
        (0, 0, 0),
        "open-loop fields stay zero"
    );
    assert_eq!(last.rejected(), report.totals.failed);
}

/// The closed loop reads every block's header, also when an automining node makes more
/// blocks between two head polls than one batch holds: the blocks counted so far always run
/// without a gap from the first one read to the latest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_figures_have_no_gaps_when_blocks_outrun_the_head_poll() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(4)) else {
        return;
    };
    let seen = Arc::new(parking_lot::Mutex::new(Vec::<spam_core::Progress>::new()));
    let hook_seen = Arc::clone(&seen);
    Spammer::builder()
        .rpc_url(devnet.endpoint().parse().unwrap())
        .wallets(wallets(&devnet))
        .tasks(TaskMix::single(Arc::new(TxTask(Transfer {
            name: "transfer",
            to_self: true,
        }))))
        // Each task mines a block (automine), and the head is read once a second: far more
        // than one batch of 32 headers between two reads.
        .workers(NonZeroU32::new(4).unwrap())
        .receipt_poll(Duration::from_secs(1))
        .cooldown(Duration::ZERO)
        .stop(Stop::After(Duration::from_secs(4)))
        .on_progress(Duration::from_millis(50), move |p| {
            hook_seen.lock().push(p.clone());
        })
        .build()
        .unwrap()
        .run()
        .await
        .unwrap();
    let seen = seen.lock();
    let chains: Vec<_> = seen
        .iter()
        .filter_map(|p| Some((p.chain.blocks, p.chain.last?.number)))
        .collect();
    let (blocks, head) = *chains.last().expect("blocks were read");
    assert!(blocks > 64, "{blocks} blocks read: more than two batches");
    let first = head + 1 - blocks;
    for (blocks, head) in &chains {
        assert_eq!(
            head + 1 - blocks,
            first,
            "a gap: {blocks} blocks up to {head}"
        );
    }
}
