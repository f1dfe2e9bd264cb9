//! `WalletPool`: RAII leases with cooldown, strategies and an in-flight cap.

mod config;
mod error;
mod lease;
mod state;
mod strategy;
mod wait;

use std::{
    fmt,
    sync::{Arc, atomic::AtomicBool},
};

use parking_lot::Mutex;
use tokio::sync::Notify;

use self::state::State;
pub use self::{config::WalletPoolConfig, error::PoolError, lease::Lease, strategy::LeaseStrategy};

/// A shared pool of wallets (or any items `W`) handed out as RAII [`Lease`]s.
///
/// - **Selection**: among the wallets available now, the [`LeaseStrategy`] picks one.
/// - **Cooldown and cap**: each wallet has [`max_in_flight`](WalletPoolConfig::max_in_flight)
///   permits; a lease takes one and its release gives it back after the
///   [`cooldown`](WalletPoolConfig::cooldown) (see [`WalletPoolConfig`] for the exact rule).
/// - **Skipping**: an optional predicate ([`set_skip`](Self::set_skip)) hides wallets, e.g.
///   those whose proxy is banned.
///
/// `WalletPool` is a handle to shared state: cloning it is cheap (one `Arc`), and every clone
/// hands out leases of the same wallets. Operations take one short `parking_lot` lock; no
/// async lock, no background task, so a pool can be built outside a runtime (only
/// [`acquire`](Self::acquire) waiting on a cooldown needs tokio's timer).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// use spam_core::{WalletPoolConfig, WalletPool};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let config = WalletPoolConfig::default().with_cooldown(Duration::from_secs(1));
/// let pool = WalletPool::new(["alice", "bob"], config).unwrap();
///
/// let a = pool.acquire().await;
/// let b = pool.acquire().await;
/// assert_eq!((*a, *b), ("alice", "bob"));
/// assert!(pool.try_acquire().is_none(), "both are leased");
///
/// drop(a); // alice cools down for 1 s
/// let start = tokio::time::Instant::now();
/// let again = pool.acquire().await; // waits for alice's cooldown
/// assert_eq!(*again, "alice");
/// assert_eq!(start.elapsed(), Duration::from_secs(1));
/// # }
/// ```
pub struct WalletPool<W> {
    inner: Arc<Inner<W>>,
}

/// The state shared by a pool's handles and its leases.
pub(crate) struct Inner<W> {
    items: Box<[W]>,
    state: Mutex<State<W>>,
    notify: Notify,
    config: WalletPoolConfig,
    /// Whether the "every wallet is skipped" warning was logged since the last refresh.
    warned_stranded: AtomicBool,
}

impl<W> Inner<W> {
    fn release(&self, index: usize) {
        let wake = {
            let mut st = self.state.lock();
            st.release(index);
            // A permit back at once may serve a waiter; a cooling one needs a timer owner.
            st.waiting > 0 && (!st.cools() || st.timer_owner.is_none())
        };
        if wake {
            self.notify.notify_one();
        }
    }
}

/// A snapshot of a pool's counters, e.g. for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Wallets in the pool.
    pub len: usize,
    /// Live leases over all wallets.
    pub leased: usize,
    /// Released permits still waiting out their cooldown.
    pub cooling: usize,
    /// Tasks waiting in [`WalletPool::acquire`].
    pub waiting: usize,
}

impl<W> WalletPool<W> {
    /// Builds a pool over `wallets`; their order gives each its [`Lease::index`].
    ///
    /// # Errors
    ///
    /// [`PoolError::Empty`] if `wallets` is empty: [`acquire`](Self::acquire) could never
    /// return.
    ///
    /// # Examples
    ///
    /// ```
    /// use spam_core::{WalletPoolConfig, PoolError, WalletPool};
    ///
    /// assert!(WalletPool::new([1, 2, 3], WalletPoolConfig::default()).is_ok());
    /// let none: [u8; 0] = [];
    /// assert_eq!(WalletPool::new(none, WalletPoolConfig::default()).unwrap_err(), PoolError::Empty);
    /// ```
    pub fn new(
        wallets: impl IntoIterator<Item = W>,
        config: WalletPoolConfig,
    ) -> Result<Self, PoolError> {
        let items: Box<[W]> = wallets.into_iter().collect();
        if items.is_empty() {
            return Err(PoolError::Empty);
        }
        let state = Mutex::new(State::new(items.len(), &config));
        Ok(Self {
            inner: Arc::new(Inner {
                items,
                state,
                notify: Notify::new(),
                config,
                warned_stranded: AtomicBool::new(false),
            }),
        })
    }

