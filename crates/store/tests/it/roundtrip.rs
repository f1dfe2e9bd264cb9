//! Property tests: every record type reads back as written, on SQLite, PostgreSQL and the
//! memory store; transaction merges and upserts behave the same on all of them.

use proptest::{
    collection::vec,
    prelude::*,
    test_runner::{Config, TestCaseError, TestRunner},
};
use spam_store::{
    AssetRecord, Batch, BlockRecord, Cursor, MemoryStore, RunRecord, SqlStore, Store, TaskRecord,
    TxRecord,
};

use crate::common::*;

#[derive(Debug, Clone)]
struct Case {
    run: RunRecord,
    tasks: Vec<TaskRecord>,
    txs: Vec<TxRecord>,
    /// Later writes of some of the transactions: merged into the first ones.
    updates: Vec<(usize, TxRecord)>,
    blocks: Vec<BlockRecord>,
    assets: Vec<AssetRecord>,
    /// Where the records are split into two batches.
    split: usize,
}

fn case() -> impl Strategy<Value = Case> {
    (
        run_record(),
        vec(task_record(), 0..16),
        vec(tx_record(), 0..16),
        vec((any::<prop::sample::Index>(), tx_record()), 0..6),
        vec(block_record(), 0..8),
        vec(asset_record(), 0..5),
        0..16usize,
    )
        .prop_map(|(run, tasks, txs, updates, blocks, assets, split)| {
            let updates = if txs.is_empty() {
                Vec::new()
            } else {
                updates
                    .into_iter()
                    .map(|(i, tx)| (i.index(txs.len()), tx))
                    .collect()
            };
            Case {
                run,
                tasks,
                txs,
                updates,
                blocks,
                assets,
                split,
            }
        })
}

/// Gives the case a fresh run and chain, and unique keys, so cases never see each other.
fn prepare(mut case: Case) -> Case {
    let run = fresh_run();
    let chain = run.get();
    case.run.id = run;
    for t in &mut case.tasks {
        t.run_id = run;
    }
    for (i, t) in case.txs.iter_mut().enumerate() {
        t.run_id = run;
        t.hash[..8].copy_from_slice(&(i as u64).to_be_bytes());
    }
    for (i, u) in &mut case.updates {
        let first = &case.txs[*i];
        u.run_id = run;
        u.hash = first.hash;
    }
    for (i, b) in case.blocks.iter_mut().enumerate() {
        b.run_id = run;
        b.number = i as u64 * 7;
    }
    for (i, a) in case.assets.iter_mut().enumerate() {
        a.run_id = run;
        a.chain_id = chain;
        a.address[..8].copy_from_slice(&(i as u64).to_be_bytes());
    }
    case
}

fn batches(case: &Case) -> (Batch, Batch) {
    let mut first = Batch::default();
    let mut second = Batch::default();
    first.push(case.run.clone());
    let cut = |n: usize| case.split.min(n);
    let (a, b) = case.tasks.split_at(cut(case.tasks.len()));
    first.extend(a.iter().cloned());
    second.extend(b.iter().cloned());
    // Every transaction goes into the first batch, so the updates merge into stored rows
    // (and, for updates of the same batch, inside the batch).
    first.extend(case.txs.iter().cloned());
    let (a, b) = case.updates.split_at(cut(case.updates.len()));
    first.extend(a.iter().map(|(_, u)| u.clone()));
    second.extend(b.iter().map(|(_, u)| u.clone()));
    let (a, b) = case.blocks.split_at(cut(case.blocks.len()));
    first.extend(a.iter().cloned());
    second.extend(b.iter().cloned());
    let (a, b) = case.assets.split_at(cut(case.assets.len()));
    first.extend(a.iter().cloned());
    second.extend(b.iter().cloned());
    (first, second)
}

async fn check(store: &dyn Store, case: Case) -> Result<(), TestCaseError> {
    let case = prepare(case);
    let run = case.run.id;
    let (first, second) = batches(&case);
    store.write(&first).await.map_err(fail)?;
    store.write(&second).await.map_err(fail)?;

    prop_assert_eq!(store.run(run).await.map_err(fail)?, Some(case.run.clone()));
    prop_assert!(store.runs().await.map_err(fail)?.contains(&case.run));
    prop_assert_eq!(&store.tasks(run).await.map_err(fail)?, &case.tasks);

    // Paging returns the same records in the same order.
    let mut paged = Vec::new();
    let mut cursor = Some(Cursor::START);
    while let Some(at) = cursor {
        let page = store.task_page(run, at, 3).await.map_err(fail)?;
        prop_assert!(page.items.len() <= 3);
        paged.extend(page.items);
        cursor = page.next;
    }
    prop_assert_eq!(&paged, &case.tasks);

    let mut expected_txs = case.txs.clone();
    for (i, update) in &case.updates {
        expected_txs[*i].merge(update.clone());
    }
    let mut txs = store.txs(run).await.map_err(fail)?;
    txs.sort_by_key(|t| t.hash);
    prop_assert_eq!(txs, expected_txs);

    prop_assert_eq!(store.blocks(run).await.map_err(fail)?, case.blocks.clone());
    let mut assets = store.assets_of_chain(run.get()).await.map_err(fail)?;
    assets.sort_by_key(|a| a.address);
    prop_assert_eq!(assets, case.assets.clone());
    Ok(())
}

fn fail(e: spam_store::Error) -> TestCaseError {
    TestCaseError::fail(format!("{e}: {:?}", std::error::Error::source(&e)))
}

/// Runs `cases` random cases against `store`, on `rt` (the runtime its pool lives on).
fn run_cases(rt: &tokio::runtime::Runtime, store: &dyn Store, cases: u32) {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&case(), |case| rt.block_on(check(store, case)))
        .unwrap();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn memory_round_trip() {
    run_cases(&runtime(), &MemoryStore::new(), 64);
}

#[test]
fn sqlite_file_round_trip() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let store = rt
        .block_on(SqlStore::sqlite(dir.path().join("rt.db")))
        .unwrap();
    run_cases(&rt, &store, 48);
}

#[test]
fn sqlite_memory_round_trip() {
    let rt = runtime();
    let store = rt.block_on(SqlStore::open("sqlite::memory:")).unwrap();
    run_cases(&rt, &store, 16);
}

#[test]
fn postgres_round_trip() {
    let Some(schema) = PgSchema::new() else {
        return;
    };
    let rt = runtime();
    let store = rt.block_on(schema.open());
    run_cases(&rt, &store, 32);
    rt.block_on(store.close());
}
