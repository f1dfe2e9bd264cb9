//! Deploy-if-missing: the contracts a run needs, found or created once and shared by all
//! workers, and per-wallet readiness (token balances, allowances).

use std::collections::{HashMap, HashSet};

use alloy::{
    primitives::{Address, Bytes, U256, uint},
    sol_types::{SolCall, SolConstructor},
};
use async_trait::async_trait;
use parking_lot::Mutex;
use spam_core::{Task, TaskContext, TaskError, TaskOutcome};

use crate::{
    contracts::{
        Counter, Create2Factory, Disperse, EventEmitter, GasBurner, Multicall, Nft, Pool, Reverter,
        StorageWriter, Token,
    },
    gas,
    tx::{deploy, read, record, send_call},
};

/// A token balance below this (10^25 units) is topped up before a task spends from it.
const MIN_BALANCE: U256 = uint!(10_000_000_000_000_000_000_000_000_U256);
/// What a wallet is minted when it needs tokens: plenty for any run (10^30 units).
const MINT_AMOUNT: U256 = uint!(1_000_000_000_000_000_000_000_000_000_000_U256);
/// Allowances granted to spenders: large but finite (2^200), so every `transferFrom` writes the
/// allowance back, as with most real approvals.
const ALLOWANCE: U256 = uint!(0x100000000000000000000000000000000000000000000000000_U256);
/// An allowance below this is granted again.
const MIN_ALLOWANCE: U256 = MIN_BALANCE;
/// Each side of the liquidity the pool is seeded with (10^24 units: a million tokens).
const POOL_SEED: U256 = uint!(1_000_000_000_000_000_000_000_000_U256);

/// A contract that tasks share, one per run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SharedContract {
    /// `Counter` (also the EIP-7702 delegate).
    Counter,
    /// The ERC-20 `Token`.
    Token,
    /// The ERC-721 `Nft`.
    Nft,
    /// `StorageWriter`.
    StorageWriter,
    /// `GasBurner`.
    GasBurner,
    /// `EventEmitter`.
    EventEmitter,
    /// `Multicall`.
    Multicall,
    /// `Disperse`.
    Disperse,
    /// `Reverter`.
    Reverter,
    /// `Create2Factory`.
    Create2Factory,
    /// A constant-product `Pool` between two fresh `Token`s, seeded with liquidity.
    Pool,
}

impl SharedContract {
    /// Every shared contract.
    pub const ALL: [Self; 11] = [
        Self::Counter,
        Self::Token,
        Self::Nft,
        Self::StorageWriter,
        Self::GasBurner,
        Self::EventEmitter,
        Self::Multicall,
        Self::Disperse,
        Self::Reverter,
        Self::Create2Factory,
        Self::Pool,
    ];

    /// The asset kind it is recorded as, e.g. `"erc20"`.
    pub const fn kind(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Token => "erc20",
            Self::Nft => "erc721",
            Self::StorageWriter => "storage_writer",
            Self::GasBurner => "gas_burner",
            Self::EventEmitter => "event_emitter",
            Self::Multicall => "multicall",
            Self::Disperse => "disperse",
            Self::Reverter => "reverter",
            Self::Create2Factory => "create2_factory",
            Self::Pool => "cp_pool",
        }
    }

    fn code(self) -> (&'static Bytes, u64) {
        match self {
            Self::Counter => (&Counter::BYTECODE, gas::DEPLOY_COUNTER),
            Self::Token => (&Token::BYTECODE, gas::DEPLOY_TOKEN),
            Self::Nft => (&Nft::BYTECODE, gas::DEPLOY_NFT),
            Self::StorageWriter => (&StorageWriter::BYTECODE, gas::DEPLOY_SMALL),
            Self::GasBurner => (&GasBurner::BYTECODE, gas::DEPLOY_SMALL),
            Self::EventEmitter => (&EventEmitter::BYTECODE, gas::DEPLOY_SMALL),
            Self::Multicall => (&Multicall::BYTECODE, gas::DEPLOY_MEDIUM),
            Self::Disperse => (&Disperse::BYTECODE, gas::DEPLOY_MEDIUM),
            Self::Reverter => (&Reverter::BYTECODE, gas::DEPLOY_SMALL),
            Self::Create2Factory => (&Create2Factory::BYTECODE, gas::DEPLOY_SMALL),
            Self::Pool => (&Pool::BYTECODE, gas::DEPLOY_POOL),
        }
    }
}

