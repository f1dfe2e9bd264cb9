//! The record types: what a run writes.
//!
//! Plain types only, so the crate needs neither alloy nor spam-core: hashes are `[u8; 32]`,
//! addresses `[u8; 20]`, every timestamp is Unix time in **microseconds** (`*_at_us`, `u64`) and
//! every duration is in microseconds (`*_us`).

use std::{
    fmt,
    sync::atomic::{AtomicU64, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

use serde::{Deserialize, Serialize};

/// A 32-byte hash (a transaction hash); `alloy_primitives::B256` converts with `.0` / `From`.
pub type Hash = [u8; 32];

/// A 20-byte account address; `alloy_primitives::Address` converts with `.0 .0` / `From`.
pub type Address = [u8; 20];

/// Unix time of `time` in microseconds; 0 before the epoch.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
///
/// assert_eq!(spam_store::unix_micros(UNIX_EPOCH + Duration::from_millis(1_500)), 1_500_000);
/// ```
pub fn unix_micros(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Unix time now, in microseconds.
pub fn now_micros() -> u64 {
    unix_micros(SystemTime::now())
}

/// Identifies a run. Chosen by the caller (or [`RunId::generate`]) so that several engine
/// instances can write one run.
///
/// Stored as a signed 64-bit integer: ids are below 2^63.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RunId(u64);

impl RunId {
    /// The largest id a database can hold (`i64::MAX`).
    pub const MAX: u64 = i64::MAX as u64;

    /// A run id of `id`, or `None` above [`RunId::MAX`].
    pub const fn new(id: u64) -> Option<Self> {
        if id <= Self::MAX {
            Some(Self(id))
        } else {
            None
        }
    }

    /// A fresh id from the clock, the process id and a counter: unique across the runs of
    /// one machine and very likely across machines.
    pub fn generate() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let mut x = now_micros()
            ^ (u64::from(std::process::id()) << 40)
            ^ COUNTER
                .fetch_add(1, Ordering::Relaxed)
                .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        // splitmix64 finalizer: nearby inputs give unrelated ids.
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^= x >> 31;
        Self(x & Self::MAX)
    }

    /// The id as a number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a run stands. The engines record `done` or `stopped` when a run ends; a long-lived
/// process that starts runs (`spammer serve`) records `running` at the start, `failed` for a
/// run that ended in an error, and, started again after a crash, `interrupted` for the runs
/// it had going ([`Store::interrupt_running`](crate::Store::interrupt_running)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum RunStatus {
    /// Sending, as far as the process that records it knows.
    Running,
    /// Ended as planned.
    Done,
    /// Ended in an error after it started.
    Failed,
    /// Stopped before its planned end (Ctrl-C, a stop request), then drained and reported.
    Stopped,
    /// Its process died while it was running; what it wrote stays readable.
    Interrupted,
}

impl RunStatus {
    /// Every status.
    pub const ALL: [Self; 5] = [
        Self::Running,
        Self::Done,
        Self::Failed,
        Self::Stopped,
        Self::Interrupted,
    ];

    /// The lowercase name stored and shown: `running`, `done`, …
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Stopped => "stopped",
            Self::Interrupted => "interrupted",
        }
    }

    /// The status named `name` ([`as_str`](Self::as_str)).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A run: what ran, when, against which node. Written at the start and again at the end (the
/// later write replaces the row).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunRecord {
    /// The run.
    pub id: RunId,
    /// Start, Unix µs.
    pub started_at_us: u64,
    /// End, Unix µs; `None` while running (or after a crash).
    pub ended_at_us: Option<u64>,
    /// The run's configuration, as given.
    pub config: serde_json::Value,
    /// Chain id the node reported.
    pub chain_id: u64,
    /// The node's `web3_clientVersion`.
    pub client_version: String,
    /// Version of the tool that ran (e.g. crate version and git hash).
    pub tool_version: String,
    /// Seed of the run's random choices.
    pub seed: u64,
    /// Number of workers.
    pub workers: u32,
    /// Records the writer could not store (see [`WriterStats::lost`](crate::WriterStats::lost)),
    /// set when the run ends.
    pub records_dropped: u64,
    /// Where it stands; `None` when nobody recorded one (runs written before statuses). A
    /// write with `None` keeps the status the row has.
    #[serde(default)]
    pub status: Option<RunStatus>,
}

impl RunRecord {
    /// A run `id` started at `started_at_us` on `chain_id`; everything else empty.
    pub fn new(id: RunId, started_at_us: u64, chain_id: u64) -> Self {
        Self {
            id,
            started_at_us,
            ended_at_us: None,
            config: serde_json::Value::Null,
            chain_id,
            client_version: String::new(),
            tool_version: String::new(),
            seed: 0,
            workers: 0,
            records_dropped: 0,
            status: None,
        }
    }
}

