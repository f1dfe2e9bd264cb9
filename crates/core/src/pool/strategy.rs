//! Which available wallet a lease gets: round-robin, least-recently-used or seeded random.

use rand::{Rng, SeedableRng, rngs::StdRng};

/// How a [`WalletPool`](crate::WalletPool) picks among the wallets that are available now.
///
/// Every strategy only ever considers *available* wallets (below the in-flight cap, out of
/// cooldown, not skipped); the strategy decides the order among them.
///
/// # Examples
///
/// ```
/// use spam_core::{WalletPoolConfig, LeaseStrategy};
///
/// let reproducible = WalletPoolConfig::default().with_strategy(LeaseStrategy::Random { seed: Some(7) });
/// assert_eq!(reproducible.strategy(), LeaseStrategy::Random { seed: Some(7) });
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LeaseStrategy {
    /// Cycle through the wallets in index order, skipping unavailable ones: the wallet after
    /// the last one leased. With every wallet available, each gets exactly one lease per
    /// round. O(1) when the next wallet is available.
    #[default]
    RoundRobin,
    /// The available wallet touched (leased or released) longest ago; wallets never leased come
    /// first, in index order. With a cap of 1 this is the wallet that has been idle longest.
    /// O(1) unless wallets at the front of the order are skipped by the predicate.
    LeastRecentlyUsed,
    /// A uniformly random available wallet. `seed: Some(_)` makes the sequence of picks
    /// reproducible for the same sequence of pool operations (same `rand` version);
    /// `None` seeds from the operating system.
    Random {
        /// Seed of the pool's RNG; `None` for OS entropy.
        seed: Option<u64>,
    },
}

/// Random probes before falling back to a counting pass over all wallets.
const RANDOM_PROBES: usize = 4;
/// End of the LRU list.
const NIL: usize = usize::MAX;

/// The per-pool state of a [`LeaseStrategy`].
#[derive(Debug)]
pub(super) enum Selector {
    RoundRobin { next: usize },
    Lru(LruList),
    Random(Box<StdRng>),
}

impl Selector {
    pub(super) fn new(strategy: LeaseStrategy, len: usize) -> Self {
        match strategy {
            LeaseStrategy::RoundRobin => Self::RoundRobin { next: 0 },
            LeaseStrategy::LeastRecentlyUsed => Self::Lru(LruList::new(len)),
            LeaseStrategy::Random { seed } => Self::Random(Box::new(match seed {
                Some(seed) => StdRng::seed_from_u64(seed),
                None => StdRng::from_os_rng(),
            })),
        }
    }

    /// Picks one of `0..len` for which `available` holds, or `None` if there is none.
    ///
    /// `available` must not change its answers during the call.
    pub(super) fn pick(
        &mut self,
        len: usize,
        mut available: impl FnMut(usize) -> bool,
    ) -> Option<usize> {
        match self {
            Self::RoundRobin { next } => {
                let picked = (*next..len).chain(0..*next).find(|&i| available(i))?;
                *next = if picked + 1 == len { 0 } else { picked + 1 };
                Some(picked)
            }
            Self::Lru(list) => list.iter().find(|&i| available(i)),
            Self::Random(rng) => {
                // Each probe is uniform over all wallets, so an accepted probe is uniform over the
                // available ones; the counting pass below is uniform too.
                for _ in 0..RANDOM_PROBES.min(len) {
                    let i = rng.random_range(0..len);
                    if available(i) {
                        return Some(i);
                    }
                }
                let count = (0..len).filter(|&i| available(i)).count();
                if count == 0 {
                    return None;
                }
                let nth = rng.random_range(0..count);
                (0..len).filter(|&i| available(i)).nth(nth)
            }
        }
    }

    /// Records that wallet `i` was leased or released (the LRU order; a no-op otherwise).
    pub(super) fn touch(&mut self, i: usize) {
        if let Self::Lru(list) = self {
            list.move_to_back(i);
        }
    }
}

