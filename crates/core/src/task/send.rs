//! A task's send path: [`TaskContext::send_raw`] and [`TaskContext::wait_receipt`].
//!
//! Under an engine (the [`Spammer`](crate::Spammer)) every call passes the run's breaker and
//! pause, every transaction sent stays in the run's ledger with its bytes until its fate on
//! the final chain is known, and a receipt that does not come in time has the sender
//! reconciled: the bytes the node lost are sent again, and a transaction whose nonce went to
//! another ends the wait with [`TaskError::Superseded`].

use std::{future::Future, sync::Arc, time::Duration};

use alloy::{
    primitives::TxHash, providers::Provider, rpc::types::TransactionReceipt,
    transports::TransportError,
};
use tokio::time::Instant;

use super::{
    TaskContext, TaskError, TxTiming,
    inflight::{Cause, Entry, InFlight, Seen},
};
use crate::{
    rpc::{classify, resolve_failed_send, tx_hash_of},
    session::Fate,
};

/// Longest a receipt wait sleeps for a new block before it asks anyway (a head poller that
/// stalled, or a block the poll missed).
const HEAD_WAIT: Duration = Duration::from_secs(1);

impl TaskContext {
    /// Sends signed bytes whose nonce `reservation` holds: commits it when the node has the
    /// transaction, else resolves it by the failure's [`Action`](crate::Action) (fast-forward,
    /// resync, roll back — counted in the report's nonce stats). For tasks with a send path of
    /// their own; [`TxTask`](crate::TxTask) uses it too. The transaction's timing is recorded
    /// (see [`record_tx`](Self::record_tx)).
    ///
    /// Under an engine the send waits while the run is paused or the circuit breaker is open,
    /// and the transaction is kept in the run's ledger (with its bytes) until its fate on the
    /// chain is known. A send whose outcome is unknown (no readable answer after the retries)
    /// is then no error: the nonce stays used, the hash is returned, and
    /// [`wait_receipt`](Self::wait_receipt) resolves it, sending the same bytes again if the
    /// node lacks them.
    ///
    /// # Errors
    /// [`TaskError::Send`] with the class of the node's answer; [`TaskError::Cancelled`] when
    /// the run stopped while the send waited for the breaker (nothing was sent).
    ///
    /// # Cancel safety
    /// Under an engine, safe: once the send starts, dropping the future keeps the nonce used
    /// and the transaction in the run's ledger, which re-sends the same bytes if the node
    /// lacks them and counts it if it lands. Without an engine, a dropped call may already have
    /// delivered the transaction while its reservation rolls back.
    ///
    /// # Replay safety
    /// Retries and re-broadcasts send these exact bytes again (same hash); a node that already
    /// has them answers *already known*, which counts as success.
    pub async fn send_raw(
        &self,
        reservation: spam_nonce::Reservation,
        raw: &[u8],
    ) -> Result<TxHash, TaskError> {
        let Some(inflight) = self.run.inflight.as_deref() else {
            return self.send_untracked(reservation, raw).await;
        };
        let Some(call) = inflight.guard.admit(self.cancelled()).await else {
            return Err(TaskError::Cancelled); // nothing sent: the reservation rolls back
        };
        let (hash, nonce) = (tx_hash_of(raw), reservation.nonce());
        let sent = Instant::now();
        let fresh = inflight.ledger.sending(Entry {
            hash,
            sender: reservation.sender(),
            nonce,
            raw: Some(raw.to_vec().into()),
            task: Arc::clone(&self.task),
            sent,
            acked: None,
            answered: false,
            seen: None,
            task_saw: false,
        });
        // From here the bytes may reach the node: if this future is dropped (a task timeout),
        // the nonce stays used and the ledger keeps the bytes, so the reconciler re-sends them
        // if the node lacks them; a rollback would leave a nonce the next send collides with.
        let reservation = CommitOnDrop(Some(reservation));
        let result = call.send(self.provider(), raw, self.retry()).await;
        let acked = Instant::now();
        let answered = match result {
            Ok(_) => true,
            // The node may hold it: the nonce stays used, the bytes stay in the ledger, and
            // the receipt wait sends them again if the node lacks them.
            Err(err) if err.outcome_unknown() => {
                tracing::debug!(target: "spam::task", %hash, %err, "send outcome unknown, kept in flight");
                false
            }
            Err(err) => {
                if fresh {
                    inflight.ledger.refused(hash);
                }
                if err.action() == crate::Action::ParkWallet
                    && let Some(parking) = &self.run.parking
                {
                    parking.park(self.wallet().address());
                }
                let step =
                    resolve_failed_send(self.nonces(), reservation.take(), err.action()).await;
                self.run().count(step);
                return Err(err.into());
            }
        };
        drop(reservation); // commits
        if fresh {
            inflight.ledger.accepted(hash, acked, answered);
        }
        self.timed(hash, nonce, sent, acked);
        Ok(hash)
    }

