//! Shards: one run written by several processes, coordinated through the store. The types
//! here are what the coordination tables hold; spam-core's `Shard` drives the protocol
//! (register, wait, start together, heartbeat, finish) and merges the results.

use std::{fmt, str::FromStr, time::Duration};

use serde::{Deserialize, Serialize};

use crate::RunId;

/// A shard that has not sent a heartbeat for this long is lost.
pub const LOST_AFTER: Duration = Duration::from_secs(10);

/// The run every shard of one sharded run registers under: written by the first shard to
/// arrive, checked by the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ShardPlan {
    /// The run ([`RunId::from_name`] of `name`).
    pub run: RunId,
    /// The name every shard was given (`--run-id`).
    pub name: String,
    /// How many shards the run has.
    pub shards: u32,
    /// The configuration every shard runs, as JSON.
    pub config: serde_json::Value,
    /// A hash of `config`: shards with another hash are refused.
    pub config_hash: String,
}

impl ShardPlan {
    /// The plan of run `name` over `shards` shards running `config`.
    ///
    /// # Errors
    /// [`RunNameError`] when `name` is not a valid run name.
    pub fn new(
        name: &str,
        shards: u32,
        config: serde_json::Value,
        config_hash: String,
    ) -> Result<Self, RunNameError> {
        Ok(Self {
            run: RunId::from_name(name)?,
            name: name.to_owned(),
            shards,
            config,
            config_hash,
        })
    }
}

/// Where a shard stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ShardState {
    /// Registered, preparing (funding, opening the session).
    Waiting,
    /// Ready to start: waiting at the start barrier.
    Ready,
    /// Sending.
    Running,
    /// Finished, its figures stored.
    Done,
    /// Ended with an error.
    Failed,
}

impl ShardState {
    /// The name stored and shown.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Ready => "ready",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    /// Whether the shard has ended (done or failed): its heartbeat stopped on purpose.
    pub const fn is_final(self) -> bool {
        matches!(self, Self::Done | Self::Failed)
    }
}

impl fmt::Display for ShardState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ShardState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "waiting" => Self::Waiting,
            "ready" => Self::Ready,
            "running" => Self::Running,
            "done" => Self::Done,
            "failed" => Self::Failed,
            other => return Err(format!("unknown shard state `{other}`")),
        })
    }
}

/// One shard's row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ShardRecord {
    /// The run.
    pub run: RunId,
    /// The shard's index, `0..shards`.
    pub shard: u32,
    /// Its state as last written.
    pub state: ShardState,
    /// The host it runs on (a pod name under Kubernetes).
    pub host: String,
    /// When it registered, database clock, Unix µs.
    pub joined_at_us: u64,
    /// Its last heartbeat, database clock, Unix µs.
    pub heartbeat_at_us: u64,
    /// When it ended, database clock, Unix µs.
    pub ended_at_us: Option<u64>,
    /// What it had done at its last heartbeat, or at its end (its report's figures), as the
    /// engine wrote them.
    pub figures: serde_json::Value,
}

impl ShardRecord {
    /// Whether the shard is lost at `now_us` (database clock): not ended, and silent for
    /// longer than [`LOST_AFTER`].
    pub fn is_lost(&self, now_us: u64) -> bool {
        !self.state.is_final()
            && now_us.saturating_sub(self.heartbeat_at_us) > LOST_AFTER.as_micros() as u64
    }
}

/// What the coordination tables say about a run now, read in one go.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ShardView {
    /// The database clock at the read, Unix µs: every shard's common clock.
    pub now_us: u64,
    /// The plan as stored (by the first shard).
    pub plan: ShardPlan,
    /// The common start, Unix µs (database clock), once the barrier has set it.
    pub start_at_us: Option<u64>,
    /// Every registered shard, by index.
    pub shards: Vec<ShardRecord>,
}

impl ShardView {
    /// Shards at or past the barrier (ready, running or ended) that are not lost.
    pub fn ready(&self) -> u32 {
        self.shards
            .iter()
            .filter(|s| s.state >= ShardState::Ready && !s.is_lost(self.now_us))
            .count() as u32
    }
}

