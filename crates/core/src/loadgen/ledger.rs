//! The accounting of an open-loop run, and its in-flight set: every tick ends up dropped or
//! sent; every send accepted, rejected or unanswered; every accepted or unanswered
//! transaction included, pending at the end or superseded.
//!
//! Counters live under one lock with the recorder, so the identities hold at every instant
//! that no event is half-recorded. The in-flight set is a `DashMap` keyed by hash that keeps
//! each transaction's signed bytes until it is seen in a block or its nonce is taken by
//! another: what a stuck sender's reconciliation re-broadcasts. An entry is removed exactly
//! when its transaction reaches a final state; its sender's lease (the per-wallet cap) goes
//! with it, so the set is bounded by the in-flight caps.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use alloy::primitives::{Address, Bytes, TxHash};
use dashmap::DashMap;
use parking_lot::Mutex;
use tokio::time::{Duration, Instant};

use super::sink::{SendInfo, Sink};
use crate::{
    metrics::Latency,
    metrics::Recorder,
    pool::Lease,
    session::{BlockSeen, Unsettled},
    wallet::Wallet,
};

/// Why a tick was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum DropReason {
    /// Every sender had its in-flight cap of unconfirmed transactions.
    WalletCap,
    /// The global cap of unanswered sends was reached.
    InFlightCap,
    /// No signed transaction was ready at the intended time (signing fell behind).
    NotSigned,
    /// The circuit breaker was open (beyond the recovery rate).
    BreakerOpen,
    /// A nonce could not be reserved or the transaction could not be signed.
    Prepare,
    /// The pacer itself fell over a second behind, or the run ended before it reached the tick.
    PacerBehind,
    /// Held while every sender was reconciled after an outage.
    Reconciling,
    /// The sender's endpoint had no request permit left under its cap.
    EndpointRateLimit,
    /// A shard joined after the common start: the ticks it missed.
    ShardLate,
}

impl DropReason {
    /// Every reason, in order.
    pub(crate) const ALL: [Self; 9] = [
        Self::WalletCap,
        Self::InFlightCap,
        Self::NotSigned,
        Self::BreakerOpen,
        Self::Prepare,
        Self::PacerBehind,
        Self::Reconciling,
        Self::EndpointRateLimit,
        Self::ShardLate,
    ];

    pub(crate) const fn label(self) -> &'static str {
        match self {
            Self::WalletCap => "wallet in-flight cap",
            Self::InFlightCap => "global in-flight cap",
            Self::NotSigned => "not signed in time",
            Self::BreakerOpen => "breaker open",
            Self::Prepare => "nonce or signing failed",
            Self::PacerBehind => "pacer over 1 s behind",
            Self::Reconciling => "held while reconciling after an outage",
            Self::EndpointRateLimit => "endpoint rate limit",
            Self::ShardLate => "shard late",
        }
    }
}

/// Where a sent transaction stands.
#[derive(Debug)]
pub(crate) enum Stage {
    /// Sent, no answer yet; `seen` (when, in which block) when a block already holds it.
    Sent { seen: Option<(Instant, u64)> },
    /// Accepted, waiting for a block.
    Accepted,
    /// Sent without a readable answer (timeout, lost answer, HTTP error of a gateway): it may
    /// be in the pool; the block scan or a reconciliation settles it.
    Unanswered,
}

/// A sent transaction not yet in a final state.
#[derive(Debug)]
pub(crate) struct InFlight {
    pub(crate) info: SendInfo,
    pub(crate) stage: Stage,
    /// The signed bytes, for a re-broadcast.
    pub(crate) raw: Bytes,
    /// When it was last sent, re-broadcast or found held by the node.
    pub(crate) touched: Instant,
    /// Holds one of the sender's in-flight permits until the transaction is settled.
    pub(crate) _lease: Option<Lease<Arc<Wallet>>>,
    /// Later sends of the same transaction still waiting for their answer.
    pub(crate) copies: u32,
}

