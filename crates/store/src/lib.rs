#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod batch;
mod error;
mod memory;
mod record;
mod shard;
mod sql;
mod store;
mod summary;
mod writer;

pub use crate::{
    batch::Batch,
    error::Error,
    memory::MemoryStore,
    record::{
        Address, AssetRecord, BlockRecord, Hash, Record, RunId, RunRecord, RunStatus, TaskRecord,
        TxRecord, TxStatus, now_micros, unix_micros,
    },
    shard::{
        Joined, LOST_AFTER, RunNameError, ShardBeat, ShardPlan, ShardRecord, ShardSecond,
        ShardState, ShardView,
    },
    sql::{Backend, SCHEMA_VERSION, SqlOptions, SqlStore},
    store::{Cursor, MAX_PAGE, Page, RowCounts, Store},
    summary::{LatencyStats, MAX_SECONDS, RunSummary, SecondCounts, TaskSummary},
    writer::{Writer, WriterConfig, WriterHandle, WriterStats},
};
