//! The shard coordination tables on SQL: registration, heartbeats and the common start, all
//! stamped with the database's clock so shards on different machines share one clock.

use sqlx::{Any, AnyPool, Row, any::AnyRow};

use super::{Backend, insert::int};
use crate::{
    Error, RunId,
    shard::{Joined, ShardBeat, ShardPlan, ShardRecord, ShardSecond, ShardState, ShardView},
};

/// The database clock, Unix µs, as an SQL expression.
fn now(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)",
        Backend::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)",
    }
}

fn uint(row: &AnyRow, column: &'static str) -> Result<u64, Error> {
    let v: i64 = row.try_get(column).map_err(Error::db("reading a shard"))?;
    Ok(u64::try_from(v).unwrap_or(0))
}

fn text(row: &AnyRow, column: &'static str) -> Result<String, Error> {
    row.try_get(column).map_err(Error::db("reading a shard"))
}

fn json(row: &AnyRow, column: &'static str) -> Result<serde_json::Value, Error> {
    serde_json::from_str(&text(row, column)?).map_err(|e| Error::Corrupt {
        column,
        reason: e.to_string(),
    })
}

pub(super) async fn join(
    pool: &AnyPool,
    backend: Backend,
    plan: &ShardPlan,
    shard: u32,
    host: &str,
) -> Result<Joined, Error> {
    let op = "registering a shard";
    let mut tx = pool.begin().await.map_err(Error::db(op))?;
    sqlx::query::<Any>(sqlx::AssertSqlSafe(format!(
        "INSERT INTO shard_plans (run_id, name, shards, config, config_hash, created_at_us) \
         VALUES ($1, $2, $3, $4, $5, {}) ON CONFLICT (run_id) DO NOTHING",
        now(backend)
    )))
    .bind(int(plan.run.get()))
    .bind(plan.name.clone())
    .bind(i64::from(plan.shards))
    .bind(plan.config.to_string())
    .bind(plan.config_hash.clone())
    .execute(&mut *tx)
    .await
    .map_err(Error::db(op))?;
    let stored = read_plan(&mut tx, plan.run).await?.expect("just written");
    if stored.0.shards != plan.shards || stored.0.config_hash != plan.config_hash {
        tx.rollback().await.map_err(Error::db(op))?;
        return Ok(Joined::Mismatch(stored.0));
    }
    sqlx::query::<Any>(sqlx::AssertSqlSafe(format!(
        "INSERT INTO shards (run_id, shard, state, host, joined_at_us, heartbeat_at_us, figures) \
         VALUES ($1, $2, 'waiting', $3, {now}, {now}, 'null') \
         ON CONFLICT (run_id, shard) DO UPDATE SET state = 'waiting', host = $3, \
         joined_at_us = {now}, heartbeat_at_us = {now}, ended_at_us = NULL, figures = 'null'",
        now = now(backend)
    )))
    .bind(int(plan.run.get()))
    .bind(i64::from(shard))
    .bind(host.to_owned())
    .execute(&mut *tx)
    .await
    .map_err(Error::db(op))?;
    let view = read_view(&mut tx, backend, plan.run).await?;
    tx.commit().await.map_err(Error::db(op))?;
    Ok(Joined::Joined(view.expect("just written")))
}

pub(super) async fn heartbeat(
    pool: &AnyPool,
    backend: Backend,
    run: RunId,
    shard: u32,
    beat: &ShardBeat,
) -> Result<Option<ShardView>, Error> {
    let op = "writing a shard heartbeat";
    let mut tx = pool.begin().await.map_err(Error::db(op))?;
    let ended = if beat.state.is_final() {
        now(backend)
    } else {
        "NULL"
    };
    sqlx::query::<Any>(sqlx::AssertSqlSafe(format!(
        "UPDATE shards SET state = $1, heartbeat_at_us = {}, ended_at_us = {ended}, \
         figures = COALESCE($2, figures) WHERE run_id = $3 AND shard = $4",
        now(backend)
    )))
    .bind(beat.state.as_str())
    .bind(beat.figures.as_ref().map(ToString::to_string))
    .bind(int(run.get()))
    .bind(i64::from(shard))
    .execute(&mut *tx)
    .await
    .map_err(Error::db(op))?;
    let view = read_view(&mut tx, backend, run).await?;
    tx.commit().await.map_err(Error::db(op))?;
    Ok(view)
}

