//! The start barrier: shards mark themselves ready and poll until the run's common start is
//! set: by the shard that sees every shard ready, or by the first whose wait times out. The
//! start is on the database clock, mapped to this process's clock through the poll's round
//! trip.

use std::time::Duration;

use spam_store::{ShardBeat, ShardState, ShardView};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{Shard, ShardError};

/// How often a waiting shard looks at the barrier.
pub(super) const POLL: Duration = Duration::from_millis(250);

/// How far ahead of the moment every shard is ready the common start is set: every shard
/// sees it (a few polls) and signs its first transactions before it.
const LEAD: Duration = Duration::from_secs(2);

/// When this shard starts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Start {
    /// The common start on this process's clock (in the past for a late shard).
    pub(crate) at: Instant,
    /// How long after the common start this shard got there (zero when on time).
    pub(crate) late: Duration,
}

impl Shard {
    /// Marks this shard ready and waits for the common start; returns it on this process's
    /// clock. A shard arriving after the start gets it too, with how late it is.
    ///
    /// # Errors
    /// [`ShardError::Store`], [`ShardError::Gone`], [`ShardError::Cancelled`].
    pub(crate) async fn barrier(&self, cancel: &CancellationToken) -> Result<Start, ShardError> {
        let spec = self.spec();
        let deadline = Instant::now() + spec.barrier_timeout;
        loop {
            let asked = Instant::now();
            let view = self.beat(ShardBeat::new(ShardState::Ready)).await?;
            let answered = Instant::now();
            // The database read its clock about halfway through the round trip.
            let db_now_local = asked + answered.saturating_duration_since(asked) / 2;
            let start_at = match view.start_at_us {
                Some(at) => Some(at),
                None if view.ready() >= spec.count || answered >= deadline => {
                    if view.ready() < spec.count {
                        tracing::warn!(target: "spam::shard", ready = view.ready(), shards = spec.count, "barrier timed out; starting with the shards that are ready");
                    }
                    let at = view.now_us + LEAD.as_micros() as u64;
                    Some(self.store().start_shards(self.run(), at).await?)
                }
                None => None,
            };
            if let Some(at) = start_at {
                let start = local(&view, at, db_now_local);
                tracing::info!(target: "spam::shard", shard = spec.index, late_ms = start.late.as_millis() as u64, "start set");
                return Ok(start);
            }
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                () = cancel.cancelled() => return Err(ShardError::Cancelled),
            }
        }
    }
}

/// The start `at_us` (database clock) on this clock, given that the database read `view.now_us`
/// at `db_now_local`.
fn local(view: &ShardView, at_us: u64, db_now_local: Instant) -> Start {
    if at_us >= view.now_us {
        Start {
            at: db_now_local + Duration::from_micros(at_us - view.now_us),
            late: Duration::ZERO,
        }
    } else {
        let late = Duration::from_micros(view.now_us - at_us);
        Start {
            at: db_now_local.checked_sub(late).unwrap_or(db_now_local),
            late,
        }
    }
}
