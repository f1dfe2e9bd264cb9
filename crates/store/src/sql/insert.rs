//! Multi-row `INSERT`s: one statement per chunk of rows, the same SQL on both backends.
//!
//! A batch of n rows is cut into chunks of [`CHUNK`] rows, then the rest into powers of two,
//! so each table needs at most 9 distinct statements and the drivers' prepared-statement caches
//! stay small. `CHUNK × columns` stays far below SQLite's 32 766 bound parameters.
//!
//! Placeholders are `$n` on PostgreSQL but anonymous `?` on SQLite: looking a numbered
//! parameter's name up is linear in SQLite, so binding thousands of `$n` is quadratic (it made
//! transaction inserts 4× slower).

use std::{collections::HashMap, sync::Arc};

use parking_lot::Mutex;
use sqlx::{Any, AnyConnection, query::Query};

use crate::{
    AssetRecord, Backend, BlockRecord, Error, RunRecord, RunStatus, TaskRecord, TxRecord,
    batch::Folded,
};

/// Rows per statement (at most 15 columns: 3 840 parameters).
const CHUNK: usize = 256;

type AnyQuery = Query<'static, Any, sqlx::any::AnyArguments>;

/// One table's insert: columns, conflict clause, and how to bind a row.
struct Table<R> {
    name: &'static str,
    columns: &'static [&'static str],
    conflict: &'static str,
    bind: fn(AnyQuery, &R) -> AnyQuery,
}

const RUNS: Table<RunRecord> = Table {
    name: "runs",
    columns: &[
        "id",
        "started_at_us",
        "ended_at_us",
        "config",
        "chain_id",
        "client_version",
        "tool_version",
        "seed",
        "workers",
        "records_dropped",
        "status",
    ],
    conflict: "ON CONFLICT (id) DO UPDATE SET started_at_us = excluded.started_at_us, \
        ended_at_us = excluded.ended_at_us, config = excluded.config, \
        chain_id = excluded.chain_id, client_version = excluded.client_version, \
        tool_version = excluded.tool_version, seed = excluded.seed, workers = excluded.workers, \
        records_dropped = excluded.records_dropped, \
        status = COALESCE(excluded.status, runs.status)",
    bind: |q, r| {
        q.bind(int(r.id.get()))
            .bind(int(r.started_at_us))
            .bind(r.ended_at_us.map(int))
            .bind(r.config.to_string())
            .bind(int(r.chain_id))
            .bind(r.client_version.clone())
            .bind(r.tool_version.clone())
            .bind(int(r.seed))
            .bind(i64::from(r.workers))
            .bind(int(r.records_dropped))
            .bind(r.status.map(RunStatus::as_str))
    },
};

const TASKS: Table<TaskRecord> = Table {
    name: "task_metrics",
    columns: &[
        "run_id",
        "worker",
        "wallet",
        "task",
        "error",
        "message",
        "started_at_us",
        "duration_us",
        "tx_hash",
    ],
    conflict: "",
    bind: |q, r| {
        q.bind(int(r.run_id.get()))
            .bind(i64::from(r.worker))
            .bind(r.wallet.to_vec())
            .bind(r.task.clone())
            .bind(r.error.clone())
            .bind(r.message.clone())
            .bind(int(r.started_at_us))
            .bind(int(r.duration_us))
            .bind(r.tx_hash.map(|h| h.to_vec()))
    },
};

const TXS: Table<TxRecord> = Table {
    name: "txs",
    columns: &[
        "run_id",
        "hash",
        "sender",
        "nonce",
        "task",
        "intended_at_us",
        "signed_at_us",
        "sent_at_us",
        "acked_at_us",
        "included_at_us",
        "block_number",
        "gas_used",
        "status",
        "error",
    ],
    conflict: "ON CONFLICT (run_id, hash) DO UPDATE SET sender = excluded.sender, \
        nonce = excluded.nonce, task = excluded.task, \
        intended_at_us = COALESCE(excluded.intended_at_us, txs.intended_at_us), \
        signed_at_us = COALESCE(excluded.signed_at_us, txs.signed_at_us), \
        sent_at_us = COALESCE(excluded.sent_at_us, txs.sent_at_us), \
        acked_at_us = COALESCE(excluded.acked_at_us, txs.acked_at_us), \
        included_at_us = COALESCE(excluded.included_at_us, txs.included_at_us), \
        block_number = COALESCE(excluded.block_number, txs.block_number), \
        gas_used = COALESCE(excluded.gas_used, txs.gas_used), \
        status = excluded.status, error = excluded.error",
    bind: |q, r| {
        q.bind(int(r.run_id.get()))
            .bind(r.hash.to_vec())
            .bind(r.sender.to_vec())
            .bind(int(r.nonce))
            .bind(r.task.clone())
            .bind(r.intended_at_us.map(int))
            .bind(r.signed_at_us.map(int))
            .bind(r.sent_at_us.map(int))
            .bind(r.acked_at_us.map(int))
            .bind(r.included_at_us.map(int))
            .bind(r.block_number.map(int))
            .bind(r.gas_used.map(int))
            .bind(r.status.as_str())
            .bind(r.error.clone())
    },
};

