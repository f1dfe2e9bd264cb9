//! [`SqlStore`]: the [`Store`] on SQLite or PostgreSQL, through sqlx's `Any` driver with
//! runtime queries (the same SQL text on both backends).

mod decode;
mod insert;
mod options;
mod schema;
mod shard;

use std::fmt;

use async_trait::async_trait;
use sqlx::{
    Any, AnyPool, Executor,
    any::{AnyPoolOptions, AnyRow},
};

use self::insert::SqlCache;
pub use self::options::{Backend, SqlOptions};
use crate::{
    AssetRecord, Batch, BlockRecord, Cursor, Error, MAX_PAGE, Page, RowCounts, RunId, RunRecord,
    RunStatus, Store, TaskRecord, TxRecord,
    shard::{Joined, ShardBeat, ShardPlan, ShardSecond, ShardView},
};

/// The schema version this build of spam-store writes.
pub const SCHEMA_VERSION: i64 = schema::LATEST;

/// A [`Store`] on SQLite (feature `sqlite`, default) or PostgreSQL (feature `postgres`).
///
/// Opening applies the schema migrations and refuses a database written by a newer
/// spam-store ([`Error::SchemaTooNew`]). SQLite files run in WAL mode with
/// `synchronous = NORMAL`: a crash may lose the last commits but never corrupts the file.
/// Cheap to share behind an `Arc`; the pool inside is shared.
///
/// # Examples
///
/// ```
/// use spam_store::{RunId, RunRecord, SqlStore, Store};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store = SqlStore::open("sqlite::memory:").await?;
/// let run = RunId::new(1).unwrap();
/// store.write(&[RunRecord::new(run, 0, 31_337)].into_iter().collect()).await?;
/// assert_eq!(store.run(run).await?.unwrap().chain_id, 31_337);
/// # Ok::<_, spam_store::Error>(())
/// # }).unwrap();
/// ```
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    cache: SqlCache,
}

impl fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &self.backend)
            .field("connections", &self.pool.size())
            .finish_non_exhaustive()
    }
}

impl SqlStore {
    /// Opens the database at `url` with default [`SqlOptions`].
    ///
    /// # Errors
    /// As [`SqlStore::open_with`].
    pub async fn open(url: &str) -> Result<Self, Error> {
        Self::open_with(SqlOptions::new(url)).await
    }

    /// Opens the SQLite file at `path`, creating it if missing.
    ///
    /// # Errors
    /// As [`SqlStore::open_with`].
    pub async fn sqlite(path: impl AsRef<std::path::Path>) -> Result<Self, Error> {
        Self::open_with(SqlOptions::sqlite(path)).await
    }

    /// Opens a database and brings its schema up to date.
    ///
    /// # Errors
    /// [`Error::Config`] for a URL this build cannot open, [`Error::Database`] when connecting
    /// or migrating fails, [`Error::SchemaTooNew`] for a database of a newer spam-store.
    pub async fn open_with(options: SqlOptions) -> Result<Self, Error> {
        let backend = options.backend()?;
        sqlx::any::install_default_drivers();

        let memory = backend == Backend::Sqlite && options.is_memory();
        let busy_ms = options.busy_timeout.as_millis();
        let statement_ms = options.statement_timeout.as_millis();
        let max_pages = options.max_pages;
        let schema = options.schema.clone();
        let mut pool = AnyPoolOptions::new()
            .acquire_timeout(options.acquire_timeout)
            .after_connect(move |conn, _| {
                let setup: Vec<String> = match (backend, &schema) {
                    (Backend::Sqlite, _) => {
                        let mut s = vec![format!("PRAGMA busy_timeout = {busy_ms}")];
                        if !memory {
                            s.push("PRAGMA journal_mode = WAL".into());
                            s.push("PRAGMA synchronous = NORMAL".into());
                        }
                        if let Some(pages) = max_pages {
                            s.push(format!("PRAGMA max_page_count = {pages}"));
                        }
                        s
                    }
                    (Backend::Postgres, schema) => {
                        let mut s = vec![format!("SET statement_timeout = {statement_ms}")];
                        // The name was checked by `SqlOptions::backend`: letters, digits, `_`.
                        if let Some(schema) = schema {
                            s.push(format!("SET search_path TO \"{schema}\""));
                        }
                        s
                    }
                };
                Box::pin(async move {
                    for statement in setup {
                        conn.execute(sqlx::AssertSqlSafe(statement)).await?;
                    }
                    Ok(())
                })
            });
        pool = if memory {
            // An in-memory SQLite database lives and dies with its one connection.
            pool.max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            pool.max_connections(options.max_connections.get())
        };
        // One direct connection first: the pool retries a refused connect until its timeout
        // and then reports only that it timed out; this says why.
        let url = options.url.clone();
        let probe = tokio::time::timeout(options.acquire_timeout, async move {
            use sqlx::Connection as _;
            sqlx::AnyConnection::connect(&url).await?.close().await
        });
        if let Ok(Err(error)) = probe.await {
            return Err(Error::connect(&options.url, options.acquire_timeout)(error));
        }
        let pool = pool
            .connect(&options.url)
            .await
            .map_err(Error::connect(&options.url, options.acquire_timeout))?;

        let found = match schema::migrate(&pool, backend, options.schema()).await {
            Ok(found) => found,
            Err(e) => {
                // Leave no connection (or open transaction) behind a failed open.
                pool.close().await;
                return Err(e);
            }
        };
        tracing::debug!(
            target: "spam::store",
            ?backend,
            found,
            version = SCHEMA_VERSION,
            "store opened"
        );
        Ok(Self {
            pool,
            backend,
            cache: SqlCache::new(backend),
        })
    }