/// The answer to a shard's registration.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Joined {
    /// Registered (or registered again, after a restart): the run as it stands.
    Joined(ShardView),
    /// The run exists with another configuration or shard count: nothing was written. The
    /// stored plan, to say what differs.
    Mismatch(ShardPlan),
}

/// A heartbeat: the shard's state and, when it has them, its figures so far.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ShardBeat {
    /// The state to record.
    pub state: ShardState,
    /// The figures to record; `None` keeps the last ones.
    pub figures: Option<serde_json::Value>,
}

impl ShardBeat {
    /// A heartbeat in `state`, figures unchanged.
    pub const fn new(state: ShardState) -> Self {
        Self {
            state,
            figures: None,
        }
    }

    /// With `figures`.
    #[must_use]
    pub fn with_figures(mut self, figures: serde_json::Value) -> Self {
        self.figures = Some(figures);
        self
    }
}

/// One second of one shard: its latency histograms, serialized by the engine (HDR V2,
/// compressed), merged across shards by a report.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShardSecond {
    /// The shard.
    pub shard: u32,
    /// Whole seconds since the common start.
    pub second: u64,
    /// The serialized histograms.
    pub histograms: Vec<u8>,
}

impl ShardSecond {
    /// Second `second` of `shard`.
    pub const fn new(shard: u32, second: u64, histograms: Vec<u8>) -> Self {
        Self {
            shard,
            second,
            histograms,
        }
    }
}

/// A run name that cannot be one: see [`RunId::from_name`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid run id `{0}`: use 1 to 63 letters, digits, `-` and `_` (a Kubernetes Job name works)"
)]
pub struct RunNameError(pub String);

impl RunId {
    /// The run id of a run name (`--run-id` of a sharded run): letters, digits, `-` and `_`,
    /// 1 to 63 characters. The same name gives the same id on every machine (FNV-1a, 63
    /// bits), so shards need no lookup to agree; a name of digits only is that number.
    ///
    /// # Errors
    /// [`RunNameError`] for an empty, too long or otherwise invalid name.
    ///
    /// # Examples
    ///
    /// ```
    /// use spam_store::RunId;
    ///
    /// let id = RunId::from_name("load-test_7").unwrap();
    /// assert_eq!(id, RunId::from_name("load-test_7").unwrap());
    /// assert_eq!(RunId::from_name("42").unwrap().get(), 42);
    /// assert!(RunId::from_name("no spaces").is_err());
    /// ```
    pub fn from_name(name: &str) -> Result<Self, RunNameError> {
        let valid = !name.is_empty()
            && name.len() <= 63
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(RunNameError(name.to_owned()));
        }
        if let Some(id) = name.parse::<u64>().ok().and_then(Self::new) {
            return Ok(id);
        }
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for b in name.bytes() {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        Ok(Self::new(hash & Self::MAX).expect("below MAX"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_stable() {
        assert_eq!(
            RunId::from_name("a").unwrap(),
            RunId::from_name("a").unwrap()
        );
        assert_ne!(
            RunId::from_name("a").unwrap(),
            RunId::from_name("b").unwrap()
        );
        for bad in ["", "a b", "ä", &"x".repeat(64), "a/b"] {
            assert!(RunId::from_name(bad).is_err(), "{bad:?}");
        }
        assert!(RunId::from_name(&"x".repeat(63)).is_ok());
    }

    #[test]
    fn lost_after_ten_silent_seconds_unless_ended() {
        let mut r = ShardRecord {
            run: RunId::new(1).unwrap(),
            shard: 0,
            state: ShardState::Running,
            host: String::new(),
            joined_at_us: 0,
            heartbeat_at_us: 1_000_000,
            ended_at_us: None,
            figures: serde_json::Value::Null,
        };
        assert!(!r.is_lost(11_000_000));
        assert!(r.is_lost(11_000_001));
        r.state = ShardState::Done;
        assert!(!r.is_lost(u64::MAX));
    }
}
