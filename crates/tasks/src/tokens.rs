//! Token traffic on the run's shared ERC-20 and ERC-721 contracts.

use std::sync::Arc;

use alloy::{
    primitives::U256,
    providers::Provider,
    sol_types::{SolCall, SolEvent},
};
use async_trait::async_trait;
use rand::Rng;
use spam_core::{Task, TaskContext, TaskError, TaskOutcome};

use crate::{
    contracts::{Nft, Token},
    gas,
    setup::{Setup, SharedContract},
    tx::{fresh_address, send_call},
};

/// What an [`Erc20`] task does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Erc20Op {
    /// `mint(fresh, 1e18)`: a new holder and a total-supply write.
    Mint,
    /// `transfer(fresh, 1)` from the wallet (minted to it once first).
    Transfer,
    /// `approve(fresh, random)`: a new allowance slot.
    Approve,
    /// `transferFrom(wallet, fresh, 1)` spent by the wallet itself from its own allowance.
    TransferFrom,
}

/// ERC-20 traffic on the run's shared `Token`.
#[derive(Debug, Clone)]
pub struct Erc20 {
    op: Erc20Op,
    setup: Arc<Setup>,
}

impl Erc20 {
    /// A task doing `op` on `setup`'s shared token.
    pub fn new(op: Erc20Op, setup: Arc<Setup>) -> Self {
        Self { op, setup }
    }
}

#[async_trait]
impl Task for Erc20 {
    fn name(&self) -> &str {
        match self.op {
            Erc20Op::Mint => "erc20_mint",
            Erc20Op::Transfer => "erc20_transfer",
            Erc20Op::Approve => "erc20_approve",
            Erc20Op::TransferFrom => "erc20_transfer_from",
        }
    }

    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutcome, TaskError> {
        let (token, mut outcome) = self.setup.contract(ctx, SharedContract::Token).await?;
        let me = ctx.wallet().address();
        let to = fresh_address(ctx);
        let (input, gas_limit) = match self.op {
            Erc20Op::Mint => {
                let value = U256::from(10).pow(U256::from(18));
                (Token::mintCall { to, value }.abi_encode(), gas::ERC20_MINT)
            }
            Erc20Op::Transfer => {
                outcome.absorb(self.setup.ensure_balance(ctx, token).await?);
                let value = U256::from(1);
                (
                    Token::transferCall { to, value }.abi_encode(),
                    gas::ERC20_TRANSFER,
                )
            }
            Erc20Op::Approve => {
                let value = U256::from(ctx.rng().random::<u64>());
                let call = Token::approveCall { spender: to, value };
                (call.abi_encode(), gas::ERC20_APPROVE)
            }
            Erc20Op::TransferFrom => {
                outcome.absorb(self.setup.ensure_balance(ctx, token).await?);
                outcome.absorb(self.setup.ensure_allowance(ctx, token, me).await?);
                let call = Token::transferFromCall {
                    from: me,
                    to,
                    value: U256::from(1),
                };
                (call.abi_encode(), gas::ERC20_TRANSFER_FROM)
            }
        };
        outcome.absorb(send_call(ctx, self.name(), token, input.into(), gas_limit).await?);
        Ok(outcome)
    }
}

/// What an [`Erc721`] task does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Erc721Op {
    /// `mint(fresh)`: a new token id, owner and balance.
    Mint,
    /// Mints to the wallet, then `transferFrom(wallet, fresh, id)`: two transactions.
    Transfer,
}

/// ERC-721 traffic on the run's shared `Nft`.
#[derive(Debug, Clone)]
pub struct Erc721 {
    op: Erc721Op,
    setup: Arc<Setup>,
}

impl Erc721 {
    /// A task doing `op` on `setup`'s shared NFT contract.
    pub fn new(op: Erc721Op, setup: Arc<Setup>) -> Self {
        Self { op, setup }
    }
}

#[async_trait]
impl Task for Erc721 {
    fn name(&self) -> &str {
        match self.op {
            Erc721Op::Mint => "erc721_mint",
            Erc721Op::Transfer => "erc721_transfer",
        }
    }

    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutcome, TaskError> {
        let (nft, mut outcome) = self.setup.contract(ctx, SharedContract::Nft).await?;
        let me = ctx.wallet().address();
        let to = fresh_address(ctx);
        match self.op {
            Erc721Op::Mint => {
                let input = Nft::mintCall { to }.abi_encode().into();
                outcome.absorb(send_call(ctx, self.name(), nft, input, gas::ERC721_MINT).await?);
            }
            Erc721Op::Transfer => {
                let input = Nft::mintCall { to: me }.abi_encode().into();
                let minted = send_call(ctx, self.name(), nft, input, gas::ERC721_MINT).await?;
                let id = minted_id(ctx, &minted).await?;
                outcome.absorb(minted);
                let input = Nft::transferFromCall { from: me, to, id }
                    .abi_encode()
                    .into();
                outcome
                    .absorb(send_call(ctx, self.name(), nft, input, gas::ERC721_TRANSFER).await?);
            }
        }
        Ok(outcome)
    }
}

/// The id a mint created, from its receipt's `Transfer` log.
async fn minted_id(ctx: &TaskContext, minted: &TaskOutcome) -> Result<U256, TaskError> {
    let hash = *minted
        .tx_hashes
        .last()
        .ok_or_else(|| TaskError::Other("the mint sent no transaction".into()))?;
    let receipt = ctx
        .retry()
        .retry(|| ctx.provider().get_transaction_receipt(hash))
        .await
        .map_err(|e| TaskError::rpc("receipt", e))?
        .ok_or_else(|| TaskError::Other(format!("no receipt for mint {hash}")))?;
    receipt
        .inner
        .logs()
        .iter()
        .find_map(|log| Nft::Transfer::decode_log_data(log.data()).ok())
        .map(|transfer| transfer.id)
        .ok_or_else(|| TaskError::Other(format!("mint {hash} logged no Transfer")))
}
