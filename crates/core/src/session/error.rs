//! [`StartError`]: why a run could not start. Failures during a run are counted in the report.

use alloy::transports::{RpcError, TransportError};

use crate::{
    node::{ExecutionLayer, MainnetRefused},
    pool::PoolError,
    profile::RateError,
};

/// Why a run (or a [`Session`](crate::Session)) could not start: nothing was sent and nothing
/// persisted when this is returned.
///
/// The classifiers answer what a caller does next: [`is_bad_input`](Self::is_bad_input) —
/// fix the settings (a CLI exits 2); [`is_unreachable`](Self::is_unreachable) — the node did
/// not answer, try again or check the URL.
///
/// # Examples
///
/// ```
/// use spam_core::{LoadGen, StartErrorKind};
///
/// # async fn demo() {
/// let err = LoadGen::builder().run().await.unwrap_err();
/// assert!(err.is_bad_input());
/// assert!(matches!(err.kind(), StartErrorKind::Config(_)));
/// assert_eq!(err.to_string(), "invalid settings: an RPC URL is required");
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct StartError {
    kind: StartErrorKind,
}

/// What kept a run from starting; see [`StartError`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartErrorKind {
    /// A required setting is missing or invalid.
    #[error("invalid settings: {0}")]
    Config(String),
    /// The rate profile cannot be paced.
    #[error(transparent)]
    Rate(#[from] RateError),
    /// The chain is a known public mainnet and the policy refuses it.
    #[error(transparent)]
    Mainnet(#[from] MainnetRefused),
    /// The execution layer lacks something the settings ask for.
    #[error("{el} does not support {what}; pick another setting or `--el other` if it does")]
    Unsupported {
        /// The execution layer assumed.
        el: ExecutionLayer,
        /// What it lacks.
        what: &'static str,
    },
    /// A read at start-up failed: the node is unreachable, or answered with an error.
    #[error("{what} failed")]
    Rpc {
        /// What was being read, e.g. "reading the chain id".
        what: &'static str,
        /// The error.
        #[source]
        source: TransportError,
    },
    /// A sender's starting nonce could not be read.
    #[error("reading start nonces failed")]
    Nonce(#[from] spam_nonce::Error),
    /// The wallet pool could not be built.
    #[error(transparent)]
    Pool(#[from] PoolError),
    /// The shard could not start with the others.
    #[cfg(feature = "store")]
    #[error(transparent)]
    Shard(#[from] crate::ShardError),
    /// The proxy pool has no proxy to assign the senders to (every one banned, or none) and
    /// does not allow direct connections.
    #[cfg(feature = "proxy")]
    #[error(transparent)]
    Proxy(#[from] spam_proxy::Error),
}

impl StartError {
    /// A [`StartErrorKind::Config`] naming what to fix.
    pub(crate) fn config(what: impl Into<String>) -> Self {
        StartErrorKind::Config(what.into()).into()
    }

    /// A failed start-up read.
    pub(crate) fn rpc(what: &'static str) -> impl FnOnce(TransportError) -> Self {
        move |source| StartErrorKind::Rpc { what, source }.into()
    }

    /// What went wrong.
    pub const fn kind(&self) -> &StartErrorKind {
        &self.kind
    }

    /// Consumes the error, returning what went wrong.
    pub fn into_kind(self) -> StartErrorKind {
        self.kind
    }

    /// The caller's settings are at fault (missing or invalid setting, unpaceable rate, a
    /// refused mainnet, a feature the node lacks, no wallets): fix them and run again.
    pub const fn is_bad_input(&self) -> bool {
        match &self.kind {
            // The settings, or what the chain says about them.
            StartErrorKind::Config(_)
            | StartErrorKind::Rate(_)
            | StartErrorKind::Mainnet(_)
            | StartErrorKind::Unsupported { .. }
            | StartErrorKind::Pool(_) => true,
            // The node's side: unreachable, or an error answer to a plain read.
            StartErrorKind::Rpc { .. } | StartErrorKind::Nonce(_) => false,
            #[cfg(feature = "proxy")]
            StartErrorKind::Proxy(_) => false,
            #[cfg(feature = "store")]
            StartErrorKind::Shard(e) => {
                matches!(
                    e,
                    crate::ShardError::Spec(_)
                        | crate::ShardError::Mismatch { .. }
                        | crate::ShardError::Finished(_)
                )
            }
        }
    }

    /// The node could not be reached (connection refused, timeout, a transport failure) as
    /// opposed to answering with an error: check the URL or that the node runs.
    pub fn is_unreachable(&self) -> bool {
        let transport = |err: &TransportError| matches!(err, RpcError::Transport(_));
        match &self.kind {
            StartErrorKind::Rpc { source, .. } => transport(source),
            StartErrorKind::Nonce(spam_nonce::Error::Source { source, .. }) => source
                .downcast_ref::<TransportError>()
                .is_some_and(transport),
            _ => false,
        }
    }
}

impl From<StartErrorKind> for StartError {
    fn from(kind: StartErrorKind) -> Self {
        Self { kind }
    }
}

/// `From<cause> for StartError` through the kind, so `?` works on each cause.
macro_rules! from_cause {
    ($($(#[$attr:meta])* $cause:ty),* $(,)?) => {$(
        $(#[$attr])*
        impl From<$cause> for StartError {
            fn from(cause: $cause) -> Self {
                StartErrorKind::from(cause).into()
            }
        }
    )*};
}

from_cause!(
    RateError,
    MainnetRefused,
    spam_nonce::Error,
    PoolError,
    #[cfg(feature = "proxy")]
    spam_proxy::Error,
    #[cfg(feature = "store")]
    crate::ShardError,
);

#[cfg(test)]
mod tests {
    use alloy::{
        rpc::json_rpc::ErrorPayload,
        transports::{RpcError, TransportErrorKind},
    };

    use super::*;

    #[test]
    fn settings_and_refusals_are_bad_input() {
        let config = StartError::config("an RPC URL is required");
        assert!(config.is_bad_input() && !config.is_unreachable());
        assert_eq!(
            config.to_string(),
            "invalid settings: an RPC URL is required"
        );
        let refused = StartError::from(MainnetRefused {
            chain_id: 1,
            name: "Ethereum",
        });
        assert!(refused.is_bad_input());
        assert!(matches!(refused.kind(), StartErrorKind::Mainnet(m) if m.chain_id == 1));
        let unsupported = StartError::from(StartErrorKind::Unsupported {
            el: ExecutionLayer::Anvil,
            what: "preconfirmation feeds",
        });
        assert!(unsupported.is_bad_input());
        assert!(StartError::from(PoolError::Empty).is_bad_input());
    }

    #[test]
    fn transport_failures_are_unreachable_error_answers_are_not() {
        let down = StartError::rpc("reading the chain id")(RpcError::Transport(
            TransportErrorKind::Custom("connection refused".into()),
        ));
        assert!(down.is_unreachable() && !down.is_bad_input());
        assert!(down.to_string().contains("reading the chain id failed"));
        let answered = StartError::rpc("reading fees")(RpcError::ErrorResp(ErrorPayload {
            code: -32601,
            message: "method not found".into(),
            data: None,
        }));
        assert!(!answered.is_unreachable() && !answered.is_bad_input());
        let timed_out: TransportError =
            RpcError::Transport(TransportErrorKind::Custom("timed out".into()));
        let nonce = StartError::from(spam_nonce::Error::Source {
            sender: Default::default(),
            source: Box::new(timed_out),
        });
        assert!(nonce.is_unreachable());
    }
}