/// Finds or deploys the contracts tasks need, once per run, shared by every worker.
///
/// "Found" means recorded in the run ([`TaskContext::find_asset`]): the first task that needs
/// a contract deploys it while holding a lock, records it as a created asset, and every other
/// worker (waiting on the same lock, or arriving later) uses that one. A contract is never
/// deployed twice in a run, and a new run (a new `RunContext`) deploys its own.
///
/// It also remembers which wallets already hold tokens and allowances, so the mint or approve
/// a task needs first is sent once per wallet. That memory is checked against the chain the
/// first time (an `eth_call`), and forgotten for an address whenever a contract is deployed
/// there again (a fresh devnet reuses addresses).
#[derive(Debug, Default)]
pub struct Setup {
    deploying: tokio::sync::Mutex<()>,
    /// `(token, holder, spender)`: holder has tokens (spender zero) or has approved spender.
    ready: Mutex<HashSet<(Address, Address, Address)>>,
    /// A pool's two tokens.
    pools: Mutex<HashMap<Address, (Address, Address)>>,
}

impl Setup {
    /// An empty setup: nothing known yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The run's `contract`, deployed first if the run has none yet.
    ///
    /// # Errors
    /// A failed deployment (or a failed read of a pool's tokens).
    ///
    /// # Cancel safety
    /// Dropping the future while it deploys releases the lock; the next caller deploys again.
    pub async fn contract(
        &self,
        ctx: &TaskContext,
        contract: SharedContract,
    ) -> Result<(Address, TaskOutcome), TaskError> {
        if let Some(asset) = ctx.find_asset(contract.kind()) {
            return Ok((asset.address, TaskOutcome::default()));
        }
        let _deploying = self.deploying.lock().await;
        if let Some(asset) = ctx.find_asset(contract.kind()) {
            return Ok((asset.address, TaskOutcome::default()));
        }
        let (address, mut outcome) = match contract {
            SharedContract::Pool => self.deploy_pool(ctx).await?,
            other => {
                let (code, gas_limit) = other.code();
                let deployed = deploy(ctx, "setup", code.clone(), gas_limit).await?;
                self.forget(deployed.0);
                deployed
            }
        };
        record(ctx, &mut outcome, address, contract.kind());
        Ok((address, outcome))
    }

    /// The tokens of the pool at `pool` (read once, then remembered).
    ///
    /// # Errors
    /// A failed read.
    pub async fn pool_tokens(
        &self,
        ctx: &TaskContext,
        pool: Address,
    ) -> Result<(Address, Address), TaskError> {
        if let Some(tokens) = self.pools.lock().get(&pool) {
            return Ok(*tokens);
        }
        let token0 = read(ctx, pool, &Pool::token0Call {}).await?;
        let token1 = read(ctx, pool, &Pool::token1Call {}).await?;
        self.pools.lock().insert(pool, (token0, token1));
        Ok((token0, token1))
    }

    /// Makes sure the task's wallet holds plenty of `token`, minting to it if not.
    ///
    /// # Errors
    /// A failed read or mint.
    pub async fn ensure_balance(
        &self,
        ctx: &TaskContext,
        token: Address,
    ) -> Result<TaskOutcome, TaskError> {
        let me = ctx.wallet().address();
        let key = (token, me, Address::ZERO);
        if self.ready.lock().contains(&key) {
            return Ok(TaskOutcome::default());
        }
        let balance = read(ctx, token, &Token::balanceOfCall::new((me,))).await?;
        let mut outcome = TaskOutcome::default();
        if balance < MIN_BALANCE {
            let mint = Token::mintCall {
                to: me,
                value: MINT_AMOUNT,
            };
            outcome = send_call(
                ctx,
                "setup",
                token,
                mint.abi_encode().into(),
                gas::ERC20_MINT,
            )
            .await?;
        }
        self.ready.lock().insert(key);
        Ok(outcome)
    }

