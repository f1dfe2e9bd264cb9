#![doc = include_str!("../README.md")]

mod transfer;

use std::sync::Arc;

use spam_core::{TaskRegistry, TxTask};

pub use crate::transfer::{Recipient, Transfer};

/// Every built-in task, by name.
///
/// # Examples
/// ```
/// let registry = spam_tasks::registry();
/// assert!(registry.get("transfer_self").is_some());
/// let mix = registry.mix(&[("transfer_self", 3), ("transfer_fresh", 1)]).unwrap();
/// ```
pub fn registry() -> TaskRegistry {
    let mut registry = TaskRegistry::default();
    registry
        .register(Arc::new(TxTask(Transfer::to_self())))
        .register(Arc::new(TxTask(Transfer::to_fresh())));
    registry
}