    /// The database behind it.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The schema version stored in the database.
    ///
    /// # Errors
    /// [`Error::Database`].
    pub async fn schema_version(&self) -> Result<i64, Error> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(Error::db("reading the schema version"))?;
        schema::current(&mut conn).await
    }

    /// The connection pool, for queries of your own (e.g. `DROP SCHEMA` in tests).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Closes every connection, waiting for those in use. SQLite checkpoints its WAL.
    ///
    /// # Cancel safety
    /// Safe: the pool is closed for new acquisitions as soon as this is called.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn fetch(
        &self,
        op: &'static str,
        query: sqlx::query::Query<'_, Any, sqlx::any::AnyArguments>,
    ) -> Result<Vec<AnyRow>, Error> {
        query.fetch_all(&self.pool).await.map_err(Error::db(op))
    }
}

fn page<T>(
    rows: &[AnyRow],
    limit: usize,
    decode: fn(&AnyRow) -> Result<T, Error>,
) -> Result<Page<T>, Error> {
    let items = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
    let next = match rows.last() {
        Some(last) if rows.len() >= limit => Some(Cursor(decode::seq(last)?)),
        _ => None,
    };
    Ok(Page { items, next })
}

fn limit(limit: usize) -> usize {
    limit.clamp(1, MAX_PAGE)
}

#[async_trait]
impl Store for SqlStore {
    async fn close(&self) {
        SqlStore::close(self).await;
    }

    async fn write(&self, batch: &Batch) -> Result<(), Error> {
        if batch.is_empty() {
            return Ok(());
        }
        let folded = batch.folded();
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(Error::db("starting a transaction"))?;
        insert::write_folded(&mut tx, &self.cache, &folded).await?;
        tx.commit().await.map_err(Error::db("committing a batch"))
    }

