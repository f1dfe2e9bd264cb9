use std::{fmt, future::Future, sync::Arc};

use alloy_primitives::{Address, map::FbBuildHasher};
use dashmap::DashMap;
use parking_lot::Mutex;

use crate::{Error, NonceSource, Reservation, Resolution, SourceError, state::SenderState};

/// Hands out nonces per sender: reserve, then commit or roll back.
///
/// Cheap to clone; clones share state. The reserve path takes one short synchronous lock per
/// sender and never awaits once the sender is loaded. See the [crate docs](crate) for the
/// semantics.
#[derive(Clone)]
pub struct NonceManager {
    inner: Arc<Inner>,
}

struct Inner {
    source: Box<dyn NonceSource>,
    slots: DashMap<Address, Arc<Slot>, FbBuildHasher<20>>,
}

/// State of one sender plus a gate that orders the (rare) reads from the source.
#[derive(Debug, Default)]
pub(crate) struct Slot {
    state: Mutex<Option<SenderState>>,
    /// Held while reading from the source, so concurrent first uses share one read and an
    /// older read can never overwrite a newer resync.
    gate: tokio::sync::Mutex<()>,
}

impl Slot {
    pub(crate) fn epoch(&self) -> Option<u64> {
        self.state.lock().as_ref().map(|s| s.epoch)
    }

    fn version(&self) -> Option<u64> {
        self.state.lock().as_ref().map(|s| s.version)
    }

    pub(crate) fn commit(&self, epoch: u64) -> Resolution {
        self.state
            .lock()
            .as_mut()
            .map_or(Resolution::Stale, |s| s.commit(epoch))
    }

    pub(crate) fn rollback(&self, nonce: u64, epoch: u64) -> Resolution {
        self.state
            .lock()
            .as_mut()
            .map_or(Resolution::Stale, |s| s.rollback(nonce, epoch))
    }
}

/// A point-in-time view of one sender, from [`NonceManager::snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SenderSnapshot {
    /// The nonce a reservation gets when there are no holes.
    pub next: u64,
    /// Nonces below this one were reported used by the chain.
    pub floor: u64,
    /// Rolled-back nonces waiting to be handed out again, lowest first.
    pub holes: Vec<u64>,
    /// Bumped by every resync.
    pub epoch: u64,
    /// Reservations of the current epoch not yet resolved.
    pub in_flight: u64,
}

impl NonceManager {
    /// A manager that asks `source` for a sender's next nonce on first use and on resync.
    pub fn new(source: impl NonceSource + 'static) -> Self {
        Self {
            inner: Arc::new(Inner {
                source: Box::new(source),
                slots: DashMap::default(),
            }),
        }
    }

    /// Reserves the next nonce of `sender`: its lowest hole, else a fresh nonce.
    ///
    /// The first call for a sender reads the [`NonceSource`]; concurrent first calls share
    /// that read. Later calls do not await.
    ///
    /// # Errors
    /// [`Error::Source`] when the first read fails (nothing is cached, the next call asks
    /// again); [`Error::Exhausted`] at the end of the nonce space.
    ///
    /// # Cancel safety
    /// Cancel safe. Dropped before it returns, nothing is reserved; the returned
    /// [`Reservation`] rolls back when dropped unresolved.
    pub async fn reserve(&self, sender: Address) -> Result<Reservation, Error> {
        let slot = self.slot(sender);
        if let Some(reserved) = Self::take(&slot, sender) {
            return reserved;
        }
        let gate = slot.gate.lock().await;
        if slot.state.lock().is_none() {
            let next = self.read_source(sender).await?;
            let mut state = slot.state.lock();
            if state.is_none() {
                tracing::debug!(target: "spam::nonce", %sender, next, "loaded sender");
                *state = Some(SenderState::new(next));
            }
        }
        drop(gate);
        Self::take(&slot, sender).expect("sender loaded above")
    }

    /// Reserves like [`reserve`](Self::reserve) without awaiting, for synchronous hot paths
    /// (a signing thread). The sender must have been loaded by `reserve` or a resync.
    ///
    /// # Errors
    /// [`Error::NotLoaded`] for a sender seen for the first time; [`Error::Exhausted`] at the
    /// end of the nonce space.
    pub fn try_reserve(&self, sender: Address) -> Result<Reservation, Error> {
        let slot = self.inner.slots.get(&sender).map(|s| Arc::clone(&s));
        slot.and_then(|slot| Self::take(&slot, sender))
            .unwrap_or(Err(Error::NotLoaded { sender }))
    }

