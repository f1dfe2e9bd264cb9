//! What nodes answer, classified once: error classes, the action each implies, and retries.

mod action;
mod class;
mod nonce;
mod retry;

pub use action::Action;
pub use class::{ErrorClass, classify, classify_response};
pub(crate) use nonce::{NonceStep, resolve_failed_send};
pub use retry::{RetryPolicy, SendError, send_raw_transaction};