/// Open-loop counters; see [`OpenLoopStats`](crate::OpenLoopStats) for their meaning.
#[derive(Debug, Default, Clone)]
pub(crate) struct Counters {
    pub(crate) offered: u64,
    pub(crate) dropped: BTreeMap<DropReason, u64>,
    pub(crate) sent: u64,
    pub(crate) accepted: u64,
    pub(crate) rejected: u64,
    pub(crate) unanswered: u64,
    pub(crate) included: u64,
    /// Taken by another transaction's nonce, found while the run was on.
    pub(crate) superseded: u64,
    pub(crate) rebroadcasts: u64,
    /// Senders reconciled, by cause.
    pub(crate) reconciliations: BTreeMap<&'static str, u64>,
    /// Sends tried again after a transient error, by its class.
    pub(crate) retries: BTreeMap<String, u64>,
    /// When the last of our transactions was seen in a block.
    pub(crate) last_inclusion: Option<Instant>,
    pub(crate) landed_after_error: u64,
    pub(crate) duplicates: u64,
    pub(crate) late: u64,
    pub(crate) reverted: u64,
    pub(crate) receipts: u64,
    pub(crate) own_gas: u64,
}

pub(crate) struct Books {
    pub(crate) recorder: Recorder,
    pub(crate) counters: Counters,
    /// Intended → sent.
    pub(crate) lag: Latency,
    /// Per sender, the nonce after the highest one sent.
    pub(crate) high_water: HashMap<Address, u64>,
}

/// Shared by the pacer, the send tasks, the tracker and the preconfirmation listener.
pub(crate) struct Ledger {
    task: String,
    /// The builder's kinds: a transaction of kind `k` counts under `kinds[k]`.
    kinds: Vec<String>,
    late_after: Duration,
    books: Mutex<Books>,
    pub(crate) in_flight: DashMap<TxHash, InFlight>,
    /// The first block the block scan has not looked at yet.
    pub(crate) scanned: std::sync::atomic::AtomicU64,
    /// Where records go when a store is configured.
    sink: Option<Sink>,
}

impl Ledger {
    /// Counts each transaction under its kind's name (a scenario's `[[tx]]`), ticks that never
    /// got a transaction under the builder's.
    pub(crate) fn with_kinds(mut self, kinds: Vec<String>) -> Self {
        self.kinds = kinds;
        self
    }

    /// The name `info` counts under.
    fn name_of(&self, info: &SendInfo) -> &str {
        info.kind
            .and_then(|k| self.kinds.get(usize::from(k)))
            .unwrap_or(&self.task)
    }

    pub(crate) fn new(
        task: String,
        start: Instant,
        late_after: Duration,
        sink: Option<Sink>,
    ) -> Self {
        Self {
            task,
            kinds: Vec::new(),
            late_after,
            books: Mutex::new(Books {
                recorder: Recorder::new(start),
                counters: Counters::default(),
                lag: Latency::default(),
                high_water: HashMap::new(),
            }),
            in_flight: DashMap::new(),
            scanned: std::sync::atomic::AtomicU64::new(0),
            sink,
        }
    }

    /// A tick that was not sent.
    pub(crate) fn dropped(&self, intended: Instant, reason: DropReason) {
        let mut b = self.books.lock();
        b.counters.offered += 1;
        *b.counters.dropped.entry(reason).or_default() += 1;
        b.recorder.tick(&self.task, intended, true, false);
    }

    /// `n` ticks due in the second of `intended` that were not sent.
    pub(crate) fn dropped_many(&self, intended: Instant, n: u64, reason: DropReason) {
        let mut b = self.books.lock();
        b.counters.offered += n;
        *b.counters.dropped.entry(reason).or_default() += n;
        b.recorder.ticks(&self.task, intended, n, true, false);
    }

