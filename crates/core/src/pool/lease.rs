//! [`Lease`]: the RAII handle to one wallet of a [`WalletPool`](crate::WalletPool).

use std::{fmt, ops::Deref, sync::Arc};

use super::Inner;

/// Exclusive use of one of a wallet's in-flight permits, given back on drop.
///
/// Derefs to the wallet. Dropping the lease (or calling [`release`](Self::release), which
/// consumes it) returns the permit to the pool: it comes back into use after the pool's
/// cooldown, counted from this instant. A lease can only be released once, by construction;
/// releasing does no I/O and spawns nothing, it takes the pool's lock briefly and may wake a
/// waiting [`acquire`](crate::WalletPool::acquire).
///
/// A lease keeps the pool's shared state alive, so it may outlive every
/// [`WalletPool`](crate::WalletPool) handle and be moved into spawned tasks.
///
/// # Examples
///
/// ```
/// use spam_core::{WalletPoolConfig, WalletPool};
///
/// let pool = WalletPool::new(["alice", "bob"], WalletPoolConfig::default()).unwrap();
/// let lease = pool.try_acquire().unwrap();
/// assert_eq!((lease.index(), *lease), (0, "alice"));
/// lease.release(); // or let it go out of scope
/// ```
#[must_use = "dropping a lease releases the wallet at once"]
pub struct Lease<W> {
    pool: Arc<Inner<W>>,
    index: usize,
}

impl<W> Lease<W> {
    pub(super) const fn new(pool: Arc<Inner<W>>, index: usize) -> Self {
        Self { pool, index }
    }

    /// The wallet's position in the pool (the order it was given to
    /// [`WalletPool::new`](crate::WalletPool::new)); stable for the pool's life.
    pub const fn index(&self) -> usize {
        self.index
    }

    /// The leased wallet (the same as dereferencing the lease).
    pub fn wallet(&self) -> &W {
        &self.pool.items[self.index]
    }

    /// Gives the wallet back now; the same as dropping the lease, spelled out.
    pub fn release(self) {
        drop(self);
    }
}

impl<W> Deref for Lease<W> {
    type Target = W;

    fn deref(&self) -> &W {
        self.wallet()
    }
}

impl<W> AsRef<W> for Lease<W> {
    fn as_ref(&self) -> &W {
        self.wallet()
    }
}

impl<W> Drop for Lease<W> {
    fn drop(&mut self) {
        self.pool.release(self.index);
    }
}

impl<W: fmt::Debug> fmt::Debug for Lease<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease")
            .field("index", &self.index)
            .field("wallet", self.wallet())
            .finish()
    }
}
