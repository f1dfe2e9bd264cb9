//! Rows back into records; a value that cannot be a record's is [`Error::Corrupt`].

use sqlx::{Row, any::AnyRow};

use crate::{
    AssetRecord, BlockRecord, Error, RunId, RunRecord, RunStatus, TaskRecord, TxRecord, TxStatus,
};

fn get<'r, T>(row: &'r AnyRow, column: &'static str) -> Result<T, Error>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(column).map_err(Error::db("reading a row"))
}

fn corrupt(column: &'static str, reason: impl Into<String>) -> Error {
    Error::Corrupt {
        column,
        reason: reason.into(),
    }
}

fn uint(row: &AnyRow, column: &'static str) -> Result<u64, Error> {
    let v: i64 = get(row, column)?;
    u64::try_from(v).map_err(|_| corrupt(column, format!("negative value {v}")))
}

fn opt_uint(row: &AnyRow, column: &'static str) -> Result<Option<u64>, Error> {
    let v: Option<i64> = get(row, column)?;
    v.map(|v| u64::try_from(v).map_err(|_| corrupt(column, format!("negative value {v}"))))
        .transpose()
}

fn small(row: &AnyRow, column: &'static str) -> Result<u32, Error> {
    let v: i64 = get(row, column)?;
    u32::try_from(v).map_err(|_| corrupt(column, format!("{v} is out of range")))
}

fn bytes<const N: usize>(row: &AnyRow, column: &'static str) -> Result<[u8; N], Error> {
    let v: Vec<u8> = get(row, column)?;
    to_array(column, v)
}

fn opt_bytes<const N: usize>(row: &AnyRow, column: &'static str) -> Result<Option<[u8; N]>, Error> {
    let v: Option<Vec<u8>> = get(row, column)?;
    v.map(|v| to_array(column, v)).transpose()
}

fn to_array<const N: usize>(column: &'static str, v: Vec<u8>) -> Result<[u8; N], Error> {
    let len = v.len();
    v.try_into()
        .map_err(|_| corrupt(column, format!("{len} bytes, expected {N}")))
}

pub(crate) fn run_id(row: &AnyRow, column: &'static str) -> Result<RunId, Error> {
    let v = uint(row, column)?;
    RunId::new(v).ok_or_else(|| corrupt(column, format!("run id {v} out of range")))
}

pub(crate) fn seq(row: &AnyRow) -> Result<i64, Error> {
    get(row, "seq")
}

pub(crate) fn run(row: &AnyRow) -> Result<RunRecord, Error> {
    let config: String = get(row, "config")?;
    Ok(RunRecord {
        id: run_id(row, "id")?,
        started_at_us: uint(row, "started_at_us")?,
        ended_at_us: opt_uint(row, "ended_at_us")?,
        config: serde_json::from_str(&config).map_err(|e| corrupt("config", e.to_string()))?,
        chain_id: uint(row, "chain_id")?,
        client_version: get(row, "client_version")?,
        tool_version: get(row, "tool_version")?,
        seed: uint(row, "seed")?,
        workers: small(row, "workers")?,
        records_dropped: uint(row, "records_dropped")?,
        status: status(row)?,
    })
}

fn status(row: &AnyRow) -> Result<Option<RunStatus>, Error> {
    let name: Option<String> = get(row, "status")?;
    name.map(|name| {
        RunStatus::from_name(&name)
            .ok_or_else(|| corrupt("status", format!("unknown status {name:?}")))
    })
    .transpose()
}

pub(crate) fn task(row: &AnyRow) -> Result<TaskRecord, Error> {
    Ok(TaskRecord {
        run_id: run_id(row, "run_id")?,
        worker: small(row, "worker")?,
        wallet: bytes(row, "wallet")?,
        task: get(row, "task")?,
        error: get(row, "error")?,
        message: get(row, "message")?,
        started_at_us: uint(row, "started_at_us")?,
        duration_us: uint(row, "duration_us")?,
        tx_hash: opt_bytes(row, "tx_hash")?,
    })
}

pub(crate) fn tx(row: &AnyRow) -> Result<TxRecord, Error> {
    let status: String = get(row, "status")?;
    Ok(TxRecord {
        run_id: run_id(row, "run_id")?,
        hash: bytes(row, "hash")?,
        sender: bytes(row, "sender")?,
        nonce: uint(row, "nonce")?,
        task: get(row, "task")?,
        intended_at_us: opt_uint(row, "intended_at_us")?,
        signed_at_us: opt_uint(row, "signed_at_us")?,
        sent_at_us: opt_uint(row, "sent_at_us")?,
        acked_at_us: opt_uint(row, "acked_at_us")?,
        included_at_us: opt_uint(row, "included_at_us")?,
        block_number: opt_uint(row, "block_number")?,
        gas_used: opt_uint(row, "gas_used")?,
        status: TxStatus::parse(&status)
            .ok_or_else(|| corrupt("status", format!("unknown status `{status}`")))?,
        error: get(row, "error")?,
    })
}

pub(crate) fn block(row: &AnyRow) -> Result<BlockRecord, Error> {
    Ok(BlockRecord {
        run_id: run_id(row, "run_id")?,
        number: uint(row, "number")?,
        timestamp_us: uint(row, "timestamp_us")?,
        tx_count: uint(row, "tx_count")?,
        gas_used: uint(row, "gas_used")?,
        gas_limit: uint(row, "gas_limit")?,
        base_fee: opt_uint(row, "base_fee")?,
    })
}

pub(crate) fn asset(row: &AnyRow) -> Result<AssetRecord, Error> {
    Ok(AssetRecord {
        run_id: run_id(row, "run_id")?,
        chain_id: uint(row, "chain_id")?,
        creator: bytes(row, "creator")?,
        address: bytes(row, "address")?,
        kind: get(row, "kind")?,
        name: get(row, "name")?,
        symbol: get(row, "symbol")?,
    })
}