    /// The send path without an engine: every failure is the caller's.
    async fn send_untracked(
        &self,
        reservation: spam_nonce::Reservation,
        raw: &[u8],
    ) -> Result<TxHash, TaskError> {
        let sent = Instant::now();
        match crate::send_raw_transaction(self.provider(), raw, self.retry()).await {
            Ok(hash) => {
                let nonce = reservation.nonce();
                let _ = reservation.commit();
                self.timed(hash, nonce, sent, Instant::now());
                Ok(hash)
            }
            Err(err) => {
                let step = resolve_failed_send(self.nonces(), reservation, err.action()).await;
                self.run().count(step);
                Err(err.into())
            }
        }
    }

    /// Reads from the node with the run's retries (`what` names it in errors, e.g. `"fees"`).
    ///
    /// Under an engine the read waits while the run is paused and passes the circuit breaker,
    /// and its retries are counted in the report, like the engine's own reads: custom tasks
    /// should read through it.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn demo(ctx: &spam_core::TaskContext) -> Result<(), spam_core::TaskError> {
    /// let fees = ctx.read("fees", || ctx.fees().current()).await?;
    /// # let _ = fees;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`TaskError::Rpc`] with the class of the last error, or [`TaskError::Cancelled`] when the
    /// run stopped while the read waited.
    ///
    /// # Cancel safety
    /// As cancel safe as `call`.
    pub async fn read<T, F, Fut>(&self, what: &'static str, call: F) -> Result<T, TaskError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, TransportError>>,
    {
        let read = match self.run.inflight.as_deref() {
            None => self.retry().retry(call).await,
            Some(inflight) => {
                let admitted = inflight.guard.admit(self.cancelled()).await;
                admitted
                    .ok_or(TaskError::Cancelled)?
                    .read(self.retry(), call)
                    .await
            }
        };
        read.map_err(|e| TaskError::rpc(what, e))
    }

    /// Waits for `hash`'s receipt until it shows up or the run is cancelled: first after 5 ms,
    /// then doubling up to the run's receipt poll interval, so a fast chain's inclusion latency
    /// is measured to a few milliseconds and a slow one is not flooded with requests. Returns
    /// when it was seen, the gas it used and whether it succeeded.
    ///
    /// Under an engine the wait is bounded and re-resolved: when no receipt came within the
    /// run's [`reconcile_after`](crate::SpammerBuilder::reconcile_after) bound, the sender is
    /// reconciled (the exact bytes the node lost are sent again) and the wait goes on with a
    /// longer bound, up to four times the first (the first again when the node did not answer
    /// the reconciliation). Reads that find the node out (no answer, HTTP failure) do not end
    /// the wait, and no read goes out while the run is paused.
    ///
    /// # Errors
    /// A failed read (without an engine: any; under one: a refusal, not an outage),
    /// [`TaskError::Superseded`] when another transaction took the nonce, or
    /// [`TaskError::Cancelled`].
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads, and a re-broadcast sends known bytes.
    pub async fn wait_receipt(&self, hash: TxHash) -> Result<(Instant, u64, bool), TaskError> {
        let inflight = self.run.inflight.as_deref();
        let tracked = inflight.is_some_and(|f| f.ledger.contains(&hash));
        let first = inflight.map(|f| f.reconcile_after);
        let mut bound = first;
        let mut due = bound.map(|b| Instant::now() + b);
        let mut delay = Duration::from_millis(5).min(self.receipt_poll());
        // Marked seen before each read: a block that lands during the read wakes the next wait.
        let mut head = self.run.head.clone();
        loop {
            if let Some(head) = head.as_mut() {
                head.borrow_and_update();
            }
            let (read, waited) = self.read_receipt(inflight, hash).await?;
            if let (true, Some(due), Some(bound)) = (waited, due.as_mut(), bound) {
                *due = (*due).max(Instant::now() + bound); // the pause is not the chain's delay
            }
            match read {
                Ok(Some(receipt)) => return Ok(self.included(inflight, hash, &receipt)),
                Ok(None) => {}
                Err(err) if inflight.is_some() && transient(&err) => {}
                Err(err) => return Err(TaskError::rpc("receipt", err)),
            }
            if let (Some(f), Some(at), Some(first)) = (inflight, due, first)
                && Instant::now() >= at
                && !f.guard.is_paused()
            {
                let sender = f
                    .ledger
                    .sender_of(&hash)
                    .unwrap_or_else(|| self.wallet.address());
                let reconciled = f.reconcile(sender, Cause::Stalled).await;
                if reconciled.fates.get(&hash) == Some(&Fate::Superseded)
                    || (tracked && !f.ledger.contains(&hash))
                {
                    return Err(TaskError::Superseded { hash });
                }
                // Longer after each answered reconciliation (a slow chain is not hammered);
                // one the node did not answer is tried again after the first bound.
                let next = match bound {
                    Some(b) if reconciled.reached => (b * 2).min(first * 4),
                    _ => first,
                };
                bound = Some(next);
                due = Some(Instant::now() + next);
            }
            // A few quick reads first (a node mining on demand answers at once), then one per
            // new block, or per poll interval without an engine's head.
            match head.as_mut().filter(|_| delay >= self.receipt_poll()) {
                Some(head) => tokio::select! {
                    _ = tokio::time::timeout(HEAD_WAIT, head.changed()) => {}
                    _ = self.cancelled().cancelled() => return Err(TaskError::Cancelled),
                },
                None => tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = self.cancelled().cancelled() => return Err(TaskError::Cancelled),
                },
            }
            delay = (delay * 2).min(self.receipt_poll());
        }
    }

