//! A running shard's heartbeat: every second its figures so far and the latency samples of
//! that second (HDR histograms, V2 deflate), so a merged report loses nothing and a shard that
//! dies mid-run keeps what it measured up to its last beat.

use std::{sync::Arc, time::Duration};

use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};
use spam_store::{ShardBeat, ShardSecond, ShardState};
use tokio::{task::JoinHandle, time::Instant};
use tokio_util::sync::CancellationToken;

use super::Shard;
use crate::metrics::Latency;

/// How often a running shard beats.
const EVERY: Duration = Duration::from_secs(1);

/// A run's latency histograms so far (cumulative), or one second's.
#[derive(Debug, Clone, Default)]
pub(crate) struct Hists {
    /// Task start to finish (open loop: intended time to the node's answer).
    pub(crate) task: Latency,
    /// Sent to the node's answer.
    pub(crate) send: Latency,
    /// Sent (open loop: intended) to seen in a block.
    pub(crate) inclusion: Latency,
    /// Intended time to sent (open loop).
    pub(crate) lag: Latency,
}

impl Hists {
    /// A running engine's histograms: every task name's of `recorder`, and `lag`.
    pub(crate) fn of(recorder: &crate::metrics::Recorder, lag: Latency) -> Self {
        let all = recorder.all_tasks();
        Self {
            task: all.task,
            send: all.send,
            inclusion: all.inclusion,
            lag,
        }
    }

    fn parts(&self) -> [&Latency; 4] {
        [&self.task, &self.send, &self.inclusion, &self.lag]
    }

    fn parts_mut(&mut self) -> [&mut Latency; 4] {
        [
            &mut self.task,
            &mut self.send,
            &mut self.inclusion,
            &mut self.lag,
        ]
    }

    /// The samples since `earlier`.
    fn since(&self, earlier: &Self) -> Self {
        let [a, b, c, d] = self.parts();
        let [w, x, y, z] = earlier.parts();
        Self {
            task: a.since(w),
            send: b.since(x),
            inclusion: c.since(y),
            lag: d.since(z),
        }
    }

    fn is_empty(&self) -> bool {
        self.parts().iter().all(|l| l.count() == 0)
    }

    /// Adds `other`'s samples.
    pub(crate) fn merge(&mut self, other: &Self) {
        for (mine, theirs) in self.parts_mut().into_iter().zip(other.parts()) {
            mine.merge(theirs);
        }
    }

    /// `[kind][length, u32 LE][HDR V2 deflate]` per non-empty histogram.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut serializer = V2DeflateSerializer::new();
        for (kind, latency) in (0u8..).zip(self.parts()) {
            let Some(h) = latency.histogram() else {
                continue;
            };
            let mut bytes = Vec::new();
            if serializer.serialize(h, &mut bytes).is_err() {
                continue;
            }
            out.push(kind);
            out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            out.extend_from_slice(&bytes);
        }
        out
    }
}

/// The histograms [`Hists::encode`] wrote; `None` when the bytes are not such.
pub(crate) fn decode_histograms(mut bytes: &[u8]) -> Option<Hists> {
    let mut hists = Hists::default();
    let mut deserializer = Deserializer::new();
    while let [kind, rest @ ..] = bytes {
        let (len, rest) = rest.split_first_chunk::<4>()?;
        let len = u32::from_le_bytes(*len) as usize;
        let (mut body, rest) = (rest.get(..len)?, rest.get(len..)?);
        let h = deserializer.deserialize::<u64, _>(&mut body).ok()?;
        let slot = hists.parts_mut().into_iter().nth(usize::from(*kind))?;
        slot.merge(&Latency::from_histogram(h));
        bytes = rest;
    }
    Some(hists)
}

/// What a running engine shows its heartbeat: its figures so far (JSON) and its cumulative
/// histograms.
pub(crate) type Probe = Arc<dyn Fn() -> (serde_json::Value, Hists) + Send + Sync>;

/// The heartbeat of a running shard, until [`Beats::finish`].
pub(crate) struct Beats {
    shard: Shard,
    start: Instant,
    probe: Probe,
    /// Facts of this shard merged into every figures object (late, planned ticks, workers).
    facts: serde_json::Value,
    stop: CancellationToken,
    task: JoinHandle<Hists>,
}

