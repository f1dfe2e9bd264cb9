//! Native value transfers.

use std::sync::Arc;

use alloy::{
    consensus::TypedTransaction,
    primitives::{Address, U256},
};
use parking_lot::Mutex;
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
    /// Another wallet of the pool: value moving between live accounts.
    Peer,
}

/// A 21 000-gas transfer of 1 wei.
#[derive(Debug, Clone)]
pub struct Transfer {
    name: &'static str,
    recipient: Recipient,
    /// Senders seen so far (for [`Recipient::Peer`]).
    peers: Option<Arc<Mutex<Vec<Address>>>>,
}

impl Transfer {
    /// `transfer_self`: 1 wei to the sender.
    pub const fn to_self() -> Self {
        Self {
            name: "transfer_self",
            recipient: Recipient::Sender,
            peers: None,
        }
    }

    /// `transfer_fresh`: 1 wei to a new random address.
    pub const fn to_fresh() -> Self {
        Self {
            name: "transfer_fresh",
            recipient: Recipient::Fresh,
            peers: None,
        }
    }

    /// `transfer_peer`: 1 wei to another wallet of the pool.
    ///
    /// A task sees only its own wallet, so "the pool" is the wallets that have run this task
    /// so far; a wallet sends to itself until a second one has shown up.
    pub fn to_peer() -> Self {
        Self {
            name: "transfer_peer",
            recipient: Recipient::Peer,
            peers: Some(Arc::default()),
        }
    }

    /// Where it sends.
    pub const fn recipient(&self) -> Recipient {
        self.recipient
    }

    fn peer_of(&self, sender: Address, rng: &mut impl Rng) -> Address {
        let Some(peers) = &self.peers else {
            return sender;
        };
        let mut peers = peers.lock();
        if !peers.contains(&sender) {
            peers.push(sender);
        }
        match peers.len() {
            1 => sender,
            n => {
                // Uniform over the others: skip the sender's own slot.
                let own = peers.iter().position(|p| *p == sender).expect("just added");
                let pick = rng.random_range(0..n - 1);
                peers[if pick >= own { pick + 1 } else { pick }]
            }
        }
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
            Recipient::Peer => self.peer_of(request.sender, request.rng),
        };
        request
            .fees
            .transfer(request.chain_id, request.nonce, to, U256::from(1))
    }
}

#[cfg(test)]
mod tests {
    use rand::{SeedableRng, rngs::StdRng};

    use super::*;

    #[test]
    fn a_peer_is_never_the_sender_once_there_are_two() {
        let transfer = Transfer::to_peer();
        let mut rng = StdRng::seed_from_u64(7);
        let (a, b, c) = (
            Address::repeat_byte(1),
            Address::repeat_byte(2),
            Address::repeat_byte(3),
        );
        assert_eq!(transfer.peer_of(a, &mut rng), a, "alone: to itself");
        assert_eq!(transfer.peer_of(b, &mut rng), a);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let to = transfer.peer_of(c, &mut rng);
            assert_ne!(to, c);
            seen.insert(to);
        }
        assert_eq!(seen.len(), 2, "both others are picked");
    }
}