    /// A tick whose transaction goes out now; registers it before the request leaves, so a
    /// block that holds it before the answer arrives is matched. A transaction with the hash
    /// of one still in flight (rebuilt identically after a resync) is a copy of it.
    pub(crate) fn sent(&self, info: SendInfo, raw: Bytes, lease: Option<Lease<Arc<Wallet>>>) {
        let lag = info.sent.saturating_duration_since(info.intended);
        let late = lag > self.late_after;
        {
            let mut b = self.books.lock();
            b.counters.offered += 1;
            b.counters.sent += 1;
            b.counters.late += u64::from(late);
            b.lag.record(lag);
            b.recorder
                .tick(self.name_of(&info), info.intended, false, late);
            let high = b.high_water.entry(info.sender).or_default();
            *high = (*high).max(info.nonce + 1);
        }
        match self.in_flight.entry(info.hash) {
            dashmap::Entry::Occupied(mut twin) => twin.get_mut().copies += 1,
            dashmap::Entry::Vacant(slot) => {
                slot.insert(InFlight {
                    info,
                    stage: Stage::Sent { seen: None },
                    raw,
                    touched: info.sent,
                    _lease: lease,
                    copies: 0,
                });
            }
        }
    }

    /// The node took the transaction.
    pub(crate) fn accepted(&self, info: &SendInfo, acked: Instant) {
        self.answered(info, acked, Ok(()));
    }

    /// The node refused the transaction: it will not land (its nonce was resolved by the
    /// refusal). One seen in a block before the answer (an earlier copy landed) counts as
    /// landed after an error.
    pub(crate) fn rejected(&self, info: &SendInfo, acked: Instant, label: &str) {
        let seen = match self.in_flight.get_mut(&info.hash) {
            Some(mut entry) if entry.copies > 0 => {
                entry.copies -= 1;
                None
            }
            Some(entry) => Some(matches!(entry.stage, Stage::Sent { seen: Some(_) })),
            None => None,
        };
        if seen.is_some() {
            self.in_flight.remove(&info.hash);
        }
        self.record_answer(info, acked, Err(label), |c| {
            c.rejected += 1;
            c.landed_after_error += u64::from(seen == Some(true));
        });
    }

    /// No readable answer (`label` says why): the transaction stays in flight, with its
    /// sender's lease, until the block scan sees it or a reconciliation settles it.
    pub(crate) fn unanswered(&self, info: &SendInfo, acked: Instant, label: &str) {
        self.answered(info, acked, Err(label));
    }

    /// An answer that leaves the transaction in flight: accepted (`Ok`), or none readable
    /// (`Err(label)`). A copy's answer, or one whose twin settled already, is a duplicate:
    /// the chain holds the transaction once.
    fn answered(&self, info: &SendInfo, acked: Instant, outcome: Result<(), &str>) {
        // Decide under the entry's lock, count under the books' lock, never both at once.
        let (seen, duplicate) = match self.in_flight.get_mut(&info.hash) {
            Some(mut entry) if entry.copies > 0 => {
                entry.copies -= 1;
                (None, true)
            }
            Some(mut entry) => {
                let seen = match entry.stage {
                    Stage::Sent { seen } => seen,
                    _ => None,
                };
                entry.stage = match (outcome, &entry.stage) {
                    // An earlier copy was accepted: the node has it.
                    (Err(_), Stage::Accepted) | (Ok(()), _) => Stage::Accepted,
                    (Err(_), _) => Stage::Unanswered,
                };
                (seen, false)
            }
            None => (None, true),
        };
        self.record_answer(info, acked, outcome, |c| {
            match outcome {
                Ok(()) => c.accepted += 1,
                Err(_) => c.unanswered += 1,
            }
            c.duplicates += u64::from(duplicate);
        });
        if let Some((at, block)) = seen {
            let _ = self.settle_included(info.hash, at, Some(block));
        }
    }

