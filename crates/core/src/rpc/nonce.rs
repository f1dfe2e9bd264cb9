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
