use std::{collections::HashMap, fmt::Debug, sync::Arc};

use alloy_primitives::Address;
use async_trait::async_trait;
use parking_lot::Mutex;

use crate::SourceError;

/// Where the [`NonceManager`](crate::NonceManager) learns a sender's next nonce: on first use
/// of the sender and on every [`resync`](crate::NonceManager::resync).
///
/// With the `alloy` feature, [`ProviderSource`](crate::ProviderSource) reads it from a node.
#[async_trait]
pub trait NonceSource: Debug + Send + Sync {
    /// The next nonce `sender` may use, counting its transactions still in the pool.
    ///
    /// # Errors
    /// Whatever kept the source from answering; the manager wraps it in
    /// [`Error::Source`](crate::Error::Source).
    ///
    /// # Cancel safety
    /// Implementations must be cancel safe: the manager drops this future when its caller is
    /// cancelled, and keeps no state from a call that did not finish.
    async fn next_nonce(&self, sender: Address) -> Result<u64, SourceError>;
}

/// An in-memory [`NonceSource`] for tests and offline use: unknown senders start at 0.
///
/// # Examples
/// ```
/// use alloy_primitives::Address;
/// use spam_nonce::MemorySource;
///
/// let source = MemorySource::default();
/// source.set(Address::ZERO, 7);
/// assert_eq!(source.get(Address::ZERO), 7);
/// ```
#[derive(Debug, Default)]
pub struct MemorySource {
    nonces: Mutex<HashMap<Address, u64>>,
}

impl MemorySource {
    /// Sets what the source answers for `sender` from now on.
    pub fn set(&self, sender: Address, next: u64) {
        self.nonces.lock().insert(sender, next);
    }

    /// What the source answers for `sender`.
    pub fn get(&self, sender: Address) -> u64 {
        self.nonces.lock().get(&sender).copied().unwrap_or_default()
    }
}

#[async_trait]
impl NonceSource for MemorySource {
    async fn next_nonce(&self, sender: Address) -> Result<u64, SourceError> {
        Ok(self.get(sender))
    }
}

/// Shares a source between the manager and its owner (e.g. a test that changes a [`MemorySource`]).
#[async_trait]
impl<T: NonceSource + ?Sized> NonceSource for Arc<T> {
    async fn next_nonce(&self, sender: Address) -> Result<u64, SourceError> {
        (**self).next_nonce(sender).await
    }
}