    /// Counts one answer (`count` its counters) in the books and the store.
    fn record_answer(
        &self,
        info: &SendInfo,
        acked: Instant,
        outcome: Result<(), &str>,
        count: impl FnOnce(&mut Counters),
    ) {
        {
            let mut b = self.books.lock();
            count(&mut b.counters);
            b.recorder
                .task(self.name_of(info), info.intended, acked, outcome);
            b.recorder.tx_sent(self.name_of(info), info.sent, acked);
        }
        if let Some(sink) = &self.sink {
            sink.answered(info, acked, outcome.err());
        }
    }

    /// A send of `class` is tried again.
    pub(crate) fn retried(&self, class: &str) {
        *self
            .books
            .lock()
            .counters
            .retries
            .entry(class.to_owned())
            .or_default() += 1;
    }

    /// A sender was reconciled for `cause`.
    pub(crate) fn reconciled(&self, cause: &'static str) {
        *self
            .books
            .lock()
            .counters
            .reconciliations
            .entry(cause)
            .or_default() += 1;
    }

    /// The node had `hash` (pending or mined) at `at`, or took its bytes again (`rebroadcast`).
    pub(crate) fn touched(&self, hash: &TxHash, at: Instant, rebroadcast: bool) {
        if let Some(mut entry) = self.in_flight.get_mut(hash) {
            entry.touched = at;
        }
        if rebroadcast {
            self.books.lock().counters.rebroadcasts += 1;
        }
    }

    /// Another transaction took `hash`'s nonce: it can never land.
    pub(crate) fn superseded(&self, hash: &TxHash) {
        if self.in_flight.remove(hash).is_some() {
            self.books.lock().counters.superseded += 1;
        }
    }

    /// The unsettled transactions (accepted or unanswered) of each sender whose lowest one was
    /// last touched before `before` (`None`: of every sender that has any).
    pub(crate) fn unsettled(&self, before: Option<Instant>) -> Vec<(Address, Vec<Unsettled>)> {
        let settled_stage = |e: &InFlight| matches!(e.stage, Stage::Sent { .. });
        let mut lowest: HashMap<Address, (u64, Instant)> = HashMap::new();
        for e in self.in_flight.iter() {
            if settled_stage(&e) {
                continue;
            }
            let low = lowest
                .entry(e.info.sender)
                .or_insert((e.info.nonce, e.touched));
            if e.info.nonce < low.0 {
                *low = (e.info.nonce, e.touched);
            }
        }
        lowest.retain(|_, (_, touched)| before.is_none_or(|b| *touched < b));
        if lowest.is_empty() {
            return Vec::new();
        }
        let mut by_sender: HashMap<Address, Vec<Unsettled>> = HashMap::new();
        for e in self.in_flight.iter() {
            if settled_stage(&e) || !lowest.contains_key(&e.info.sender) {
                continue;
            }
            by_sender.entry(e.info.sender).or_default().push(Unsettled {
                hash: e.info.hash,
                nonce: e.info.nonce,
                raw: e.raw.clone(),
            });
        }
        by_sender.into_iter().collect()
    }

    /// A block holding `hash` was seen at `at`; returns the send when it was one of ours.
    pub(crate) fn seen_in_block(&self, hash: &TxHash, at: Instant, block: u64) -> Option<SendInfo> {
        let mut entry = self.in_flight.get_mut(hash)?;
        let info = entry.info;
        match entry.stage {
            Stage::Sent { ref mut seen } => {
                seen.get_or_insert((at, block));
            }
            Stage::Accepted | Stage::Unanswered => {
                drop(entry);
                let _ = self.settle_included(*hash, at, Some(block));
            }
        }
        Some(info)
    }

    /// An accepted transaction that the sync send answered with its receipt; the send when
    /// this counted it, `None` when a block scan counted it first (its receipt then comes from
    /// the scan).
    pub(crate) fn included_now(&self, hash: TxHash, at: Instant) -> Option<SendInfo> {
        self.settle_included(hash, at, None)
    }

