//! Plumbing every task shares: build a transaction from the run's fees, send it through
//! [`TxTask`] (so nonces, timings and revert status are handled the engine's way), deploy,
//! and read contract state with `eth_call`.

use std::fmt;

use alloy::{
    consensus::{TxEip1559, TxLegacy, TypedTransaction},
    primitives::{Address, Bytes, TxKind, U256},
    providers::Provider,
    rpc::types::{TransactionInput, TransactionRequest},
    sol_types::SolCall,
};
use parking_lot::Mutex;
use rand::Rng;
use spam_core::{
    BuildRequest, CreatedAsset, Fees, Task, TaskContext, TaskError, TaskOutcome, TxBuilder, TxTask,
};

/// An unsigned transaction with the run's fees: EIP-1559 where the chain has a base fee,
/// legacy otherwise.
pub(crate) fn call_tx(
    fees: &Fees,
    chain_id: u64,
    nonce: u64,
    to: TxKind,
    value: U256,
    input: Bytes,
    gas_limit: u64,
) -> TypedTransaction {
    match *fees {
        Fees::Eip1559 {
            max_fee_per_gas,
            max_priority_fee_per_gas,
        } => TxEip1559 {
            chain_id,
            nonce,
            gas_limit,
            max_fee_per_gas,
            max_priority_fee_per_gas,
            to,
            value,
            access_list: Default::default(),
            input,
        }
        .into(),
        Fees::Legacy { gas_price } => TxLegacy {
            chain_id: Some(chain_id),
            nonce,
            gas_price,
            gas_limit,
            to,
            value,
            input,
        }
        .into(),
    }
}

/// The EIP-1559 fee fields for transaction types that have no legacy form (7702, 4844): a
/// legacy gas price becomes both the cap and the tip.
pub(crate) const fn eip1559_fees(fees: &Fees) -> (u128, u128) {
    match *fees {
        Fees::Eip1559 {
            max_fee_per_gas,
            max_priority_fee_per_gas,
        } => (max_fee_per_gas, max_priority_fee_per_gas),
        Fees::Legacy { gas_price } => (gas_price, gas_price),
    }
}

/// A one-off [`TxBuilder`] from a closure, so a multi-step task sends each step through
/// [`TxTask`].
struct OneOff<'a, F> {
    name: &'a str,
    build: F,
}

impl<F> fmt::Debug for OneOff<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneOff").field("name", &self.name).finish()
    }
}

impl<F> TxBuilder for OneOff<'_, F>
where
    F: Fn(BuildRequest<'_>) -> TypedTransaction + Send + Sync,
{
    fn name(&self) -> &str {
        self.name
    }

    fn build(&self, request: BuildRequest<'_>) -> TypedTransaction {
        (self.build)(request)
    }
}

/// Sends the transaction `build` makes and waits for its receipt.
///
/// # Errors
/// As [`TxTask`]: a refused send, a failed receipt read, or [`TaskError::Reverted`].
pub(crate) async fn send<F>(
    ctx: &TaskContext,
    name: &str,
    build: F,
) -> Result<TaskOutcome, TaskError>
where
    F: Fn(BuildRequest<'_>) -> TypedTransaction + Send + Sync,
{
    TxTask(OneOff { name, build }).run(ctx).await
}

/// Calls `to` with `input` (no value) under `gas_limit` and waits for the receipt.
///
/// # Errors
/// As [`send`].
pub(crate) async fn send_call(
    ctx: &TaskContext,
    name: &str,
    to: Address,
    input: Bytes,
    gas_limit: u64,
) -> Result<TaskOutcome, TaskError> {
    send_value(ctx, name, to, U256::ZERO, input, gas_limit).await
}

/// Calls `to` with `input` and `value` wei under `gas_limit` and waits for the receipt.
///
/// # Errors
/// As [`send`].
pub(crate) async fn send_value(
    ctx: &TaskContext,
    name: &str,
    to: Address,
    value: U256,
    input: Bytes,
    gas_limit: u64,
) -> Result<TaskOutcome, TaskError> {
    send(ctx, name, move |r| {
        call_tx(
            &r.fees,
            r.chain_id,
            r.nonce,
            TxKind::Call(to),
            value,
            input.clone(),
            gas_limit,
        )
    })
    .await
}

/// Deploys `init_code` from the task's wallet; returns the new contract's address (from the
/// sender and the nonce the transaction used). Records nothing: see [`record`].
///
/// # Errors
/// As [`send`].
pub(crate) async fn deploy(
    ctx: &TaskContext,
    name: &str,
    init_code: Bytes,
    gas_limit: u64,
) -> Result<(Address, TaskOutcome), TaskError> {
    let created = Mutex::new(None);
    let outcome = send(ctx, name, |r| {
        *created.lock() = Some(r.sender.create(r.nonce));
        call_tx(
            &r.fees,
            r.chain_id,
            r.nonce,
            TxKind::Create,
            U256::ZERO,
            init_code.clone(),
            gas_limit,
        )
    })
    .await?;
    let address = created
        .into_inner()
        .expect("the builder ran before the send");
    Ok((address, outcome))
}

/// Records a contract the task created, in the run (for later tasks and the store) and in the
/// task's outcome.
pub(crate) fn record(ctx: &TaskContext, outcome: &mut TaskOutcome, address: Address, kind: &str) {
    let asset = CreatedAsset::new(address, kind, ctx.wallet().address());
    ctx.record_asset(asset.clone());
    outcome.assets.push(asset);
}

/// Reads `call` on `to` with `eth_call` at the latest block, retrying transient errors.
///
/// # Errors
/// [`TaskError::Rpc`] when the read fails, [`TaskError::Other`] when the answer does not decode.
pub(crate) async fn read<C: SolCall>(
    ctx: &TaskContext,
    to: Address,
    call: &C,
) -> Result<C::Return, TaskError> {
    let request = TransactionRequest {
        to: Some(TxKind::Call(to)),
        input: TransactionInput::new(call.abi_encode().into()),
        ..Default::default()
    };
    let out = ctx
        .retry()
        .retry(|| {
            let request = request.clone();
            async move { ctx.provider().call(request).await }
        })
        .await
        .map_err(|e| TaskError::rpc("eth_call", e))?;
    C::abi_decode_returns(&out).map_err(|e| {
        TaskError::Other(format!(
            "{} on {to} returned undecodable data: {e}",
            C::SIGNATURE
        ))
    })
}

/// A random address nobody holds a key for: a new account in the state each time.
pub(crate) fn fresh_address(ctx: &TaskContext) -> Address {
    Address::from(ctx.rng().random::<[u8; 20]>())
}

/// `n` fresh addresses.
pub(crate) fn fresh_addresses(ctx: &TaskContext, n: usize) -> Vec<Address> {
    let mut rng = ctx.rng();
    (0..n)
        .map(|_| Address::from(rng.random::<[u8; 20]>()))
        .collect()
}
