//! Shared by the integration tests: record strategies, a PostgreSQL schema per test, SQLite
//! files in temporary directories.
#![allow(unreachable_pub)]

use std::sync::atomic::{AtomicU64, Ordering};

use proptest::{collection::vec, option, prelude::*};
use spam_store::{
    AssetRecord, BlockRecord, RunId, RunRecord, RunStatus, SqlOptions, SqlStore, TaskRecord,
    TxRecord, TxStatus,
};
use sqlx::{Connection, Executor};

/// Integers the database keeps exactly (`BIGINT`).
pub fn int() -> impl Strategy<Value = u64> {
    prop_oneof![0..1_000u64, 0..=i64::MAX as u64, Just(i64::MAX as u64)]
}

pub fn text() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z_ ]{0,12}", "\\PC{0,8}"]
}

pub fn run_record() -> impl Strategy<Value = RunRecord> {
    (
        (int(), option::of(int()), int(), int(), any::<u32>(), int()),
        (
            text(),
            text(),
            json(),
            option::of(proptest::sample::select(&RunStatus::ALL[..])),
        ),
    )
        .prop_map(
            |((started, ended, chain, seed, workers, dropped), (client, tool, config, status))| {
                let mut r = RunRecord::new(RunId::new(0).unwrap(), started, chain);
                r.ended_at_us = ended;
                r.seed = seed;
                r.workers = workers;
                r.records_dropped = dropped;
                r.client_version = client;
                r.tool_version = tool;
                r.config = config;
                r.status = status;
                r
            },
        )
}

/// JSON without floats (serde_json parses floats to the nearest value, not always the same).
fn json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        text().prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            proptest::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

pub fn task_record() -> impl Strategy<Value = TaskRecord> {
    (
        any::<u32>(),
        any::<[u8; 20]>(),
        text(),
        option::of(text()),
        option::of(text()),
        int(),
        int(),
        option::of(any::<[u8; 32]>()),
    )
        .prop_map(
            |(worker, wallet, task, error, message, started, duration, hash)| {
                let mut t = TaskRecord::new(
                    RunId::new(0).unwrap(),
                    worker,
                    wallet,
                    task,
                    started,
                    duration,
                );
                t.error = error;
                t.message = message;
                t.tx_hash = hash;
                t
            },
        )
}

pub fn tx_status() -> impl Strategy<Value = TxStatus> {
    prop_oneof![
        Just(TxStatus::Pending),
        Just(TxStatus::Succeeded),
        Just(TxStatus::Reverted),
        Just(TxStatus::Failed),
    ]
}

pub fn tx_record() -> impl Strategy<Value = TxRecord> {
    (
        (any::<[u8; 32]>(), any::<[u8; 20]>(), int(), text()),
        vec(option::of(int()), 7),
        (tx_status(), option::of(text())),
    )
        .prop_map(|((hash, sender, nonce, task), times, (status, error))| {
            let mut t = TxRecord::new(RunId::new(0).unwrap(), hash, sender, nonce, task);
            t.intended_at_us = times[0];
            t.signed_at_us = times[1];
            t.sent_at_us = times[2];
            t.acked_at_us = times[3];
            t.included_at_us = times[4];
            t.block_number = times[5];
            t.gas_used = times[6];
            t.status = status;
            t.error = error;
            t
        })
}

pub fn block_record() -> impl Strategy<Value = BlockRecord> {
    (int(), int(), int(), int(), int(), option::of(int())).prop_map(
        |(number, ts, count, gas, limit, base_fee)| {
            let mut b = BlockRecord::new(RunId::new(0).unwrap(), number, ts);
            b.tx_count = count;
            b.gas_used = gas;
            b.gas_limit = limit;
            b.base_fee = base_fee;
            b
        },
    )
}

pub fn asset_record() -> impl Strategy<Value = AssetRecord> {
    (
        any::<[u8; 20]>(),
        any::<[u8; 20]>(),
        text(),
        option::of(text()),
        option::of(text()),
    )
        .prop_map(|(creator, address, kind, name, symbol)| {
            let mut a = AssetRecord::new(RunId::new(0).unwrap(), 0, creator, address, kind);
            a.name = name;
            a.symbol = symbol;
            a
        })
}

/// A run id no other test or case uses.
pub fn fresh_run() -> RunId {
    RunId::generate()
}

/// `postgres://…` from `DATABASE_URL`; `None` (with a "skipped" line) when unset, except under
/// `CI=true`, where the PostgreSQL tests must run.
pub fn database_url() -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
            panic!("CI=true but DATABASE_URL is unset: the PostgreSQL tests must run in CI")
        }
        _ => {
            eprintln!("skipped: set DATABASE_URL to run the PostgreSQL tests");
            None
        }
    }
}

/// A PostgreSQL schema of its own for one test, dropped when this goes out of scope (even
/// when the test panics).
#[derive(Debug)]
pub struct PgSchema {
    pub url: String,
    pub name: String,
}

impl PgSchema {
    /// A fresh schema name, or `None` without `DATABASE_URL`.
    pub fn new() -> Option<Self> {
        static N: AtomicU64 = AtomicU64::new(0);
        let url = database_url()?;
        let name = format!(
            "spam_store_test_{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            spam_store::now_micros() % 1_000_000_000
        );
        Some(Self { url, name })
    }

    pub fn options(&self) -> SqlOptions {
        SqlOptions::new(&self.url).with_schema(&self.name)
    }

    pub async fn open(&self) -> SqlStore {
        SqlStore::open_with(self.options())
            .await
            .expect("open a PostgreSQL store")
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let url = self.url.clone();
        let sql = format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name);
        // Drop may run inside a runtime: clean up on a thread of its own.
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&url).await?;
                // Never hang a test on a lock a leaked connection holds.
                conn.execute("SET lock_timeout = '10s'").await?;
                conn.execute(sqlx::AssertSqlSafe(sql)).await?;
                conn.close().await
            })
        })
        .join();
        if !matches!(done, Ok(Ok(()))) {
            eprintln!("could not drop schema {}: {done:?}", self.name);
        }
    }
}

/// A SQLite file store in a temporary directory (kept alive by the returned guard).
pub async fn sqlite_file() -> (tempfile::TempDir, SqlStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqlStore::sqlite(dir.path().join("spam.db"))
        .await
        .expect("open SQLite");
    (dir, store)
}
