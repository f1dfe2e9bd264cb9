use alloy::{
    network::Network,
    primitives::Address,
    providers::{Provider, fillers},
    transports::{TransportErrorKind, TransportResult},
};
use async_trait::async_trait;

use crate::NonceManager;

/// Lets alloy's `NonceFiller` take nonces from a [`NonceManager`].
///
/// Start from `disable_recommended_fillers()`: `ProviderBuilder::new()` already holds alloy's
/// own nonce filler, which would fill the nonce first and leave this one unused.
///
/// alloy's filler has no way to report a failed send, so each nonce is committed as soon as
/// it is handed out. After a send fails, call [`NonceManager::resync`] for the sender (the
/// manager is shared, so the resync reaches this adapter too). Nonces are read from the
/// manager's own [`NonceSource`](crate::NonceSource), not from the provider the filler passes
/// in, so every user of the manager sees one sequence.
///
/// # Examples
/// ```no_run
/// use alloy::providers::ProviderBuilder;
/// use spam_nonce::{AlloyNonceManager, NonceManager, ProviderSource};
///
/// let url: alloy::transports::http::reqwest::Url = "http://127.0.0.1:8545".parse()?;
/// let reader = ProviderBuilder::new().connect_http(url.clone());
/// let nonces = NonceManager::new(ProviderSource::new(reader));
/// let provider = ProviderBuilder::new()
///     .disable_recommended_fillers()
///     .with_gas_estimation()
///     .with_nonce_management(AlloyNonceManager::new(nonces.clone()))
///     .fetch_chain_id()
///     .connect_http(url); // add `.wallet(..)` before connecting to sign
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct AlloyNonceManager {
    nonces: NonceManager,
}

impl AlloyNonceManager {
    /// Wraps a manager; clones of the manager keep sharing its state.
    pub const fn new(nonces: NonceManager) -> Self {
        Self { nonces }
    }

    /// The wrapped manager.
    pub const fn nonces(&self) -> &NonceManager {
        &self.nonces
    }
}

#[async_trait]
impl fillers::NonceManager for AlloyNonceManager {
    async fn get_next_nonce<P, N>(&self, _provider: &P, address: Address) -> TransportResult<u64>
    where
        P: Provider<N>,
        N: Network,
    {
        let reservation = self
            .nonces
            .reserve(address)
            .await
            .map_err(TransportErrorKind::custom)?;
        let nonce = reservation.nonce();
        let _ = reservation.commit();
        Ok(nonce)
    }
}
