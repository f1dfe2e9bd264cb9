//! How cleared transactions reach the node and how their answers settle: one request carries
//! one transaction (a plain `eth_sendRawTransaction`, or the synchronous send) or several (a
//! JSON-RPC batch); transient failures are tried again with the same bytes, as a group; every
//! answer then settles its nonce, the breaker and the books.

use std::{sync::Arc, time::Duration};

use tokio::{sync::mpsc, time::Instant};
use tokio_util::task::TaskTracker;

use super::{
    ledger::Ledger,
    limit::{SLOW, SendLimit, Slot},
    prepare::Signed,
    send::{Answer, Submitter},
    sink::SendInfo,
};
use crate::{
    breaker::Permit,
    rpc::{ErrorClass, resolve_failed_send},
    task::NonceCounters,
};
use spam_nonce::NonceManager;

/// What a send needs besides its transactions.
#[derive(Debug)]
pub(crate) struct SendContext {
    /// Where senders refused for lack of funds are parked.
    pub(crate) parking: Arc<crate::session::Parking>,
    pub(crate) ledger: Arc<Ledger>,
    pub(crate) submitter: Submitter,
    pub(crate) nonces: NonceManager,
    pub(crate) counters: Arc<NonceCounters>,
    /// The adaptive cap on sends waiting for their answer.
    pub(crate) limit: Arc<SendLimit>,
    /// `eth_sendRawTransactionSync` instead of `eth_sendRawTransaction`.
    pub(crate) sync: bool,
}

/// A transaction cleared to go: its in-flight and breaker permits travel with it.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub(crate) signed: Signed,
    pub(crate) intended: Instant,
    /// Set when the request leaves.
    pub(crate) sent: Instant,
    pub(crate) _slot: Slot,
    pub(crate) breaker: Permit,
}

/// One transaction's way through its tries.
struct Try {
    out: Outgoing,
    result: Answer,
    acked: Instant,
    /// The label of the first try that got no readable answer: the transaction may be in the
    /// pool even if a later try is refused (a "nonce too low" then means it landed).
    unknown: Option<String>,
    /// Whether a try timed out: the node is slow to answer, and the send cap adapts.
    timed_out: bool,
}

/// The waits before each new try of sends that failed for a transient reason (rate limit,
/// full pool, timeout, connection, HTTP error): the same bytes, so the node sees one
/// transaction however many tries reach it.
const RETRY_DELAYS: [Duration; 2] = [Duration::from_millis(100), Duration::from_millis(400)];

/// Sends `outs` in one request over `connection` and settles the answers. A group with
/// failures to try again settles on its own task in `tasks`, so the caller (a connection's
/// worker) moves on at once.
pub(crate) async fn deliver(
    ctx: &Arc<SendContext>,
    tasks: &TaskTracker,
    mut outs: Vec<Outgoing>,
    connection: usize,
) {
    let now = Instant::now();
    for out in &mut outs {
        register(ctx, out, now);
    }
    let items = outs
        .iter()
        .map(|o| (o.signed.sender, o.signed.raw.clone()))
        .collect();
    let answers = ctx.submitter.post(items, connection, ctx.sync).await;
    let acked = Instant::now();
    let tries: Vec<Try> = outs
        .into_iter()
        .zip(answers)
        .map(|(out, result)| Try {
            out,
            result,
            acked,
            unknown: None,
            timed_out: false,
        })
        .collect();
    if tries.iter().any(|t| again(&t.result)) {
        let ctx = Arc::clone(ctx);
        tasks.spawn(async move { settle(&ctx, retry(&ctx, tries, connection).await).await });
    } else {
        settle(ctx, tries).await;
    }
}

/// Sends batches over one connection: waits for a transaction, takes whatever else is queued
/// (up to `max`, waiting at most `linger` after the first one's intended time), sends them in
/// one request, repeats. Under light load a request carries one transaction sent at once;
/// under heavy load batches fill up, as the node allows.
pub(crate) async fn connection_worker(
    ctx: Arc<SendContext>,
    tasks: TaskTracker,
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
                    Err(mpsc::error::TryRecvError::Empty) if linger.is_zero() => break,
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
        deliver(&ctx, &tasks, batch, connection).await;
    }
}

/// Records the send in the ledger (before the request leaves) and hands it the lease.
fn register(ctx: &SendContext, out: &mut Outgoing, sent: Instant) {
    out.sent = sent;
    let lease = out.signed.lease.take();
    ctx.ledger.sent(info(out), out.signed.raw.clone(), lease);
}

/// Whether an answer is a failure worth another try with the same bytes.
fn again(result: &Answer) -> bool {
    matches!(result, Err(r) if r.class.is_retryable() || r.class.outcome_unknown())
}

/// Whether a send failed for want of an answer in time: our timeout, or a gateway's (408,
/// 504). The cap on waiting sends adapts to these.
fn slow(class: &ErrorClass) -> bool {
    matches!(
        class,
        ErrorClass::Timeout | ErrorClass::Http { status: 408 | 504 }
    )
}

/// Tries the transient failures of `tries` again, together, after each of [`RETRY_DELAYS`].
async fn retry(ctx: &SendContext, mut tries: Vec<Try>, connection: usize) -> Vec<Try> {
    for delay in RETRY_DELAYS {
        let mut group = Vec::new();
        for (i, t) in tries.iter_mut().enumerate() {
            let Err(refused) = &t.result else { continue };
            t.timed_out |= slow(&refused.class);
            if !again(&t.result) {
                continue;
            }
            let label = refused.label();
            if refused.class.outcome_unknown() && t.unknown.is_none() {
                t.unknown = Some(label.clone());
            }
            ctx.ledger.retried(&label);
            group.push(i);
        }
        if group.is_empty() {
            break;
        }
        tokio::time::sleep(delay).await;
        let items = group
            .iter()
            .map(|&i| {
                let signed = &tries[i].out.signed;
                (signed.sender, signed.raw.clone())
            })
            .collect();
        let answers = ctx.submitter.post(items, connection, ctx.sync).await;
        let acked = Instant::now();
        for (&i, result) in group.iter().zip(answers) {
            tries[i].result = result;
            tries[i].acked = acked;
        }
    }
    tries
}

fn info(out: &Outgoing) -> SendInfo {
    SendInfo {
        hash: out.signed.hash,
        sender: out.signed.sender,
        nonce: out.signed.reservation.nonce(),
        intended: out.intended,
        signed: out.signed.signed_at,
        sent: out.sent,
        kind: out.signed.kind,
    }
}

/// Settles each try's final answer.
async fn settle(ctx: &SendContext, tries: Vec<Try>) {
    for t in tries {
        settle_one(ctx, t).await;
    }
}

/// Settles one final answer: the nonce, the breaker, the books. The breaker counts a send
/// that finally went through as a success. A send left without a readable answer stays in
/// flight (its nonce used), for the block scan or a reconciliation to settle; a refusal
/// resolves the nonce by its action.
async fn settle_one(ctx: &SendContext, t: Try) {
    let Try {
        out,
        result,
        acked,
        unknown,
        timed_out,
    } = t;
    let timed_out = timed_out || matches!(&result, Err(r) if slow(&r.class));
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
            if refused.class.action() == crate::Action::ParkWallet {
                ctx.parking.park(signed.sender);
            }
            let step =
                resolve_failed_send(&ctx.nonces, signed.reservation, refused.class.action()).await;
            ctx.counters.count(step);
        }
    }
}
