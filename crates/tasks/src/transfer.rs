//! Native value transfers.

use alloy::{
    consensus::TypedTransaction,
    primitives::{Address, U256},
};
use rand::Rng;
use spam_core::{BuildRequest, TxBuilder};

/// Where a [`Transfer`] sends its wei.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Recipient {
    /// The sender itself: no state growth, the cheapest transaction there is.
    Sender,
    /// A fresh random address per transaction: one new account in the state each time.
    Fresh,
}

/// A 21 000-gas transfer of 1 wei.
#[derive(Debug, Clone)]
pub struct Transfer {
    name: &'static str,
    recipient: Recipient,
}

impl Transfer {
    /// `transfer_self`: 1 wei to the sender.
    pub const fn to_self() -> Self {
        Self {
            name: "transfer_self",
            recipient: Recipient::Sender,
        }
    }

    /// `transfer_fresh`: 1 wei to a new random address.
    pub const fn to_fresh() -> Self {
        Self {
            name: "transfer_fresh",
            recipient: Recipient::Fresh,
        }
    }

    /// Where it sends.
    pub const fn recipient(&self) -> Recipient {
        self.recipient
    }
}

impl TxBuilder for Transfer {
    fn name(&self) -> &str {
        self.name
    }

    fn build(&self, request: BuildRequest<'_>) -> TypedTransaction {
        let to = match self.recipient {
            Recipient::Sender => request.sender,
            Recipient::Fresh => Address::from(request.rng.random::<[u8; 20]>()),
        };
        request
            .fees
            .transfer(request.chain_id, request.nonce, to, U256::from(1))
    }
}
