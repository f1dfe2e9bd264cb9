//! The allocation rules for one sender, as plain synchronous logic.

use std::collections::BTreeSet;

/// What resolving a [`Reservation`](crate::Reservation) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resolution {
    /// The reservation belonged to the current epoch and changed the sender's state.
    Applied,
    /// The sender was resynced after the reservation was made; resolving it changed nothing.
    Stale,
}

/// Nonce bookkeeping for one sender.
///
/// Every nonce in `floor..next` is in exactly one of three places: committed, handed out to a
/// live reservation of the current epoch, or in `holes`. Nonces below `floor` belong to the
/// chain (it reported them used) and are never handed out again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SenderState {
    pub(crate) next: u64,
    pub(crate) floor: u64,
    pub(crate) holes: BTreeSet<u64>,
    pub(crate) epoch: u64,
    pub(crate) in_flight: u64,
    /// Bumped by every resync and fast-forward: a source read that started before a change
    /// must not overwrite it.
    pub(crate) version: u64,
}

impl SenderState {
    pub(crate) const fn new(next: u64) -> Self {
        Self {
            next,
            floor: next,
            holes: BTreeSet::new(),
            epoch: 0,
            in_flight: 0,
            version: 0,
        }
    }

    /// Hands out the lowest hole, else `next`. `None` when the nonce space is exhausted.
    pub(crate) fn reserve(&mut self) -> Option<u64> {
        let nonce = match self.holes.pop_first() {
            Some(hole) => hole,
            // u64::MAX itself is not a valid nonce (EIP-2681), so `next` never passes it.
            None if self.next == u64::MAX => return None,
            None => {
                self.next += 1;
                self.next - 1
            }
        };
        self.in_flight += 1;
        Some(nonce)
    }

    pub(crate) fn commit(&mut self, epoch: u64) -> Resolution {
        if epoch != self.epoch {
            return Resolution::Stale;
        }
        self.in_flight -= 1;
        Resolution::Applied
    }

    pub(crate) fn rollback(&mut self, nonce: u64, epoch: u64) -> Resolution {
        if epoch != self.epoch {
            return Resolution::Stale;
        }
        self.in_flight -= 1;
        // Below the floor the chain has already used the nonce (fast-forward happened while
        // this reservation was out), so it must not come back as a hole.
        if nonce >= self.floor {
            self.holes.insert(nonce);
        }
        Resolution::Applied
    }

    /// Adopts the chain's view: `next` becomes `chain_next`, every hole goes and the epoch
    /// moves on so reservations made before cannot touch the new state.
    ///
    /// Holes at or above `chain_next` are above the new `next`; holes below it are nonces the
    /// chain reports as used. Either way none of them may be handed out again.
    pub(crate) fn resync(&mut self, chain_next: u64) {
        self.next = chain_next;
        self.floor = chain_next;
        self.holes.clear();
        self.epoch += 1;
        self.in_flight = 0;
        self.version += 1;
    }

    /// The node reported that it expects `chain_next`: nonces below it are used. Live
    /// reservations at or above it stay valid, so the epoch does not change.
    pub(crate) fn fast_forward(&mut self, chain_next: u64) -> bool {
        if chain_next <= self.floor {
            return false;
        }
        self.floor = chain_next;
        self.version += 1;
        self.next = self.next.max(chain_next);
        self.holes = self.holes.split_off(&chain_next);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holes_are_refilled_lowest_first() {
        let mut s = SenderState::new(5);
        let (a, b, c) = (
            s.reserve().unwrap(),
            s.reserve().unwrap(),
            s.reserve().unwrap(),
        );
        assert_eq!((a, b, c), (5, 6, 7));
        s.rollback(c, 0);
        s.rollback(a, 0);
        assert_eq!(s.reserve(), Some(5));
        assert_eq!(s.reserve(), Some(7));
        assert_eq!(s.reserve(), Some(8));
        assert_eq!(s.in_flight, 4);
    }

    #[test]
    fn stale_epoch_changes_nothing() {
        let mut s = SenderState::new(0);
        let n = s.reserve().unwrap();
        s.resync(3);
        let before = s.clone();
        assert_eq!(s.rollback(n, 0), Resolution::Stale);
        assert_eq!(s.commit(0), Resolution::Stale);
        assert_eq!(s, before);
    }

    #[test]
    fn resync_drops_all_holes_and_can_move_next_down() {
        let mut s = SenderState::new(0);
        for _ in 0..6 {
            s.reserve();
        }
        s.rollback(1, 0);
        s.rollback(4, 0);
        s.resync(3);
        assert!(s.holes.is_empty());
        assert_eq!((s.next, s.floor, s.epoch, s.in_flight), (3, 3, 1, 0));
        assert_eq!(s.reserve(), Some(3));
    }

    #[test]
    fn fast_forward_keeps_higher_holes_and_ignores_late_rollbacks() {
        let mut s = SenderState::new(0);
        for _ in 0..6 {
            s.reserve();
        }
        s.rollback(1, 0);
        s.rollback(4, 0);
        assert!(s.fast_forward(3));
        assert_eq!(s.holes.iter().copied().collect::<Vec<_>>(), vec![4]);
        s.rollback(2, 0); // below the new floor: the chain used it
        assert_eq!(s.holes.len(), 1);
        assert!(!s.fast_forward(2));
        assert!(s.fast_forward(10));
        assert_eq!((s.next, s.floor), (10, 10));
        assert!(s.holes.is_empty());
    }

    #[test]
    fn refuses_the_last_nonce() {
        let mut s = SenderState::new(u64::MAX - 1);
        assert_eq!(s.reserve(), Some(u64::MAX - 1));
        assert_eq!(s.reserve(), None);
    }
}
