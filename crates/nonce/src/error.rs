use alloy_primitives::Address;

/// A boxed error returned by a [`NonceSource`](crate::NonceSource).
pub type SourceError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Errors returned by the [`NonceManager`](crate::NonceManager).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The nonce source could not tell the next nonce of `sender`.
    #[error("nonce source failed for {sender}")]
    Source {
        /// The sender whose nonce was asked for.
        sender: Address,
        /// What the source reported.
        #[source]
        source: SourceError,
    },
    /// `try_reserve` was called for a sender the manager has not loaded yet; call
    /// [`reserve`](crate::NonceManager::reserve) or [`resync`](crate::NonceManager::resync) once.
    #[error("sender {sender} is not loaded yet: call `reserve` or `resync` first")]
    NotLoaded {
        /// The unknown sender.
        sender: Address,
    },
    /// The sender's nonce reached `u64::MAX`, which no transaction may carry (EIP-2681).
    #[error("nonce space of {sender} is exhausted")]
    Exhausted {
        /// The sender whose nonces ran out.
        sender: Address,
    },
}

impl Error {
    /// The sender the error is about.
    pub const fn sender(&self) -> Address {
        match self {
            Self::Source { sender, .. }
            | Self::NotLoaded { sender }
            | Self::Exhausted { sender } => *sender,
        }
    }

    /// Whether trying again later can succeed (the source may answer next time).
    pub const fn is_retryable(&self) -> bool {
        matches!(self, Self::Source { .. })
    }
}
