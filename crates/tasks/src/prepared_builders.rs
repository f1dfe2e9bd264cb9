//! `loadgen --tx` beyond the setup-free transfers: the catalogue's single-call workloads on
//! the run's shared contracts, deployed once before the load, then built without a round
//! trip (the open loop signs on its own threads).

use std::sync::Arc;

use alloy::{
    consensus::{TxEip7702, TypedTransaction},
    eips::eip7702::Authorization,
    primitives::{Address, B256, Bytes, TxKind, U256},
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::SolCall,
};
use futures_util::StreamExt;
use rand::{Rng, rngs::StdRng};
use spam_core::{BuildRequest, Session, TaskContext, TaskError, TxBuilder};

use crate::{
    batch::DISPERSE_WEI,
    contracts::{
        Counter, Create2Factory, Disperse, EventEmitter, GasBurner, Multicall, Nft, Pool, Reverter,
        StorageWriter, Token,
    },
    gas,
    setup::{Setup, SharedContract},
    tx::{call_tx, eip1559_fees},
};

/// The workloads [`prepare_tx_builder`] knows: one transaction each, to a shared contract
/// (or a creation), so the open loop can send them at a rate.
#[cfg(not(feature = "blob"))]
pub const PREPARED_TX_BUILDERS: &[&str] = &[
    "deploy_counter",
    "erc20_deploy",
    "erc721_deploy",
    "counter_increment",
    "erc20_mint",
    "erc20_approve",
    "erc721_mint",
    "storage_write",
    "gas_burn",
    "emit_events",
    "revert",
    "multicall",
    "disperse_eth",
    "create2_deploy",
    "erc20_transfer",
    "erc20_transfer_from",
    "disperse_erc20",
    "dex_add_liquidity",
    "dex_swap",
    "eip7702_delegate",
];
/// The workloads [`prepare_tx_builder`] knows: one transaction each, to a shared contract
/// (or a creation), so the open loop can send them at a rate.
#[cfg(feature = "blob")]
pub const PREPARED_TX_BUILDERS: &[&str] = &[
    "deploy_counter",
    "erc20_deploy",
    "erc721_deploy",
    "counter_increment",
    "erc20_mint",
    "erc20_approve",
    "erc721_mint",
    "storage_write",
    "gas_burn",
    "emit_events",
    "revert",
    "multicall",
    "disperse_eth",
    "create2_deploy",
    "erc20_transfer",
    "erc20_transfer_from",
    "disperse_erc20",
    "dex_add_liquidity",
    "dex_swap",
    "eip7702_delegate",
    "blob_tx",
];

/// What a sender needs before the load, sent once per sender by the preparation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Prep {
    /// Nothing.
    None,
    /// A token balance (of `contracts[k]`).
    Balance(usize),
    /// A balance of `contracts[token]` and an allowance to `contracts[spender]` (`None`:
    /// to itself).
    Allowance {
        token: usize,
        spender: Option<usize>,
    },
    /// Both tokens of the pool `contracts[0]`, and allowances to it.
    Trader,
}

/// How one workload builds its transaction.
#[derive(Clone, Copy)]
struct Recipe {
    name: &'static str,
    /// The contracts it needs: the first is the callee, the others go to `input` (none: it
    /// creates a contract).
    contracts: &'static [SharedContract],
    gas: u64,
    value: u64,
    /// What each sender needs before the load.
    prep: Prep,
    /// A type-4 transaction: a fresh account delegates to `contracts[0]` and is called with
    /// the input (see [`delegate`]).
    delegates: bool,
    /// Calldata (or creation code), from the transaction's random stream, the addresses of
    /// `contracts` and the sender.
    input: fn(&mut StdRng, &[Address], Address) -> Bytes,
}

fn fresh(rng: &mut StdRng) -> Address {
    Address::from(rng.random::<[u8; 20]>())
}

