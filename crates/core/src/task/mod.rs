//! Tasks: what a worker runs with a leased wallet.
//!
//! [`Task`] is the general trait (multi-step, may wait for receipts); [`TxBuilder`] is the
//! cheap, synchronous shape of a one-transaction workload, turned into a task by [`TxTask`].
//! [`TaskRegistry`] names tasks, [`TaskMix`] picks them by weight, [`Sequence`] runs a list
//! in order on one wallet.

mod builder;
mod context;
mod error;
pub(crate) mod head;
pub(crate) mod inflight;
mod registry;
mod send;
mod sequence;

use std::fmt;

use alloy::primitives::TxHash;
use async_trait::async_trait;

pub(crate) use self::context::NonceCounters;
pub use self::{
    builder::{BuildRequest, TxBuilder, TxTask, sample_cost},
    context::{CreatedAsset, RunContext, TaskContext, TxTiming},
    error::TaskError,
    registry::{MixError, TaskMix, TaskRegistry},
    sequence::Sequence,
};

/// A unit of work a worker runs with a leased wallet.
///
/// Object safe (`Arc<dyn Task>`), so a run can mix workloads of different types.
#[async_trait]
pub trait Task: fmt::Debug + Send + Sync {
    /// A stable name, used in reports and to pick the task by name.
    fn name(&self) -> &str;

    /// How long one run of this task may take, when it differs from the engine's
    /// [`task_timeout`](crate::SpammerBuilder::task_timeout) (default: `None`, the engine's).
    /// A task known to be quick, or one that waits on purpose, sets its own bound here
    /// instead of shortening every task's.
    fn timeout(&self) -> Option<std::time::Duration> {
        None
    }

    /// The most gas one run of this task spends, and the value it moves (wei), for budgeting
    /// what a sender needs before a run ([`Budget`](crate::Budget)); `None` when unknown (a
    /// budget then assumes 1 000 000 gas).
    fn cost_hint(&self) -> Option<(u64, alloy::primitives::U256)> {
        None
    }

    /// Runs the task once.
    ///
    /// # Errors
    /// A [`TaskError`]; its [`label`](TaskError::label) is what the report counts.
    ///
    /// # Cancel safety
    /// The engine drops the future on timeout or hard stop. Implementations must leave nonces
    /// consistent when dropped: an unresolved `Reservation` rolls back on drop, which is right
    /// only before the transaction may have reached the node.
    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutcome, TaskError>;
}

/// What a successful task did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskOutcome {
    /// Hashes of the transactions it sent.
    pub tx_hashes: Vec<TxHash>,
    /// Contracts or tokens it created.
    pub assets: Vec<CreatedAsset>,
    /// Gas its transactions used.
    pub gas_used: u64,
    /// A short note for debugging output.
    pub message: Option<String>,
}

impl TaskOutcome {
    /// An outcome of one included transaction.
    pub fn tx(hash: TxHash, gas_used: u64) -> Self {
        Self {
            tx_hashes: vec![hash],
            gas_used,
            ..Self::default()
        }
    }

    /// Adds a note.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// Appends another outcome (sequences).
    pub fn absorb(&mut self, other: Self) {
        self.tx_hashes.extend(other.tx_hashes);
        self.assets.extend(other.assets);
        self.gas_used += other.gas_used;
        if other.message.is_some() {
            self.message = other.message;
        }
    }
}