    /// Leases an available wallet now, or returns `None` if none is (all at their cap, cooling
    /// down or skipped). Never waits.
    ///
    /// # Examples
    ///
    /// ```
    /// use spam_core::{WalletPoolConfig, WalletPool};
    ///
    /// let pool = WalletPool::new(["alice"], WalletPoolConfig::default()).unwrap();
    /// let lease = pool.try_acquire().unwrap();
    /// assert!(pool.try_acquire().is_none(), "cap 1: alice is leased");
    /// drop(lease);
    /// assert!(pool.try_acquire().is_none(), "alice cools down for 4 s");
    /// ```
    pub fn try_acquire(&self) -> Option<Lease<W>> {
        let index = self.inner.state.lock().try_lease(&self.inner.items)?;
        Some(Lease::new(Arc::clone(&self.inner), index))
    }

    /// Leases a wallet, waiting until one is available.
    ///
    /// Returns at once if [`try_acquire`](Self::try_acquire) would succeed. Otherwise it waits
    /// until a lease is released (with a zero cooldown), the earliest cooling permit's
    /// `ready_at` passes (it sleeps until that instant; no polling), or
    /// [`refresh`](Self::refresh) is called. Waiters are woken oldest first, but a caller
    /// arriving at the moment a wallet frees up may take it before them: the pool is not
    /// strictly FIFO.
    ///
    /// If every wallet is skipped by the predicate and none is leased or cooling, nothing but
    /// [`refresh`](Self::refresh) (or [`set_skip`](Self::set_skip)) can end the wait; the pool
    /// logs a warning (target `spam::pool`) once per refresh when that happens. Wrap the call
    /// in [`tokio::time::timeout`] to bound the wait.
    ///
    /// # Panics
    ///
    /// If it has to sleep until a cooldown ends outside a Tokio runtime with the time driver
    /// enabled (as [`tokio::time::sleep`] does).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe. Dropping the future before it completes leases nothing and loses no
    /// wakeup: a notification it received but did not use is passed on to another waiter, and
    /// so is the duty to wake up at the next `ready_at`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use spam_core::{WalletPoolConfig, WalletPool};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let pool = WalletPool::new(["alice"], WalletPoolConfig::default().with_cooldown(Duration::ZERO))
    ///     .unwrap();
    /// let lease = pool.acquire().await;
    /// let waiter = tokio::spawn({
    ///     let pool = pool.clone();
    ///     async move { pool.acquire().await.index() }
    /// });
    /// drop(lease); // wakes the waiter
    /// assert_eq!(waiter.await.unwrap(), 0);
    /// # }
    /// ```
    pub async fn acquire(&self) -> Lease<W> {
        if let Some(lease) = self.try_acquire() {
            return lease;
        }
        wait::acquire(&self.inner).await
    }

    /// Sets the predicate that hides wallets (`true` = skip), replacing any previous one, and
    /// wakes every waiting [`acquire`](Self::acquire).
    ///
    /// The predicate is called under the pool's lock on every selection: keep it cheap (an
    /// atomic load, a map lookup) and do not call into this pool from it (deadlock). If its
    /// answers change because of outside state (a proxy got unbanned), call
    /// [`refresh`](Self::refresh) so waiters look again.
    ///
    /// # Examples
    ///
    /// ```
    /// use spam_core::{WalletPoolConfig, WalletPool};
    ///
    /// let pool = WalletPool::new(["alice", "bob"], WalletPoolConfig::default()).unwrap();
    /// pool.set_skip(|w: &&str| *w == "alice");
    /// assert_eq!(*pool.try_acquire().unwrap(), "bob");
    /// ```
    pub fn set_skip(&self, skip: impl Fn(&W) -> bool + Send + Sync + 'static) {
        self.replace_skip(Some(Box::new(skip)));
    }

    /// [`set_skip`](Self::set_skip) in builder style.
    #[must_use]
    pub fn with_skip(self, skip: impl Fn(&W) -> bool + Send + Sync + 'static) -> Self {
        self.set_skip(skip);
        self
    }

    /// Removes the skip predicate and wakes every waiting [`acquire`](Self::acquire).
    pub fn clear_skip(&self) {
        self.replace_skip(None);
    }

