//! SQLite: a file locked by another connection for 2 s loses nothing; schema versions; WAL.

use std::{sync::Arc, time::Duration};

use spam_store::{
    Error, RunId, RunRecord, SCHEMA_VERSION, SqlOptions, SqlStore, Store, TaskRecord, TxRecord,
    Writer, WriterConfig,
};
use sqlx::{Connection, Executor, Row, sqlite::SqliteConnection};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_file_loses_nothing_and_the_writer_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.db");
    let store = Arc::new(
        SqlStore::open_with(
            SqlOptions::sqlite(&path).with_busy_timeout(Duration::from_millis(100)),
        )
        .await
        .unwrap(),
    );
    let writer = Writer::spawn(
        store.clone(),
        WriterConfig::default()
            .with_retry_backoff(Duration::from_millis(10), Duration::from_millis(200)),
    );
    let handle = writer.handle();
    let run = RunId::generate();
    handle.write(RunRecord::new(run, 0, 1));

    // Another connection takes the write lock and holds it for 2 s.
    let mut locker = SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    locker.execute("BEGIN EXCLUSIVE").await.unwrap();
    let unlock = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        locker.execute("COMMIT").await.unwrap();
        locker.close().await.unwrap();
    });

    // Records keep coming while the file is locked, and after.
    let mut sent = 1u64;
    for i in 0..60u64 {
        for j in 0..100u64 {
            let n = i * 100 + j;
            assert!(handle.write(TaskRecord::new(run, 0, [2; 20], "transfer", n, 10)));
            let mut tx = TxRecord::new(run, [0; 32], [3; 20], n, "transfer");
            tx.hash[..8].copy_from_slice(&n.to_be_bytes());
            assert!(handle.write(tx));
            sent += 2;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    unlock.await.unwrap();

    let stats = writer.shutdown().await;
    assert_eq!(stats.lost(), 0, "{stats:?}");
    assert_eq!(stats.written, sent);
    assert!(stats.retries > 0, "the lock was never hit: {stats:?}");
    assert_eq!(store.tasks(run).await.unwrap().len(), 6_000);
    assert_eq!(store.txs(run).await.unwrap().len(), 6_000);
}

#[tokio::test]
async fn a_database_of_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.db");
    let store = SqlStore::sqlite(&path).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
    store
        .pool()
        .execute(sqlx::AssertSqlSafe(format!(
            "INSERT INTO spam_store_schema (version, applied_at_us) VALUES ({}, 0)",
            SCHEMA_VERSION + 1
        )))
        .await
        .unwrap();
    store.close().await;

    let err = SqlStore::sqlite(&path).await.unwrap_err();
    assert!(
        matches!(err, Error::SchemaTooNew { found, supported } if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert!(
        err.to_string()
            .contains("newer than this spam-store supports"),
        "{err}"
    );
}

#[tokio::test]
async fn reopening_keeps_the_data_and_the_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("again.db");
    let run = RunId::generate();
    let store = SqlStore::sqlite(&path).await.unwrap();
    store
        .write(&[RunRecord::new(run, 5, 9)].into_iter().collect())
        .await
        .unwrap();
    store.close().await;

    let store = SqlStore::sqlite(&path).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
    assert_eq!(store.run(run).await.unwrap().unwrap().chain_id, 9);
    let versions = sqlx::query("SELECT COUNT(*) FROM spam_store_schema")
        .fetch_one(store.pool())
        .await
        .unwrap()
        .get::<i64, _>(0);
    assert_eq!(versions, SCHEMA_VERSION, "migrations applied once");
    let mode = sqlx::query("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap()
        .get::<String, _>(0);
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn unknown_schemes_and_missing_directories_fail_clearly() {
    let err = SqlStore::open("mysql://localhost/db").await.unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    let err = SqlStore::sqlite("/nonexistent-dir/x/y.db")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("/nonexistent-dir/x/y.db") && text.contains("cannot open"),
        "{text}"
    );
}

#[tokio::test]
async fn closing_through_the_trait_leaves_only_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("closed.db");
    let store: Arc<dyn Store> = Arc::new(SqlStore::sqlite(&path).await.unwrap());
    let mut batch = spam_store::Batch::default();
    batch.push(RunRecord::new(RunId::generate(), 0, 31337));
    store.write(&batch).await.unwrap();
    let names = || {
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert!(
        names().len() > 1,
        "WAL mode keeps -wal/-shm while open: {:?}",
        names()
    );
    store.close().await;
    assert_eq!(names(), ["closed.db"]);
    // What was written is in the file itself.
    let reopened = SqlStore::sqlite(&path).await.unwrap();
    assert_eq!(reopened.runs().await.unwrap().len(), 1);
    reopened.close().await;
}
