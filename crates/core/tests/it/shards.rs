//! Two engine instances as the shards of one run, in one process on one store: each takes its
//! part, and `Report::from_store` merges them into the run's report (counts summed, latencies
//! from the merged histograms, one row per shard).

use std::{sync::Arc, time::Duration};

use spam_core::{LoadGen, Rate, Report, Shard, ShardSpec, Spammer, Stop, TaskMix, TxTask, Wallet};
use spam_devnet::Devnet;
use spam_store::{MemoryStore, Store};

use crate::support::SelfTransfer;

fn wallets(devnet: &Devnet, spec: &ShardSpec) -> Vec<Wallet> {
    let all = devnet.signers();
    let range = spec.slice(all.len());
    all.into_iter()
        .skip(range.start)
        .take(range.len())
        .map(Wallet::new)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_loadgen_shards_merge_into_the_runs_report() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(8).block_time(0.5)) else {
        return;
    };
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let rate = Rate::ramp(40.0, 120.0, Duration::from_secs(3));
    let settings = serde_json::json!({ "rate": rate.to_string() });
    let mut runs = Vec::new();
    for index in 0..2 {
        let spec = ShardSpec::new("lib-two", index, 2).unwrap();
        let shard = Shard::join(Arc::clone(&store), spec.clone(), settings.clone())
            .await
            .unwrap();
        let loadgen = LoadGen::builder()
            .rpc_url(devnet.endpoint().parse().unwrap())
            .wallets(wallets(&devnet, &spec))
            .tx(SelfTransfer)
            .rate(rate.clone())
            .duration(Duration::from_secs(3))
            .grace(Duration::from_secs(10))
            .shard(shard);
        runs.push(tokio::spawn(async move { loadgen.run().await.unwrap() }));
    }
    let mut live = Vec::new();
    for run in runs {
        live.push(run.await.unwrap());
    }
    let run = ShardSpec::new("lib-two", 0, 2).unwrap().run();
    let merged = Report::from_store(store.as_ref(), run).await.unwrap();
    let open = merged.open_loop.as_ref().unwrap();
    let shard_open: Vec<_> = live.iter().map(|r| r.open_loop.clone().unwrap()).collect();
    // The shards together offer exactly the profile.
    assert_eq!(open.offered, rate.count_until(Duration::from_secs(3)));
    assert_eq!(open.offered, shard_open[0].offered + shard_open[1].offered);
    assert!(shard_open[0].offered.abs_diff(shard_open[1].offered) <= 1);
    assert_eq!(open.offered, open.dropped + open.sent);
    assert_eq!(
        open.included,
        shard_open.iter().map(|o| o.included).sum::<u64>()
    );
    assert_eq!(merged.totals.txs_included, open.included);
    // Latencies from every sample of both shards.
    assert_eq!(
        open.ack_ms.count,
        shard_open.iter().map(|o| o.ack_ms.count).sum::<u64>()
    );
    let max = shard_open.iter().map(|o| o.ack_ms.max).fold(0.0, f64::max);
    assert!(
        (open.ack_ms.max - max).abs() < 0.01,
        "{} vs {max}",
        open.ack_ms.max
    );
    assert_eq!(merged.shards.len(), 2);
    assert!(merged.shards.iter().all(|s| s.merged && s.state == "done"));
    let per_second: u64 = merged.series.iter().map(|s| s.offered).sum();
    assert_eq!(per_second, open.offered);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_shards_split_the_workers() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(6)) else {
        return;
    };
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let mut runs = Vec::new();
    for index in 0..2 {
        let spec = ShardSpec::new("lib-closed", index, 2).unwrap();
        let shard = Shard::join(Arc::clone(&store), spec.clone(), serde_json::json!({}))
            .await
            .unwrap();
        let spammer = Spammer::builder()
            .rpc_url(devnet.endpoint().parse().unwrap())
            .wallets(wallets(&devnet, &spec))
            .tasks(TaskMix::single(Arc::new(TxTask(SelfTransfer))))
            .workers(std::num::NonZeroU32::new(5).unwrap())
            .stop(Stop::Tasks(21))
            .shard(shard)
            .build()
            .unwrap();
        runs.push(tokio::spawn(async move { spammer.run().await.unwrap() }));
    }
    let mut live = Vec::new();
    for run in runs {
        live.push(run.await.unwrap());
    }
    // 5 workers over 2 shards: 3 and 2; 21 tasks: 10 and 11.
    assert_eq!(live[0].run.workers + live[1].run.workers, 5);
    assert_eq!(live[0].totals.started + live[1].totals.started, 21);
    assert!(live.iter().all(|r| r.errors.is_empty()), "disjoint senders");
    let run = ShardSpec::new("lib-closed", 0, 2).unwrap().run();
    let merged = Report::from_store(store.as_ref(), run).await.unwrap();
    assert_eq!(merged.totals.started, 21);
    let closed = merged.closed_loop.unwrap();
    assert_eq!(closed.included, 21);
    assert_eq!(merged.shards.len(), 2);
}
