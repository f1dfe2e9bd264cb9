//! Model test: random interleavings of reserve / commit / rollback / drop / resync /
//! fast-forward over several senders, checked against a plain reference model and against the
//! invariants of the crate docs after every step.

use std::collections::{BTreeMap, BTreeSet};

use alloy_primitives::Address;
use proptest::prelude::*;
use spam_nonce::{MemorySource, NonceManager, Reservation, Resolution};

const SENDERS: u8 = 3;

#[derive(Debug, Clone)]
enum Op {
    Reserve(u8),
    TryReserve(u8),
    Commit(usize),
    Rollback(usize),
    Drop(usize),
    Resync(u8, u64),
    FastForward(u8, u64),
}

fn op() -> impl Strategy<Value = Op> {
    let sender = 0..SENDERS;
    prop_oneof![
        6 => sender.clone().prop_map(Op::Reserve),
        2 => sender.clone().prop_map(Op::TryReserve),
        4 => any::<usize>().prop_map(Op::Commit),
        3 => any::<usize>().prop_map(Op::Rollback),
        2 => any::<usize>().prop_map(Op::Drop),
        1 => (sender.clone(), 0..60u64).prop_map(|(s, n)| Op::Resync(s, n)),
        1 => (sender, 0..60u64).prop_map(|(s, n)| Op::FastForward(s, n)),
    ]
}

/// The reference: what one sender's state must be, written the obvious way.
#[derive(Debug, Clone)]
struct Model {
    next: u64,
    floor: u64,
    epoch: u64,
    holes: BTreeSet<u64>,
    /// Committed nonces of the current epoch at or above the floor.
    committed: BTreeSet<u64>,
}

impl Model {
    fn new(next: u64, epoch: u64) -> Self {
        Self {
            next,
            floor: next,
            epoch,
            holes: BTreeSet::new(),
            committed: BTreeSet::new(),
        }
    }
}

fn addr(sender: u8) -> Address {
    Address::repeat_byte(sender + 1)
}

struct Harness {
    nonces: NonceManager,
    source: std::sync::Arc<MemorySource>,
    models: BTreeMap<u8, Model>,
    live: Vec<(u8, Reservation)>,
}

impl Harness {
    fn reserved(&mut self, sender: u8, reservation: Reservation) {
        let model = self
            .models
            .entry(sender)
            .or_insert_with(|| Model::new(self.source.get(addr(sender)), 0));
        let expected = match model.holes.pop_first() {
            Some(hole) => hole,
            None => {
                model.next += 1;
                model.next - 1
            }
        };
        assert_eq!(
            reservation.nonce(),
            expected,
            "reserve hands out the lowest hole, else next"
        );
        assert_eq!(reservation.epoch(), model.epoch);
        self.live.push((sender, reservation));
    }

    fn resolve(&mut self, index: usize, how: &Op) {
        if self.live.is_empty() {
            return;
        }
        let (sender, reservation) = self.live.swap_remove(index % self.live.len());
        let before = self.nonces.snapshot(addr(sender));
        let model = self
            .models
            .get_mut(&sender)
            .expect("reserved senders are modelled");
        let stale = reservation.epoch() != model.epoch;
        assert_eq!(reservation.is_stale(), stale);
        let nonce = reservation.nonce();
        let resolution = match how {
            Op::Commit(_) => Some(reservation.commit()),
            Op::Rollback(_) => Some(reservation.rollback()),
            _ => {
                drop(reservation);
                None
            }
        };
        if stale {
            assert_eq!(
                self.nonces.snapshot(addr(sender)),
                before,
                "stale handles change nothing"
            );
            assert!(resolution.is_none_or(|r| r == Resolution::Stale));
            return;
        }
        assert!(resolution.is_none_or(|r| r == Resolution::Applied));
        if nonce >= model.floor {
            if matches!(how, Op::Commit(_)) {
                model.committed.insert(nonce);
            } else {
                model.holes.insert(nonce);
            }
        }
    }

