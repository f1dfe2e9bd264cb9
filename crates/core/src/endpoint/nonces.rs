//! [`RoutedNonces`]: each sender's pending nonce, read from its send endpoint of the moment.

use std::sync::Arc;

use alloy::primitives::Address;
use async_trait::async_trait;
use spam_nonce::{NonceSource, ProviderSource, SourceError};

use super::Router;

/// A [`NonceSource`] that asks each sender's own send endpoint: after a move, its nonces
/// come from the mempool it now sends to.
#[derive(Debug, Clone)]
pub(crate) struct RoutedNonces {
    router: Arc<Router>,
    pending_nonce_method: bool,
}

impl RoutedNonces {
    pub(crate) const fn new(router: Arc<Router>, pending_nonce_method: bool) -> Self {
        Self {
            router,
            pending_nonce_method,
        }
    }
}

#[async_trait]
impl NonceSource for RoutedNonces {
    async fn next_nonce(&self, sender: Address) -> Result<u64, SourceError> {
        ProviderSource::new(self.router.provider_for(sender))
            .with_pending_nonce_method(self.pending_nonce_method)
            .next_nonce(sender)
            .await
    }
}
