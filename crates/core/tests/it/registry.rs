//! The run registry against a real anvil: two runs with disjoint senders at once, both exact;
//! overlapping senders refused before anything starts; a stopped run drains, reports and says
//! `stopped` in the store; the progress feed moves while a run goes; `recover` marks what a
//! dead process left `running` as `interrupted`.

use std::{sync::Arc, time::Duration};

use spam_core::{Rate, RunRegistry, Wallet};
use spam_devnet::Devnet;
use spam_store::{MemoryStore, RunRecord, RunStatus, Store};

use crate::loadgen_anvil::{Marked, assert_accounting};

fn devnet() -> Option<Devnet> {
    spam_devnet::for_test(Devnet::builder().accounts(8).block_time(1.0))
}

/// Starts a loadgen of `rate` tx/s for `secs` over `wallets` in `registry`, persisted in
/// `store`.
fn start(
    registry: &RunRegistry,
    devnet: &Devnet,
    wallets: Vec<Wallet>,
    store: &Arc<MemoryStore>,
    (rate, secs): (f64, u64),
) -> Result<spam_store::RunId, spam_core::SendersInUse> {
    let url = devnet.endpoint().parse().unwrap();
    let store: Arc<dyn Store> = store.clone();
    let senders: Vec<_> = wallets.iter().map(Wallet::address).collect();
    registry.start(senders, move |control| {
        spam_core::LoadGen::builder()
            .rpc_url(url)
            .wallets(wallets)
            .tx(Marked)
            .rate(Rate::constant(rate))
            .duration(Duration::from_secs(secs))
            .grace(Duration::from_secs(20))
            .store(store, Some(control.id()))
            .cancel_on(control.cancel_token())
            .on_progress(Duration::from_millis(100), control.progress_hook())
            .run()
    })
}

fn wallets(devnet: &Devnet) -> Vec<Wallet> {
    devnet.signers().into_iter().map(Wallet::new).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_with_disjoint_senders_both_finish_exact() {
    let Some(devnet) = devnet() else { return };
    let store = Arc::new(MemoryStore::new());
    let registry = RunRegistry::new(Some(store.clone()));
    let mut all = wallets(&devnet);
    let second = all.split_off(4);
    let a = start(&registry, &devnet, all.clone(), &store, (20.0, 2)).unwrap();
    let b = start(&registry, &devnet, second, &store, (20.0, 2)).unwrap();

    // A third over a sender of the first is refused while the first runs.
    let overlap = vec![all[1].clone()];
    let refused = start(&registry, &devnet, overlap, &store, (1.0, 1)).unwrap_err();
    assert_eq!(refused.run, a);
    assert_eq!(refused.senders, vec![all[1].address()]);
    assert!(refused.to_string().contains("in use by run"), "{refused}");
    assert_eq!(registry.runs().len(), 2, "nothing of the refused run");

    for id in [a, b] {
        let state = registry.wait(id).await.unwrap();
        assert_eq!(state.status, RunStatus::Done, "{:?}", state.error);
        let report = state.report.expect("a report");
        assert_accounting(&report);
        let o = report.open_loop.as_ref().unwrap();
        assert_eq!(o.offered, 40);
        assert!(o.included > 0);
        assert_eq!(
            store.run(id).await.unwrap().unwrap().status,
            Some(RunStatus::Done)
        );
        assert!(state.progress.is_some(), "the feed saw the run");
    }
    // Ended runs free their senders.
    let again = start(&registry, &devnet, all, &store, (5.0, 1)).unwrap();
    assert_eq!(registry.wait(again).await.unwrap().status, RunStatus::Done);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_run_drains_reports_and_says_stopped() {
    let Some(devnet) = devnet() else { return };
    let store = Arc::new(MemoryStore::new());
    let registry = RunRegistry::new(Some(store.clone()));
    let id = start(&registry, &devnet, wallets(&devnet), &store, (20.0, 600)).unwrap();
    // The feed moves: wait for a snapshot with sends in it.
    let mut feed = registry.progress(id).unwrap();
    let sent = tokio::time::timeout(
        Duration::from_secs(60),
        feed.wait_for(|p| p.as_ref().is_some_and(|p| p.sent > 0)),
    )
    .await
    .expect("a snapshot with sends")
    .unwrap()
    .as_ref()
    .unwrap()
    .sent;
    assert!(sent > 0);
    assert_eq!(registry.run(id).unwrap().status, RunStatus::Running);
    assert_eq!(
        store.run(id).await.unwrap().unwrap().status,
        Some(RunStatus::Running)
    );

    assert!(registry.stop(id));
    let state = registry.wait(id).await.unwrap();
    assert_eq!(state.status, RunStatus::Stopped);
    assert!(!registry.stop(id), "already ended");
    let report = state.report.unwrap();
    assert_accounting(&report);
    assert!(report.open_loop.as_ref().unwrap().offered < 20 * 600);
    let row = store.run(id).await.unwrap().unwrap();
    assert_eq!(row.status, Some(RunStatus::Stopped));
    assert!(row.ended_at_us.is_some());
}

#[tokio::test]
async fn recover_marks_what_was_running_interrupted() {
    let store = Arc::new(MemoryStore::new());
    let (dead, ended) = (spam_store::RunId::generate(), spam_store::RunId::generate());
    let mut rows = Vec::new();
    for (id, status) in [(dead, RunStatus::Running), (ended, RunStatus::Done)] {
        let mut row = RunRecord::new(id, 1, 31_337);
        row.status = Some(status);
        rows.push(row);
    }
    store.write(&rows.into_iter().collect()).await.unwrap();
    let registry = RunRegistry::new(Some(store.clone()));
    assert_eq!(registry.recover().await.unwrap(), vec![dead]);
    assert_eq!(
        store.run(dead).await.unwrap().unwrap().status,
        Some(RunStatus::Interrupted)
    );
    assert_eq!(
        store.run(ended).await.unwrap().unwrap().status,
        Some(RunStatus::Done)
    );
    assert!(RunRegistry::new(None).recover().await.unwrap().is_empty());
}
