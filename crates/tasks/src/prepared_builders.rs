//! `loadgen --tx` beyond the setup-free transfers: the catalogue's single-call workloads on
//! the run's shared contracts, deployed once before the load, then built without a round
//! trip (the open loop signs on its own threads).

use std::sync::Arc;

use alloy::{
    consensus::TypedTransaction,
    primitives::{Address, Bytes, TxKind, U256},
    sol_types::SolCall,
};
use rand::{Rng, rngs::StdRng};
use spam_core::{BuildRequest, Session, TaskContext, TaskError, TxBuilder};

use crate::{
    contracts::{Counter, EventEmitter, GasBurner, Nft, Reverter, StorageWriter, Token},
    gas,
    setup::{Setup, SharedContract},
    tx::call_tx,
};

/// The workloads [`prepare_tx_builder`] knows: one transaction each, to a shared contract
/// (or a creation), so the open loop can send them at a rate.
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
];

/// How one workload builds its transaction.
#[derive(Clone, Copy)]
struct Recipe {
    name: &'static str,
    /// The contract it calls (`None`: it creates one).
    contract: Option<SharedContract>,
    gas: u64,
    /// Calldata (or creation code), from the transaction's random stream.
    input: fn(&mut StdRng) -> Bytes,
}

fn fresh(rng: &mut StdRng) -> Address {
    Address::from(rng.random::<[u8; 20]>())
}

/// The recipe of `name`, if it is one of [`PREPARED_TX_BUILDERS`].
fn lookup(name: &str) -> Option<Recipe> {
    use SharedContract as C;
    let r = |name: &'static str, contract, gas, input: fn(&mut StdRng) -> Bytes| Recipe {
        name,
        contract,
        gas,
        input,
    };
    Some(match name {
        "deploy_counter" => r(name_of(name), None, gas::DEPLOY_COUNTER, |_| {
            Counter::BYTECODE.clone()
        }),
        "erc20_deploy" => r(name_of(name), None, gas::DEPLOY_TOKEN, |_| {
            Token::BYTECODE.clone()
        }),
        "erc721_deploy" => r(name_of(name), None, gas::DEPLOY_NFT, |_| {
            Nft::BYTECODE.clone()
        }),
        "counter_increment" => r(
            name_of(name),
            Some(C::Counter),
            gas::COUNTER_INCREMENT,
            |_| Counter::incrementCall {}.abi_encode().into(),
        ),
        "erc20_mint" => r(name_of(name), Some(C::Token), gas::ERC20_MINT, |rng| {
            let value = U256::from(10).pow(U256::from(18));
            Token::mintCall {
                to: fresh(rng),
                value,
            }
            .abi_encode()
            .into()
        }),
        "erc20_approve" => r(name_of(name), Some(C::Token), gas::ERC20_APPROVE, |rng| {
            let spender = fresh(rng);
            let value = U256::from(rng.random::<u64>());
            Token::approveCall { spender, value }.abi_encode().into()
        }),
        "erc721_mint" => r(name_of(name), Some(C::Nft), gas::ERC721_MINT, |rng| {
            Nft::mintCall { to: fresh(rng) }.abi_encode().into()
        }),
        "storage_write" => r(
            name_of(name),
            Some(C::StorageWriter),
            gas::storage_write(10),
            |_| {
                StorageWriter::writeCall { n: U256::from(10) }
                    .abi_encode()
                    .into()
            },
        ),
        "gas_burn" => r(
            name_of(name),
            Some(C::GasBurner),
            gas::gas_burn(1_000_000),
            |_| {
                GasBurner::burnCall {
                    gasToBurn: U256::from(1_000_000),
                }
                .abi_encode()
                .into()
            },
        ),
        "emit_events" => r(
            name_of(name),
            Some(C::EventEmitter),
            gas::events(10),
            |_| {
                EventEmitter::fireCall { n: U256::from(10) }
                    .abi_encode()
                    .into()
            },
        ),
        "revert" => r(name_of(name), Some(C::Reverter), gas::REVERT, |_| {
            Reverter::failCall {}.abi_encode().into()
        }),
        _ => return None,
    })
}

/// `name` as the `'static` entry of [`PREPARED_TX_BUILDERS`].
fn name_of(name: &str) -> &'static str {
    PREPARED_TX_BUILDERS
        .iter()
        .find(|n| **n == name)
        .expect("a listed name")
}

/// The gas limit and value of workload `name` (for funding before it is prepared).
pub fn prepared_tx_cost(name: &str) -> Option<(u64, U256)> {
    lookup(name).map(|r| (r.gas, U256::ZERO))
}

/// A catalogue workload of [`PREPARED_TX_BUILDERS`] as an open-loop builder: its shared
/// contract is deployed now (from the session's first sender), every transaction is then
/// built without asking the node. `None` for another name.
///
/// # Errors
/// The deployment of the shared contract failed.
pub async fn prepare_tx_builder(
    name: &str,
    session: &Session,
    seed: u64,
) -> Option<Result<Arc<dyn TxBuilder>, TaskError>> {
    let recipe = lookup(name)?;
    let to = match recipe.contract {
        None => TxKind::Create,
        Some(contract) => {
            let run = Arc::new(session.run_context());
            let ctx = TaskContext::new(run, Arc::clone(&session.wallets()[0]), 0, seed);
            match Setup::new().contract(&ctx, contract).await {
                Ok((address, _)) => TxKind::Call(address),
                Err(err) => return Some(Err(err)),
            }
        }
    };
    Some(Ok(Arc::new(Prepared { recipe, to })))
}

/// A prepared single-call workload.
struct Prepared {
    recipe: Recipe,
    to: TxKind,
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
        let input = (self.recipe.input)(r.rng);
        call_tx(
            &r.fees,
            r.chain_id,
            r.nonce,
            self.to,
            U256::ZERO,
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
            assert!(lookup(name).is_some(), "{name}");
            assert!(crate::CATALOGUE.iter().any(|t| t.name == *name), "{name}");
            assert!(!crate::TX_BUILDERS.contains(name), "{name} twice");
        }
        assert!(lookup("dex_swap").is_none());
    }
}
