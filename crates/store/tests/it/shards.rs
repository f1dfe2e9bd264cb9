//! Shard coordination on every backend: the first shard writes the plan, a differing config
//! is refused without a trace, heartbeats carry state and figures, the first start wins,
//! seconds round-trip.

use std::sync::Arc;

use serde_json::json;
use spam_store::{
    Joined, MemoryStore, RunId, ShardBeat, ShardPlan, ShardSecond, ShardState, SqlStore, Store,
};

use crate::common::PgSchema;

async fn coordinates(store: Arc<dyn Store>, name: &str) {
    let plan = ShardPlan::new(name, 3, json!({"rate": 300}), "h1".into()).unwrap();
    let run = plan.run;
    assert_eq!(run, RunId::from_name(name).unwrap());
    assert!(
        store.shards(run).await.unwrap().is_none(),
        "not sharded yet"
    );

    let Joined::Joined(view) = store.join_shard(&plan, 0, "host-a").await.unwrap() else {
        panic!("the first shard registers");
    };
    assert_eq!(view.plan, plan);
    assert_eq!(view.shards.len(), 1);
    assert_eq!(view.shards[0].state, ShardState::Waiting);
    assert_eq!(view.shards[0].host, "host-a");
    assert_eq!(view.start_at_us, None);

    // Another config, or another shard count: refused, nothing written.
    let other = ShardPlan::new(name, 3, json!({"rate": 400}), "h2".into()).unwrap();
    assert_eq!(
        store.join_shard(&other, 1, "host-b").await.unwrap(),
        Joined::Mismatch(plan.clone())
    );
    let fewer = ShardPlan::new(name, 2, json!({"rate": 300}), "h1".into()).unwrap();
    assert!(matches!(
        store.join_shard(&fewer, 1, "host-b").await.unwrap(),
        Joined::Mismatch(_)
    ));
    assert_eq!(store.shards(run).await.unwrap().unwrap().shards.len(), 1);

    let Joined::Joined(view) = store.join_shard(&plan, 2, "host-c").await.unwrap() else {
        panic!("same plan registers");
    };
    assert_eq!(
        view.shards.iter().map(|s| s.shard).collect::<Vec<_>>(),
        [0, 2]
    );
    assert_eq!(view.ready(), 0);

    let beat = ShardBeat::new(ShardState::Ready).with_figures(json!({"offered": 5}));
    let view = store.shard_heartbeat(run, 2, &beat).await.unwrap().unwrap();
    assert_eq!(view.ready(), 1);
    assert_eq!(view.shards[1].figures, json!({"offered": 5}));
    assert!(view.shards[1].heartbeat_at_us >= view.shards[1].joined_at_us);
    // Figures are kept when a beat has none; an ended state sets the end.
    let view = store
        .shard_heartbeat(run, 2, &ShardBeat::new(ShardState::Done))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.shards[1].figures, json!({"offered": 5}));
    assert!(view.shards[1].ended_at_us.is_some());
    assert!(!view.shards[1].is_lost(u64::MAX));

    // The first start holds.
    let at = view.now_us + 2_000_000;
    assert_eq!(store.start_shards(run, at).await.unwrap(), at);
    assert_eq!(store.start_shards(run, at + 5).await.unwrap(), at);
    assert_eq!(
        store.shards(run).await.unwrap().unwrap().start_at_us,
        Some(at)
    );

    // A restarted shard registers again: waiting, figures reset.
    let Joined::Joined(view) = store.join_shard(&plan, 2, "host-d").await.unwrap() else {
        panic!("rejoin");
    };
    assert_eq!(view.shards[1].state, ShardState::Waiting);
    assert_eq!(view.shards[1].host, "host-d");
    assert_eq!(view.shards[1].ended_at_us, None);

    for (shard, second) in [(2, 1), (0, 0), (0, 1)] {
        let bytes = vec![shard as u8, second as u8];
        store
            .write_shard_second(run, &ShardSecond::new(shard, second, bytes))
            .await
            .unwrap();
    }
    store
        .write_shard_second(run, &ShardSecond::new(0, 1, vec![9]))
        .await
        .unwrap();
    let seconds = store.shard_seconds(run).await.unwrap();
    let got: Vec<_> = seconds
        .iter()
        .map(|s| (s.shard, s.second, s.histograms.clone()))
        .collect();
    assert_eq!(
        got,
        [(0, 0, vec![0, 0]), (0, 1, vec![9]), (2, 1, vec![2, 1])]
    );
}

#[tokio::test]
async fn memory_coordinates_shards() {
    coordinates(Arc::new(MemoryStore::new()), "mem-run").await;
}

#[tokio::test]
async fn sqlite_coordinates_shards() {
    let store = SqlStore::open("sqlite::memory:").await.unwrap();
    coordinates(Arc::new(store), "sqlite-run").await;
}

#[tokio::test]
async fn postgres_coordinates_shards() {
    let Some(schema) = PgSchema::new() else {
        return;
    };
    coordinates(Arc::new(schema.open().await), "pg-run_1").await;
}