impl Beats {
    /// Beats every second from `start` on.
    pub(crate) fn spawn(
        shard: Shard,
        start: Instant,
        probe: Probe,
        facts: serde_json::Value,
    ) -> Self {
        let stop = CancellationToken::new();
        let task = tokio::spawn(beat_loop(
            shard.clone(),
            start,
            Arc::clone(&probe),
            facts.clone(),
            stop.clone(),
        ));
        Self {
            shard,
            start,
            probe,
            facts,
            stop,
            task,
        }
    }

    /// Stops beating, stores the samples since the last beat and the shard's end: `state`
    /// with the final `report` (the shard's own) in its figures.
    pub(crate) async fn finish(self, state: ShardState, report: Option<serde_json::Value>) {
        self.stop.cancel();
        let written = self.task.await.unwrap_or_default();
        let (progress, now) = (self.probe)();
        let second = self.start.elapsed().as_secs();
        if let Err(err) = write_second(&self.shard, second, &now.since(&written)).await {
            tracing::warn!(target: "spam::shard", %err, "storing the shard's last histograms failed");
        }
        let mut figures = figures(&self.facts, progress);
        if let Some(report) = report {
            figures["report"] = report;
        }
        if let Err(err) = self
            .shard
            .beat(ShardBeat::new(state).with_figures(figures))
            .await
        {
            tracing::warn!(target: "spam::shard", %err, "storing the shard's end failed");
        }
    }
}

fn figures(facts: &serde_json::Value, progress: serde_json::Value) -> serde_json::Value {
    let mut figures = facts.clone();
    figures["progress"] = progress;
    figures
}

async fn write_second(shard: &Shard, second: u64, hists: &Hists) -> Result<(), super::ShardError> {
    if hists.is_empty() {
        return Ok(());
    }
    let row = ShardSecond::new(shard.spec().index(), second, hists.encode());
    Ok(shard.store().write_shard_second(shard.run(), &row).await?)
}

/// Returns the cumulative histograms stored so far.
async fn beat_loop(
    shard: Shard,
    start: Instant,
    probe: Probe,
    facts: serde_json::Value,
    stop: CancellationToken,
) -> Hists {
    let mut written = Hists::default();
    let mut tick = tokio::time::interval_at(start + EVERY, EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.cancelled() => return written,
        }
        let (progress, now) = probe();
        // The samples of the second that just ended.
        let second = start.elapsed().as_secs().saturating_sub(1);
        match write_second(&shard, second, &now.since(&written)).await {
            // Kept for the next beat when the write failed: late, never lost.
            Ok(()) => written = now,
            Err(err) => {
                tracing::warn!(target: "spam::shard", %err, second, "storing a shard's second failed")
            }
        }
        let beat = ShardBeat::new(ShardState::Running).with_figures(figures(&facts, progress));
        if let Err(err) = shard.beat(beat).await {
            tracing::warn!(target: "spam::shard", %err, "shard heartbeat failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_round_trip_and_deltas_add_up() {
        let mut a = Hists::default();
        for ms in [1, 5, 20] {
            a.task.record(Duration::from_millis(ms));
            a.lag.record(Duration::from_micros(ms * 7));
        }
        let mut b = a.clone();
        b.inclusion.record(Duration::from_secs(2));
        b.task.record(Duration::from_millis(900));
        let delta = b.since(&a);
        assert_eq!(delta.task.count(), 1);
        assert_eq!(delta.inclusion.count(), 1);
        assert_eq!(delta.lag.count(), 0);

        let back = decode_histograms(&delta.encode()).unwrap();
        assert_eq!(back.task.histogram(), delta.task.histogram());
        assert_eq!(back.inclusion.histogram(), delta.inclusion.histogram());
        assert!(back.lag.histogram().is_none());

        let mut sum = decode_histograms(&a.encode()).unwrap();
        sum.merge(&back);
        for (x, y) in sum.parts().into_iter().zip(b.parts()) {
            assert_eq!(x.histogram(), y.histogram());
        }
        assert!(decode_histograms(&[0, 9, 0, 0, 0, 1]).is_none());
        assert!(decode_histograms(&[]).unwrap().is_empty());
    }
}