    /// Reads `sender`'s next nonce from the source and adopts it: holes are dropped and the
    /// epoch is bumped, so reservations made before become stale (resolving them is a no-op).
    /// Returns the new next nonce. Also loads a sender seen for the first time.
    ///
    /// Call it when the node says *nonce too low* or *too high*, or after a send whose fate is
    /// unknown. Concurrent resyncs of one sender run one after the other. If a
    /// [`resync_to`](Self::resync_to) or [`fast_forward`](Self::fast_forward) lands while the
    /// read is in flight, that newer value wins and is returned.
    ///
    /// # Errors
    /// [`Error::Source`] when the source fails; the state is then unchanged.
    ///
    /// # Cancel safety
    /// Cancel safe: the state changes only after the read completes, in one step.
    pub async fn resync(&self, sender: Address) -> Result<u64, Error> {
        let slot = self.slot(sender);
        let _gate = slot.gate.lock().await;
        let before = slot.version();
        let next = self.read_source(sender).await?;
        let mut state = slot.state.lock();
        if let Some(current) = state.as_ref().filter(|s| Some(s.version) != before) {
            // A resync_to or fast-forward landed while the read was in flight: it is newer.
            return Ok(current.next);
        }
        Self::adopt_locked(&mut state, sender, next);
        Ok(next)
    }

    /// Resyncs `sender` to a next nonce the caller already read (for example in one JSON-RPC
    /// batch for many senders at start-up). Same effect as [`resync`](Self::resync).
    pub fn resync_to(&self, sender: Address, next: u64) {
        Self::adopt(&self.slot(sender), sender, next);
    }

    /// The node reported that `sender`'s next nonce is `next` (many nodes say so in their
    /// *nonce too low* error): nonces below it are used, holes below it are dropped and `next`
    /// moves up to it if behind. Reservations at or above it stay valid, so unlike a resync the
    /// epoch is kept. Returns whether anything changed; a `next` at or below what is already
    /// known changes nothing.
    pub fn fast_forward(&self, sender: Address, next: u64) -> bool {
        let slot = self.slot(sender);
        let mut state = slot.state.lock();
        let changed = match state.as_mut() {
            Some(s) => s.fast_forward(next),
            None => {
                *state = Some(SenderState::new(next));
                true
            }
        };
        if changed {
            tracing::debug!(target: "spam::nonce", %sender, next, "fast-forwarded");
        }
        changed
    }

    /// The current state of `sender`, or `None` if it was never loaded.
    pub fn snapshot(&self, sender: Address) -> Option<SenderSnapshot> {
        let slot = self.inner.slots.get(&sender)?;
        let state = slot.state.lock();
        state.as_ref().map(|s| SenderSnapshot {
            next: s.next,
            floor: s.floor,
            holes: s.holes.iter().copied().collect(),
            epoch: s.epoch,
            in_flight: s.in_flight,
        })
    }

    fn slot(&self, sender: Address) -> Arc<Slot> {
        if let Some(slot) = self.inner.slots.get(&sender) {
            return Arc::clone(&slot);
        }
        Arc::clone(&self.inner.slots.entry(sender).or_default())
    }

    /// `None` when the sender is not loaded.
    fn take(slot: &Arc<Slot>, sender: Address) -> Option<Result<Reservation, Error>> {
        let mut state = slot.state.lock();
        let state = state.as_mut()?;
        let reserved = match state.reserve() {
            Some(nonce) => Ok(Reservation::new(
                Arc::clone(slot),
                sender,
                nonce,
                state.epoch,
            )),
            None => Err(Error::Exhausted { sender }),
        };
        Some(reserved)
    }

    fn adopt(slot: &Slot, sender: Address, next: u64) {
        Self::adopt_locked(&mut slot.state.lock(), sender, next);
    }

    fn adopt_locked(state: &mut Option<SenderState>, sender: Address, next: u64) {
        let state = state.get_or_insert_with(|| SenderState::new(next));
        state.resync(next);
        tracing::debug!(target: "spam::nonce", %sender, next, epoch = state.epoch, "resynced");
    }

    fn read_source(&self, sender: Address) -> impl Future<Output = Result<u64, Error>> + '_ {
        let read = self.inner.source.next_nonce(sender);
        async move {
            read.await
                .map_err(|source: SourceError| Error::Source { sender, source })
        }
    }
}

impl fmt::Debug for NonceManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NonceManager")
            .field("source", &self.inner.source)
            .field("senders", &self.inner.slots.len())
            .finish()
    }
}
