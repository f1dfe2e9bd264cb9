//! The closed loop's ledger: every transaction a task handed to the node, from the send until
//! its fate on the final chain is known. Inclusion counts only then, so a report never counts a
//! transaction a restarted node forgot, and a transaction whose task gave up still counts
//! when it lands.
//!
//! Each transaction enters once (by hash) and leaves once, as refused, included, superseded,
//! pending at the end or unverified; see [`ClosedLoopStats`](crate::ClosedLoopStats) for the identities this
//! keeps. The recorder is told when a transaction is answered and when it leaves; the two
//! locks are never held together.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use alloy::primitives::{Address, Bytes, TxHash};
use parking_lot::Mutex;
use tokio::time::{Duration, Instant};

use crate::{
    metrics::Recorder,
    session::{Fate, Unsettled},
};

/// Blocks on top of a transaction's block before its inclusion is taken as final mid-run.
pub(crate) const FINAL_DEPTH: u64 = 16;
/// Time since a transaction was seen in a block before its inclusion is taken as final mid-run
/// (a node restarted from a state file a few seconds old loses its last blocks).
pub(crate) const FINAL_AGE: Duration = Duration::from_secs(30);

/// Where a block holds a transaction of ours, as last seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seen {
    /// The block's number, when known (a custom task's timing gives none).
    pub(crate) block: Option<u64>,
    /// When it was seen.
    pub(crate) at: Instant,
    /// Gas it used.
    pub(crate) gas: u64,
}

/// A transaction in the ledger.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) hash: TxHash,
    pub(crate) sender: Address,
    pub(crate) nonce: u64,
    /// The signed bytes, to send again; none for a transaction a task sent its own way.
    pub(crate) raw: Option<Bytes>,
    pub(crate) task: Arc<str>,
    pub(crate) sent: Instant,
    /// When the send ended (answered, or given up without an answer); none while it is out,
    /// or when it was cut off.
    pub(crate) acked: Option<Instant>,
    /// Whether the node answered the send (taking it); a send with no readable answer, or
    /// cut off, may or may not have reached it.
    pub(crate) answered: bool,
    /// The last time a block was seen to hold it; cleared when the node lost it since.
    pub(crate) seen: Option<Seen>,
    /// Whether the task that sent it saw its receipt.
    pub(crate) task_saw: bool,
}

/// How a transaction left the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// On the final chain.
    Included(Seen),
    /// Another transaction used its nonce.
    Superseded,
    /// Not on chain at the end, its nonce unused (in the pool, or lost).
    PendingAtEnd,
    /// The node did not answer the end-of-run check.
    Unverified,
}

/// The ledger's counters; their meaning is [`ClosedLoopStats`](crate::ClosedLoopStats)'s.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LedgerCounts {
    pub(crate) sent: u64,
    pub(crate) refused: u64,
    pub(crate) unanswered: u64,
    pub(crate) included: u64,
    pub(crate) landed_unseen: u64,
    pub(crate) superseded: u64,
    pub(crate) pending_at_end: u64,
    pub(crate) unverified: u64,
    pub(crate) rebroadcasts: u64,
}

#[derive(Debug, Default)]
struct Inner {
    txs: HashMap<TxHash, Entry>,
    counts: LedgerCounts,
}

/// What the recorder must be told once the ledger's lock is released.
enum Note {
    Sent(Arc<str>, Instant, Instant),
    Left(Entry, Outcome),
}

/// The in-flight set and tx accounting of a closed-loop run.
#[derive(Debug)]
pub(crate) struct Ledger {
    inner: Mutex<Inner>,
    recorder: Arc<Mutex<Recorder>>,
}

impl Ledger {
    /// A ledger that reports transactions to `recorder`.
    pub(crate) fn new(recorder: Arc<Mutex<Recorder>>) -> Self {
        Self {
            inner: Mutex::default(),
            recorder,
        }
    }

    /// `raw` (nonce `nonce` of `sender`) is about to go to the node. Returns `false` when the
    /// same transaction is already in the ledger (identical bytes sent again): it counts once.
    pub(crate) fn sending(&self, entry: Entry) -> bool {
        let mut inner = self.inner.lock();
        if inner.txs.contains_key(&entry.hash) {
            return false;
        }
        inner.counts.sent += 1;
        inner.txs.insert(entry.hash, entry);
        true
    }

