//! Contract creation: plain deploys, counter calls, and deploys through a CREATE2 factory.

use std::sync::Arc;

use alloy::{
    primitives::{Address, B256, Bytes, keccak256},
    sol_types::SolCall,
};
use async_trait::async_trait;
use rand::Rng;
use spam_core::{Task, TaskContext, TaskError, TaskOutcome};

use crate::{
    contracts::{Counter, Create2Factory, Nft, Token},
    gas,
    setup::{Setup, SharedContract},
    tx::{deploy, record, send_call},
};

/// Deploys a new contract per run and records it as a created asset.
#[derive(Debug, Clone)]
pub struct Deploy {
    name: &'static str,
    kind: &'static str,
    code: &'static Bytes,
    gas_limit: u64,
}

impl Deploy {
    /// `deploy_counter`: a new `Counter` (small contract, code storage).
    pub const fn counter() -> Self {
        Self {
            name: "deploy_counter",
            kind: "counter",
            code: &Counter::BYTECODE,
            gas_limit: gas::DEPLOY_COUNTER,
        }
    }

    /// `erc20_deploy`: a new ERC-20 `Token`.
    pub const fn erc20() -> Self {
        Self {
            name: "erc20_deploy",
            kind: "erc20",
            code: &Token::BYTECODE,
            gas_limit: gas::DEPLOY_TOKEN,
        }
    }

    /// `erc721_deploy`: a new ERC-721 `Nft`.
    pub const fn erc721() -> Self {
        Self {
            name: "erc721_deploy",
            kind: "erc721",
            code: &Nft::BYTECODE,
            gas_limit: gas::DEPLOY_NFT,
        }
    }
}

#[async_trait]
impl Task for Deploy {
    fn name(&self) -> &str {
        self.name
    }

    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutcome, TaskError> {
        let (address, mut outcome) =
            deploy(ctx, self.name, self.code.clone(), self.gas_limit).await?;
        record(ctx, &mut outcome, address, self.kind);
        Ok(outcome)
    }
}

/// `counter_increment`: `Counter.increment()` on the run's shared counter (one warm storage
/// write).
#[derive(Debug, Clone)]
pub struct CounterIncrement {
    setup: Arc<Setup>,
}

impl CounterIncrement {
    /// A task over `setup`'s shared counter.
    pub fn new(setup: Arc<Setup>) -> Self {
        Self { setup }
    }
}

#[async_trait]
impl Task for CounterIncrement {
    fn name(&self) -> &str {
        "counter_increment"
    }

    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutcome, TaskError> {
        let (counter, mut outcome) = self.setup.contract(ctx, SharedContract::Counter).await?;
        let input = Counter::incrementCall {}.abi_encode().into();
        outcome.absorb(send_call(ctx, self.name(), counter, input, gas::COUNTER_INCREMENT).await?);
        Ok(outcome)
    }
}

/// `create2_deploy`: a `Counter` deployed through the shared CREATE2 factory with a random
/// salt; the new address is recorded as a `"counter"` asset.
#[derive(Debug, Clone)]
pub struct Create2Deploy {
    setup: Arc<Setup>,
}

impl Create2Deploy {
    /// A task over `setup`'s factory.
    pub fn new(setup: Arc<Setup>) -> Self {
        Self { setup }
    }

    /// Where the factory at `factory` puts `Counter` under `salt`.
    pub fn address(factory: Address, salt: B256) -> Address {
        factory.create2(salt, keccak256(&Counter::BYTECODE))
    }
}

#[async_trait]
impl Task for Create2Deploy {
    fn name(&self) -> &str {
        "create2_deploy"
    }

    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutcome, TaskError> {
        let (factory, mut outcome) = self
            .setup
            .contract(ctx, SharedContract::Create2Factory)
            .await?;
        let salt = B256::from(ctx.rng().random::<[u8; 32]>());
        let input = Create2Factory::deployCall {
            salt,
            initCode: Counter::BYTECODE.clone(),
        }
        .abi_encode()
        .into();
        outcome.absorb(send_call(ctx, self.name(), factory, input, gas::CREATE2_DEPLOY).await?);
        record(ctx, &mut outcome, Self::address(factory, salt), "counter");
        Ok(outcome)
    }
}