    async fn apply(&mut self, op: Op) {
        match op {
            Op::Reserve(s) => {
                let r = self
                    .nonces
                    .reserve(addr(s))
                    .await
                    .expect("memory source never fails");
                self.reserved(s, r);
            }
            Op::TryReserve(s) => match self.nonces.try_reserve(addr(s)) {
                Ok(r) => self.reserved(s, r),
                Err(spam_nonce::Error::NotLoaded { .. }) => {
                    assert!(
                        !self.models.contains_key(&s),
                        "loaded senders never answer NotLoaded"
                    )
                }
                Err(e) => panic!("unexpected {e}"),
            },
            Op::Commit(_) | Op::Rollback(_) | Op::Drop(_) => {
                let index = match op {
                    Op::Commit(i) | Op::Rollback(i) | Op::Drop(i) => i,
                    _ => unreachable!(),
                };
                self.resolve(index, &op);
            }
            Op::Resync(s, chain_next) => {
                self.source.set(addr(s), chain_next);
                assert_eq!(self.nonces.resync(addr(s)).await.unwrap(), chain_next);
                let epoch = self.models.get(&s).map_or(1, |m| m.epoch + 1);
                self.models.insert(s, Model::new(chain_next, epoch));
            }
            Op::FastForward(s, n) => {
                let changed = self.nonces.fast_forward(addr(s), n);
                match self.models.get_mut(&s) {
                    None => {
                        assert!(changed);
                        self.models.insert(s, Model::new(n, 0));
                    }
                    Some(m) => {
                        assert_eq!(changed, n > m.floor);
                        if changed {
                            m.floor = n;
                            m.next = m.next.max(n);
                            m.holes.retain(|&h| h >= n);
                            m.committed.retain(|&c| c >= n);
                        }
                    }
                }
            }
        }
        self.check();
    }

    /// The manager agrees with the model, and `[floor, next)` is exactly covered by committed
    /// nonces, holes and live reservations of the current epoch, with no nonce held twice.
    fn check(&self) {
        for (&s, model) in &self.models {
            let snap = self
                .nonces
                .snapshot(addr(s))
                .expect("modelled senders are loaded");
            assert_eq!(
                (snap.next, snap.floor, snap.epoch),
                (model.next, model.floor, model.epoch),
                "sender {s}"
            );
            assert_eq!(
                snap.holes,
                model.holes.iter().copied().collect::<Vec<_>>(),
                "sender {s}"
            );
            let live: Vec<u64> = self
                .live
                .iter()
                .filter(|(ls, r)| *ls == s && r.epoch() == model.epoch)
                .map(|(_, r)| r.nonce())
                .collect();
            assert_eq!(
                snap.in_flight,
                live.len() as u64,
                "sender {s}: in-flight count"
            );
            let mut covered = BTreeSet::new();
            let parts = [
                model.committed.iter().copied().collect::<Vec<_>>(),
                model.holes.iter().copied().collect(),
                live.into_iter().filter(|&n| n >= model.floor).collect(),
            ];
            for nonce in parts.into_iter().flatten() {
                assert!(
                    covered.insert(nonce),
                    "sender {s}: nonce {nonce} held twice"
                );
            }
            let expected: BTreeSet<u64> = (model.floor..model.next).collect();
            assert_eq!(
                covered, expected,
                "sender {s}: [floor, next) not exactly covered"
            );
        }
    }
}

fn run(starts: [u64; SENDERS as usize], ops: Vec<Op>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let source = std::sync::Arc::new(MemorySource::default());
        for (s, &start) in starts.iter().enumerate() {
            source.set(addr(s as u8), start);
        }
        let mut h = Harness {
            nonces: NonceManager::new(std::sync::Arc::clone(&source)),
            source,
            models: BTreeMap::new(),
            live: Vec::new(),
        };
        for op in ops {
            h.apply(op).await;
        }
        // Resolve what is left in random-ish (swap_remove) order: afterwards every nonce in
        // [floor, next) is committed or a hole, and the holes are exactly the rollbacks that were
        // never re-reserved (checked by `check` against the model).
        while !h.live.is_empty() {
            let last = h.live.len() - 1;
            h.resolve(last / 2, &Op::Drop(0));
            h.check();
        }
        for (s, model) in &h.models {
            assert_eq!(h.nonces.snapshot(addr(*s)).unwrap().in_flight, 0);
            let committed_or_hole = model.committed.len() + model.holes.len();
            assert_eq!(committed_or_hole as u64, model.next - model.floor);
        }
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn reservations_follow_the_model(
        starts in prop::array::uniform3(0..40u64),
        ops in prop::collection::vec(op(), 1..80),
    ) {
        run(starts, ops);
    }
}
