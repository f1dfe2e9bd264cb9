//! DEX-like traffic on the run's constant-product pool.

use std::sync::Arc;

use alloy::{primitives::U256, sol_types::SolCall};
use async_trait::async_trait;
use rand::Rng;
use spam_core::{Task, TaskContext, TaskError, TaskOutcome};

use crate::{
    contracts::Pool,
    gas,
    setup::{Setup, SharedContract},
    tx::send_call,
};

/// What a [`Dex`] task does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DexOp {
    /// `addLiquidity(1e18, 1e18)`: two token pulls, reserve and share writes.
    AddLiquidity,
    /// `swap` of a random 0.001–0.1 token in a random direction: the x·y=k update, two token
    /// moves, two reserve writes.
    Swap,
}

/// Trades on the run's pool (two fresh tokens, seeded with 10^24 units each). Each wallet is
/// minted both tokens and approves the pool once, on its first trade.
#[derive(Debug, Clone)]
pub struct Dex {
    op: DexOp,
    setup: Arc<Setup>,
}

impl Dex {
    /// A task doing `op` on `setup`'s shared pool.
    pub fn new(op: DexOp, setup: Arc<Setup>) -> Self {
        Self { op, setup }
    }
}

#[async_trait]
impl Task for Dex {
    fn name(&self) -> &str {
        match self.op {
            DexOp::AddLiquidity => "dex_add_liquidity",
            DexOp::Swap => "dex_swap",
        }
    }

    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutcome, TaskError> {
        let (pool, mut outcome) = self.setup.contract(ctx, SharedContract::Pool).await?;
        outcome.absorb(self.setup.ensure_trader(ctx, pool).await?);
        let one = U256::from(10).pow(U256::from(18));
        let (input, gas_limit) = match self.op {
            DexOp::AddLiquidity => {
                let call = Pool::addLiquidityCall {
                    amount0: one,
                    amount1: one,
                };
                (call.abi_encode(), gas::POOL_ADD)
            }
            DexOp::Swap => {
                let (zero_for_one, milli) = {
                    let mut rng = ctx.rng();
                    (rng.random::<bool>(), rng.random_range(1..=100u64))
                };
                let call = Pool::swapCall {
                    zeroForOne: zero_for_one,
                    amountIn: one / U256::from(1000) * U256::from(milli),
                    minOut: U256::from(1),
                };
                (call.abi_encode(), gas::POOL_SWAP)
            }
        };
        outcome.absorb(send_call(ctx, self.name(), pool, input.into(), gas_limit).await?);
        Ok(outcome)
    }
}