/// A doubly linked list over wallet indices in arrays: front = touched longest ago.
#[derive(Debug)]
pub(super) struct LruList {
    prev: Vec<usize>,
    next: Vec<usize>,
    head: usize,
    tail: usize,
}

impl LruList {
    fn new(len: usize) -> Self {
        Self {
            prev: (0..len).map(|i| i.checked_sub(1).unwrap_or(NIL)).collect(),
            next: (0..len)
                .map(|i| if i + 1 < len { i + 1 } else { NIL })
                .collect(),
            head: if len == 0 { NIL } else { 0 },
            tail: len.checked_sub(1).unwrap_or(NIL),
        }
    }

    fn move_to_back(&mut self, i: usize) {
        if self.tail == i {
            return;
        }
        // unlink (i is not the tail, so it has a successor)
        let (p, n) = (self.prev[i], self.next[i]);
        if p == NIL {
            self.head = n;
        } else {
            self.next[p] = n;
        }
        self.prev[n] = p;
        // append
        self.prev[i] = self.tail;
        self.next[i] = NIL;
        self.next[self.tail] = i;
        self.tail = i;
    }

    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        let mut cursor = self.head;
        std::iter::from_fn(move || {
            let i = cursor;
            (i != NIL).then(|| {
                cursor = self.next[i];
                i
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_cycles_and_skips_unavailable() {
        let mut s = Selector::new(LeaseStrategy::RoundRobin, 4);
        let picks: Vec<_> = (0..6).filter_map(|_| s.pick(4, |_| true)).collect();
        assert_eq!(picks, [0, 1, 2, 3, 0, 1]);
        assert_eq!(
            s.pick(4, |i| i == 1),
            Some(1),
            "wraps around to the only one"
        );
        assert_eq!(s.pick(4, |i| i != 2), Some(3));
        assert_eq!(s.pick(4, |_| false), None);
        assert_eq!(
            s.pick(4, |_| true),
            Some(0),
            "a failed pick keeps the cursor"
        );
    }

    #[test]
    fn lru_list_moves_touched_to_back() {
        let mut list = LruList::new(4);
        assert_eq!(list.iter().collect::<Vec<_>>(), [0, 1, 2, 3]);
        list.move_to_back(0);
        list.move_to_back(2);
        list.move_to_back(3); // already the tail
        list.move_to_back(3);
        assert_eq!(list.iter().collect::<Vec<_>>(), [1, 0, 2, 3]);
        list.move_to_back(1);
        assert_eq!(list.iter().collect::<Vec<_>>(), [0, 2, 3, 1]);
        let mut one = LruList::new(1);
        one.move_to_back(0);
        assert_eq!(one.iter().collect::<Vec<_>>(), [0]);
    }

    #[test]
    fn lru_picks_front_most_available() {
        let mut s = Selector::new(LeaseStrategy::LeastRecentlyUsed, 3);
        s.touch(0);
        assert_eq!(s.pick(3, |_| true), Some(1));
        assert_eq!(s.pick(3, |i| i != 1), Some(2));
        s.touch(1);
        s.touch(2);
        assert_eq!(s.pick(3, |_| true), Some(0));
    }

    #[test]
    fn random_is_seeded_uniform_and_only_picks_available() {
        let picks = |seed| {
            let mut s = Selector::new(LeaseStrategy::Random { seed: Some(seed) }, 8);
            (0..64)
                .map(|_| s.pick(8, |_| true).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(picks(1), picks(1));
        assert_ne!(picks(1), picks(2));

        let mut s = Selector::new(LeaseStrategy::Random { seed: Some(3) }, 100);
        let mut counts = [0u32; 2];
        for _ in 0..10_000 {
            // only 2 of 100 available: exercises the counting fallback
            let i = s.pick(100, |i| i == 17 || i == 80).unwrap();
            counts[usize::from(i == 80)] += 1;
        }
        assert!(
            counts.iter().all(|&c| (4_000..6_000).contains(&c)),
            "{counts:?}"
        );
        assert_eq!(s.pick(100, |_| false), None);
    }
}
