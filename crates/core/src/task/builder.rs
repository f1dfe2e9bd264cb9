use std::fmt;

use alloy::{consensus::TypedTransaction, eips::eip2718::Encodable2718, primitives::Address};
use async_trait::async_trait;
use rand::rngs::StdRng;

use super::{Task, TaskContext, TaskError, TaskOutcome};
use crate::fees::Fees;

/// What a [`TxBuilder`] gets to build one transaction.
#[derive(Debug)]
#[non_exhaustive]
pub struct BuildRequest<'a> {
    /// The sender (the leased wallet).
    pub sender: Address,
    /// The reserved nonce.
    pub nonce: u64,
    /// Current fees.
    pub fees: Fees,
    /// The chain id.
    pub chain_id: u64,
    /// The task's seeded RNG.
    pub rng: &'a mut StdRng,
}

/// A one-transaction workload: builds an unsigned transaction, synchronously and cheaply.
///
/// The closed-loop engine runs it through [`TxTask`]; the open-loop engine calls it directly
/// on its signing threads.
pub trait TxBuilder: fmt::Debug + Send + Sync {
    /// A stable name, used in reports.
    fn name(&self) -> &str;

    /// The unsigned transaction for `request`.
    fn build(&self, request: BuildRequest<'_>) -> TypedTransaction;

    /// The names of the kinds of transaction this builder makes, when it makes several (a
    /// scenario's mix): the open loop's report counts each transaction under its kind's name.
    /// Default: none, everything counts under [`name`](Self::name).
    fn kinds(&self) -> &[String] {
        &[]
    }

    /// Builds like [`build`](Self::build) and says which of [`kinds`](Self::kinds) the
    /// transaction is (an index into it). Default: `build`, no kind.
    fn build_kind(&self, request: BuildRequest<'_>) -> (TypedTransaction, Option<usize>) {
        (self.build(request), None)
    }
}

/// The gas limit and value of a transaction `builder` builds (one sample, with placeholder
/// sender, nonce and fees): what budgeting a run's senders needs.
pub fn sample_cost(builder: &dyn TxBuilder) -> (u64, alloy::primitives::U256) {
    use alloy::consensus::Transaction as _;
    use rand::SeedableRng as _;
    let mut rng = StdRng::seed_from_u64(0);
    let tx = builder.build(BuildRequest {
        sender: Address::ZERO,
        nonce: 0,
        fees: Fees::Legacy { gas_price: 1 },
        chain_id: 1,
        rng: &mut rng,
    });
    (tx.gas_limit(), tx.value())
}

/// A shared builder builds like the one it points to, so a builder picked by name at run time
/// (`Arc<dyn TxBuilder>`) can drive an engine.
impl<T: TxBuilder + ?Sized> TxBuilder for std::sync::Arc<T> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn build(&self, request: BuildRequest<'_>) -> TypedTransaction {
        (**self).build(request)
    }

    fn kinds(&self) -> &[String] {
        (**self).kinds()
    }

    fn build_kind(&self, request: BuildRequest<'_>) -> (TypedTransaction, Option<usize>) {
        (**self).build_kind(request)
    }
}

/// Runs a [`TxBuilder`] as a [`Task`]: reserve a nonce, build, sign, send, wait for the
/// receipt, and resolve the nonce by the answer's [`Action`](crate::Action).
///
/// Nonce handling: accepted (or *already known*) → commit; *nonce too low* with the node's
/// next nonce → fast-forward; other nonce conflicts → resync; no clear answer → commit (the
/// transaction may be in the pool, so its nonce must not go to another; under an engine the
/// receipt wait resolves it, else the nonce is resynced and the task fails); any other
/// refusal → roll back. A reverted transaction used its nonce and counts as `"reverted"`.
#[derive(Debug, Clone)]
pub struct TxTask<B>(pub B);

#[async_trait]
impl<B: TxBuilder> Task for TxTask<B> {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn cost_hint(&self) -> Option<(u64, alloy::primitives::U256)> {
        Some(sample_cost(&self.0))
    }

    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutcome, TaskError> {
        let wallet = ctx.wallet();
        let sender = wallet.address();
        let fees = ctx.read("fees", || ctx.fees().current()).await?;
        let reservation = ctx.nonces().reserve(sender).await?;
        let nonce = reservation.nonce();
        let tx = self.0.build(BuildRequest {
            sender,
            nonce,
            fees,
            chain_id: ctx.chain_id(),
            rng: &mut ctx.rng(),
        });
        let raw = wallet.sign(tx)?.encoded_2718();
        // Both record the transaction's timing (sent, answered, included).
        let hash = ctx.send_raw(reservation, &raw).await?;
        let (_, gas_used, success) = ctx.wait_receipt(hash).await?;
        if !success {
            return Err(TaskError::Reverted { hash });
        }
        Ok(TaskOutcome::tx(hash, gas_used))
    }
}
