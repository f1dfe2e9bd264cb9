//! [`Budget`]: what each sender of a run needs to hold, estimated before anything is sent.

use std::fmt;

use alloy::primitives::U256;

/// What one sender is expected to spend in a run: `txs` transactions of at most `gas` gas at
/// up to `max_fee_per_gas` wei each, each moving `value` wei, plus `margin_percent`.
///
/// [`Funder::top_up`](super::Funder::top_up) with [`per_sender`](Self::per_sender) as both
/// threshold and target then funds exactly the senders that hold less, after checking that
/// the funder can pay for all of it.
///
/// # Examples
///
/// ```
/// use alloy::primitives::U256;
/// use spam_core::Budget;
///
/// // 100 transfers at up to 2 gwei, plus 20 %.
/// let budget = Budget::new(100, 21_000, 2_000_000_000);
/// assert_eq!(budget.per_sender(), U256::from(5_040_000_000_000_000_u64));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Budget {
    /// Transactions one sender sends.
    pub txs: u64,
    /// Gas limit of the most expensive of them.
    pub gas: u64,
    /// Highest fee per gas they may pay, in wei.
    pub max_fee_per_gas: u128,
    /// Value each moves, in wei.
    pub value: U256,
    /// Added on top, in percent (default 20).
    pub margin_percent: u32,
}

impl Budget {
    /// `txs` transactions of `gas` gas at up to `max_fee_per_gas`, moving nothing, with a 20 %
    /// margin.
    pub const fn new(txs: u64, gas: u64, max_fee_per_gas: u128) -> Self {
        Self {
            txs,
            gas,
            max_fee_per_gas,
            value: U256::ZERO,
            margin_percent: 20,
        }
    }

    /// Each transaction also moves `value` wei.
    pub const fn with_value(mut self, value: U256) -> Self {
        self.value = value;
        self
    }

    /// Replaces the margin.
    pub const fn with_margin_percent(mut self, percent: u32) -> Self {
        self.margin_percent = percent;
        self
    }

    /// What one sender needs to hold: `(gas × max fee + value) × txs`, plus the margin.
    pub fn per_sender(&self) -> U256 {
        let per_tx = U256::from(self.gas)
            .saturating_mul(U256::from(self.max_fee_per_gas))
            .saturating_add(self.value);
        per_tx
            .saturating_mul(U256::from(self.txs))
            .saturating_mul(U256::from(100 + u64::from(self.margin_percent)))
            / U256::from(100)
    }
}

impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} txs of up to {} gas at up to {} gwei (+{} %) = {} per sender",
            self.txs,
            self.gas,
            self.max_fee_per_gas as f64 / 1e9,
            self.margin_percent,
            eth(self.per_sender())
        )
    }
}

/// `wei` as ETH with up to 6 decimals, e.g. `0.005040 ETH`.
pub fn eth(wei: U256) -> String {
    let micro = wei / U256::from(1_000_000_000_000_u64);
    let micro = u128::try_from(micro).unwrap_or(u128::MAX);
    format!("{}.{:06} ETH", micro / 1_000_000, micro % 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_cover_gas_value_and_margin() {
        let b = Budget::new(10, 21_000, 1_000_000_000)
            .with_value(U256::from(1_000))
            .with_margin_percent(0);
        assert_eq!(
            b.per_sender(),
            U256::from(10 * (21_000 * 1_000_000_000_u128 + 1_000))
        );
        assert_eq!(Budget::new(0, 21_000, 1).per_sender(), U256::ZERO);
        assert_eq!(
            Budget::new(u64::MAX, u64::MAX, u128::MAX).per_sender(),
            U256::MAX / U256::from(100)
        );
        assert_eq!(eth(U256::from(5_040_000_000_000_000_u64)), "0.005040 ETH");
    }
}