/// The recipe of `name`, if it is one of [`PREPARED_TX_BUILDERS`].
fn lookup(name: &str) -> Option<Recipe> {
    use SharedContract as C;
    let name = PREPARED_TX_BUILDERS.iter().find(|n| **n == name)?;
    let with =
        |contracts, gas, value, prep, input: fn(&mut StdRng, &[Address], Address) -> Bytes| {
            Recipe {
                name,
                contracts,
                gas,
                value,
                prep,
                delegates: *name == "eip7702_delegate",
                input,
            }
        };
    let r = |contracts, gas, value, input| with(contracts, gas, value, Prep::None, input);
    Some(match *name {
        "deploy_counter" => r(&[], gas::DEPLOY_COUNTER, 0, |_, _, _| {
            Counter::BYTECODE.clone()
        }),
        "erc20_deploy" => r(&[], gas::DEPLOY_TOKEN, 0, |_, _, _| Token::BYTECODE.clone()),
        "erc721_deploy" => r(&[], gas::DEPLOY_NFT, 0, |_, _, _| Nft::BYTECODE.clone()),
        "counter_increment" => r(&[C::Counter], gas::COUNTER_INCREMENT, 0, |_, _, _| {
            Counter::incrementCall {}.abi_encode().into()
        }),
        "erc20_mint" => r(&[C::Token], gas::ERC20_MINT, 0, |rng, _, _| {
            let value = U256::from(10).pow(U256::from(18));
            Token::mintCall {
                to: fresh(rng),
                value,
            }
            .abi_encode()
            .into()
        }),
        "erc20_approve" => r(&[C::Token], gas::ERC20_APPROVE, 0, |rng, _, _| {
            let spender = fresh(rng);
            let value = U256::from(rng.random::<u64>());
            Token::approveCall { spender, value }.abi_encode().into()
        }),
        "erc721_mint" => r(&[C::Nft], gas::ERC721_MINT, 0, |rng, _, _| {
            Nft::mintCall { to: fresh(rng) }.abi_encode().into()
        }),
        "storage_write" => r(&[C::StorageWriter], gas::storage_write(10), 0, |_, _, _| {
            StorageWriter::writeCall { n: U256::from(10) }
                .abi_encode()
                .into()
        }),
        "gas_burn" => r(&[C::GasBurner], gas::gas_burn(1_000_000), 0, |_, _, _| {
            GasBurner::burnCall {
                gasToBurn: U256::from(1_000_000),
            }
            .abi_encode()
            .into()
        }),
        "emit_events" => r(&[C::EventEmitter], gas::events(10), 0, |_, _, _| {
            EventEmitter::fireCall { n: U256::from(10) }
                .abi_encode()
                .into()
        }),
        "revert" => r(&[C::Reverter], gas::REVERT, 0, |_, _, _| {
            Reverter::failCall {}.abi_encode().into()
        }),
        "multicall" => r(
            &[C::Multicall, C::Counter],
            gas::multicall(10),
            0,
            |_, at, _| {
                let call = Multicall::Call {
                    target: at[1],
                    data: Counter::incrementCall {}.abi_encode().into(),
                };
                Multicall::aggregateCall {
                    calls: vec![call; 10],
                }
                .abi_encode()
                .into()
            },
        ),
        "disperse_eth" => r(
            &[C::Disperse],
            gas::disperse_eth(10),
            10 * DISPERSE_WEI,
            |rng, _, _| {
                let recipients = (0..10).map(|_| fresh(rng)).collect();
                let values = vec![U256::from(DISPERSE_WEI); 10];
                Disperse::disperseEtherCall { recipients, values }
                    .abi_encode()
                    .into()
            },
        ),
        "create2_deploy" => r(&[C::Create2Factory], gas::CREATE2_DEPLOY, 0, |rng, _, _| {
            let salt = B256::from(rng.random::<[u8; 32]>());
            Create2Factory::deployCall {
                salt,
                initCode: Counter::BYTECODE.clone(),
            }
            .abi_encode()
            .into()
        }),
        "erc20_transfer" => with(
            &[C::Token],
            gas::ERC20_TRANSFER,
            0,
            Prep::Balance(0),
            |rng, _, _| {
                Token::transferCall {
                    to: fresh(rng),
                    value: U256::from(1),
                }
                .abi_encode()
                .into()
            },
        ),
        "erc20_transfer_from" => with(
            &[C::Token],
            gas::ERC20_TRANSFER_FROM,
            0,
            Prep::Allowance {
                token: 0,
                spender: None,
            },
            |rng, _, me| {
                Token::transferFromCall {
                    from: me,
                    to: fresh(rng),
                    value: U256::from(1),
                }
                .abi_encode()
                .into()
            },
        ),
        "disperse_erc20" => with(
            &[C::Disperse, C::Token],
            gas::disperse_erc20(10),
            0,
            Prep::Allowance {
                token: 1,
                spender: Some(0),
            },
            |rng, at, _| {
                let recipients = (0..10).map(|_| fresh(rng)).collect();
                let values = vec![U256::from(1); 10];
                Disperse::disperseTokenCall {
                    token: at[1],
                    recipients,
                    values,
                }
                .abi_encode()
                .into()
            },
        ),
        "dex_add_liquidity" => with(&[C::Pool], gas::POOL_ADD, 0, Prep::Trader, |_, _, _| {
            let one = U256::from(10).pow(U256::from(18));
            Pool::addLiquidityCall {
                amount0: one,
                amount1: one,
            }
            .abi_encode()
            .into()
        }),
        "dex_swap" => with(&[C::Pool], gas::POOL_SWAP, 0, Prep::Trader, |rng, _, _| {
            let one = U256::from(10).pow(U256::from(18));
            let milli = rng.random_range(1..=100u64);
            Pool::swapCall {
                zeroForOne: rng.random::<bool>(),
                amountIn: one / U256::from(1000) * U256::from(milli),
                minOut: U256::from(1),
            }
            .abi_encode()
            .into()
        }),
        // A type-4 transaction (see `delegate`); the input is the delegate's call.
        "eip7702_delegate" => r(&[C::Counter], gas::EIP7702, 0, |_, _, _| {
            Counter::incrementCall {}.abi_encode().into()
        }),
        _ => return None,
    })
}

