use std::time::Duration;

use alloy::{primitives::TxHash, transports::TransportError};

use crate::{rpc::ErrorClass, rpc::SendError, rpc::classify, wallet::WalletError};

/// Why a task failed. [`label`](Self::label) is the error class the report counts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// No nonce could be reserved.
    #[error("reserving a nonce failed")]
    Nonce(#[from] spam_nonce::Error),
    /// A read (fees, receipt, call) failed.
    #[error("{what} failed: {class}")]
    Rpc {
        /// What was being read.
        what: &'static str,
        /// Its class.
        class: ErrorClass,
        /// The error.
        #[source]
        source: TransportError,
    },
    /// The node did not take a transaction.
    #[error(transparent)]
    Send(#[from] SendError),
    /// Signing failed.
    #[error(transparent)]
    Wallet(#[from] WalletError),
    /// The transaction was included but reverted.
    #[error("transaction {hash} reverted")]
    Reverted {
        /// Its hash.
        hash: TxHash,
    },
    /// Another transaction used the nonce of this one, which can therefore never be included
    /// (found when its receipt did not come and its sender was reconciled).
    #[error("transaction {hash} was superseded: its nonce went to another transaction")]
    Superseded {
        /// Its hash.
        hash: TxHash,
    },
    /// The task ran longer than the engine allowed.
    #[error("task timed out after {0:?}")]
    Timeout(Duration),
    /// The task panicked; the run went on.
    #[error("task panicked: {0}")]
    Panicked(String),
    /// The run was stopped while the task ran.
    #[error("cancelled")]
    Cancelled,
    /// Anything else a task wants to report.
    #[error("{0}")]
    Other(String),
}

impl TaskError {
    /// A read failure, classified.
    pub fn rpc(what: &'static str, source: TransportError) -> Self {
        Self::Rpc {
            what,
            class: classify(&source),
            source,
        }
    }

    /// Whether the task failed because the node is out (no answer, a dropped connection, an
    /// HTTP failure status), not because of anything the task did.
    pub(crate) fn is_node_failure(&self) -> bool {
        match self {
            Self::Rpc { class, .. } | Self::Send(SendError { class, .. }) => {
                class.is_node_failure()
            }
            _ => false,
        }
    }

    /// The error class the report counts, e.g. `"nonce too low"`, `"timeout"`, `"panic"`.
    pub fn label(&self) -> String {
        match self {
            Self::Nonce(_) => "nonce source".into(),
            Self::Rpc { class, .. } => class.to_string(),
            Self::Send(err) if err.maybe_delivered => format!("{} (maybe delivered)", err.class),
            Self::Send(err) => err.class.to_string(),
            Self::Wallet(_) => "signing".into(),
            Self::Reverted { .. } => "reverted".into(),
            Self::Superseded { .. } => "superseded".into(),
            Self::Timeout(_) => "task timeout".into(),
            Self::Panicked(_) => "panic".into(),
            Self::Cancelled => "cancelled".into(),
            Self::Other(_) => "other".into(),
        }
    }
}