pub(super) async fn start(pool: &AnyPool, run: RunId, at_us: u64) -> Result<u64, Error> {
    let op = "setting the shards' start";
    let mut tx = pool.begin().await.map_err(Error::db(op))?;
    sqlx::query::<Any>(
        "UPDATE shard_plans SET start_at_us = $1 WHERE run_id = $2 AND start_at_us IS NULL",
    )
    .bind(int(at_us))
    .bind(int(run.get()))
    .execute(&mut *tx)
    .await
    .map_err(Error::db(op))?;
    let plan = read_plan(&mut tx, run).await?;
    tx.commit().await.map_err(Error::db(op))?;
    plan.and_then(|(_, start)| start)
        .ok_or_else(|| Error::Config {
            reason: format!("run {run} is not a sharded run"),
        })
}

pub(super) async fn write_second(
    pool: &AnyPool,
    run: RunId,
    second: &ShardSecond,
) -> Result<(), Error> {
    sqlx::query::<Any>(
        "INSERT INTO shard_seconds (run_id, shard, second, histograms) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (run_id, shard, second) DO UPDATE SET histograms = $4",
    )
    .bind(int(run.get()))
    .bind(i64::from(second.shard))
    .bind(int(second.second))
    .bind(second.histograms.clone())
    .execute(pool)
    .await
    .map(drop)
    .map_err(Error::db("writing a shard's second"))
}

pub(super) async fn view(
    pool: &AnyPool,
    backend: Backend,
    run: RunId,
) -> Result<Option<ShardView>, Error> {
    let mut conn = pool.acquire().await.map_err(Error::db("reading shards"))?;
    read_view(&mut conn, backend, run).await
}

pub(super) async fn seconds(pool: &AnyPool, run: RunId) -> Result<Vec<ShardSecond>, Error> {
    let rows = sqlx::query::<Any>(
        "SELECT shard, second, histograms FROM shard_seconds WHERE run_id = $1 \
         ORDER BY shard, second",
    )
    .bind(int(run.get()))
    .fetch_all(pool)
    .await
    .map_err(Error::db("reading shards' seconds"))?;
    rows.iter()
        .map(|row| {
            Ok(ShardSecond::new(
                u32::try_from(uint(row, "shard")?).unwrap_or(u32::MAX),
                uint(row, "second")?,
                row.try_get("histograms")
                    .map_err(Error::db("reading shards' seconds"))?,
            ))
        })
        .collect()
}

async fn read_plan(
    conn: &mut sqlx::AnyConnection,
    run: RunId,
) -> Result<Option<(ShardPlan, Option<u64>)>, Error> {
    let row = sqlx::query::<Any>("SELECT * FROM shard_plans WHERE run_id = $1")
        .bind(int(run.get()))
        .fetch_optional(&mut *conn)
        .await
        .map_err(Error::db("reading a shard plan"))?;
    let Some(row) = row else { return Ok(None) };
    let start: Option<i64> = row
        .try_get("start_at_us")
        .map_err(Error::db("reading a shard plan"))?;
    let plan = ShardPlan {
        run,
        name: text(&row, "name")?,
        shards: u32::try_from(uint(&row, "shards")?).unwrap_or(u32::MAX),
        config: json(&row, "config")?,
        config_hash: text(&row, "config_hash")?,
    };
    Ok(Some((plan, start.and_then(|s| u64::try_from(s).ok()))))
}

async fn read_view(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    run: RunId,
) -> Result<Option<ShardView>, Error> {
    let Some((plan, start_at_us)) = read_plan(conn, run).await? else {
        return Ok(None);
    };
    let op = "reading shards";
    let now_row = sqlx::query::<Any>(sqlx::AssertSqlSafe(format!("SELECT {}", now(backend))))
        .fetch_one(&mut *conn)
        .await
        .map_err(Error::db(op))?;
    let now_us: i64 = now_row.try_get(0).map_err(Error::db(op))?;
    let rows = sqlx::query::<Any>("SELECT * FROM shards WHERE run_id = $1 ORDER BY shard")
        .bind(int(run.get()))
        .fetch_all(&mut *conn)
        .await
        .map_err(Error::db(op))?;
    let shards = rows
        .iter()
        .map(|row| {
            let ended: Option<i64> = row.try_get("ended_at_us").map_err(Error::db(op))?;
            Ok(ShardRecord {
                run,
                shard: u32::try_from(uint(row, "shard")?).unwrap_or(u32::MAX),
                state: text(row, "state")?
                    .parse::<ShardState>()
                    .map_err(|reason| Error::Corrupt {
                        column: "state",
                        reason,
                    })?,
                host: text(row, "host")?,
                joined_at_us: uint(row, "joined_at_us")?,
                heartbeat_at_us: uint(row, "heartbeat_at_us")?,
                ended_at_us: ended.and_then(|e| u64::try_from(e).ok()),
                figures: json(row, "figures")?,
            })
        })
        .collect::<Result<_, Error>>()?;
    Ok(Some(ShardView {
        now_us: u64::try_from(now_us).unwrap_or(0),
        plan,
        start_at_us,
        shards,
    }))
}
