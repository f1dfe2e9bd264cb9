//! The one place where a failed send's [`Action`] meets spam-nonce.

use spam_nonce::{NonceManager, Reservation};

use crate::rpc::Action;

/// What [`resolve_failed_send`] did to the sender's nonces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NonceStep {
    /// The nonce stays used (the node has, or may have, the transaction).
    Committed,
    /// The sender jumped to the node's next nonce.
    FastForwarded,
    /// The nonce stays used and the sender was re-read from the node.
    Resynced,
    /// The sender was set back to the nonce the node stated (no read).
    Rewound,
    /// The nonce went back as a hole.
    RolledBack,
}

/// Resolves the reservation of a send that failed, by the failure's [`Action`]: commit what the
/// node has or may have, fast-forward or resync when its sequence differs, roll back the rest.
///
/// Cancel safety: the reservation is resolved before the only await (the resync read); a
/// dropped future leaves at worst a resync undone, which the next conflict repeats.
pub(crate) async fn resolve_failed_send(
    nonces: &NonceManager,
    reservation: Reservation,
    action: Action,
) -> NonceStep {
    let sender = reservation.sender();
    match action {
        Action::Commit => {
            let _ = reservation.commit();
            NonceStep::Committed
        }
        Action::FastForward(next) => {
            drop(reservation);
            nonces.fast_forward(sender, next);
            NonceStep::FastForwarded
        }
        // The node stated its next nonce, below this one: the sender goes back to it at once.
        Action::Rewind(next) => {
            drop(reservation);
            nonces.resync_to(sender, next);
            NonceStep::Rewound
        }
        // The transaction may hold the nonce in the pool: keep it used, ask the node.
        Action::Resync | Action::ResendSame => {
            let _ = reservation.commit();
            // A failed resync leaves the old state; the next conflict tries again.
            let _ = nonces.resync(sender).await;
            NonceStep::Resynced
        }
        _ => {
            let _ = reservation.rollback();
            NonceStep::RolledBack
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use alloy::primitives::Address;
    use spam_nonce::MemorySource;

    use super::*;

    #[tokio::test]
    async fn a_stated_nonce_moves_the_sender_without_a_read() {
        let source = Arc::new(MemorySource::default());
        let nonces = NonceManager::new(Arc::clone(&source));
        let sender = Address::repeat_byte(1);
        nonces.resync_to(sender, 9);
        // What a read would say: never asked below.
        source.set(sender, 100);

        let high = nonces.try_reserve(sender).unwrap();
        assert_eq!(high.nonce(), 9);
        let step = resolve_failed_send(&nonces, high, Action::Rewind(5)).await;
        assert_eq!(step, NonceStep::Rewound);
        assert_eq!(nonces.snapshot(sender).unwrap().next, 5);

        let low = nonces.try_reserve(sender).unwrap();
        let step = resolve_failed_send(&nonces, low, Action::FastForward(8)).await;
        assert_eq!(step, NonceStep::FastForwarded);
        assert_eq!(nonces.try_reserve(sender).unwrap().nonce(), 8);
    }
}
