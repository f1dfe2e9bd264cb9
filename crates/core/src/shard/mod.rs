//! One run over several processes or machines: [`Shard`]s coordinated through the store.
//!
//! Every shard runs the same settings with its own index. The first to [join](Shard::join)
//! registers the run (its settings and their hash); later ones must bring the same hash.
//! Shards prepare one after another ([`Shard::wait_turn`]: no two fund from one funder at
//! once), meet at a start barrier, and start together at a time set by the database's clock.
//! The open loop gives shard `i` of `n` the ticks `k ≡ i (mod n)` of the profile, so the
//! shards together offer exactly the profile; the closed loop splits its workers. Each shard
//! writes a heartbeat every second with its figures and that second's latency histograms;
//! [`Report::from_store`](crate::Report::from_store) merges them losslessly.

mod barrier;
mod beat;

use std::{fmt, ops::Range, sync::Arc, time::Duration};

use alloy::primitives::keccak256;
use spam_store::{Joined, RunId, ShardBeat, ShardPlan, ShardState, ShardView, Store};

pub(crate) use self::beat::{Beats, Hists, Probe, decode_histograms};

/// How long a shard waits at the barrier (and for its turn to prepare) by default.
pub const DEFAULT_BARRIER_TIMEOUT: Duration = Duration::from_secs(120);

/// Largest shard count.
pub const MAX_SHARDS: u32 = 1_024;

/// Which shard of which run this process is: the run's name, this shard's index and the
/// shard count. The same on every shard except the index.
///
/// # Examples
///
/// ```
/// use spam_core::ShardSpec;
///
/// let spec = ShardSpec::parse("nightly-7", "1/3").unwrap();
/// assert_eq!((spec.index(), spec.count()), (1, 3));
/// // Disjoint, contiguous, together everything: shard 1 of 3 owns senders 3..6 of 10.
/// assert_eq!(spec.slice(10), 3..6);
/// assert_eq!(spec.workers(10), 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardSpec {
    name: String,
    run: RunId,
    index: u32,
    count: u32,
    barrier_timeout: Duration,
    host: String,
}

impl ShardSpec {
    /// Shard `index` of `count` of run `name` (letters, digits, `-`, `_`).
    ///
    /// # Errors
    /// [`ShardError::Spec`] for an invalid name, a count of 0 or above [`MAX_SHARDS`], or an
    /// index not below the count.
    pub fn new(name: &str, index: u32, count: u32) -> Result<Self, ShardError> {
        let run = RunId::from_name(name).map_err(|e| ShardError::Spec(e.to_string()))?;
        if count == 0 || count > MAX_SHARDS {
            return Err(ShardError::Spec(format!(
                "a run has 1 to {MAX_SHARDS} shards, not {count}"
            )));
        }
        if index >= count {
            return Err(ShardError::Spec(format!(
                "shard index {index} is not below the shard count {count} (indices start at 0)"
            )));
        }
        Ok(Self {
            name: name.to_owned(),
            run,
            index,
            count,
            barrier_timeout: DEFAULT_BARRIER_TIMEOUT,
            host: std::env::var("HOSTNAME").unwrap_or_default(),
        })
    }

    /// Shard `"I/N"` of run `name`.
    ///
    /// # Errors
    /// As [`ShardSpec::new`], and for a shard not written `I/N`.
    pub fn parse(name: &str, shard: &str) -> Result<Self, ShardError> {
        let parsed = shard
            .split_once('/')
            .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
        let Some((index, count)) = parsed else {
            return Err(ShardError::Spec(format!(
                "shard `{shard}` is not I/N (e.g. 0/3: the first of three)"
            )));
        };
        Self::new(name, index, count)
    }

    /// Waits at most `timeout` at the start barrier for the other shards (and as long for
    /// the turn to prepare); then starts with the shards that are ready. Default
    /// [`DEFAULT_BARRIER_TIMEOUT`].
    #[must_use]
    pub const fn with_barrier_timeout(mut self, timeout: Duration) -> Self {
        self.barrier_timeout = timeout;
        self
    }

