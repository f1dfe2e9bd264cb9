//! The slow path of [`WalletPool::acquire`](crate::WalletPool::acquire): waiting without
//! losing wakeups.
//!
//! Protocol (all decisions under the pool's lock, all wakeups after it is dropped):
//!
//! - A waiter creates and *enables* its `Notified` before it looks at the state, so a release
//!   that happens after the look finds it in `Notify`'s list: no lost wakeup.
//! - A release wakes one waiter (`notify_one`) when a permit came back at once (cooldown 0),
//!   or when a permit started cooling and no waiter owns the timer yet.
//! - Of the waiters that find nothing, at most one (the *timer owner*) sleeps until the next
//!   cooling permit's `ready_at`; the rest only wait for a notification, so one timer serves
//!   all of them and an expiry wakes one task, not every waiter.
//! - A waiter that gets a wallet passes the baton (`notify_one`) if another permit is free or
//!   the timer has no owner while permits cool; one that is cancelled while owning the timer
//!   hands it on the same way. `notify_one` delivered to a `Notified` that is dropped before
//!   it completes is forwarded by tokio to the next waiter, so cancellation loses nothing.
//! - [`refresh`](crate::WalletPool::refresh) uses `notify_waiters`: the skip predicate may
//!   have changed for any wallet, so every waiter looks again.

use std::{pin::pin, sync::Arc, sync::atomic::Ordering};

use tokio::time::Instant;

use super::{Inner, Lease};

/// What a waiter does after looking at the pool.
enum Look {
    /// It leased this wallet.
    Leased(usize),
    /// It owns the timer: sleep until this instant or a notification, whichever comes first.
    Sleep(Instant),
    /// Wait for a notification.
    Wait,
}

pub(super) async fn acquire<W>(pool: &Arc<Inner<W>>) -> Lease<W> {
    let mut waiter = Waiter { pool, id: None };
    loop {
        let mut notified = pin!(pool.notify.notified());
        notified.as_mut().enable();
        match waiter.look() {
            Look::Leased(index) => return Lease::new(Arc::clone(pool), index),
            Look::Sleep(at) => {
                // Elapsed or notified: look again either way.
                let _ = tokio::time::timeout_at(at, notified).await;
            }
            Look::Wait => notified.await,
        }
    }
}

/// A registered waiter; dropping it (on success or cancellation) deregisters it.
struct Waiter<'a, W> {
    pool: &'a Inner<W>,
    /// Set while registered in `State::waiting`.
    id: Option<u64>,
}

impl<W> Waiter<'_, W> {
    fn look(&mut self) -> Look {
        let pool = self.pool;
        let mut st = pool.state.lock();
        let id = *self.id.get_or_insert_with(|| st.add_waiter());
        if st.timer_owner == Some(id) {
            // re-decided below
            st.timer_owner = None;
        }

        if let Some(index) = st.try_lease(&pool.items) {
            st.waiting -= 1;
            self.id = None;
            let pass_on =
                st.waiting > 0 && (st.has_free() || (st.timer_owner.is_none() && st.has_cooling()));
            drop(st);
            if pass_on {
                pool.notify.notify_one();
            }
            return Look::Leased(index);
        }

        if let Some(at) = st.next_ready(&pool.items) {
            if st.timer_owner.is_none() {
                st.timer_owner = Some(id);
                return Look::Sleep(at);
            }
            return Look::Wait;
        }
        // Nothing cools (or only skipped wallets do) and nothing is leased: only a change of
        // the skip predicate followed by `refresh` can wake this waiter.
        let stranded = st.leased() == 0;
        drop(st);
        if stranded && !pool.warned_stranded.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                target: "spam::pool",
                wallets = pool.items.len(),
                "every wallet is skipped by the predicate: acquire() waits for \
                 WalletPool::refresh or set_skip"
            );
        }
        Look::Wait
    }
}

impl<W> Drop for Waiter<'_, W> {
    fn drop(&mut self) {
        let Some(id) = self.id else { return };
        let mut st = self.pool.state.lock();
        st.waiting -= 1;
        // A timer owner leaving hands the duty on; permits may also have expired (and been
        // freed by a fast-path `try_acquire`) since it last looked, so free ones count too.
        let pass_on = st.timer_owner == Some(id) && {
            st.timer_owner = None;
            st.waiting > 0 && (st.has_free() || st.has_cooling())
        };
        drop(st);
        if pass_on {
            self.pool.notify.notify_one();
        }
    }
}
