//! Batches: many calls or payments in one transaction.

use std::{num::NonZeroU32, sync::Arc};

use alloy::{
    primitives::{Address, U256},
    sol_types::SolCall,
};
use async_trait::async_trait;
use spam_core::{Task, TaskContext, TaskError, TaskOutcome};

use crate::{
    contracts::{Counter, Disperse, Multicall},
    gas,
    setup::{Setup, SharedContract},
    tx::{fresh_addresses, send_call, send_value},
};

/// What a [`Batch`] task does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchOp {
    /// `Multicall.aggregate` of `n` `Counter.increment()` calls.
    Multicall,
    /// `Disperse.disperseEther`: 1 gwei to each of `n` fresh addresses.
    DisperseEth,
    /// `Disperse.disperseToken`: 1 unit of the shared token to each of `n` fresh addresses.
    DisperseErc20,
}

/// One transaction that does `n` things.
#[derive(Debug, Clone)]
pub struct Batch {
    op: BatchOp,
    n: NonZeroU32,
    setup: Arc<Setup>,
}

impl Batch {
    /// `op` over `n` calls or recipients per transaction.
    pub fn new(op: BatchOp, n: NonZeroU32, setup: Arc<Setup>) -> Self {
        Self { op, n, setup }
    }

    /// `op` with 10 calls or recipients.
    pub fn ten(op: BatchOp, setup: Arc<Setup>) -> Self {
        Self::new(op, NonZeroU32::new(10).expect("10 > 0"), setup)
    }
}

/// What each `disperse_eth` recipient gets: 1 gwei.
pub(crate) const DISPERSE_WEI: u64 = 1_000_000_000;

#[async_trait]
impl Task for Batch {
    fn name(&self) -> &str {
        match self.op {
            BatchOp::Multicall => "multicall",
            BatchOp::DisperseEth => "disperse_eth",
            BatchOp::DisperseErc20 => "disperse_erc20",
        }
    }

    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutcome, TaskError> {
        let n = self.n.get() as usize;
        let mut outcome = TaskOutcome::default();
        let sent = match self.op {
            BatchOp::Multicall => {
                let (multicall, done) = self.setup.contract(ctx, SharedContract::Multicall).await?;
                outcome.absorb(done);
                let (counter, done) = self.setup.contract(ctx, SharedContract::Counter).await?;
                outcome.absorb(done);
                let call = Multicall::Call {
                    target: counter,
                    data: Counter::incrementCall {}.abi_encode().into(),
                };
                let input = Multicall::aggregateCall {
                    calls: vec![call; n],
                };
                let gas_limit = gas::multicall(n as u64);
                send_call(
                    ctx,
                    self.name(),
                    multicall,
                    input.abi_encode().into(),
                    gas_limit,
                )
                .await?
            }
            BatchOp::DisperseEth => {
                let (disperse, done) = self.setup.contract(ctx, SharedContract::Disperse).await?;
                outcome.absorb(done);
                let (recipients, values) = recipients(ctx, n, U256::from(DISPERSE_WEI));
                let total = U256::from(DISPERSE_WEI) * U256::from(n);
                let input = Disperse::disperseEtherCall { recipients, values };
                let gas_limit = gas::disperse_eth(n as u64);
                send_value(
                    ctx,
                    self.name(),
                    disperse,
                    total,
                    input.abi_encode().into(),
                    gas_limit,
                )
                .await?
            }
            BatchOp::DisperseErc20 => {
                let (disperse, done) = self.setup.contract(ctx, SharedContract::Disperse).await?;
                outcome.absorb(done);
                let (token, done) = self.setup.contract(ctx, SharedContract::Token).await?;
                outcome.absorb(done);
                outcome.absorb(self.setup.ensure_balance(ctx, token).await?);
                outcome.absorb(self.setup.ensure_allowance(ctx, token, disperse).await?);
                let (recipients, values) = recipients(ctx, n, U256::from(1));
                let input = Disperse::disperseTokenCall {
                    token,
                    recipients,
                    values,
                };
                let gas_limit = gas::disperse_erc20(n as u64);
                send_call(
                    ctx,
                    self.name(),
                    disperse,
                    input.abi_encode().into(),
                    gas_limit,
                )
                .await?
            }
        };
        outcome.absorb(sent);
        Ok(outcome)
    }
}

fn recipients(ctx: &TaskContext, n: usize, each: U256) -> (Vec<Address>, Vec<U256>) {
    (fresh_addresses(ctx, n), vec![each; n])
}
