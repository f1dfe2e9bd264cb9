//! [`ShardSummary`]: one shard of a run over several shards, as the merged report shows it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One shard of a sharded run, as the merged report shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ShardSummary {
    /// The shard's index.
    pub index: u32,
    /// Where it ran.
    pub host: String,
    /// `waiting`, `ready`, `running`, `done`, `failed`, or `lost` (no heartbeat for 10 s).
    pub state: String,
    /// How long after the common start it started, ms.
    pub late_ms: u64,
    /// Open loop: ticks due so far (its last figures).
    pub offered: u64,
    /// Open loop: ticks not sent.
    pub dropped: u64,
    /// Transactions sent.
    pub sent: u64,
    /// Transactions seen in a block.
    pub included: u64,
    /// Open loop: ticks this shard owned that it never reported (the rest of a lost or
    /// failed shard's part of the profile).
    pub unreported: u64,
    /// Whether its final report is in the merged figures (a done shard).
    pub merged: bool,
}

/// The shards' part of the terminal summary: a count by state and one line per shard.
pub(super) struct ShardsSummary<'a>(pub(super) &'a [ShardSummary]);

impl fmt::Display for ShardsSummary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let merged = self.0.iter().filter(|s| s.merged).count();
        write!(
            f,
            "shards: {} ({merged} reported and merged; counts above are theirs, latencies every shard's)",
            self.0.len()
        )?;
        for s in self.0 {
            write!(
                f,
                "\n  {:>3}  {:<8} offered {} dropped {} sent {} included {}",
                s.index, s.state, s.offered, s.dropped, s.sent, s.included
            )?;
            if s.late_ms > 0 {
                write!(f, ", {} ms late", s.late_ms)?;
            }
            if s.unreported > 0 {
                write!(f, ", {} ticks never reported", s.unreported)?;
            }
            if !s.host.is_empty() {
                write!(f, "  ({})", s.host)?;
            }
        }
        Ok(())
    }
}
