//! The pacer: walks the schedule in real time and, at each intended time, sends the signed
//! transaction prepared for that tick, or counts the tick as dropped with its reason. It never
//! waits for the node: sends run on their own tasks, bounded by the in-flight cap.

use std::{collections::VecDeque, sync::Arc, time::Duration};

use tokio::{sync::mpsc, time::Instant};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::{
    gate::Gate,
    ledger::{DropReason, Ledger},
    limit::{SLOW, SendLimit, Slot},
    prepare::{Prepared, Signed},
    send::{Refused, Submitter, SyncReceipt},
    sink::SendInfo,
};
use crate::{
    breaker::Permit,
    profile::{Schedule, SendStrategy},
    rpc::resolve_failed_send,
    task::NonceCounters,
};
use spam_nonce::NonceManager;

/// Where prepared ticks come from.
#[derive(Debug)]
pub(crate) enum Source {
    /// Signed shortly ahead by the live preparer.
    Live(mpsc::Receiver<Prepared>),
    /// All signed before the run.
    Presigned(VecDeque<Prepared>),
}

/// What a send task needs besides its transaction.
#[derive(Debug)]
pub(crate) struct SendContext {
    pub(crate) ledger: Arc<Ledger>,
    pub(crate) submitter: Submitter,
    pub(crate) nonces: NonceManager,
    pub(crate) counters: Arc<NonceCounters>,
    /// The adaptive cap on sends waiting for their answer.
    pub(crate) limit: Arc<SendLimit>,
}

/// A transaction cleared to go: its in-flight and breaker permits travel with it.
#[derive(Debug)]
struct Outgoing {
    signed: Signed,
    intended: Instant,
    /// Set when the request leaves.
    sent: Instant,
    _slot: Slot,
    breaker: Permit,
}

pub(crate) struct Pacer {
    pub(crate) start: Instant,
    pub(crate) end: Duration,
    pub(crate) schedule: Schedule,
    pub(crate) source: Source,
    pub(crate) gate: Arc<Gate>,
    pub(crate) strategy: SendStrategy,
    pub(crate) ctx: Arc<SendContext>,
    pub(crate) sends: TaskTracker,
    pub(crate) cancel: CancellationToken,
}

/// How far past the end the pacer still sends ticks that were due before it; later, a pacer
/// that fell behind drops the rest at once, so the run ends on time.
const END_SLACK: Duration = Duration::from_millis(100);

impl Pacer {
    /// Runs until the last tick before the end, or until cancelled (ticks after that are
    /// not offered). Returns when every tick is sent or dropped; sends may still be running
    /// on `sends`.
    pub(crate) async fn run(mut self) {
        let mut ready: VecDeque<Prepared> = VecDeque::new();
        // Batches: one worker per connection takes what is queued when its connection is free.
        let batches = match self.strategy {
            SendStrategy::Batch { max, linger } => {
                let (tx, rx) = mpsc::unbounded_channel();
                let rx = Arc::new(tokio::sync::Mutex::new(rx));
                for connection in 0..self.ctx.submitter.connections() {
                    let (ctx, rx) = (Arc::clone(&self.ctx), Arc::clone(&rx));
                    self.sends
                        .spawn(batch_worker(ctx, rx, connection, max.max(1), linger));
                }
                Some(tx)
            }
            _ => None,
        };
        let mut next = self.next_tick();
        while let Some((_, wake)) = next {
            if wake > Instant::now() {
                tokio::select! {
                    () = tokio::time::sleep_until(wake) => {}
                    () = self.cancel.cancelled() => break,
                }
            }
            let now = Instant::now();
            if now >= self.start + self.end + END_SLACK {
                // Behind at the end: the rest is dropped in bulk, so the run ends on time.
                self.drop_rest(next);
                break;
            }
            while let Some((index, intended)) = next.filter(|&(_, at)| at <= now) {
                if let Some(out) = self.tick(index, intended, &mut ready) {
                    match &batches {
                        // The workers outlive the pacer: a send never fails here.
                        Some(queue) => drop(queue.send(out)),
                        None => self.send_one(out),
                    }
                }
                next = self.next_tick();
            }
        }
        // Dropping the queue lets the batch workers drain it and stop.
    }

    /// Counts `next` and every later tick before the end as dropped, per second.
    fn drop_rest(&mut self, mut next: Option<(u64, Instant)>) {
        let ledger = Arc::clone(&self.ctx.ledger);
        let mut bucket: Option<(Instant, u64)> = None;
        while let Some((_, intended)) = next {
            let second = intended.saturating_duration_since(self.start).as_secs();
            match &mut bucket {
                Some((at, n)) if at.saturating_duration_since(self.start).as_secs() == second => {
                    *n += 1;
                }
                _ => {
                    if let Some((at, n)) = bucket.take() {
                        ledger.dropped_many(at, n, DropReason::PacerBehind);
                    }
                    bucket = Some((intended, 1));
                }
            }
            next = self.next_tick();
        }
        if let Some((at, n)) = bucket {
            ledger.dropped_many(at, n, DropReason::PacerBehind);
        }
    }