    /// Makes sure the task's wallet has approved `spender` for plenty of `token`.
    ///
    /// # Errors
    /// A failed read or approve.
    pub async fn ensure_allowance(
        &self,
        ctx: &TaskContext,
        token: Address,
        spender: Address,
    ) -> Result<TaskOutcome, TaskError> {
        let me = ctx.wallet().address();
        let key = (token, me, spender);
        if self.ready.lock().contains(&key) {
            return Ok(TaskOutcome::default());
        }
        let allowed = read(ctx, token, &Token::allowanceCall::new((me, spender))).await?;
        let mut outcome = TaskOutcome::default();
        if allowed < MIN_ALLOWANCE {
            let approve = Token::approveCall {
                spender,
                value: ALLOWANCE,
            };
            outcome = send_call(
                ctx,
                "setup",
                token,
                approve.abi_encode().into(),
                gas::ERC20_APPROVE,
            )
            .await?;
        }
        self.ready.lock().insert(key);
        Ok(outcome)
    }

    /// Balance of both pool tokens and allowances for the pool: what a swap or a deposit needs.
    pub(crate) async fn ensure_trader(
        &self,
        ctx: &TaskContext,
        pool: Address,
    ) -> Result<TaskOutcome, TaskError> {
        let (token0, token1) = self.pool_tokens(ctx, pool).await?;
        let mut outcome = TaskOutcome::default();
        for token in [token0, token1] {
            outcome.absorb(self.ensure_balance(ctx, token).await?);
            outcome.absorb(self.ensure_allowance(ctx, token, pool).await?);
        }
        Ok(outcome)
    }

    /// Two fresh tokens, a pool between them, and liquidity from the deploying wallet.
    async fn deploy_pool(&self, ctx: &TaskContext) -> Result<(Address, TaskOutcome), TaskError> {
        let mut outcome = TaskOutcome::default();
        let mut tokens = [Address::ZERO; 2];
        for token in &mut tokens {
            let (address, deployed) =
                deploy(ctx, "setup", Token::BYTECODE.clone(), gas::DEPLOY_TOKEN).await?;
            self.forget(address);
            outcome.absorb(deployed);
            record(ctx, &mut outcome, address, SharedContract::Token.kind());
            *token = address;
        }
        let [token0, token1] = tokens;
        let args = Pool::constructorCall {
            token0_: token0,
            token1_: token1,
        };
        let init_code: Bytes = [&Pool::BYTECODE[..], &args.abi_encode()].concat().into();
        let (pool, deployed) = deploy(ctx, "setup", init_code, gas::DEPLOY_POOL).await?;
        outcome.absorb(deployed);
        self.forget(pool);
        self.pools.lock().insert(pool, (token0, token1));
        outcome.absorb(self.ensure_trader(ctx, pool).await?);
        let seed = Pool::addLiquidityCall {
            amount0: POOL_SEED,
            amount1: POOL_SEED,
        };
        outcome
            .absorb(send_call(ctx, "setup", pool, seed.abi_encode().into(), gas::POOL_SEED).await?);
        Ok((pool, outcome))
    }

    /// Drops everything remembered about `address`: a contract was just deployed there.
    fn forget(&self, address: Address) {
        self.ready
            .lock()
            .retain(|(token, _, spender)| *token != address && *spender != address);
        self.pools.lock().remove(&address);
    }
}

/// `setup_contracts`: finds or deploys every shared contract (and the seeded pool); sends
/// nothing once they exist. Useful as the first step of a [`Sequence`](spam_core::Sequence)
/// or a warm-up run.
#[derive(Debug, Clone)]
pub struct SetupContracts {
    setup: std::sync::Arc<Setup>,
}

impl SetupContracts {
    /// A task over `setup`.
    pub fn new(setup: std::sync::Arc<Setup>) -> Self {
        Self { setup }
    }
}

#[async_trait]
impl Task for SetupContracts {
    fn name(&self) -> &str {
        "setup_contracts"
    }

    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutcome, TaskError> {
        let mut outcome = TaskOutcome::default();
        for contract in SharedContract::ALL {
            outcome.absorb(self.setup.contract(ctx, contract).await?.1);
        }
        Ok(outcome)
    }
}