    /// One receipt read, through the engine's guard when there is one; says whether it had to
    /// wait for the pause or the breaker.
    async fn read_receipt(
        &self,
        inflight: Option<&InFlight>,
        hash: TxHash,
    ) -> Result<(Result<Option<TransactionReceipt>, TransportError>, bool), TaskError> {
        let read = || self.provider().get_transaction_receipt(hash);
        let Some(inflight) = inflight else {
            return Ok((self.retry().retry(read).await, false));
        };
        let call = inflight
            .guard
            .admit(self.cancelled())
            .await
            .ok_or(TaskError::Cancelled)?;
        let waited = call.waited();
        Ok((call.read(self.retry(), read).await, waited))
    }

    /// Records that a block holds `hash`, and returns what [`wait_receipt`](Self::wait_receipt)
    /// returns.
    fn included(
        &self,
        inflight: Option<&InFlight>,
        hash: TxHash,
        receipt: &TransactionReceipt,
    ) -> (Instant, u64, bool) {
        let at = Instant::now();
        let gas = receipt.gas_used;
        if let Some(f) = inflight {
            let seen = Seen {
                block: receipt.block_number,
                at,
                gas,
            };
            f.ledger.seen(hash, seen, true);
        }
        if let Some(t) = self.txs.lock().iter_mut().find(|t| t.hash == hash) {
            t.included = Some((at, gas));
        }
        (at, gas, receipt.status())
    }

    /// Records the timing of a transaction the node took (or may have).
    fn timed(&self, hash: TxHash, nonce: u64, sent: Instant, acked: Instant) {
        let mut txs = self.txs.lock();
        if !txs.iter().any(|t| t.hash == hash) {
            txs.push(TxTiming {
                hash,
                nonce,
                sent,
                acked,
                included: None,
            });
        }
    }
}

/// A read failure that says nothing about the transaction: the node is out or slow.
fn transient(err: &TransportError) -> bool {
    let class = classify(err);
    class.is_retryable() || class.outcome_unknown()
}

/// A reservation that commits when dropped: the nonce of a transaction that may have left.
struct CommitOnDrop(Option<spam_nonce::Reservation>);

impl CommitOnDrop {
    /// The reservation, to resolve otherwise (the node refused the transaction).
    fn take(mut self) -> spam_nonce::Reservation {
        self.0.take().expect("taken once")
    }
}

impl Drop for CommitOnDrop {
    fn drop(&mut self) {
        if let Some(reservation) = self.0.take() {
            let _ = reservation.commit();
        }
    }
}
