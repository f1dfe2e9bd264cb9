//! Fee values for transactions (EIP-1559 or legacy) and the shared fee oracle.

mod oracle;

pub use oracle::{FeeOracle, FeeOracleConfig};

/// Gas of a plain value transfer to an account without code.
pub(crate) const TRANSFER_GAS: u64 = 21_000;

use alloy::{
    consensus::{TxEip1559, TxLegacy, TypedTransaction},
    primitives::{Address, Bytes, TxKind, U256},
};

/// Fees to put on a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fees {
    /// EIP-1559 fees (chains with a base fee).
    Eip1559 {
        /// Most the sender pays per gas, base fee included.
        max_fee_per_gas: u128,
        /// Tip to the block producer per gas.
        max_priority_fee_per_gas: u128,
    },
    /// A legacy gas price (chains without a base fee).
    Legacy {
        /// Price per gas.
        gas_price: u128,
    },
}

impl Fees {
    /// The most a transaction pays per gas.
    pub const fn max_fee_per_gas(&self) -> u128 {
        match *self {
            Self::Eip1559 {
                max_fee_per_gas, ..
            } => max_fee_per_gas,
            Self::Legacy { gas_price } => gas_price,
        }
    }

    /// The most a transaction with `gas_limit` can pay in fees, in wei.
    pub const fn max_cost(&self, gas_limit: u64) -> u128 {
        self.max_fee_per_gas().saturating_mul(gas_limit as u128)
    }

    /// Fees for a replacement of a pending transaction: every price raised by at least 12.5%
    /// (geth's minimum price bump), rounded up, and by at least 1 wei.
    pub const fn bump(&self) -> Self {
        const fn up(v: u128) -> u128 {
            let bumped = v.saturating_add(v.div_ceil(8));
            if bumped == v {
                v.saturating_add(1)
            } else {
                bumped
            }
        }
        match *self {
            Self::Eip1559 {
                max_fee_per_gas,
                max_priority_fee_per_gas,
            } => Self::Eip1559 {
                max_fee_per_gas: up(max_fee_per_gas),
                max_priority_fee_per_gas: up(max_priority_fee_per_gas),
            },
            Self::Legacy { gas_price } => Self::Legacy {
                gas_price: up(gas_price),
            },
        }
    }

    /// An unsigned value transfer of `value` wei from the nonce's owner to `to` (21 000 gas).
    pub fn transfer(
        &self,
        chain_id: u64,
        nonce: u64,
        to: Address,
        value: U256,
    ) -> TypedTransaction {
        match *self {
            Self::Eip1559 {
                max_fee_per_gas,
                max_priority_fee_per_gas,
            } => TxEip1559 {
                chain_id,
                nonce,
                gas_limit: TRANSFER_GAS,
                max_fee_per_gas,
                max_priority_fee_per_gas,
                to: TxKind::Call(to),
                value,
                access_list: Default::default(),
                input: Bytes::new(),
            }
            .into(),
            Self::Legacy { gas_price } => TxLegacy {
                chain_id: Some(chain_id),
                nonce,
                gas_price,
                gas_limit: TRANSFER_GAS,
                to: TxKind::Call(to),
                value,
                input: Bytes::new(),
            }
            .into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bump_is_at_least_an_eighth_and_one_wei() {
        let fees = Fees::Eip1559 {
            max_fee_per_gas: 100,
            max_priority_fee_per_gas: 0,
        };
        assert_eq!(
            fees.bump(),
            Fees::Eip1559 {
                max_fee_per_gas: 113,
                max_priority_fee_per_gas: 1
            }
        );
        assert_eq!(
            Fees::Legacy { gas_price: 8 }.bump(),
            Fees::Legacy { gas_price: 9 }
        );
        assert_eq!(
            Fees::Legacy { gas_price: 9 }.bump(),
            Fees::Legacy { gas_price: 11 }
        );
        let big = Fees::Legacy {
            gas_price: 1_000_000_000,
        }
        .bump();
        assert_eq!(big.max_fee_per_gas(), 1_125_000_000);
    }

    #[test]
    fn max_cost_covers_the_gas_limit() {
        let fees = Fees::Legacy { gas_price: 3 };
        assert_eq!(fees.max_cost(21_000), 63_000);
    }
}