    async fn probe(&self) -> Result<(), Error> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(Error::db("starting a transaction"))?;
        // Run id -1 is never a real run (a `RunId` is not negative); the row is gone at the commit.
        for statement in [
            "INSERT INTO runs (id, started_at_us, config, chain_id, client_version, \
             tool_version, seed, workers, records_dropped) VALUES (-1, 0, '', 0, '', '', 0, 0, 0)",
            "DELETE FROM runs WHERE id = -1",
        ] {
            tx.execute(statement)
                .await
                .map_err(Error::db("writing a probe row"))?;
        }
        tx.commit()
            .await
            .map_err(Error::db("committing a probe row"))
    }

    async fn join_shard(&self, plan: &ShardPlan, shard: u32, host: &str) -> Result<Joined, Error> {
        shard::join(&self.pool, self.backend, plan, shard, host).await
    }

    async fn shard_heartbeat(
        &self,
        run: RunId,
        shard: u32,
        beat: &ShardBeat,
    ) -> Result<Option<ShardView>, Error> {
        shard::heartbeat(&self.pool, self.backend, run, shard, beat).await
    }

    async fn start_shards(&self, run: RunId, at_us: u64) -> Result<u64, Error> {
        shard::start(&self.pool, run, at_us).await
    }

    async fn write_shard_second(&self, run: RunId, second: &ShardSecond) -> Result<(), Error> {
        shard::write_second(&self.pool, run, second).await
    }

    async fn shards(&self, run: RunId) -> Result<Option<ShardView>, Error> {
        shard::view(&self.pool, self.backend, run).await
    }

    async fn shard_seconds(&self, run: RunId) -> Result<Vec<ShardSecond>, Error> {
        shard::seconds(&self.pool, run).await
    }

    async fn set_run_status(&self, id: RunId, status: RunStatus) -> Result<bool, Error> {
        let done = sqlx::query::<sqlx::Any>("UPDATE runs SET status = $1 WHERE id = $2")
            .bind(status.as_str())
            .bind(insert::int(id.get()))
            .execute(&self.pool)
            .await
            .map_err(Error::db("setting a run's status"))?;
        Ok(done.rows_affected() > 0)
    }

    async fn interrupt_running(&self) -> Result<Vec<RunId>, Error> {
        let op = "marking running runs interrupted";
        let mut tx = self.pool.begin().await.map_err(Error::db(op))?;
        let rows =
            sqlx::query::<sqlx::Any>("SELECT id FROM runs WHERE status = 'running' ORDER BY id")
                .fetch_all(&mut *tx)
                .await
                .map_err(Error::db(op))?;
        let ids = rows
            .iter()
            .map(|row| decode::run_id(row, "id"))
            .collect::<Result<Vec<_>, _>>()?;
        sqlx::query::<sqlx::Any>("UPDATE runs SET status = 'interrupted' WHERE status = 'running'")
            .execute(&mut *tx)
            .await
            .map_err(Error::db(op))?;
        tx.commit().await.map_err(Error::db(op))?;
        Ok(ids)
    }

    async fn runs(&self) -> Result<Vec<RunRecord>, Error> {
        let q = sqlx::query("SELECT * FROM runs ORDER BY started_at_us, id");
        let rows = self.fetch("reading runs", q).await?;
        rows.iter().map(decode::run).collect()
    }

    async fn run(&self, id: RunId) -> Result<Option<RunRecord>, Error> {
        let q = sqlx::query("SELECT * FROM runs WHERE id = $1").bind(insert::int(id.get()));
        let rows = self.fetch("reading a run", q).await?;
        rows.first().map(decode::run).transpose()
    }

    async fn task_page(
        &self,
        run: RunId,
        cursor: Cursor,
        limit: usize,
    ) -> Result<Page<TaskRecord>, Error> {
        let limit = self::limit(limit);
        let q = sqlx::query(
            "SELECT * FROM task_metrics WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(insert::int(run.get()))
        .bind(cursor.0)
        .bind(limit as i64);
        page(&self.fetch("reading tasks", q).await?, limit, decode::task)
    }

    async fn tx_page(
        &self,
        run: RunId,
        cursor: Cursor,
        limit: usize,
    ) -> Result<Page<TxRecord>, Error> {
        let limit = self::limit(limit);
        let q =
            sqlx::query("SELECT * FROM txs WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3")
                .bind(insert::int(run.get()))
                .bind(cursor.0)
                .bind(limit as i64);
        page(
            &self.fetch("reading transactions", q).await?,
            limit,
            decode::tx,
        )
    }

    async fn blocks(&self, run: RunId) -> Result<Vec<BlockRecord>, Error> {
        let q = sqlx::query("SELECT * FROM blocks WHERE run_id = $1 ORDER BY number")
            .bind(insert::int(run.get()));
        let rows = self.fetch("reading blocks", q).await?;
        rows.iter().map(decode::block).collect()
    }

    async fn row_counts(&self, run: RunId) -> Result<RowCounts, Error> {
        use sqlx::Row as _;
        let q = sqlx::query(
            "SELECT (SELECT count(*) FROM task_metrics WHERE run_id = $1), \
             (SELECT count(*) FROM txs WHERE run_id = $1), \
             (SELECT count(*) FROM blocks WHERE run_id = $1)",
        )
        .bind(insert::int(run.get()));
        let rows = self.fetch("counting a run's rows", q).await?;
        let count = |i: usize| -> Result<u64, Error> {
            let n: i64 = rows
                .first()
                .ok_or(Error::Corrupt {
                    column: "count",
                    reason: "no row".into(),
                })?
                .try_get(i)
                .map_err(Error::db("counting a run's rows"))?;
            Ok(n.max(0) as u64)
        };
        Ok(RowCounts {
            tasks: count(0)?,
            txs: count(1)?,
            blocks: count(2)?,
        })
    }

    async fn assets_of_chain(&self, chain_id: u64) -> Result<Vec<AssetRecord>, Error> {
        let q = sqlx::query("SELECT * FROM created_assets WHERE chain_id = $1 ORDER BY seq")
            .bind(insert::int(chain_id));
        let rows = self.fetch("reading assets", q).await?;
        rows.iter().map(decode::asset).collect()
    }
}