    fn next_tick(&mut self) -> Option<(u64, Instant)> {
        let index = self.schedule.next_index();
        let due = self.schedule.next_due()?;
        (due < self.end).then(|| (index, self.start + due))
    }

    /// Resolves tick `index`: the prepared transaction cleared to go, or a drop.
    fn tick(
        &mut self,
        index: u64,
        intended: Instant,
        ready: &mut VecDeque<Prepared>,
    ) -> Option<Outgoing> {
        let taken = self.take(index, ready);
        let ledger = &self.ctx.ledger;
        match taken {
            None => ledger.dropped(intended, DropReason::NotSigned),
            Some(Err(reason)) => ledger.dropped(intended, reason),
            Some(Ok(signed)) => {
                let presigned = matches!(self.source, Source::Presigned(_));
                // Live ticks passed the recovery rate when they were prepared.
                let admitted = if presigned {
                    self.gate.admit(intended)
                } else if self.gate.is_held() {
                    Err(DropReason::Reconciling)
                } else {
                    Ok(())
                };
                if let Err(reason) = admitted {
                    ledger.dropped(intended, reason);
                    return None;
                }
                let Ok(breaker) = self.gate.breaker.try_acquire() else {
                    ledger.dropped(intended, DropReason::BreakerOpen);
                    return None;
                };
                let Some(slot) = self.ctx.limit.try_acquire() else {
                    ledger.dropped(intended, DropReason::InFlightCap);
                    return None;
                };
                return Some(Outgoing {
                    signed,
                    intended,
                    sent: intended,
                    _slot: slot,
                    breaker,
                });
            }
        }
        None
    }

    /// The prepared item of tick `index`; stale items (ticks already counted) are dropped,
    /// which rolls their nonces back.
    fn take(
        &mut self,
        index: u64,
        ready: &mut VecDeque<Prepared>,
    ) -> Option<Result<Signed, DropReason>> {
        loop {
            match ready.front() {
                Some(p) if p.index < index => {
                    ready.pop_front();
                    continue;
                }
                Some(p) if p.index == index => return ready.pop_front().map(|p| p.item),
                Some(_) => return None,
                None => {}
            }
            let more = match &mut self.source {
                Source::Live(rx) => rx.try_recv().ok(),
                Source::Presigned(all) => all.pop_front(),
            };
            ready.push_back(more?);
        }
    }

    fn send_one(&self, out: Outgoing) {
        let ctx = Arc::clone(&self.ctx);
        let sync = self.strategy == SendStrategy::Sync;
        let out = register(&ctx, out, Instant::now());
        self.sends.spawn(async move {
            let result = submit(&ctx, &out, sync).await;
            answer(&ctx, out, result, Instant::now(), sync).await;
        });
    }
}

/// Sends batches over one connection: waits for a transaction, takes whatever else is queued
/// (up to `max`, waiting at most `linger` after the first one's intended time), posts them as
/// one JSON-RPC batch, settles the answers, repeats. Under light load a batch is one
/// transaction sent at once; under heavy load batches fill up, as the node allows.
async fn batch_worker(
    ctx: Arc<SendContext>,
    queue: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Outgoing>>>,
    connection: usize,
    max: usize,
    linger: Duration,
) {
    loop {
        let batch = {
            let mut rx = queue.lock().await;
            let Some(first) = rx.recv().await else {
                return;
            };
            let deadline = first.intended + linger;
            let mut batch = vec![first];
            while batch.len() < max {
                match rx.try_recv() {
                    Ok(out) => batch.push(out),
                    Err(mpsc::error::TryRecvError::Disconnected) => break,
                    Err(mpsc::error::TryRecvError::Empty) => {
                        match tokio::time::timeout_at(deadline, rx.recv()).await {
                            Ok(Some(out)) => batch.push(out),
                            _ => break,
                        }
                    }
                }
            }
            batch
        };
        let now = Instant::now();
        let outs: Vec<Outgoing> = batch
            .into_iter()
            .map(|out| register(&ctx, out, now))
            .collect();
        let raws = outs.iter().map(|o| o.signed.raw.clone()).collect();
        let answers = ctx.submitter.send_batch(connection, raws).await;
        let acked = Instant::now();
        for (out, result) in outs.into_iter().zip(answers) {
            answer(&ctx, out, result.map(|()| None), acked, false).await;
        }
    }
}

