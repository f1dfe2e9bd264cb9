#![doc = include_str!("../README.md")]

mod batch;
#[cfg(feature = "blob")]
mod blob;
mod builders;
pub mod contracts;
mod deploy;
mod dex;
mod eip7702;
mod failure;
mod gas;
mod prepared_builders;
mod scenario;
mod setup;
mod state;
mod tokens;
mod transfer;
mod tx;

use std::sync::Arc;

use spam_core::{Task, TaskRegistry, TxTask};

#[cfg(feature = "blob")]
pub use crate::blob::{BlobTx, SidecarKind};
pub use crate::{
    batch::{Batch, BatchOp},
    builders::{TX_BUILDERS, tx_builder},
    contracts::{Artifact, artifacts},
    deploy::{CounterIncrement, Create2Deploy, Deploy},
    dex::{Dex, DexOp},
    eip7702::Eip7702Delegate,
    failure::{REVERT_REASON, Revert},
    prepared_builders::{PREPARED_TX_BUILDERS, prepare_tx_builder, prepared_tx_cost},
    scenario::{
        CREATE2_DEPLOYER, PrepareError, Prepared, Scenario, ScenarioError, ScenarioTask, ScenarioTx,
    },
    setup::{Setup, SetupContracts, SharedContract},
    state::{LargeCalldata, StateOp, StateTask},
    tokens::{Erc20, Erc20Op, Erc721, Erc721Op},
    transfer::{Recipient, Transfer},
};

/// A task's place in the catalogue (the README table's groups).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Category {
    /// Transfers, deploys, a counter.
    Core,
    /// ERC-20 and ERC-721.
    Tokens,
    /// Storage growth, compute, logs, calldata.
    StateCompute,
    /// Many calls or payments in one transaction.
    Batch,
    /// A constant-product pool.
    Dex,
    /// Transactions that revert.
    Failure,
    /// EIP-7702 and EIP-4844 transactions.
    NewTypes,
    /// Finding or deploying what other tasks need.
    Setup,
}

/// Every built-in task: its name, category and what it stresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskInfo {
    /// The stable name (what [`registry`] and reports use).
    pub name: &'static str,
    /// Its group.
    pub category: Category,
    /// One line on what it does and what it stresses.
    pub doc: &'static str,
}

const fn info(name: &'static str, category: Category, doc: &'static str) -> TaskInfo {
    TaskInfo {
        name,
        category,
        doc,
    }
}

/// The catalogue, in README order.
pub const CATALOGUE: &[TaskInfo] = &[
    info(
        "transfer_self",
        Category::Core,
        "1 wei to the sender: the cheapest transaction, no state growth",
    ),
    info(
        "transfer_fresh",
        Category::Core,
        "1 wei to a new random address: one new account per tx",
    ),
    info(
        "transfer_peer",
        Category::Core,
        "1 wei to another pool wallet: value between live accounts",
    ),
    info(
        "deploy_counter",
        Category::Core,
        "deploys a Counter: contract creation, code storage",
    ),
    info(
        "counter_increment",
        Category::Core,
        "Counter.increment() on the shared counter: one hot storage slot",
    ),
    info(
        "create2_deploy",
        Category::Core,
        "deploys a Counter through the CREATE2 factory with a random salt",
    ),
    info(
        "erc20_deploy",
        Category::Tokens,
        "deploys an ERC-20 token: a large creation",
    ),
    info(
        "erc20_mint",
        Category::Tokens,
        "mints 1e18 to a new address: new balance slot, supply write, a log",
    ),
    info(
        "erc20_transfer",
        Category::Tokens,
        "transfers 1 unit to a new address",
    ),
    info(
        "erc20_approve",
        Category::Tokens,
        "approves a new spender: a new allowance slot",
    ),
    info(
        "erc20_transfer_from",
        Category::Tokens,
        "transferFrom the wallet to a new address: allowance and two balances",
    ),
    info(
        "erc721_deploy",
        Category::Tokens,
        "deploys an ERC-721 contract",
    ),
    info(
        "erc721_mint",
        Category::Tokens,
        "mints an NFT to a new address: owner, balance, counter",
    ),
    info(
        "erc721_transfer",
        Category::Tokens,
        "mints an NFT to the wallet, then transfers it to a new address",
    ),
    info(
        "storage_write",
        Category::StateCompute,
        "writes 10 never-written storage slots: state growth",
    ),
    info(
        "gas_burn",
        Category::StateCompute,
        "hashes in a loop for 1M gas: pure execution, no state",
    ),
    info(
        "emit_events",
        Category::StateCompute,
        "emits 10 logs: receipts, blooms, log indexing",
    ),
    info(
        "large_calldata",
        Category::StateCompute,
        "4 KiB of random calldata to the sender: bandwidth and block size",
    ),
    info(
        "multicall",
        Category::Batch,
        "10 counter increments through Multicall in one tx",
    ),
    info(
        "disperse_eth",
        Category::Batch,
        "1 gwei to 10 new addresses in one tx",
    ),
    info(
        "disperse_erc20",
        Category::Batch,
        "1 token unit to 10 new addresses in one tx (transferFrom)",
    ),
    info(
        "dex_add_liquidity",
        Category::Dex,
        "adds liquidity to the constant-product pool",
    ),
    info(
        "dex_swap",
        Category::Dex,
        "swaps a random amount in a random direction on the pool",
    ),
    info(
        "revert",
        Category::Failure,
        "a call that always reverts on chain: counted as \"reverted\"",
    ),
    info(
        "eip7702_delegate",
        Category::NewTypes,
        "type-4 tx: delegates a fresh account to Counter and calls it",
    ),
    #[cfg(feature = "blob")]
    info(
        "blob_tx",
        Category::NewTypes,
        "type-3 tx with one blob (feature `blob`)",
    ),
    info(
        "setup_contracts",
        Category::Setup,
        "finds or deploys every shared contract once per run",
    ),
];