/// One finished task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskRecord {
    /// The run.
    pub run_id: RunId,
    /// Worker that ran it.
    pub worker: u32,
    /// Wallet it used.
    pub wallet: Address,
    /// Task name.
    pub task: String,
    /// `None` when it succeeded, else the error-class label the report counts
    /// (`"timeout"`, `"nonce too low"`, …).
    pub error: Option<String>,
    /// Free text for debugging.
    pub message: Option<String>,
    /// Start, Unix µs.
    pub started_at_us: u64,
    /// Start to finish, µs.
    pub duration_us: u64,
    /// Hash of the (last) transaction it sent, if any.
    pub tx_hash: Option<Hash>,
}

impl TaskRecord {
    /// A succeeded task `task` of `run_id` by `worker` with `wallet`, started at
    /// `started_at_us`, lasting `duration_us`.
    pub fn new(
        run_id: RunId,
        worker: u32,
        wallet: Address,
        task: impl Into<String>,
        started_at_us: u64,
        duration_us: u64,
    ) -> Self {
        Self {
            run_id,
            worker,
            wallet,
            task: task.into(),
            error: None,
            message: None,
            started_at_us,
            duration_us,
            tx_hash: None,
        }
    }

    /// Marks it failed with the error class `error`.
    pub fn with_error(mut self, error: impl Into<String>) -> Self {
        self.error = Some(error.into());
        self
    }

    /// Whether it succeeded.
    pub const fn succeeded(&self) -> bool {
        self.error.is_none()
    }

    /// End, Unix µs.
    pub const fn finished_at_us(&self) -> u64 {
        self.started_at_us.saturating_add(self.duration_us)
    }
}

/// Where a transaction ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TxStatus {
    /// Not (yet) seen in a block.
    Pending,
    /// Included and succeeded.
    Succeeded,
    /// Included and reverted.
    Reverted,
    /// Never included: refused, dropped or timed out (see [`TxRecord::error`]).
    Failed,
}

impl TxStatus {
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Reverted => "reverted",
            Self::Failed => "failed",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "succeeded" => Self::Succeeded,
            "reverted" => Self::Reverted,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

/// The life of one transaction, keyed by `(run_id, hash)`.
///
/// Writing the same key again **merges**: every `Some` time, block and gas of the newer record
/// fills or replaces the stored one, `None` keeps what is stored; the other fields take the
/// newer value. So an engine may write a transaction when it is sent and again when it is
/// included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TxRecord {
    /// The run.
    pub run_id: RunId,
    /// Transaction hash.
    pub hash: Hash,
    /// Sender.
    pub sender: Address,
    /// Nonce.
    pub nonce: u64,
    /// Task that sent it.
    pub task: String,
    /// When the task decided to send it, Unix µs.
    pub intended_at_us: Option<u64>,
    /// When it was signed.
    pub signed_at_us: Option<u64>,
    /// When it was sent to the node.
    pub sent_at_us: Option<u64>,
    /// When the node answered the send.
    pub acked_at_us: Option<u64>,
    /// When it was seen in a block.
    pub included_at_us: Option<u64>,
    /// The block it was included in.
    pub block_number: Option<u64>,
    /// Gas it used.
    pub gas_used: Option<u64>,
    /// Where it ended up.
    pub status: TxStatus,
    /// Error class when it failed (or reverted), e.g. `"nonce too low"`.
    pub error: Option<String>,
}

impl TxRecord {
    /// A pending transaction `hash` from `sender` with `nonce`, sent by `task`; no times yet.
    pub fn new(
        run_id: RunId,
        hash: Hash,
        sender: Address,
        nonce: u64,
        task: impl Into<String>,
    ) -> Self {
        Self {
            run_id,
            hash,
            sender,
            nonce,
            task: task.into(),
            intended_at_us: None,
            signed_at_us: None,
            sent_at_us: None,
            acked_at_us: None,
            included_at_us: None,
            block_number: None,
            gas_used: None,
            status: TxStatus::Pending,
            error: None,
        }
    }

    /// Applies a newer record of the same transaction (see the type's docs).
    pub fn merge(&mut self, newer: Self) {
        fn fill(old: &mut Option<u64>, new: Option<u64>) {
            if new.is_some() {
                *old = new;
            }
        }
        fill(&mut self.intended_at_us, newer.intended_at_us);
        fill(&mut self.signed_at_us, newer.signed_at_us);
        fill(&mut self.sent_at_us, newer.sent_at_us);
        fill(&mut self.acked_at_us, newer.acked_at_us);
        fill(&mut self.included_at_us, newer.included_at_us);
        fill(&mut self.block_number, newer.block_number);
        fill(&mut self.gas_used, newer.gas_used);
        self.sender = newer.sender;
        self.nonce = newer.nonce;
        self.task = newer.task;
        self.status = newer.status;
        self.error = newer.error;
    }
}

