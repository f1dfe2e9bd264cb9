//! What nodes answer, classified once: error classes, the action each implies, and retries.

mod action;
mod class;
mod nonce;
mod retries;
mod retry;
mod transport_class;

pub use action::Action;
pub use class::{ErrorClass, classify, classify_response};
pub(crate) use nonce::{NonceStep, resolve_failed_send};
pub(crate) use retries::RetryCounts;
pub(crate) use retry::{RetryObserver, send_raw_observed, tx_hash_of};
pub use retry::{RetryPolicy, SendError, send_raw_transaction};
