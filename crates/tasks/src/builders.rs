//! The catalogue's transaction builders by name, for the open-loop engine
//! ([`LoadGen`](spam_core::LoadGen)), which sends one [`TxBuilder`]'s transactions at a
//! target rate.

use std::sync::Arc;

use spam_core::TxBuilder;

use crate::{LargeCalldata, Transfer};

/// Names of the catalogue's single-transaction workloads, the ones [`tx_builder`] knows: the
/// tasks that need no setup and send exactly one transaction.
pub const TX_BUILDERS: &[&str] = &[
    "transfer_self",
    "transfer_fresh",
    "transfer_peer",
    "large_calldata",
];

/// A fresh transaction builder of the catalogue by its task name (see [`TX_BUILDERS`]), or
/// `None` for a name it does not know.
///
/// # Examples
/// ```
/// let builder = spam_tasks::tx_builder("transfer_fresh").unwrap();
/// assert_eq!(builder.name(), "transfer_fresh");
/// assert!(spam_tasks::tx_builder("erc20_deploy").is_none());
/// ```
pub fn tx_builder(name: &str) -> Option<Arc<dyn TxBuilder>> {
    let builder: Arc<dyn TxBuilder> = match name {
        "transfer_self" => Arc::new(Transfer::to_self()),
        "transfer_fresh" => Arc::new(Transfer::to_fresh()),
        "transfer_peer" => Arc::new(Transfer::to_peer()),
        "large_calldata" => Arc::new(LargeCalldata::default()),
        _ => return None,
    };
    Some(builder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_name_builds_a_builder_of_that_name_in_the_catalogue() {
        for name in TX_BUILDERS {
            let builder = tx_builder(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(builder.name(), *name);
            assert!(crate::CATALOGUE.iter().any(|t| t.name == *name), "{name}");
        }
        assert!(tx_builder("transfer").is_none());
        assert!(tx_builder("").is_none());
    }
}