    /// The node took `hash` (`answered`), or may have (no readable answer).
    pub(crate) fn accepted(&self, hash: TxHash, acked: Instant, answered: bool) {
        let note = {
            let mut inner = self.inner.lock();
            let Some(entry) = inner.txs.get_mut(&hash).filter(|e| e.acked.is_none()) else {
                return;
            };
            entry.acked = Some(acked);
            entry.answered = answered;
            Note::Sent(Arc::clone(&entry.task), entry.sent, acked)
        };
        self.note(note);
    }

    /// The node refused `hash` for sure (its first answer): it leaves the ledger.
    pub(crate) fn refused(&self, hash: TxHash) {
        let mut inner = self.inner.lock();
        if inner.txs.get(&hash).is_some_and(|e| e.acked.is_none()) {
            inner.txs.remove(&hash);
            inner.counts.refused += 1;
        }
    }

    /// A block holds `hash` (its task read the receipt when `by_task`).
    pub(crate) fn seen(&self, hash: TxHash, seen: Seen, by_task: bool) {
        if let Some(entry) = self.inner.lock().txs.get_mut(&hash) {
            entry.seen = Some(seen);
            entry.task_saw |= by_task;
        }
    }

    /// A task recorded a transaction the ledger does not know (sent without
    /// [`send_raw`](crate::TaskContext::send_raw)): it is accounted for, but cannot be sent again.
    pub(crate) fn adopt(&self, entry: Entry) {
        let acked = entry.acked;
        let (task, sent) = (Arc::clone(&entry.task), entry.sent);
        if self.sending(entry)
            && let Some(acked) = acked
        {
            self.note(Note::Sent(task, sent, acked));
        }
    }

    /// Whether `hash` is still in flight (not refused, superseded or final).
    pub(crate) fn contains(&self, hash: &TxHash) -> bool {
        self.inner.lock().txs.contains_key(hash)
    }

    /// The sender of `hash`, while it is in flight.
    pub(crate) fn sender_of(&self, hash: &TxHash) -> Option<Address> {
        self.inner.lock().txs.get(hash).map(|e| e.sender)
    }

    /// `sender`'s transactions that can be sent again; with `with_seen`, also those a block
    /// already held (a node that lost its last blocks lost them too).
    pub(crate) fn unsettled(&self, sender: Address, with_seen: bool) -> Vec<Unsettled> {
        self.inner
            .lock()
            .txs
            .values()
            .filter(|e| e.sender == sender && (with_seen || e.seen.is_none()))
            .filter_map(|e| {
                Some(Unsettled {
                    hash: e.hash,
                    nonce: e.nonce,
                    raw: e.raw.clone()?,
                })
            })
            .collect()
    }

    /// The senders with transactions in flight.
    pub(crate) fn senders(&self) -> Vec<Address> {
        let inner = self.inner.lock();
        let senders: HashSet<Address> = inner.txs.values().map(|e| e.sender).collect();
        senders.into_iter().collect()
    }

    /// Applies what reconciliation found: a transaction sent again is no longer in a block
    /// (the node had lost it), a superseded one leaves.
    pub(crate) fn apply(&self, fates: &HashMap<TxHash, Fate>) {
        let mut left = Vec::new();
        {
            let mut inner = self.inner.lock();
            for (hash, fate) in fates {
                match fate {
                    Fate::Rebroadcast => {
                        if let Some(entry) = inner.txs.get_mut(hash) {
                            entry.seen = None;
                            inner.counts.rebroadcasts += 1;
                        }
                    }
                    Fate::Superseded => {
                        if let Some(entry) = inner.txs.remove(hash) {
                            left.push(Self::leave(&mut inner.counts, entry, Outcome::Superseded));
                        }
                    }
                    // A block the sighting may not know (a restarted node re-mines numbers).
                    Fate::Mined(block) => {
                        if let Some(seen) = inner.txs.get_mut(hash).and_then(|e| e.seen.as_mut()) {
                            seen.block = Some(*block);
                        }
                    }
                    Fate::Held | Fate::Unresolved => {}
                }
            }
        }
        left.into_iter().for_each(|n| self.note(n));
    }

    /// Takes as final the inclusions at least [`FINAL_DEPTH`] blocks below `latest` and seen at
    /// least [`FINAL_AGE`] before `now`.
    pub(crate) fn confirm(&self, latest: u64, now: Instant) {
        let mut left = Vec::new();
        {
            let mut inner = self.inner.lock();
            let deep: Vec<TxHash> = inner
                .txs
                .values()
                .filter(|e| {
                    e.seen.is_some_and(|s| {
                        s.block
                            .is_some_and(|b| b.saturating_add(FINAL_DEPTH) <= latest)
                            && now.saturating_duration_since(s.at) >= FINAL_AGE
                    })
                })
                .map(|e| e.hash)
                .collect();
            for hash in deep {
                let entry = inner.txs.remove(&hash).expect("listed above");
                let seen = entry.seen.expect("filtered on seen");
                left.push(Self::leave(
                    &mut inner.counts,
                    entry,
                    Outcome::Included(seen),
                ));
            }
        }
        left.into_iter().for_each(|n| self.note(n));
    }