    /// Records `host` as where this shard runs (default: `$HOSTNAME`, a pod's name).
    #[must_use]
    pub fn with_host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// The run's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The run's id ([`RunId::from_name`] of the name).
    pub const fn run(&self) -> RunId {
        self.run
    }

    /// This shard's index, `0..count`.
    pub const fn index(&self) -> u32 {
        self.index
    }

    /// The shard count.
    pub const fn count(&self) -> u32 {
        self.count
    }

    /// This shard's part of `0..len` (e.g. the senders): contiguous, disjoint from every other
    /// shard's, all shards' together `0..len`.
    pub const fn slice(&self, len: usize) -> Range<usize> {
        let (i, n) = (self.index as usize, self.count as usize);
        (len * i / n)..(len * (i + 1) / n)
    }

    /// This shard's part of `total` workers: even, the remainder to the first shards.
    pub const fn workers(&self, total: u32) -> u32 {
        total / self.count + (self.index < total % self.count) as u32
    }
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} shard {}/{}", self.name, self.index, self.count)
    }
}

/// Why a shard could not join or start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShardError {
    /// The name, index or count cannot be.
    #[error("invalid shard: {0}")]
    Spec(String),
    /// The run was registered with other settings: `key` is the first that differs.
    #[error(
        "run {run} was started with other settings: `{key}` differs ({ours} here, {theirs} in \
         the run); every shard must run the same command line"
    )]
    Mismatch {
        /// The run's name.
        run: String,
        /// The first differing setting (a dotted path; `shards` for the shard count).
        key: String,
        /// Its value here.
        ours: String,
        /// Its value in the registered run.
        theirs: String,
    },
    /// This shard of the run already finished: a new run needs a new name.
    #[error("{0} already finished: give the new run another --run-id")]
    Finished(String),
    /// The store failed, or cannot coordinate shards.
    #[error("shard coordination failed")]
    Store(#[from] spam_store::Error),
    /// The run's registration vanished from the store.
    #[error("run {0} is no longer in the store")]
    Gone(String),
    /// Stopped while waiting.
    #[error("stopped while waiting for the other shards")]
    Cancelled,
}

/// A joined shard: registered in the store under its run, holding its settings. Cheap to
/// clone; give it to an engine with `.shard(..)` (the engine then persists into the run,
/// waits at the barrier, takes its part of the load and writes heartbeats).
///
/// # Examples
///
/// ```no_run
/// use std::sync::Arc;
///
/// use spam_core::{Shard, ShardSpec};
/// use spam_store::SqlStore;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let store = Arc::new(SqlStore::open("postgres://postgres@127.0.0.1/test").await?);
/// let spec = ShardSpec::parse("nightly-7", "0/3")?;
/// let settings = serde_json::json!({ "rate": 300, "duration": "10m" });
/// let shard = Shard::join(store, spec, settings).await?;
/// shard.wait_turn().await?; // fund and deploy now: the shards before this one are done
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Shard {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    spec: ShardSpec,
}

impl fmt::Debug for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Shard").field(&self.inner.spec).finish()
    }
}

impl Shard {
    /// Registers this shard of the run: the first shard writes the run with `settings` (any
    /// JSON, normally the resolved command line without the shard's own index), later ones
    /// must bring equal settings and shard count.
    ///
    /// # Errors
    /// [`ShardError::Mismatch`] naming the first differing setting (nothing is written);
    /// [`ShardError::Finished`]; [`ShardError::Store`].
    ///
    /// # Cancel safety
    /// The registration is one transaction; a join dropped after it commits leaves a
    /// waiting shard that shows as lost 10 s later, and joining again takes its place.
    pub async fn join(
        store: Arc<dyn Store>,
        spec: ShardSpec,
        settings: serde_json::Value,
    ) -> Result<Self, ShardError> {
        // A shard that finished is not run again under the same name: its part is counted.
        if let Some(view) = store.shards(spec.run).await?
            && view
                .shards
                .iter()
                .any(|s| s.shard == spec.index && s.state == ShardState::Done)
        {
            return Err(ShardError::Finished(spec.to_string()));
        }
        let hash = keccak256(settings.to_string().as_bytes()).to_string();
        let plan = ShardPlan::new(&spec.name, spec.count, settings, hash)
            .map_err(|e| ShardError::Spec(e.to_string()))?;
        if let Joined::Mismatch(stored) = store.join_shard(&plan, spec.index, &spec.host).await? {
            {
                let (key, ours, theirs) = if stored.shards == plan.shards {
                    first_difference("", &plan.config, &stored.config).unwrap_or_else(|| {
                        ("settings".into(), "another hash".into(), "this one".into())
                    })
                } else {
                    (
                        "shards".into(),
                        plan.shards.to_string(),
                        stored.shards.to_string(),
                    )
                };
                return Err(ShardError::Mismatch {
                    run: spec.name,
                    key,
                    ours,
                    theirs,
                });
            }
        }
        tracing::info!(target: "spam::shard", run = %spec.name, shard = spec.index, shards = spec.count, "joined");
        Ok(Self {
            inner: Arc::new(Inner { store, spec }),
        })
    }

