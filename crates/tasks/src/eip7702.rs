//! EIP-7702: set-code delegation, then a call through the delegated account.

use std::sync::Arc;

use alloy::{
    consensus::TxEip7702,
    eips::eip7702::Authorization,
    primitives::{Address, B256, U256},
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::SolCall,
};
use async_trait::async_trait;
use rand::Rng;
use spam_core::{Task, TaskContext, TaskError, TaskOutcome};

use crate::{
    contracts::Counter,
    gas,
    setup::{Setup, SharedContract},
    tx::{eip1559_fees, send},
};

/// `eip7702_delegate`: a type-4 transaction whose authorization list delegates a fresh
/// account to the shared `Counter`, and which calls `increment()` on that account in the same
/// transaction. Afterwards the account's code is `0xef0100 ‖ counter` and its own storage slot 0
/// is 1.
///
/// The authority is a new random key per transaction (it needs no funds: the leased wallet
/// pays), so pool wallets never get code, which would make plain transfers to them run the
/// delegate.
#[derive(Debug, Clone)]
pub struct Eip7702Delegate {
    setup: Arc<Setup>,
}

impl Eip7702Delegate {
    /// A task delegating to `setup`'s shared counter.
    pub fn new(setup: Arc<Setup>) -> Self {
        Self { setup }
    }
}

#[async_trait]
impl Task for Eip7702Delegate {
    fn name(&self) -> &str {
        "eip7702_delegate"
    }

    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutcome, TaskError> {
        let (counter, mut outcome) = self.setup.contract(ctx, SharedContract::Counter).await?;
        let authority = loop {
            // A 32-byte string is a valid key unless it is zero or above the curve order.
            let bytes = B256::from(ctx.rng().random::<[u8; 32]>());
            if let Ok(key) = PrivateKeySigner::from_bytes(&bytes) {
                break key;
            }
        };
        let authorization = Authorization {
            chain_id: U256::from(ctx.chain_id()),
            address: counter,
            nonce: 0,
        };
        let signature = authority
            .sign_hash_sync(&authorization.signature_hash())
            .map_err(|e| TaskError::Other(format!("signing the authorization failed: {e}")))?;
        let signed = authorization.into_signed(signature);
        let to: Address = authority.address();
        let input = Counter::incrementCall {}.abi_encode();
        let sent = send(ctx, self.name(), |r| {
            let (max_fee_per_gas, max_priority_fee_per_gas) = eip1559_fees(&r.fees);
            TxEip7702 {
                chain_id: r.chain_id,
                nonce: r.nonce,
                gas_limit: gas::EIP7702,
                max_fee_per_gas,
                max_priority_fee_per_gas,
                to,
                value: U256::ZERO,
                access_list: Default::default(),
                authorization_list: vec![signed.clone()],
                input: input.clone().into(),
            }
            .into()
        })
        .await?;
        outcome.absorb(sent);
        Ok(outcome.with_message(format!("delegated {to}")))
    }
}
