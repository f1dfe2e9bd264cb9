//! [`PoolError`]: why a [`WalletPool`](crate::WalletPool) could not be built.

/// Why a [`WalletPool`](crate::WalletPool) could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// No wallets were given: [`acquire`](crate::WalletPool::acquire) could never return, so
    /// the pool refuses to exist instead of hanging its first caller.
    #[error("wallet pool is empty: give it at least one wallet")]
    Empty,
}