const BLOCKS: Table<BlockRecord> = Table {
    name: "blocks",
    columns: &[
        "run_id",
        "number",
        "timestamp_us",
        "tx_count",
        "gas_used",
        "gas_limit",
        "base_fee",
    ],
    conflict: "ON CONFLICT (run_id, number) DO UPDATE SET timestamp_us = excluded.timestamp_us, \
        tx_count = excluded.tx_count, gas_used = excluded.gas_used, \
        gas_limit = excluded.gas_limit, base_fee = excluded.base_fee",
    bind: |q, r| {
        q.bind(int(r.run_id.get()))
            .bind(int(r.number))
            .bind(int(r.timestamp_us))
            .bind(int(r.tx_count))
            .bind(int(r.gas_used))
            .bind(int(r.gas_limit))
            .bind(r.base_fee.map(int))
    },
};

const ASSETS: Table<AssetRecord> = Table {
    name: "created_assets",
    columns: &[
        "run_id", "chain_id", "creator", "address", "kind", "name", "symbol",
    ],
    conflict: "ON CONFLICT (chain_id, address) DO UPDATE SET run_id = excluded.run_id, \
        creator = excluded.creator, kind = excluded.kind, name = excluded.name, \
        symbol = excluded.symbol",
    bind: |q, r| {
        q.bind(int(r.run_id.get()))
            .bind(int(r.chain_id))
            .bind(r.creator.to_vec())
            .bind(r.address.to_vec())
            .bind(r.kind.clone())
            .bind(r.name.clone())
            .bind(r.symbol.clone())
    },
};

/// A `u64` as the database's `BIGINT`: values above `i64::MAX` are stored as `i64::MAX`.
pub(crate) fn int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The generated statements of one backend, by table and rows per statement.
#[derive(Debug)]
pub(crate) struct SqlCache {
    backend: Backend,
    statements: Mutex<HashMap<(&'static str, usize), Arc<str>>>,
}

impl SqlCache {
    pub(crate) fn new(backend: Backend) -> Self {
        Self {
            backend,
            statements: Mutex::default(),
        }
    }

    fn get<R>(&self, table: &Table<R>, rows: usize) -> Arc<str> {
        self.statements
            .lock()
            .entry((table.name, rows))
            .or_insert_with(|| build(table, rows, self.backend).into())
            .clone()
    }
}

fn build<R>(table: &Table<R>, rows: usize, backend: Backend) -> String {
    let cols = table.columns.len();
    let mut sql = format!(
        "INSERT INTO {} ({}) VALUES ",
        table.name,
        table.columns.join(", ")
    );
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for col in 0..cols {
            if col > 0 {
                sql.push_str(", ");
            }
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => sql.push_str(&format!("${}", row * cols + col + 1)),
            }
        }
        sql.push(')');
    }
    if !table.conflict.is_empty() {
        sql.push(' ');
        sql.push_str(table.conflict);
    }
    sql
}

/// Chunk sizes for `n` rows: [`CHUNK`]s, then descending powers of two.
fn chunks(mut n: usize) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        if n == 0 {
            return None;
        }
        let size = if n >= CHUNK {
            CHUNK
        } else {
            1 << (usize::BITS - 1 - n.leading_zeros())
        };
        n -= size;
        Some(size)
    })
}

async fn insert<R>(
    conn: &mut AnyConnection,
    cache: &SqlCache,
    table: &Table<R>,
    rows: &[R],
) -> Result<(), Error> {
    let mut rest = rows;
    for size in chunks(rows.len()) {
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        let mut query = sqlx::query::<Any>(sqlx::AssertSqlSafe(cache.get(table, size)));
        for row in chunk {
            query = (table.bind)(query, row);
        }
        query
            .execute(&mut *conn)
            .await
            .map_err(Error::db("writing a batch"))?;
    }
    Ok(())
}

/// Inserts a folded batch on `conn` (inside the caller's transaction).
pub(crate) async fn write_folded(
    conn: &mut AnyConnection,
    cache: &SqlCache,
    batch: &Folded<'_>,
) -> Result<(), Error> {
    insert(conn, cache, &RUNS, &batch.runs).await?;
    insert(conn, cache, &TASKS, batch.tasks).await?;
    insert(conn, cache, &TXS, &batch.txs).await?;
    insert(conn, cache, &BLOCKS, &batch.blocks).await?;
    insert(conn, cache, &ASSETS, &batch.assets).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_sizes_cover_every_row() {
        for n in [0, 1, 2, 3, 255, 256, 257, 1_000, 1_023, 5_000] {
            let sizes: Vec<_> = chunks(n).collect();
            assert_eq!(sizes.iter().sum::<usize>(), n, "{n}");
            assert!(sizes.iter().all(|&s| s.is_power_of_two() && s <= CHUNK));
            assert!(sizes.windows(2).all(|w| w[0] >= w[1]));
        }
        assert_eq!(
            chunks(700).collect::<Vec<_>>(),
            vec![256, 256, 128, 32, 16, 8, 4]
        );
    }

    #[test]
    fn statements_number_their_parameters() {
        let sql = build(&BLOCKS, 2, Backend::Postgres);
        assert!(sql.starts_with("INSERT INTO blocks (run_id, number,"));
        assert!(sql.contains("VALUES ($1, $2, $3, $4, $5, $6, $7), ($8, $9,"));
        assert!(sql.contains("$14) ON CONFLICT (run_id, number)"));
        let sql = build(&BLOCKS, 2, Backend::Sqlite);
        assert!(sql.contains("VALUES (?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?) ON CONFLICT"));
        let cols = [RUNS.columns.len(), TASKS.columns.len(), TXS.columns.len()];
        assert!(cols.iter().all(|c| c * CHUNK < 32_766));
    }

    #[test]
    fn big_values_saturate() {
        assert_eq!(int(5), 5);
        assert_eq!(int(u64::MAX), i64::MAX);
    }
}
