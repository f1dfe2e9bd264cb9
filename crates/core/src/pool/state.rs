//! The accounting behind a pool's lock: per-wallet permits, the cooling queue, waiter
//! bookkeeping. Everything here runs inside one short `parking_lot` critical section.

use std::{collections::VecDeque, fmt, time::Duration};

use tokio::time::Instant;

use super::{PoolStats, WalletPoolConfig, strategy::Selector};

/// The skip predicate: `true` means "do not hand this wallet out now".
pub(super) type Skip<W> = Box<dyn Fn(&W) -> bool + Send + Sync>;

/// Permits of one wallet in use: invariant `leased + cooling <= cap`.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    leased: u32,
    cooling: u32,
}

pub(super) struct State<W> {
    slots: Vec<Slot>,
    /// Released permits waiting out the cooldown, as `(ready_at, wallet)`. The cooldown is the
    /// same for every release and `now` is read under the lock, so pushing at the back keeps
    /// the queue sorted by `ready_at`: the front is always the next permit to come back.
    cooling: VecDeque<(Instant, usize)>,
    cap: u32,
    cooldown: Duration,
    /// Permits neither leased nor cooling, over all wallets, skipped ones included: a cheap
    /// hint that another waiter might succeed.
    free: usize,
    leased: usize,
    selector: Selector,
    skip: Option<Skip<W>>,
    /// Waiters inside the slow path of `acquire` (registered with the `Notify`).
    pub(super) waiting: usize,
    /// The waiter that sleeps until the next cooling permit comes back; the others only wait
    /// for notifications, so one timer serves all of them.
    pub(super) timer_owner: Option<u64>,
    next_waiter_id: u64,
}

impl<W> State<W> {
    pub(super) fn new(len: usize, config: &WalletPoolConfig) -> Self {
        let cap = config.max_in_flight().get();
        Self {
            slots: vec![Slot::default(); len],
            cooling: VecDeque::new(),
            cap,
            cooldown: config.cooldown(),
            free: len.saturating_mul(cap as usize),
            leased: 0,
            selector: Selector::new(config.strategy(), len),
            skip: None,
            waiting: 0,
            timer_owner: None,
            next_waiter_id: 0,
        }
    }

    /// Leases an available wallet, if any, and returns its index.
    pub(super) fn try_lease(&mut self, items: &[W]) -> Option<usize> {
        if !self.cooling.is_empty() {
            // the clock is read only while something cools: cooldown 0 never touches it
            self.expire(Instant::now());
        }
        let Self {
            slots,
            selector,
            skip,
            cap,
            ..
        } = self;
        let i = selector.pick(items.len(), |i| {
            let slot = slots[i];
            slot.leased + slot.cooling < *cap && skip.as_ref().is_none_or(|skip| !skip(&items[i]))
        })?;
        self.slots[i].leased += 1;
        self.leased += 1;
        self.free -= 1;
        self.selector.touch(i);
        Some(i)
    }

    /// Returns the permit of one lease of wallet `i`: at once with a zero cooldown, else into
    /// the cooling queue.
    pub(super) fn release(&mut self, i: usize) {
        self.slots[i].leased -= 1;
        self.leased -= 1;
        if self.cooldown.is_zero() {
            self.free += 1;
        } else {
            let mut ready_at = Instant::now() + self.cooldown;
            if let Some(&(last, _)) = self.cooling.back() {
                // keep the queue sorted even if the clock were to step back between threads
                ready_at = ready_at.max(last);
            }
            self.cooling.push_back((ready_at, i));
            self.slots[i].cooling += 1;
        }
        self.selector.touch(i);
    }

    /// Gives back every cooling permit whose `ready_at` is not after `now`.
    fn expire(&mut self, now: Instant) {
        while let Some(&(ready_at, i)) = self.cooling.front() {
            if ready_at > now {
                break;
            }
            self.cooling.pop_front();
            self.slots[i].cooling -= 1;
            self.free += 1;
        }
    }

    /// When the next permit of a wallet that is not skipped comes back, if one is cooling.
    pub(super) fn next_ready(&self, items: &[W]) -> Option<Instant> {
        self.cooling
            .iter()
            .find(|&&(_, i)| self.skip.as_ref().is_none_or(|skip| !skip(&items[i])))
            .map(|&(ready_at, _)| ready_at)
    }

    /// Whether a permit is free now (skipped wallets included): another waiter might succeed.
    pub(super) const fn has_free(&self) -> bool {
        self.free > 0
    }

    /// Whether any permit is cooling.
    pub(super) fn has_cooling(&self) -> bool {
        !self.cooling.is_empty()
    }

    /// Whether the pool waits out a cooldown on release.
    pub(super) const fn cools(&self) -> bool {
        !self.cooldown.is_zero()
    }

    /// Live leases over all wallets.
    pub(super) const fn leased(&self) -> usize {
        self.leased
    }

    /// Replaces the skip predicate, returning the old one so it is dropped outside the lock.
    pub(super) fn replace_skip(&mut self, skip: Option<Skip<W>>) -> Option<Skip<W>> {
        std::mem::replace(&mut self.skip, skip)
    }

    /// Registers a new waiter and returns its id.
    pub(super) const fn add_waiter(&mut self) -> u64 {
        self.waiting += 1;
        self.next_waiter_id += 1;
        self.next_waiter_id
    }

    pub(super) fn stats(&self) -> PoolStats {
        PoolStats {
            len: self.slots.len(),
            leased: self.leased,
            cooling: self.cooling.len(),
            waiting: self.waiting,
        }
    }
}

impl<W> fmt::Debug for State<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State")
            .field("stats", &self.stats())
            .field("skip", &self.skip.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    fn state(cap: u32, cooldown: Duration) -> State<u8> {
        let config = WalletPoolConfig::default()
            .with_cooldown(cooldown)
            .with_max_in_flight(NonZeroU32::new(cap).unwrap());
        State::new(2, &config)
    }

    #[test]
    fn cap_counts_leases_and_cooling_permits() {
        let items = [0u8, 1];
        let mut st = state(2, Duration::ZERO);
        let leases: Vec<_> = (0..4).map_while(|_| st.try_lease(&items)).collect();
        assert_eq!(leases, [0, 1, 0, 1]);
        assert_eq!(st.try_lease(&items), None);
        assert!(!st.has_free());
        st.release(1);
        assert!(st.has_free());
        assert_eq!(st.try_lease(&items), Some(1));
        assert_eq!(st.leased(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn cooling_queue_expires_in_order() {
        let items = [0u8, 1];
        let mut st = state(1, Duration::from_secs(4));
        let start = Instant::now();
        assert_eq!(st.try_lease(&items), Some(0));
        assert_eq!(st.try_lease(&items), Some(1));
        st.release(0);
        tokio::time::advance(Duration::from_secs(1)).await;
        st.release(1);
        assert_eq!(st.next_ready(&items), Some(start + Duration::from_secs(4)));
        st.replace_skip(Some(Box::new(|&w| w == 0)));
        assert_eq!(st.next_ready(&items), Some(start + Duration::from_secs(5)));
        st.replace_skip(None);
        tokio::time::advance(Duration::from_secs(3)).await;
        assert_eq!(st.try_lease(&items), Some(0), "ready exactly at ready_at");
        assert_eq!(st.try_lease(&items), None);
        assert_eq!(st.stats().cooling, 1);
    }
}
