use std::{
    fmt,
    marker::PhantomData,
    sync::atomic::{AtomicBool, Ordering},
};

use alloy::{
    network::{Ethereum, Network},
    primitives::{Address, U64},
    providers::Provider,
};
use async_trait::async_trait;

use super::method::is_method_missing;
use crate::{NonceSource, SourceError};

/// A [`NonceSource`] that asks a node through an alloy [`Provider`]:
/// `eth_getTransactionCount(sender, "pending")`.
///
/// With [`with_pending_nonce_method`](Self::with_pending_nonce_method) it first tries
/// `eth_getPendingNonce(sender)`, which some block builders serve with their own view of
/// pending transactions; when the node answers that the method does not exist, the source
/// remembers that and uses `eth_getTransactionCount` from then on.
///
/// # Examples
/// ```no_run
/// use alloy::providers::ProviderBuilder;
/// use spam_nonce::{NonceManager, ProviderSource};
///
/// let provider = ProviderBuilder::new().connect_http("http://127.0.0.1:8545".parse()?);
/// let nonces = NonceManager::new(ProviderSource::new(provider).with_pending_nonce_method(true));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ProviderSource<P, N = Ethereum> {
    provider: P,
    try_pending_nonce: AtomicBool,
    _network: PhantomData<fn() -> N>,
}

impl<P, N> ProviderSource<P, N>
where
    P: Provider<N>,
    N: Network,
{
    /// A source reading `eth_getTransactionCount(sender, "pending")` through `provider`.
    pub const fn new(provider: P) -> Self {
        Self {
            provider,
            try_pending_nonce: AtomicBool::new(false),
            _network: PhantomData,
        }
    }

    /// Whether to try the builder method `eth_getPendingNonce` first (default: no).
    pub fn with_pending_nonce_method(self, enabled: bool) -> Self {
        self.try_pending_nonce.store(enabled, Ordering::Relaxed);
        self
    }

    /// The provider this source reads through.
    pub const fn provider(&self) -> &P {
        &self.provider
    }
}

#[async_trait]
impl<P, N> NonceSource for ProviderSource<P, N>
where
    P: Provider<N>,
    N: Network,
{
    async fn next_nonce(&self, sender: Address) -> Result<u64, SourceError> {
        if self.try_pending_nonce.load(Ordering::Relaxed) {
            match self
                .provider
                .raw_request::<_, U64>("eth_getPendingNonce".into(), (sender,))
                .await
            {
                Ok(next) => return Ok(next.to()),
                Err(err) if is_method_missing(&err) => {
                    self.try_pending_nonce.store(false, Ordering::Relaxed);
                    tracing::info!(
                        target: "spam::nonce",
                        "node has no eth_getPendingNonce; using eth_getTransactionCount(pending)"
                    );
                }
                Err(err) => return Err(err.into()),
            }
        }
        Ok(self
            .provider
            .get_transaction_count(sender)
            .pending()
            .await?)
    }
}

impl<P, N> fmt::Debug for ProviderSource<P, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderSource")
            .field(
                "try_pending_nonce",
                &self.try_pending_nonce.load(Ordering::Relaxed),
            )
            .finish_non_exhaustive()
    }
}
