//! The pacer: walks the schedule in real time and, at each intended time, sends the signed
//! transaction prepared for that tick, or counts the tick as dropped with its reason. It never
//! waits for the node: sends run on their own tasks, bounded by the in-flight cap.

use std::{collections::VecDeque, sync::Arc, time::Duration};

use tokio::{sync::mpsc, time::Instant};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::{
    deliver::{Outgoing, SendContext, connection_worker, deliver},
    gate::Gate,
    ledger::DropReason,
    limit::Slot,
    prepare::{Prepared, Signed},
};
use crate::{
    breaker::Permit,
    profile::{Schedule, SendStrategy},
};

/// Where prepared ticks come from.
#[derive(Debug)]
pub(crate) enum Source {
    /// Signed shortly ahead by the live preparer.
    Live(mpsc::Receiver<Prepared>),
    /// All signed before the run.
    Presigned(VecDeque<Prepared>),
}

pub(crate) struct Pacer {
    pub(crate) start: Instant,
    pub(crate) end: Duration,
    /// Ticks due before this are dropped at once as "shard late" (a shard that joined
    /// after the common start).
    pub(crate) late: Duration,
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

/// A tick this late is dropped (pacer behind) instead of sent.
const MAX_LAG: Duration = Duration::from_secs(1);

/// Ticks resolved in one go before the pacer lets other tasks run.
const YIELD_EVERY: u32 = 1_024;

impl Pacer {
    /// Runs until the last tick before the end, or until cancelled (ticks after that are
    /// not offered). Returns when every tick is sent or dropped; sends may still be running
    /// on `sends`.
    pub(crate) async fn run(mut self) {
        let mut ready: VecDeque<Prepared> = VecDeque::new();
        // Batches: one worker per connection takes what is queued when its connection is free
        // (a lone transaction goes as a plain request).
        let batches = match self.strategy {
            SendStrategy::Batch { max, linger } => {
                let (tx, rx) = mpsc::unbounded_channel();
                let rx = Arc::new(tokio::sync::Mutex::new(rx));
                for connection in 0..self.ctx.submitter.connections() {
                    let (ctx, rx) = (Arc::clone(&self.ctx), Arc::clone(&rx));
                    let tasks = self.sends.clone();
                    self.sends.spawn(connection_worker(
                        ctx,
                        tasks,
                        rx,
                        connection,
                        max.max(1),
                        linger,
                    ));
                }
                Some(tx)
            }
            _ => None,
        };
        let mut next = self.next_tick();
        if !self.late.is_zero() {
            next = self.drop_until(next, self.late, DropReason::ShardLate);
        }
        'pace: while let Some((_, wake)) = next {
            if wake > Instant::now() {
                tokio::select! {
                    () = tokio::time::sleep_until(wake) => {}
                    () = self.cancel.cancelled() => break,
                }
            }
            let now = Instant::now();
            if now >= self.start + self.end + END_SLACK {
                // Behind at the end: the rest is dropped in bulk, so the run ends on time.
                self.drop_until(next, self.end, DropReason::PacerBehind);
                break;
            }
            // Ticks too late to send are counted in bulk: a pacer far behind a high rate
            // catches up in one step instead of walking every tick.
            let too_late = now.saturating_duration_since(self.start + MAX_LAG);
            next = self.drop_until(next, too_late, DropReason::PacerBehind);
            let mut resolved = 0_u32;
            while let Some((index, intended)) = next.filter(|&(_, at)| at <= now) {
                if let Some(out) = self.tick(index, intended, &mut ready) {
                    match &batches {
                        // The workers outlive the pacer: a send never fails here.
                        Some(queue) => drop(queue.send(out)),
                        None => self.send_one(out),
                    }
                }
                next = self.next_tick();
                resolved += 1;
                if resolved.is_multiple_of(YIELD_EVERY) {
                    // Let the sends (and a Ctrl-C) run while many ticks are due at once.
                    tokio::task::yield_now().await;
                    if self.cancel.is_cancelled() {
                        break 'pace;
                    }
                }
            }
        }
        // Dropping the queue lets the batch workers drain it and stop.
    }

    /// Counts `next` and every later tick due before `until` (from the start) as dropped
    /// for `reason` (the pacer is behind, or the shard late), in one step per second of the
    /// schedule; returns the first tick at or after `until`.
    fn drop_until(
        &mut self,
        mut next: Option<(u64, Instant)>,
        until: Duration,
        reason: DropReason,
    ) -> Option<(u64, Instant)> {
        let until = until.min(self.end);
        while let Some((_, intended)) = next {
            let offset = intended.saturating_duration_since(self.start);
            if offset >= until {
                break;
            }
            let second_end = Duration::from_secs(offset.as_secs() + 1).min(until);
            let n = 1 + self.schedule.skip_until(second_end);
            self.ctx.ledger.dropped_many(intended, n, reason);
            next = self.next_tick();
        }
        next
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
            Some(Ok(mut signed)) => {
                let presigned = matches!(self.source, Source::Presigned(_));
                match self.clear(&mut signed, intended, presigned) {
                    Ok((breaker, slot)) => {
                        return Some(Outgoing {
                            signed,
                            intended,
                            sent: intended,
                            _slot: slot,
                            breaker,
                        });
                    }
                    Err(reason) => {
                        ledger.dropped(intended, reason);
                        if presigned {
                            // The tick is dropped, not its transaction: it goes at the next
                            // tick (presigned items are taken in order, whatever their index),
                            // so no hole opens before its sender's later ones.
                            ready.push_front(Prepared {
                                index,
                                item: Ok(signed),
                            });
                        }
                    }
                }
            }
        }
        None
    }

    /// The permits `signed` needs to go now, or why the tick is dropped.
    fn clear(
        &self,
        signed: &mut Signed,
        intended: Instant,
        presigned: bool,
    ) -> Result<(Permit, Slot), DropReason> {
        // Live ticks passed the recovery rate when they were prepared.
        if presigned {
            self.gate.admit(intended)?;
            if !self.ctx.submitter.admit(signed.sender) {
                return Err(DropReason::EndpointRateLimit);
            }
        } else if self.gate.is_held() {
            return Err(DropReason::Reconciling);
        }
        let breaker = self
            .gate
            .breaker
            .try_acquire()
            .map_err(|_| DropReason::BreakerOpen)?;
        let slot = signed
            .slot
            .take()
            .or_else(|| self.ctx.limit.try_acquire())
            .ok_or(DropReason::InFlightCap)?;
        Ok((breaker, slot))
    }

    /// The prepared item of tick `index`; stale items (ticks already counted) are dropped,
    /// which rolls their nonces back.
    fn take(
        &mut self,
        index: u64,
        ready: &mut VecDeque<Prepared>,
    ) -> Option<Result<Signed, DropReason>> {
        if let Source::Presigned(all) = &mut self.source {
            // Presigned transactions go in order whatever tick they were signed for: one
            // carried over from a dropped tick takes the next.
            return ready
                .pop_front()
                .or_else(|| all.pop_front())
                .map(|p| p.item);
        }
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

    /// One request for one transaction, on its own task, over the next connection in turn.
    fn send_one(&self, out: Outgoing) {
        let (ctx, tasks) = (Arc::clone(&self.ctx), self.sends.clone());
        let connection = self.ctx.submitter.next_connection();
        self.sends
            .spawn(async move { deliver(&ctx, &tasks, vec![out], connection).await });
    }
}
