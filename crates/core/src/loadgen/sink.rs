//! Records of an open-loop run for spam-store: one task row per answered send, one
//! transaction row merged over its life (answered, included, receipt), one row per block.
//! Writes never wait: the buffered writer takes them or counts them as dropped.

use alloy::primitives::{Address, TxHash};
#[cfg(feature = "store")]
use spam_store::{BlockRecord, RunId, TaskRecord, TxRecord, TxStatus, WriterHandle};
use tokio::time::Instant;

use crate::session::BlockSeen;
#[cfg(feature = "store")]
use crate::session::UnixClock;

/// One send, as the records need it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SendInfo {
    pub(crate) hash: TxHash,
    pub(crate) sender: Address,
    pub(crate) nonce: u64,
    pub(crate) intended: Instant,
    /// When it was signed (before the run when presigned).
    #[cfg_attr(not(feature = "store"), allow(dead_code))]
    pub(crate) signed: Instant,
    pub(crate) sent: Instant,
    /// Which of the builder's kinds it is (a scenario's `[[tx]]`), if the builder has kinds.
    pub(crate) kind: Option<u16>,
}

#[cfg(feature = "store")]
#[derive(Debug, Clone)]
pub(crate) struct Sink {
    handle: WriterHandle,
    run: RunId,
    task: String,
    /// The builder's kinds (see [`TxBuilder::kinds`](crate::TxBuilder::kinds)).
    kinds: Vec<String>,
    clock: UnixClock,
}

#[cfg(feature = "store")]
impl Sink {
    pub(crate) fn new(
        handle: WriterHandle,
        run: RunId,
        (task, kinds): (String, Vec<String>),
        clock: UnixClock,
    ) -> Self {
        Self {
            handle,
            run,
            task,
            kinds,
            clock,
        }
    }

    /// The task name `s` is recorded under: its kind's, else the builder's.
    fn name_of(&self, s: &SendInfo) -> String {
        s.kind
            .and_then(|k| self.kinds.get(usize::from(k)))
            .unwrap_or(&self.task)
            .clone()
    }

    fn us(&self, at: Instant) -> u64 {
        self.clock.us(at)
    }

    fn tx(&self, s: &SendInfo) -> TxRecord {
        TxRecord::new(self.run, s.hash.0, s.sender.0.0, s.nonce, self.name_of(s))
    }

    /// The node answered: a task row (intended → answer) and the transaction's times.
    pub(crate) fn answered(&self, s: &SendInfo, acked: Instant, error: Option<&str>) {
        let started = self.us(s.intended);
        let mut task = TaskRecord::new(
            self.run,
            0,
            s.sender.0.0,
            self.name_of(s),
            started,
            self.us(acked).saturating_sub(started),
        );
        task.tx_hash = Some(s.hash.0);
        let mut tx = self.tx(s);
        tx.intended_at_us = Some(started);
        tx.signed_at_us = Some(self.us(s.signed));
        tx.sent_at_us = Some(self.us(s.sent));
        tx.acked_at_us = Some(self.us(acked));
        if let Some(error) = error {
            task = task.with_error(error);
            tx.status = TxStatus::Failed;
            tx.error = Some(error.to_owned());
        }
        self.handle.write(task);
        self.handle.write(tx);
    }

    /// Seen in block `block` at `at`.
    pub(crate) fn included(&self, s: &SendInfo, at: Instant, block: Option<u64>) {
        let mut tx = self.tx(s);
        tx.included_at_us = Some(self.us(at));
        tx.block_number = block;
        tx.status = TxStatus::Succeeded;
        self.handle.write(tx);
    }

    /// Its receipt.
    pub(crate) fn receipt(&self, s: &SendInfo, gas_used: u64, success: bool) {
        let mut tx = self.tx(s);
        tx.gas_used = Some(gas_used);
        if success {
            tx.status = TxStatus::Succeeded;
        } else {
            tx.status = TxStatus::Reverted;
            tx.error = Some("reverted".into());
        }
        self.handle.write(tx);
    }

    pub(crate) fn block(&self, b: &BlockSeen) {
        let mut record =
            BlockRecord::new(self.run, b.number, b.timestamp.saturating_mul(1_000_000));
        record.tx_count = b.txs;
        record.gas_used = b.gas_used;
        record.gas_limit = b.gas_limit;
        record.base_fee = Some(b.base_fee);
        self.handle.write(record);
    }
}

/// Without the `store` feature nothing is persisted: no sink can exist.
#[cfg(not(feature = "store"))]
#[derive(Debug, Clone)]
pub(crate) enum Sink {}

#[cfg(not(feature = "store"))]
impl Sink {
    pub(crate) fn answered(&self, _: &SendInfo, _: Instant, _: Option<&str>) {
        match *self {}
    }

    pub(crate) fn included(&self, _: &SendInfo, _: Instant, _: Option<u64>) {
        match *self {}
    }

    pub(crate) fn receipt(&self, _: &SendInfo, _: u64, _: bool) {
        match *self {}
    }

    pub(crate) fn block(&self, _: &BlockSeen) {
        match *self {}
    }
}