/// A block seen during a run, keyed by `(run_id, number)`; a later write replaces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BlockRecord {
    /// The run.
    pub run_id: RunId,
    /// Block number.
    pub number: u64,
    /// The header's timestamp, as Unix µs (header seconds × 1 000 000).
    pub timestamp_us: u64,
    /// Transactions in the block (all senders, not only ours).
    pub tx_count: u64,
    /// Gas used by the block.
    pub gas_used: u64,
    /// The block's gas limit.
    pub gas_limit: u64,
    /// Base fee per gas, wei; `None` before London.
    pub base_fee: Option<u64>,
}

impl BlockRecord {
    /// Block `number` of `run_id` with the header's `timestamp_us`; counts at 0.
    pub fn new(run_id: RunId, number: u64, timestamp_us: u64) -> Self {
        Self {
            run_id,
            number,
            timestamp_us,
            tx_count: 0,
            gas_used: 0,
            gas_limit: 0,
            base_fee: None,
        }
    }
}

/// A contract or token a run created, keyed by `(chain_id, address)` so a later run on the same
/// chain finds and reuses it ([`Store::assets_of_chain`](crate::Store::assets_of_chain)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AssetRecord {
    /// The run that created it.
    pub run_id: RunId,
    /// Chain it lives on.
    pub chain_id: u64,
    /// The wallet that created it.
    pub creator: Address,
    /// Where it lives.
    pub address: Address,
    /// What it is, e.g. `"erc20"`, `"counter"`.
    pub kind: String,
    /// Token name, if it has one.
    pub name: Option<String>,
    /// Token symbol, if it has one.
    pub symbol: Option<String>,
}

impl AssetRecord {
    /// An asset of `kind` at `address` on `chain_id`, created by `creator` in `run_id`.
    pub fn new(
        run_id: RunId,
        chain_id: u64,
        creator: Address,
        address: Address,
        kind: impl Into<String>,
    ) -> Self {
        Self {
            run_id,
            chain_id,
            creator,
            address,
            kind: kind.into(),
            name: None,
            symbol: None,
        }
    }
}

/// Any record, as sent through the [`Writer`](crate::Writer).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Record {
    /// A run.
    Run(RunRecord),
    /// A finished task.
    Task(TaskRecord),
    /// A transaction's life.
    Tx(TxRecord),
    /// A block.
    Block(BlockRecord),
    /// A created asset.
    Asset(AssetRecord),
}

macro_rules! from_record {
    ($($variant:ident($ty:ty)),*) => {$(
        impl From<$ty> for Record {
            fn from(record: $ty) -> Self {
                Self::$variant(record)
            }
        }
    )*};
}
from_record!(
    Run(RunRecord),
    Task(TaskRecord),
    Tx(TxRecord),
    Block(BlockRecord),
    Asset(AssetRecord)
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_fit_the_database() {
        assert!(RunId::new(RunId::MAX).is_some());
        assert!(RunId::new(RunId::MAX + 1).is_none());
        let a = RunId::generate();
        let b = RunId::generate();
        assert_ne!(a, b);
        assert!(a.get() <= RunId::MAX && b.get() <= RunId::MAX);
    }

    #[test]
    fn tx_merge_fills_and_keeps() {
        let mut stored = TxRecord::new(RunId(1), [1; 32], [2; 20], 7, "a");
        stored.sent_at_us = Some(10);
        stored.acked_at_us = Some(12);
        let mut newer = TxRecord::new(RunId(1), [1; 32], [2; 20], 7, "a");
        newer.included_at_us = Some(50);
        newer.gas_used = Some(21_000);
        newer.status = TxStatus::Succeeded;
        stored.merge(newer);
        assert_eq!(stored.sent_at_us, Some(10));
        assert_eq!(stored.acked_at_us, Some(12));
        assert_eq!(stored.included_at_us, Some(50));
        assert_eq!(stored.gas_used, Some(21_000));
        assert_eq!(stored.status, TxStatus::Succeeded);
    }

    #[test]
    fn tx_status_names_round_trip() {
        for s in [
            TxStatus::Pending,
            TxStatus::Succeeded,
            TxStatus::Reverted,
            TxStatus::Failed,
        ] {
            assert_eq!(TxStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(TxStatus::parse("nope"), None);
    }

    #[test]
    fn micros() {
        assert_eq!(unix_micros(UNIX_EPOCH), 0);
        assert!(now_micros() > 1_600_000_000_000_000);
        let task = TaskRecord::new(RunId(1), 0, [0; 20], "t", u64::MAX, 5);
        assert_eq!(task.finished_at_us(), u64::MAX);
    }
}