    fn replace_skip(&self, skip: Option<state::Skip<W>>) {
        let old = self.inner.state.lock().replace_skip(skip);
        drop(old); // outside the lock: a closure's captures may do anything on drop
        self.refresh();
    }

    /// Wakes every waiting [`acquire`](Self::acquire) so it looks at the pool again.
    ///
    /// Call it after the skip predicate's answers may have changed (it reads outside state,
    /// e.g. a set of banned proxies that just shrank). Releases and cooldowns wake waiters on
    /// their own; they do not need this.
    pub fn refresh(&self) {
        self.inner
            .warned_stranded
            .store(false, std::sync::atomic::Ordering::Relaxed);
        self.inner.notify.notify_waiters();
    }

    /// The wallets, in index order.
    pub fn wallets(&self) -> &[W] {
        &self.inner.items
    }

    /// The wallet at `index`, leased or not.
    pub fn get(&self, index: usize) -> Option<&W> {
        self.inner.items.get(index)
    }

    /// How many wallets the pool holds (at least one).
    pub fn len(&self) -> usize {
        self.inner.items.len()
    }

    /// Always `false`: [`new`](Self::new) refuses an empty pool.
    pub fn is_empty(&self) -> bool {
        self.inner.items.is_empty()
    }

    /// The pool's configuration.
    pub fn config(&self) -> &WalletPoolConfig {
        &self.inner.config
    }

    /// A snapshot of the pool's counters.
    pub fn stats(&self) -> PoolStats {
        self.inner.state.lock().stats()
    }
}

impl<W> Clone for WalletPool<W> {
    /// Another handle to the same pool.
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<W> fmt::Debug for WalletPool<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WalletPool")
            .field("config", &self.inner.config)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::{num::NonZeroU32, time::Duration};

    use tokio::time::Instant;

    use super::*;

    fn pool(n: usize, cap: u32, cooldown: Duration) -> WalletPool<usize> {
        let config = WalletPoolConfig::default()
            .with_cooldown(cooldown)
            .with_max_in_flight(NonZeroU32::new(cap).unwrap());
        WalletPool::new(0..n, config).unwrap()
    }

    #[test]
    fn clones_share_state_and_leases_outlive_handles() {
        let a = pool(1, 1, Duration::ZERO);
        let b = a.clone();
        let lease = a.try_acquire().unwrap();
        assert!(b.try_acquire().is_none());
        drop((a, b));
        assert_eq!(*lease, 0);
        assert_eq!(lease.index(), 0);
    }

    #[test]
    fn stats_count_leases_cooling_and_len() {
        let pool = pool(3, 2, Duration::from_secs(4));
        let (a, _b) = (pool.try_acquire().unwrap(), pool.try_acquire().unwrap());
        a.release();
        let stats = pool.stats();
        assert_eq!(
            (stats.len, stats.leased, stats.cooling, stats.waiting),
            (3, 1, 1, 0)
        );
        assert_eq!((pool.len(), pool.is_empty()), (3, false));
        assert_eq!(pool.wallets(), [0, 1, 2]);
        assert_eq!(pool.get(2), Some(&2));
        assert!(format!("{pool:?}").contains("leased: 1"));
    }

    #[tokio::test(start_paused = true)]
    async fn one_timer_owner_serves_many_waiters() {
        let pool = pool(2, 1, Duration::from_secs(4));
        let start = Instant::now();
        let (a, b) = (pool.acquire().await, pool.acquire().await);
        let waiters: Vec<_> = (0..4)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move {
                    let lease = pool.acquire().await;
                    (lease.index(), start.elapsed())
                })
            })
            .collect();
        tokio::task::yield_now().await;
        assert_eq!(pool.stats().waiting, 4);
        assert_eq!(
            pool.inner.state.lock().timer_owner,
            None,
            "nothing cools yet"
        );
        drop(a);
        tokio::task::yield_now().await;
        assert!(pool.inner.state.lock().timer_owner.is_some());
        tokio::time::advance(Duration::from_secs(1)).await;
        drop(b);
        let mut got = Vec::new();
        for waiter in waiters {
            // each lease is dropped inside its task, so wallets come back every 4 s
            got.push(waiter.await.unwrap());
        }
        got.sort_by_key(|&(_, at)| at);
        let secs: Vec<_> = got.iter().map(|&(_, at)| at.as_secs()).collect();
        assert_eq!(secs, [4, 5, 8, 9]);
        assert_eq!(pool.stats().waiting, 0);
    }
}
