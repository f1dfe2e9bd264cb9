//! State growth and compute: new storage slots, a gas burner, logs, large calldata.

use std::{num::NonZeroU32, sync::Arc};

use alloy::{
    consensus::TypedTransaction,
    primitives::{Bytes, TxKind, U256},
    sol_types::SolCall,
};
use async_trait::async_trait;
use rand::RngCore;
use spam_core::{BuildRequest, Task, TaskContext, TaskError, TaskOutcome, TxBuilder};

use crate::{
    contracts::{EventEmitter, GasBurner, StorageWriter},
    gas,
    setup::{Setup, SharedContract},
    tx::{call_tx, send_call},
};

/// What a [`StateTask`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StateOp {
    /// `StorageWriter.write(n)`: `n` never-written storage slots per call.
    StorageWrite {
        /// Slots per call.
        slots: NonZeroU32,
    },
    /// `GasBurner.burn(target)`: hashes in a loop until `target` gas is spent; no state.
    GasBurn {
        /// Gas to burn per call, on top of the call itself.
        target: NonZeroU32,
    },
    /// `EventEmitter.fire(n)`: `n` logs with two indexed topics and 32 bytes of data each.
    Events {
        /// Logs per call.
        logs: NonZeroU32,
    },
}

/// A state or compute workload on the run's shared contract for it.
#[derive(Debug, Clone)]
pub struct StateTask {
    op: StateOp,
    setup: Arc<Setup>,
}

impl StateTask {
    /// `storage_write` (10 slots), `gas_burn` (1 000 000 gas) or `emit_events` (10 logs) with
    /// the parameters in `op`.
    pub fn new(op: StateOp, setup: Arc<Setup>) -> Self {
        Self { op, setup }
    }

    /// `storage_write` of 10 slots per call.
    pub fn storage_write(setup: Arc<Setup>) -> Self {
        let slots = NonZeroU32::new(10).expect("10 > 0");
        Self::new(StateOp::StorageWrite { slots }, setup)
    }

    /// `gas_burn` of 1 000 000 gas per call.
    pub fn gas_burn(setup: Arc<Setup>) -> Self {
        let target = NonZeroU32::new(1_000_000).expect("> 0");
        Self::new(StateOp::GasBurn { target }, setup)
    }

    /// `emit_events` of 10 logs per call.
    pub fn events(setup: Arc<Setup>) -> Self {
        let logs = NonZeroU32::new(10).expect("10 > 0");
        Self::new(StateOp::Events { logs }, setup)
    }
}

#[async_trait]
impl Task for StateTask {
    fn name(&self) -> &str {
        match self.op {
            StateOp::StorageWrite { .. } => "storage_write",
            StateOp::GasBurn { .. } => "gas_burn",
            StateOp::Events { .. } => "emit_events",
        }
    }

    async fn run(&self, ctx: &TaskContext) -> Result<TaskOutcome, TaskError> {
        let (contract, input, gas_limit) = match self.op {
            StateOp::StorageWrite { slots } => {
                let n = u64::from(slots.get());
                let input = StorageWriter::writeCall { n: U256::from(n) }.abi_encode();
                (SharedContract::StorageWriter, input, gas::storage_write(n))
            }
            StateOp::GasBurn { target } => {
                let target = u64::from(target.get());
                let call = GasBurner::burnCall {
                    gasToBurn: U256::from(target),
                };
                (
                    SharedContract::GasBurner,
                    call.abi_encode(),
                    gas::gas_burn(target),
                )
            }
            StateOp::Events { logs } => {
                let n = u64::from(logs.get());
                let input = EventEmitter::fireCall { n: U256::from(n) }.abi_encode();
                (SharedContract::EventEmitter, input, gas::events(n))
            }
        };
        let (address, mut outcome) = self.setup.contract(ctx, contract).await?;
        outcome.absorb(send_call(ctx, self.name(), address, input.into(), gas_limit).await?);
        Ok(outcome)
    }
}

/// `large_calldata`: `bytes` random bytes of calldata in a zero-value transaction to the
/// sender itself; stresses bandwidth, the pool and block size, not execution.
#[derive(Debug, Clone)]
pub struct LargeCalldata {
    bytes: NonZeroU32,
}

impl LargeCalldata {
    /// `bytes` per transaction.
    pub const fn new(bytes: NonZeroU32) -> Self {
        Self { bytes }
    }
}

impl Default for LargeCalldata {
    /// 4 KiB per transaction.
    fn default() -> Self {
        Self::new(NonZeroU32::new(4096).expect("> 0"))
    }
}

impl TxBuilder for LargeCalldata {
    fn name(&self) -> &str {
        "large_calldata"
    }

    fn build(&self, request: BuildRequest<'_>) -> TypedTransaction {
        let mut data = vec![0u8; self.bytes.get() as usize];
        request.rng.fill_bytes(&mut data);
        let gas_limit = gas::calldata(u64::from(self.bytes.get()));
        call_tx(
            &request.fees,
            request.chain_id,
            request.nonce,
            TxKind::Call(request.sender),
            U256::ZERO,
            Bytes::from(data),
            gas_limit,
        )
    }
}
