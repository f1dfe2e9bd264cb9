//! Failure traffic: transactions that are included and revert.

use std::sync::Arc;

use alloy::sol_types::SolCall;
use async_trait::async_trait;
use spam_core::{Task, TaskContext, TaskError, TaskOutcome};

use crate::{
    contracts::Reverter,
    gas,
    setup::{Setup, SharedContract},
    tx::send_call,
};

/// The reason `Reverter.fail()` reverts with.
pub const REVERT_REASON: &str = "Reverter: this call always reverts";

/// `revert`: `Reverter.fail()`, which always reverts with [`REVERT_REASON`]. The transaction is
/// included, uses its nonce and pays for its gas; the task ends in
/// [`TaskError::Reverted`] (counted as `"reverted"`), never in an engine error.
///
/// The gas limit is fixed (gas estimation of a reverting call fails), so the node accepts it.
#[derive(Debug, Clone)]
pub struct Revert {
    setup: Arc<Setup>,
}

impl Revert {
    /// A task over `setup`'s shared reverter.
    pub fn new(setup: Arc<Setup>) -> Self {
        Self { setup }
    }
}

#[async_trait]
impl Task for Revert {
    fn name(&self) -> &str {
        "revert"
    }

    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutcome, TaskError> {
        // A failed deployment must not pass for the expected revert.
        let (reverter, _setup) = self.setup.contract(ctx, SharedContract::Reverter).await?;
        let input = Reverter::failCall {}.abi_encode().into();
        send_call(ctx, self.name(), reverter, input, gas::REVERT).await
    }
}