/// The gas limit and value of workload `name` (for funding before it is prepared).
pub fn prepared_tx_cost(name: &str) -> Option<(u64, U256)> {
    if cfg!(feature = "blob") && name == "blob_tx" {
        return Some((21_000, U256::ZERO));
    }
    lookup(name).map(|r| (r.gas, U256::from(r.value)))
}

/// A catalogue workload of [`PREPARED_TX_BUILDERS`] as an open-loop builder: its shared
/// contract is deployed now (from the session's first sender), every transaction is then
/// built without asking the node. `None` for another name.
///
/// # Errors
/// The deployment of the shared contract failed.
///
/// # Cancel safety
/// Dropped midway, the contracts and token balances already sent stay on chain; a new call
/// deploys its own contracts again.
pub async fn prepare_tx_builder(
    name: &str,
    session: &Session,
    seed: u64,
) -> Option<Result<Arc<dyn TxBuilder>, TaskError>> {
    #[cfg(feature = "blob")]
    if name == "blob_tx" {
        return Some(
            crate::blob::BlobBuilder::new(session.provider())
                .await
                .map(|b| Arc::new(b) as Arc<dyn TxBuilder>),
        );
    }
    let recipe = lookup(name)?;
    let run = Arc::new(session.run_context());
    let ctx = TaskContext::new(run, Arc::clone(&session.wallets()[0]), 0, seed);
    let setup = Setup::new();
    let mut addresses = Vec::new();
    for contract in recipe.contracts {
        match setup.contract(&ctx, *contract).await {
            Ok((address, _)) => addresses.push(address),
            Err(err) => return Some(Err(err)),
        }
    }
    if let Err(err) = prepare_senders(session, &setup, recipe.prep, &addresses, seed).await {
        return Some(Err(err));
    }
    let to = addresses
        .first()
        .map_or(TxKind::Create, |a| TxKind::Call(*a));
    Some(Ok(Arc::new(Prepared {
        recipe,
        to,
        addresses,
    })))
}

