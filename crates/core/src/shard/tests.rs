use std::{sync::Arc, time::Duration};

use serde_json::json;
use spam_store::{MemoryStore, ShardState, Store};
use tokio_util::sync::CancellationToken;

use super::*;

#[test]
fn specs_are_checked() {
    assert!(ShardSpec::parse("r", "0/1").is_ok());
    for bad in ["3/3", "1", "a/b", "0/0", "-1/2", "0/2000"] {
        assert!(
            matches!(ShardSpec::parse("r", bad), Err(ShardError::Spec(_))),
            "{bad}"
        );
    }
    assert!(ShardSpec::new("bad name", 0, 1).is_err());
}

#[test]
fn slices_and_workers_partition() {
    for n in 1..8u32 {
        for len in [0usize, 1, 5, 10, 301] {
            let mut next = 0;
            for i in 0..n {
                let spec = ShardSpec::new("r", i, n).unwrap();
                let range = spec.slice(len);
                assert_eq!(range.start, next);
                next = range.end;
            }
            assert_eq!(next, len);
            let total: u32 = (0..n)
                .map(|i| ShardSpec::new("r", i, n).unwrap().workers(len as u32))
                .sum();
            assert_eq!(total, len as u32);
        }
    }
}

#[test]
fn the_first_differing_key_is_named() {
    let a = json!({"rate": 300, "tx": "transfer", "endpoints": {"rpc": ["a"], "cap": 1}});
    let b = json!({"rate": 300, "tx": "transfer", "endpoints": {"rpc": ["b"], "cap": 1}});
    let (key, ours, theirs) = first_difference("", &a, &b).unwrap();
    assert_eq!(key, "endpoints.rpc");
    assert_eq!((ours.as_str(), theirs.as_str()), (r#"["a"]"#, r#"["b"]"#));
    let c = json!({"rate": 300, "tx": "transfer", "endpoints": {"rpc": ["a"], "cap": 1}, "x": 1});
    assert_eq!(first_difference("", &a, &c).unwrap().0, "x");
    assert_eq!(first_difference("", &a, &a), None);
}

#[tokio::test]
async fn a_shard_with_other_settings_is_refused() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let spec = |i| ShardSpec::new("mismatch", i, 2).unwrap();
    Shard::join(Arc::clone(&store), spec(0), json!({"rate": 10}))
        .await
        .unwrap();
    let err = Shard::join(Arc::clone(&store), spec(1), json!({"rate": 20}))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ShardError::Mismatch { key, .. } if key == "rate"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("`rate` differs (20 here, 10 in the run)")
    );
    let three = ShardSpec::new("mismatch", 1, 3).unwrap();
    let err = Shard::join(Arc::clone(&store), three, json!({"rate": 10}))
        .await
        .unwrap_err();
    assert!(matches!(&err, ShardError::Mismatch { key, .. } if key == "shards"));
    let view = store.shards(spec(0).run()).await.unwrap().unwrap();
    assert_eq!(view.shards.len(), 1, "refused shards leave no row");

    // A finished shard is not run again under the same name.
    store
        .shard_heartbeat(
            spec(0).run(),
            0,
            &spam_store::ShardBeat::new(ShardState::Done),
        )
        .await
        .unwrap();
    let err = Shard::join(Arc::clone(&store), spec(0), json!({"rate": 10}))
        .await
        .unwrap_err();
    assert!(matches!(err, ShardError::Finished(_)), "{err}");
}

#[tokio::test]
async fn shards_prepare_in_turn_and_start_together() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let cancel = CancellationToken::new();
    let mut tasks = Vec::new();
    let order = Arc::new(parking_lot::Mutex::new(Vec::new()));
    // Joined in reverse: shard 2 still prepares after shard 0 and 1.
    for i in (0..3u32).rev() {
        let spec = ShardSpec::new("together", i, 3).unwrap();
        let shard = Shard::join(Arc::clone(&store), spec, json!({"rate": 1}))
            .await
            .unwrap();
        let (cancel, order) = (cancel.clone(), Arc::clone(&order));
        tasks.push(tokio::spawn(async move {
            shard.wait_turn().await.unwrap();
            order.lock().push(i);
            tokio::time::sleep(Duration::from_millis(30)).await;
            shard.barrier(&cancel).await.unwrap()
        }));
    }
    let mut starts = Vec::new();
    for task in tasks {
        starts.push(task.await.unwrap());
    }
    assert_eq!(*order.lock(), [0, 1, 2]);
    let first = starts[0].at;
    for s in &starts {
        assert_eq!(s.late, Duration::ZERO);
        let gap = if s.at > first {
            s.at - first
        } else {
            first - s.at
        };
        assert!(gap < Duration::from_millis(300), "{gap:?}");
    }
    assert!(first > tokio::time::Instant::now() - Duration::from_secs(1));

    // A fourth process for shard 1 (a restart) after the start: late, never waits.
    let late = ShardSpec::new("together", 1, 3).unwrap();
    let shard = Shard::join(Arc::clone(&store), late, json!({"rate": 1}))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2_300)).await;
    shard.wait_turn().await.unwrap();
    let start = shard.barrier(&cancel).await.unwrap();
    assert!(start.late > Duration::ZERO);
    let view = store.shards(shard.run()).await.unwrap().unwrap();
    assert!(view.shards.iter().all(|s| s.state == ShardState::Ready));
}

#[tokio::test]
async fn the_barrier_times_out_with_the_shards_present() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let spec = ShardSpec::new("alone", 0, 2)
        .unwrap()
        .with_barrier_timeout(Duration::from_millis(300));
    let shard = Shard::join(store, spec, json!({})).await.unwrap();
    let start = shard.barrier(&CancellationToken::new()).await.unwrap();
    assert_eq!(start.late, Duration::ZERO);
}