/// Every built-in task, by name, sharing one [`Setup`] (so a run deploys each shared contract
/// once). Build a fresh registry per run.
///
/// # Examples
/// ```
/// let registry = spam_tasks::registry();
/// assert!(registry.get("erc20_transfer").is_some());
/// let names: Vec<_> = registry.names().collect();
/// assert!(names.len() >= 24);
/// let mix = registry.mix(&[("transfer_self", 3), ("dex_swap", 1)]).unwrap();
/// ```
pub fn registry() -> TaskRegistry {
    registry_with(Arc::new(Setup::new()))
}

/// Every built-in task over `setup`, e.g. to share it with tasks of your own.
pub fn registry_with(setup: Arc<Setup>) -> TaskRegistry {
    let s = || Arc::clone(&setup);
    let tasks: Vec<Arc<dyn Task>> = vec![
        Arc::new(TxTask(Transfer::to_self())),
        Arc::new(TxTask(Transfer::to_fresh())),
        Arc::new(TxTask(Transfer::to_peer())),
        Arc::new(Deploy::counter()),
        Arc::new(CounterIncrement::new(s())),
        Arc::new(Create2Deploy::new(s())),
        Arc::new(Deploy::erc20()),
        Arc::new(Erc20::new(Erc20Op::Mint, s())),
        Arc::new(Erc20::new(Erc20Op::Transfer, s())),
        Arc::new(Erc20::new(Erc20Op::Approve, s())),
        Arc::new(Erc20::new(Erc20Op::TransferFrom, s())),
        Arc::new(Deploy::erc721()),
        Arc::new(Erc721::new(Erc721Op::Mint, s())),
        Arc::new(Erc721::new(Erc721Op::Transfer, s())),
        Arc::new(StateTask::storage_write(s())),
        Arc::new(StateTask::gas_burn(s())),
        Arc::new(StateTask::events(s())),
        Arc::new(TxTask(LargeCalldata::default())),
        Arc::new(Batch::ten(BatchOp::Multicall, s())),
        Arc::new(Batch::ten(BatchOp::DisperseEth, s())),
        Arc::new(Batch::ten(BatchOp::DisperseErc20, s())),
        Arc::new(Dex::new(DexOp::AddLiquidity, s())),
        Arc::new(Dex::new(DexOp::Swap, s())),
        Arc::new(Revert::new(s())),
        Arc::new(Eip7702Delegate::new(s())),
        #[cfg(feature = "blob")]
        Arc::new(BlobTx::default()),
        Arc::new(SetupContracts::new(s())),
    ];
    let mut registry = TaskRegistry::default();
    for task in tasks {
        registry.register(task);
    }
    registry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_and_the_registry_name_the_same_tasks() {
        let registry = registry();
        let mut listed: Vec<_> = CATALOGUE.iter().map(|t| t.name).collect();
        listed.sort_unstable();
        assert_eq!(registry.names().collect::<Vec<_>>(), listed);
        assert!(listed.len() >= 24, "{}", listed.len());
    }
}
