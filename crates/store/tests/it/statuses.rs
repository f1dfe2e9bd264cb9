//! Run statuses on SQLite, PostgreSQL and the memory store: set, kept by later writes without
//! one, `running` turned `interrupted` after a crash, and a version-2 database upgraded.

use spam_store::{
    Batch, MemoryStore, RunId, RunRecord, RunStatus, SCHEMA_VERSION, SqlStore, Store,
};
use sqlx::Executor;

use crate::common::{PgSchema, fresh_run, sqlite_file};

fn batch(runs: impl IntoIterator<Item = RunRecord>) -> Batch {
    runs.into_iter().collect()
}

fn run(id: RunId, status: Option<RunStatus>) -> RunRecord {
    let mut r = RunRecord::new(id, 1_000, 31_337);
    r.status = status;
    r
}

async fn status(store: &dyn Store, id: RunId) -> Option<RunStatus> {
    store.run(id).await.unwrap().expect("the run").status
}

/// What every store must do with statuses.
async fn statuses_behave(store: &dyn Store) {
    let (a, b, c) = (fresh_run(), fresh_run(), fresh_run());
    store
        .write(&batch([
            run(a, Some(RunStatus::Running)),
            run(b, Some(RunStatus::Running)),
            run(c, None),
        ]))
        .await
        .unwrap();
    assert_eq!(status(store, c).await, None, "no status until one is set");

    // The engine's final write carries no status: the row keeps the one it has.
    let mut ended = run(a, None);
    ended.ended_at_us = Some(2_000);
    store.write(&batch([ended])).await.unwrap();
    assert_eq!(status(store, a).await, Some(RunStatus::Running));
    // In one batch too: a later record without a status keeps an earlier one's.
    store
        .write(&batch([run(c, Some(RunStatus::Done)), run(c, None)]))
        .await
        .unwrap();
    assert_eq!(status(store, c).await, Some(RunStatus::Done));

    assert!(store.set_run_status(a, RunStatus::Stopped).await.unwrap());
    assert!(
        !store
            .set_run_status(fresh_run(), RunStatus::Done)
            .await
            .unwrap(),
        "no such run"
    );
    assert_eq!(status(store, a).await, Some(RunStatus::Stopped));

    // After a crash: what was running is interrupted, and only that.
    let interrupted = store.interrupt_running().await.unwrap();
    assert!(
        interrupted.contains(&b) && !interrupted.contains(&a),
        "{interrupted:?}"
    );
    assert_eq!(status(store, b).await, Some(RunStatus::Interrupted));
    assert_eq!(status(store, a).await, Some(RunStatus::Stopped));
    assert!(
        !store.interrupt_running().await.unwrap().contains(&b),
        "once"
    );
    // Its rows stay readable.
    assert!(store.runs().await.unwrap().iter().any(|r| r.id == b));
}

#[tokio::test]
async fn statuses_on_the_memory_store() {
    statuses_behave(&MemoryStore::new()).await;
}

#[tokio::test]
async fn statuses_on_sqlite() {
    let (_dir, store) = sqlite_file().await;
    statuses_behave(&store).await;
}

#[tokio::test]
async fn statuses_on_postgres() {
    let Some(schema) = PgSchema::new() else {
        return;
    };
    let store = schema.open().await;
    statuses_behave(&store).await;
    store.close().await;
}

#[tokio::test]
async fn a_version_2_database_gets_statuses_and_keeps_its_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.db");
    let store = SqlStore::sqlite(&path).await.unwrap();
    let old = fresh_run();
    store.write(&batch([run(old, None)])).await.unwrap();
    // Back to version 2: no status column, no version-3 row.
    store
        .pool()
        .execute("ALTER TABLE runs DROP COLUMN status")
        .await
        .unwrap();
    store
        .pool()
        .execute("DELETE FROM spam_store_schema WHERE version = 3")
        .await
        .unwrap();
    store.close().await;

    let store = SqlStore::sqlite(&path).await.unwrap();
    assert_eq!(SCHEMA_VERSION, 3);
    assert_eq!(store.schema_version().await.unwrap(), 3);
    assert_eq!(status(&store, old).await, None, "old runs have none");
    assert!(store.set_run_status(old, RunStatus::Done).await.unwrap());
    assert_eq!(status(&store, old).await, Some(RunStatus::Done));
}

#[test]
fn names_round_trip() {
    for s in RunStatus::ALL {
        assert_eq!(RunStatus::from_name(s.as_str()), Some(s));
        assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
    }
    assert_eq!(RunStatus::from_name("Running"), None);
}
