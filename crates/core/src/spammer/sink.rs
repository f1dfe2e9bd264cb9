//! Records of a closed-loop run for spam-store: one task row per finished task, one
//! transaction row per transaction it sent. Writes never wait on the database.

use alloy::primitives::Address;
#[cfg(feature = "store")]
use spam_store::{RunId, TaskRecord, TxRecord, TxStatus, WriterHandle};
use tokio::time::Instant;

#[cfg(feature = "store")]
use crate::session::UnixClock;
use crate::task::TxTiming;

#[cfg(feature = "store")]
#[derive(Debug)]
pub(super) struct TaskSink {
    handle: WriterHandle,
    run: RunId,
    clock: UnixClock,
}

#[cfg(feature = "store")]
impl TaskSink {
    pub(super) fn new(handle: WriterHandle, run: RunId, clock: UnixClock) -> Self {
        Self { handle, run, clock }
    }

    /// A task of `worker` with `wallet` ran from `started` to `finished`, sending `txs`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn finished(
        &self,
        worker: usize,
        wallet: Address,
        task: &str,
        started: Instant,
        finished: Instant,
        outcome: Result<(), &str>,
        txs: &[TxTiming],
    ) {
        let started_us = self.clock.us(started);
        let mut record = TaskRecord::new(
            self.run,
            u32::try_from(worker).unwrap_or(u32::MAX),
            wallet.0.0,
            task,
            started_us,
            self.clock.us(finished).saturating_sub(started_us),
        );
        record.tx_hash = txs.last().map(|t| t.hash.0);
        if let Err(label) = outcome {
            record = record.with_error(label);
        }
        self.handle.write(record);
        for t in txs {
            let mut tx = TxRecord::new(self.run, t.hash.0, wallet.0.0, t.nonce, task);
            tx.sent_at_us = Some(self.clock.us(t.sent));
            tx.acked_at_us = Some(self.clock.us(t.acked));
            match t.included {
                Some((at, gas)) => {
                    tx.included_at_us = Some(self.clock.us(at));
                    tx.gas_used = Some(gas);
                    tx.status = TxStatus::Succeeded;
                }
                None => tx.status = TxStatus::Pending,
            }
            self.handle.write(tx);
        }
    }
}

/// Without the `store` feature nothing is persisted: no sink can exist.
#[cfg(not(feature = "store"))]
#[derive(Debug)]
pub(super) enum TaskSink {}

#[cfg(not(feature = "store"))]
impl TaskSink {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn finished(
        &self,
        _: usize,
        _: Address,
        _: &str,
        _: Instant,
        _: Instant,
        _: Result<(), &str>,
        _: &[TxTiming],
    ) {
        match *self {}
    }
}