/// Gives every sender what `prep` asks (a token balance, an allowance), 32 senders at a
/// time: each sends its own transactions and waits for their receipts.
async fn prepare_senders(
    session: &Session,
    setup: &Setup,
    prep: Prep,
    addresses: &[Address],
    seed: u64,
) -> Result<(), TaskError> {
    if prep == Prep::None {
        return Ok(());
    }
    let run = Arc::new(session.run_context());
    let results: Vec<Result<(), TaskError>> = futures_util::stream::iter(session.wallets())
        .map(|wallet| {
            let ctx = TaskContext::new(Arc::clone(&run), Arc::clone(wallet), 0, seed);
            async move {
                match prep {
                    Prep::None => {}
                    Prep::Balance(token) => {
                        setup.ensure_balance(&ctx, addresses[token]).await?;
                    }
                    Prep::Allowance { token, spender } => {
                        setup.ensure_balance(&ctx, addresses[token]).await?;
                        let spender = spender.map_or(wallet.address(), |s| addresses[s]);
                        setup
                            .ensure_allowance(&ctx, addresses[token], spender)
                            .await?;
                    }
                    Prep::Trader => {
                        setup.ensure_trader(&ctx, addresses[0]).await?;
                    }
                }
                Ok(())
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    results.into_iter().collect()
}

/// A type-4 transaction: a fresh account (its key from the transaction's random stream)
/// delegates to `to` and is called with `input`, as the `eip7702_delegate` task does.
fn delegate(r: BuildRequest<'_>, to: Address, input: Bytes, gas_limit: u64) -> TypedTransaction {
    let authority = loop {
        // A 32-byte string is a valid key unless it is zero or above the curve order.
        if let Ok(key) = PrivateKeySigner::from_bytes(&B256::from(r.rng.random::<[u8; 32]>())) {
            break key;
        }
    };
    let authorization = Authorization {
        chain_id: U256::from(r.chain_id),
        address: to,
        nonce: 0,
    };
    let signature = authority
        .sign_hash_sync(&authorization.signature_hash())
        .expect("a local key signs");
    let (max_fee_per_gas, max_priority_fee_per_gas) = eip1559_fees(&r.fees);
    TxEip7702 {
        chain_id: r.chain_id,
        nonce: r.nonce,
        gas_limit,
        max_fee_per_gas,
        max_priority_fee_per_gas,
        to: authority.address(),
        value: U256::ZERO,
        access_list: Default::default(),
        authorization_list: vec![authorization.into_signed(signature)],
        input,
    }
    .into()
}

/// A prepared single-call workload.
struct Prepared {
    recipe: Recipe,
    to: TxKind,
    addresses: Vec<Address>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("name", &self.recipe.name)
            .field("to", &self.to)
            .finish()
    }
}

impl TxBuilder for Prepared {
    fn name(&self) -> &str {
        self.recipe.name
    }

    fn build(&self, r: BuildRequest<'_>) -> TypedTransaction {
        let input = (self.recipe.input)(r.rng, &self.addresses, r.sender);
        if self.recipe.delegates {
            return delegate(r, self.addresses[0], input, self.recipe.gas);
        }
        call_tx(
            &r.fees,
            r.chain_id,
            r.nonce,
            self.to,
            U256::from(self.recipe.value),
            input,
            self.recipe.gas,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_name_has_a_recipe_and_is_in_the_catalogue() {
        for name in PREPARED_TX_BUILDERS {
            assert!(lookup(name).is_some() || *name == "blob_tx", "{name}");
            assert!(crate::CATALOGUE.iter().any(|t| t.name == *name), "{name}");
            assert!(!crate::TX_BUILDERS.contains(name), "{name} twice");
        }
        assert!(
            lookup("erc721_transfer").is_none(),
            "two transactions: closed loop only"
        );
    }
}