    /// What this shard is.
    pub fn spec(&self) -> &ShardSpec {
        &self.inner.spec
    }

    /// The run's id.
    pub fn run(&self) -> RunId {
        self.inner.spec.run
    }

    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// Waits until every shard with a lower index has prepared (it reached the barrier, or
    /// ended, or is lost), so shards fund and deploy one at a time; gives up waiting after
    /// the barrier timeout. Keeps this shard's heartbeat going meanwhile.
    ///
    /// # Errors
    /// [`ShardError::Store`]; [`ShardError::Gone`].
    ///
    /// # Cancel safety
    /// Cancel safe: it only writes heartbeats.
    pub async fn wait_turn(&self) -> Result<(), ShardError> {
        let spec = &self.inner.spec;
        let deadline = tokio::time::Instant::now() + spec.barrier_timeout;
        loop {
            let view = self.beat(ShardBeat::new(ShardState::Waiting)).await?;
            let before_done = (0..spec.index).all(|i| {
                view.shards.iter().any(|s| {
                    s.shard == i && (s.state >= ShardState::Ready || s.is_lost(view.now_us))
                })
            });
            // A run already started: no one prepares any more.
            if before_done || view.start_at_us.is_some() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(target: "spam::shard", shard = spec.index, "the shards before this one did not get ready in time; preparing anyway");
                return Ok(());
            }
            tokio::time::sleep(barrier::POLL).await;
        }
    }

    /// Marks this shard failed (its heartbeat ends on purpose), e.g. when its preparation
    /// failed before the engine started.
    ///
    /// # Errors
    /// [`ShardError::Store`]; [`ShardError::Gone`].
    ///
    /// # Cancel safety
    /// One write: dropped, the shard stays as it was (and shows as lost once silent).
    pub async fn fail(&self) -> Result<(), ShardError> {
        self.beat(ShardBeat::new(ShardState::Failed))
            .await
            .map(drop)
    }

    pub(crate) async fn beat(&self, beat: ShardBeat) -> Result<ShardView, ShardError> {
        self.inner
            .store
            .shard_heartbeat(self.run(), self.inner.spec.index, &beat)
            .await?
            .ok_or_else(|| ShardError::Gone(self.inner.spec.name.clone()))
    }
}

/// The first path where `ours` and `theirs` differ, with both values.
fn first_difference(
    path: &str,
    ours: &serde_json::Value,
    theirs: &serde_json::Value,
) -> Option<(String, String, String)> {
    use serde_json::Value;
    if ours == theirs {
        return None;
    }
    if let (Value::Object(a), Value::Object(b)) = (ours, theirs) {
        let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
        keys.sort();
        keys.dedup();
        for key in keys {
            let sub = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            let (x, y) = (
                a.get(key).unwrap_or(&Value::Null),
                b.get(key).unwrap_or(&Value::Null),
            );
            if let Some(found) = first_difference(&sub, x, y) {
                return Some(found);
            }
        }
        return None;
    }
    Some((
        if path.is_empty() {
            "settings".into()
        } else {
            path.into()
        },
        ours.to_string(),
        theirs.to_string(),
    ))
}

#[cfg(test)]
mod tests;