    fn settle_included(&self, hash: TxHash, at: Instant, block: Option<u64>) -> Option<SendInfo> {
        // Whoever removes the entry counts it: a block and an answer racing count it once.
        let (_, entry) = self.in_flight.remove(&hash)?;
        {
            let mut b = self.books.lock();
            b.counters.included += 1;
            b.counters.last_inclusion = b.counters.last_inclusion.max(Some(at));
            b.recorder
                .tx_included(self.name_of(&entry.info), entry.info.intended, at, 0);
        }
        if let Some(sink) = &self.sink {
            sink.included(&entry.info, at, block);
        }
        Some(entry.info)
    }

    /// The receipt of one of ours, included at `at`.
    pub(crate) fn receipt(&self, info: &SendInfo, at: Instant, gas_used: u64, success: bool) {
        self.receipt_counting(info, at, gas_used, success, true);
    }

    /// A receipt whose gas the run already counted (from its block's header): its status, and
    /// its gas for the store only.
    pub(crate) fn receipt_status(&self, info: &SendInfo, at: Instant, gas_used: u64, ok: bool) {
        self.receipt_counting(info, at, gas_used, ok, false);
    }

    fn receipt_counting(
        &self,
        info: &SendInfo,
        at: Instant,
        gas_used: u64,
        success: bool,
        count_gas: bool,
    ) {
        {
            let mut b = self.books.lock();
            b.counters.receipts += 1;
            b.counters.reverted += u64::from(!success);
            if count_gas {
                b.counters.own_gas = b.counters.own_gas.saturating_add(gas_used);
                b.recorder.tx_gas(self.name_of(info), at, gas_used);
            }
        }
        if let Some(sink) = &self.sink {
            sink.receipt(info, gas_used, success);
        }
    }

    /// A block seen by the scan, for the store.
    pub(crate) fn block(&self, block: &BlockSeen) {
        if let Some(sink) = &self.sink {
            sink.block(block);
        }
    }

    /// Gas of a block that holds only our transactions, seen at `at` (receipts off).
    pub(crate) fn block_gas(&self, at: Instant, gas_used: u64) {
        let mut b = self.books.lock();
        b.counters.own_gas = b.counters.own_gas.saturating_add(gas_used);
        b.recorder.tx_gas(&self.task, at, gas_used);
    }

    /// The intended time of an in-flight transaction.
    pub(crate) fn intended(&self, hash: &TxHash) -> Option<Instant> {
        self.in_flight.get(hash).map(|e| e.info.intended)
    }

    /// Accepted or unanswered transactions still waiting for a block.
    pub(crate) fn awaiting_inclusion(&self) -> usize {
        self.in_flight
            .iter()
            .filter(|e| !matches!(e.stage, Stage::Sent { .. }))
            .count()
    }

    /// Takes the accepted or unanswered transactions that never showed up: `(sender, nonce)`
    /// each.
    pub(crate) fn take_unincluded(&self) -> Vec<(Address, u64)> {
        let keys: Vec<TxHash> = self
            .in_flight
            .iter()
            .filter(|e| !matches!(e.stage, Stage::Sent { .. }))
            .map(|e| *e.key())
            .collect();
        keys.iter()
            .filter_map(|k| self.in_flight.remove(k))
            .map(|(_, e)| (e.info.sender, e.info.nonce))
            .collect()
    }

