//! [`FundingReport`]: what a funding, top-up or sweep did.

use std::fmt;

use alloy::primitives::{Address, U256};

use crate::rpc::SendError;

/// What a funding, top-up or sweep did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct FundingReport {
    /// Transfers accepted by the node, all included once the call returned `Ok`.
    pub sent: usize,
    /// Wallets left alone: at or above the threshold (top-up), or holding no more than one
    /// transfer's maximum fee (sweep).
    pub skipped: usize,
    /// Total value of the sent transfers, in wei (fees not included).
    pub value: U256,
    /// Transfers the node refused every time.
    pub failed: Vec<TransferFailure>,
}

impl fmt::Display for FundingReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sent {} ({} wei), failed {}, skipped {}",
            self.sent,
            self.value,
            self.failed.len(),
            self.skipped
        )
    }
}

/// One transfer the node refused.
#[derive(Debug)]
#[non_exhaustive]
pub struct TransferFailure {
    /// The sender.
    pub from: Address,
    /// The recipient.
    pub to: Address,
    /// The value it would have moved.
    pub value: U256,
    /// The node's last answer, classified.
    pub error: SendError,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_displays_counts() {
        let report = FundingReport {
            sent: 3,
            skipped: 1,
            value: U256::from(30),
            failed: Vec::new(),
        };
        assert_eq!(report.to_string(), "sent 3 (30 wei), failed 0, skipped 1");
    }
}