    /// Takes every transaction out, for the end-of-run check; each must come back through
    /// [`close`](Self::close).
    pub(crate) fn drain(&self) -> Vec<Entry> {
        self.inner.lock().txs.drain().map(|(_, e)| e).collect()
    }

    /// Counts a drained transaction's fate on the final chain.
    pub(crate) fn close(&self, entry: Entry, outcome: Outcome) {
        let note = Self::leave(&mut self.inner.lock().counts, entry, outcome);
        self.note(note);
    }

    /// `(seen in a block, not yet)` among the transactions in flight, for progress snapshots.
    pub(crate) fn provisional(&self) -> (u64, u64) {
        let inner = self.inner.lock();
        let seen = inner.txs.values().filter(|e| e.seen.is_some()).count() as u64;
        (seen, inner.txs.len() as u64 - seen)
    }

    /// The counters so far.
    pub(crate) fn counts(&self) -> LedgerCounts {
        self.inner.lock().counts
    }

    fn leave(counts: &mut LedgerCounts, entry: Entry, outcome: Outcome) -> Note {
        counts.unanswered += u64::from(!entry.answered);
        match outcome {
            Outcome::Included(_) => {
                counts.included += 1;
                counts.landed_unseen += u64::from(!entry.task_saw);
            }
            Outcome::Superseded => counts.superseded += 1,
            Outcome::PendingAtEnd => counts.pending_at_end += 1,
            Outcome::Unverified => counts.unverified += 1,
        }
        Note::Left(entry, outcome)
    }