/// Records the send in the ledger (before the request leaves) and hands it the lease.
fn register(ctx: &SendContext, mut out: Outgoing, sent: Instant) -> Outgoing {
    out.sent = sent;
    let lease = out.signed.lease.take();
    ctx.ledger.sent(info(&out), out.signed.raw.clone(), lease);
    out
}

/// One request with `out`'s bytes, single or synchronous.
async fn submit(
    ctx: &SendContext,
    out: &Outgoing,
    sync: bool,
) -> Result<Option<SyncReceipt>, Refused> {
    let raw = out.signed.raw.clone();
    if sync {
        ctx.submitter.send_sync(raw).await
    } else {
        ctx.submitter.send_one(raw).await.map(|()| None)
    }
}

/// Whether a send failed for want of an answer in time: our timeout, or a gateway's (408,
/// 504). The cap on waiting sends adapts to these.
fn slow(class: &crate::rpc::ErrorClass) -> bool {
    use crate::rpc::ErrorClass;
    matches!(
        class,
        ErrorClass::Timeout | ErrorClass::Http { status: 408 | 504 }
    )
}

/// The waits before each new try of a send that failed for a transient reason (rate limit,
/// full pool, timeout, connection, HTTP error): the same bytes, so the node sees one
/// transaction however many tries reach it.
const RETRY_DELAYS: [Duration; 2] = [Duration::from_millis(100), Duration::from_millis(400)];

fn info(out: &Outgoing) -> SendInfo {
    SendInfo {
        hash: out.signed.hash,
        sender: out.signed.sender,
        nonce: out.signed.reservation.nonce(),
        intended: out.intended,
        signed: out.signed.signed_at,
        sent: out.sent,
    }
}

/// Settles one answer: the nonce, the breaker, the books. A transient failure is tried again
/// first (counted per class); the breaker counts a send that finally went through as a
/// success. A send left without a readable answer stays in flight (its nonce used), for the
/// block scan or a reconciliation to settle; a refusal resolves the nonce by its action.
async fn answer(
    ctx: &SendContext,
    out: Outgoing,
    mut result: Result<Option<SyncReceipt>, Refused>,
    mut acked: Instant,
    sync: bool,
) {
    // The label of the first try that got no readable answer: the transaction may be in the
    // pool even if a later try is refused (a "nonce too low" then means it landed).
    let mut unknown: Option<String> = None;
    // Whether a try timed out: the node is slow to answer, and the cap on waiting sends adapts.
    let mut timed_out = false;
    for delay in RETRY_DELAYS {
        let Err(refused) = &result else { break };
        timed_out |= slow(&refused.class);
        if !refused.class.is_retryable() && !refused.class.outcome_unknown() {
            break;
        }
        let label = refused.label();
        if refused.class.outcome_unknown() && unknown.is_none() {
            unknown = Some(label.clone());
        }
        ctx.ledger.retried(&label);
        tokio::time::sleep(delay).await;
        result = submit(ctx, &out, sync).await;
        acked = Instant::now();
    }
    timed_out |= matches!(&result, Err(r) if slow(&r.class));
    let stalled = timed_out || acked.saturating_duration_since(out.sent) > SLOW;
    ctx.limit.answered(stalled, acked);
    let info = info(&out);
    let Outgoing {
        signed, breaker, ..
    } = out;
    let hash = signed.hash;
    match result {
        Ok(receipt) => {
            let _ = signed.reservation.commit();
            breaker.success();
            ctx.ledger.accepted(&info, acked);
            if let Some(receipt) = receipt
                && let Some(info) = ctx.ledger.included_now(hash, acked)
            {
                ctx.ledger
                    .receipt(&info, acked, receipt.gas_used, receipt.success);
            }
        }
        Err(refused) if unknown.is_some() || refused.class.outcome_unknown() => {
            let _ = signed.reservation.commit();
            if refused.class.is_node_failure() || unknown.is_some() {
                breaker.failure();
            } else {
                breaker.success();
            }
            let label = unknown.unwrap_or_else(|| refused.label());
            ctx.ledger.unanswered(&info, acked, &label);
        }
        Err(refused) => {
            // A refusal is an answer: only the node's own trouble counts against it.
            if refused.class.is_node_failure() {
                breaker.failure();
            } else {
                breaker.success();
            }
            ctx.ledger.rejected(&info, acked, &refused.label());
            let step =
                resolve_failed_send(&ctx.nonces, signed.reservation, refused.class.action()).await;
            ctx.counters.count(step);
        }
    }
}
