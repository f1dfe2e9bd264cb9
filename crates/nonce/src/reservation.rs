use std::{fmt, sync::Arc};

use alloy_primitives::Address;

use crate::{Resolution, manager::Slot};

/// One nonce handed out to one transaction.
///
/// Resolve it with [`commit`](Self::commit) once the node accepted the transaction (or may have:
/// see the crate docs on replay), or [`rollback`](Self::rollback) when it surely did not.
/// Dropping an unresolved reservation rolls it back, so a cancelled future or an early `?`
/// returns the nonce instead of leaving a gap. Both methods take `self`, so a reservation is
/// resolved exactly once.
///
/// After a [`resync`](crate::NonceManager::resync) of its sender the reservation is *stale*:
/// resolving it changes nothing.
#[must_use = "dropping a reservation rolls its nonce back"]
pub struct Reservation {
    slot: Arc<Slot>,
    sender: Address,
    nonce: u64,
    epoch: u64,
    resolved: bool,
}

impl Reservation {
    pub(crate) const fn new(slot: Arc<Slot>, sender: Address, nonce: u64, epoch: u64) -> Self {
        Self {
            slot,
            sender,
            nonce,
            epoch,
            resolved: false,
        }
    }

    /// The reserved nonce.
    pub const fn nonce(&self) -> u64 {
        self.nonce
    }

    /// The sender the nonce belongs to.
    pub const fn sender(&self) -> Address {
        self.sender
    }

    /// The sender's epoch when the nonce was reserved.
    pub const fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Whether the sender was resynced since this nonce was reserved.
    pub fn is_stale(&self) -> bool {
        self.slot.epoch() != Some(self.epoch)
    }

    /// Marks the nonce as used.
    pub fn commit(mut self) -> Resolution {
        self.resolved = true;
        self.slot.commit(self.epoch)
    }

    /// Returns the nonce as a hole; the next [`reserve`](crate::NonceManager::reserve) of the
    /// sender gets the lowest hole before any fresh nonce.
    pub fn rollback(mut self) -> Resolution {
        self.resolved = true;
        self.slot.rollback(self.nonce, self.epoch)
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if !self.resolved {
            self.slot.rollback(self.nonce, self.epoch);
        }
    }
}

impl fmt::Debug for Reservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reservation")
            .field("sender", &self.sender)
            .field("nonce", &self.nonce)
            .field("epoch", &self.epoch)
            .finish()
    }
}