    pub(crate) fn books(&self) -> parking_lot::MutexGuard<'_, Books> {
        self.books.lock()
    }
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("task", &self.task)
            .field("in_flight", &self.in_flight.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger() -> (Ledger, Instant) {
        let t0 = Instant::now();
        (
            Ledger::new("t".into(), t0, Duration::from_millis(5), None),
            t0,
        )
    }

    fn send(n: u8, t0: Instant) -> SendInfo {
        SendInfo {
            hash: TxHash::repeat_byte(n),
            sender: Address::ZERO,
            nonce: u64::from(n),
            intended: t0,
            signed: t0,
            sent: t0,
            kind: None,
        }
    }

    #[test]
    fn block_before_answer_counts_once() {
        let (l, t0) = ledger();
        let s = send(1, t0);
        l.sent(s, Bytes::new(), None);
        assert!(
            l.seen_in_block(&s.hash, t0 + Duration::from_millis(3), 7)
                .is_some()
        );
        assert!(
            l.seen_in_block(&s.hash, t0 + Duration::from_millis(4), 7)
                .is_some()
        );
        l.accepted(&s, t0 + Duration::from_millis(9));
        assert!(l.seen_in_block(&s.hash, t0, 8).is_none());
        let c = l.books().counters.clone();
        assert_eq!((c.sent, c.accepted, c.included), (1, 1, 1));
        assert!(l.in_flight.is_empty());
    }

    #[test]
    fn unanswered_sends_stay_in_flight_and_count_as_included_when_they_land() {
        let (l, t0) = ledger();
        let (a, b) = (send(1, t0), send(2, t0));
        l.sent(a, Bytes::from_static(b"a"), None);
        l.sent(b, Bytes::new(), None);
        l.unanswered(&a, t0, "timeout");
        l.rejected(&b, t0, "nonce too low");
        assert_eq!(l.in_flight.len(), 1);
        let stuck = l.unsettled(Some(t0 + Duration::from_millis(1)));
        assert_eq!(stuck.len(), 1);
        assert_eq!(stuck[0].1[0].raw, Bytes::from_static(b"a"));
        assert!(
            l.unsettled(Some(t0)).is_empty(),
            "touched at t0: not stuck yet"
        );
        assert!(l.seen_in_block(&a.hash, t0, 1).is_some());
        let c = l.books().counters.clone();
        assert_eq!((c.rejected, c.unanswered, c.included), (1, 1, 1));
        assert_eq!(c.landed_after_error, 0);
        assert!(l.in_flight.is_empty());
    }

    #[test]
    fn superseded_in_flight_leaves_the_set() {
        let (l, t0) = ledger();
        let a = send(1, t0);
        l.sent(a, Bytes::new(), None);
        l.accepted(&a, t0);
        l.superseded(&a.hash);
        l.superseded(&a.hash);
        assert!(l.seen_in_block(&a.hash, t0, 1).is_none());
        let c = l.books().counters.clone();
        assert_eq!((c.accepted, c.included, c.superseded), (1, 0, 1));
    }

    #[test]
    fn identical_resends_count_once_on_chain() {
        let (l, t0) = ledger();
        let s = send(1, t0);
        l.sent(s, Bytes::new(), None);
        l.sent(s, Bytes::new(), None);
        l.accepted(&s, t0);
        l.accepted(&s, t0);
        assert!(l.seen_in_block(&s.hash, t0, 1).is_some());
        // A third copy after the first settled, refused as mined.
        l.sent(s, Bytes::new(), None);
        l.rejected(&s, t0, "nonce too low");
        let c = l.books().counters.clone();
        assert_eq!((c.sent, c.accepted, c.rejected), (3, 2, 1));
        assert_eq!((c.included, c.duplicates), (1, 1));
        assert_eq!(c.accepted, c.included + c.duplicates);
        assert!(l.in_flight.is_empty());
    }

    #[test]
    fn identities_hold() {
        let (l, t0) = ledger();
        l.dropped(t0, DropReason::NotSigned);
        let mut s = send(1, t0);
        s.sent = t0 + Duration::from_millis(10);
        l.sent(s, Bytes::new(), None);
        l.accepted(&s, t0);
        assert_eq!(l.awaiting_inclusion(), 1);
        assert_eq!(l.take_unincluded(), vec![(Address::ZERO, 1)]);
        let b = l.books();
        let c = &b.counters;
        assert_eq!(c.offered, c.sent + c.dropped.values().sum::<u64>());
        assert_eq!(c.late, 1);
        assert_eq!(b.lag.count(), 1);
    }
}