    fn note(&self, note: Note) {
        let mut recorder = self.recorder.lock();
        match note {
            Note::Sent(task, sent, acked) => recorder.tx_sent(&task, sent, acked),
            Note::Left(entry, outcome) => {
                if entry.acked.is_none() {
                    recorder.tx_sent_unanswered(&entry.task, entry.sent);
                }
                if let Outcome::Included(seen) = outcome {
                    recorder.tx_included(&entry.task, entry.sent, seen.at, seen.gas);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn entry(n: u8, sender: u8, nonce: u64, at: Instant) -> Entry {
        Entry {
            hash: TxHash::repeat_byte(n),
            sender: Address::repeat_byte(sender),
            nonce,
            raw: Some(Bytes::from(vec![n])),
            task: Arc::from("t"),
            sent: at,
            acked: None,
            answered: false,
            seen: None,
            task_saw: false,
        }
    }

    fn ledger(t0: Instant) -> (Ledger, Arc<Mutex<Recorder>>) {
        let recorder = Arc::new(Mutex::new(Recorder::new(t0)));
        (Ledger::new(Arc::clone(&recorder)), recorder)
    }

    #[test]
    fn the_same_bytes_count_once() {
        let t0 = Instant::now();
        let (l, _) = ledger(t0);
        assert!(l.sending(entry(1, 1, 0, t0)));
        assert!(!l.sending(entry(1, 1, 0, t0)));
        assert_eq!(l.counts().sent, 1);
    }

    #[test]
    fn inclusion_is_final_only_deep_and_old() {
        let t0 = Instant::now();
        let (l, recorder) = ledger(t0);
        l.sending(entry(1, 1, 0, t0));
        l.accepted(TxHash::repeat_byte(1), t0, true);
        let seen = Seen {
            block: Some(10),
            at: t0,
            gas: 21_000,
        };
        l.seen(TxHash::repeat_byte(1), seen, true);
        l.confirm(10 + FINAL_DEPTH, t0 + Duration::from_secs(1));
        l.confirm(10 + FINAL_DEPTH - 1, t0 + FINAL_AGE);
        assert_eq!(l.counts().included, 0, "too young, then too shallow");
        l.confirm(10 + FINAL_DEPTH, t0 + FINAL_AGE);
        let c = l.counts();
        assert_eq!((c.included, c.landed_unseen), (1, 0));
        let r = recorder.lock();
        let t = &r.tasks()["t"].counts;
        assert_eq!((t.txs_sent, t.txs_included, t.gas_used), (1, 1, 21_000));
    }

    #[test]
    fn a_lost_block_clears_the_sighting_and_supersession_leaves() {
        let t0 = Instant::now();
        let (l, recorder) = ledger(t0);
        l.sending(entry(1, 1, 0, t0));
        l.sending(entry(2, 1, 1, t0));
        let seen = Seen {
            block: Some(1),
            at: t0,
            gas: 1,
        };
        l.seen(TxHash::repeat_byte(1), seen, true);
        assert_eq!(l.unsettled(Address::repeat_byte(1), false).len(), 1);
        assert_eq!(l.unsettled(Address::repeat_byte(1), true).len(), 2);
        let fates = HashMap::from([
            (TxHash::repeat_byte(1), Fate::Rebroadcast),
            (TxHash::repeat_byte(2), Fate::Superseded),
        ]);
        l.apply(&fates);
        assert_eq!(l.provisional(), (0, 1));
        assert!(!l.contains(&TxHash::repeat_byte(2)));
        let c = l.counts();
        assert_eq!((c.superseded, c.rebroadcasts), (1, 1));
        // never answered: still counted as sent when it leaves
        assert_eq!(recorder.lock().tasks()["t"].counts.txs_sent, 1);
    }

    #[derive(Debug, Clone)]
    enum Step {
        Send(u8),
        Accept(u8),
        Refuse(u8),
        See(u8, u64),
        Lose(u8),
        Supersede(u8),
        Confirm(u64),
    }

    fn step() -> impl Strategy<Value = Step> {
        let tx = 0u8..12;
        prop_oneof![
            tx.clone().prop_map(Step::Send),
            tx.clone().prop_map(Step::Accept),
            tx.clone().prop_map(Step::Refuse),
            (tx.clone(), 0u64..40).prop_map(|(t, b)| Step::See(t, b)),
            tx.clone().prop_map(Step::Lose),
            tx.prop_map(Step::Supersede),
            (0u64..60).prop_map(Step::Confirm),
        ]
    }

    proptest! {
        /// Whatever happens, once the rest is closed at the end: sent = refused + included +
        /// superseded + pending at end, and the recorder's sent and included agree.
        #[test]
        fn every_transaction_leaves_exactly_once(steps in prop::collection::vec(step(), 0..80)) {
            let t0 = Instant::now();
            let (l, recorder) = ledger(t0);
            let mut refused = 0;
            for (i, s) in steps.into_iter().enumerate() {
                let now = t0 + FINAL_AGE * i as u32;
                let hash = |t: u8| TxHash::repeat_byte(t);
                match s {
                    Step::Send(t) => { l.sending(entry(t, t % 3, u64::from(t), now)); }
                    Step::Accept(t) => l.accepted(hash(t), now, t % 2 == 0),
                    Step::Refuse(t) => {
                        // only a send still waiting for its answer can be refused
                        let waiting = l.inner.lock().txs.get(&hash(t)).is_some_and(|e| e.acked.is_none());
                        if waiting { l.refused(hash(t)); refused += 1; }
                    }
                    Step::See(t, b) => l.seen(hash(t), Seen { block: Some(b), at: now, gas: 7 }, b % 2 == 0),
                    Step::Lose(t) => l.apply(&HashMap::from([(hash(t), Fate::Rebroadcast)])),
                    Step::Supersede(t) => l.apply(&HashMap::from([(hash(t), Fate::Superseded)])),
                    Step::Confirm(latest) => l.confirm(latest, now),
                }
            }
            for e in l.drain() {
                let outcome = match e.seen {
                    Some(seen) => Outcome::Included(seen),
                    None if e.nonce % 3 == 0 => Outcome::Superseded,
                    None if e.nonce % 3 == 1 => Outcome::PendingAtEnd,
                    None => Outcome::Unverified,
                };
                l.close(e, outcome);
            }
            let c = l.counts();
            prop_assert_eq!(c.refused, refused);
            prop_assert_eq!(
                c.sent,
                c.refused + c.included + c.superseded + c.pending_at_end + c.unverified
            );
            prop_assert!(c.landed_unseen <= c.included);
            let r = recorder.lock();
            let (sent, included) = r.tasks().get("t").map_or((0, 0), |t| (t.counts.txs_sent, t.counts.txs_included));
            prop_assert_eq!(sent, c.sent - c.refused);
            prop_assert!(c.unanswered <= c.sent - c.refused);
            prop_assert_eq!(included, c.included);
        }
    }
}
