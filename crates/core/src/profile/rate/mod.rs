//! [`Rate`] profiles and the [`Schedule`] of intended send times they integrate to.

use std::{fmt, time::Duration};

use serde::{Deserialize, Serialize};

/// A target send rate over time, in transactions per second.
///
/// The pacer integrates the profile: the k-th transaction (from 0) is due at the instant the
/// integral of the rate reaches k. The first is due at the start, the pace never drifts, and a
/// late tick does not shift the ones after it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// use spam_core::Rate;
///
/// let secs = Duration::from_secs;
/// // 200 tx/s for 10 s offers 2 000 transactions.
/// assert_eq!(Rate::constant(200.0).count_until(secs(10)), 2_000);
/// // A ramp from 50 to 500 tx/s over 10 s averages 275 tx/s.
/// assert_eq!(Rate::ramp(50.0, 500.0, secs(10)).count_until(secs(10)), 2_750);
/// // 100 tx/s for 2 s, then 300 tx/s.
/// let steps = Rate::steps([(secs(2), 100.0), (secs(1), 300.0)]);
/// assert_eq!(steps.count_until(secs(3)), 500);
/// assert_eq!(steps.rate_at(secs(10)), 300.0);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Rate {
    /// The same rate throughout.
    Constant {
        /// Transactions per second.
        tps: f64,
    },
    /// From `from` to `to` linearly over `over`, then `to`.
    Ramp {
        /// Rate at the start.
        from: f64,
        /// Rate at the end of the ramp and after it.
        to: f64,
        /// Length of the ramp.
        #[serde(with = "millis")]
        over: Duration,
    },
    /// Each step's rate for its duration, in order; the last rate holds after the last step.
    Steps {
        /// `(duration, tps)` pairs.
        steps: Vec<Step>,
    },
    /// `baseline`, and every `every` a burst of `spike` for `length` (the first burst starts
    /// after one `every`).
    Spike {
        /// Rate between bursts.
        baseline: f64,
        /// Rate during a burst.
        spike: f64,
        /// Length of a burst.
        #[serde(with = "millis")]
        length: Duration,
        /// Time from one burst start to the next.
        #[serde(with = "millis")]
        every: Duration,
    },
}

/// One step of [`Rate::Steps`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// How long the step lasts.
    #[serde(with = "millis")]
    pub duration: Duration,
    /// Its rate, transactions per second.
    pub tps: f64,
}

/// A [`Rate`] that cannot be paced: a negative or non-finite rate, or a zero-length period.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid rate profile: {0}")]
pub struct RateError(&'static str);

impl Rate {
    /// `tps` transactions per second throughout.
    pub const fn constant(tps: f64) -> Self {
        Self::Constant { tps }
    }

    /// From `from` to `to` tx/s linearly over `over`, then `to`.
    pub const fn ramp(from: f64, to: f64, over: Duration) -> Self {
        Self::Ramp { from, to, over }
    }

    /// `(duration, tps)` steps in order; the last rate holds afterwards.
    pub fn steps(steps: impl IntoIterator<Item = (Duration, f64)>) -> Self {
        Self::Steps {
            steps: steps
                .into_iter()
                .map(|(duration, tps)| Step { duration, tps })
                .collect(),
        }
    }

    /// `baseline` tx/s with a burst of `spike` tx/s lasting `length` every `every`.
    pub const fn spike(baseline: f64, spike: f64, length: Duration, every: Duration) -> Self {
        Self::Spike {
            baseline,
            spike,
            length,
            every,
        }
    }

    /// The highest rate a profile may reach: 1 000 000 tx/s, far above what one process can
    /// sign or one node can take; a higher figure is a typo.
    pub const MAX_TPS: f64 = 1_000_000.0;

    /// Checks that every rate is finite, not negative and at most [`Rate::MAX_TPS`], and
    /// periods are not empty.
    ///
    /// # Errors
    /// [`RateError`] naming the problem.
    pub fn validate(&self) -> Result<(), RateError> {
        if self.peak() > Self::MAX_TPS {
            return Err(RateError("rates must be at most 1000000 tx/s"));
        }
        let ok = |tps: f64| tps.is_finite() && tps >= 0.0;
        let valid = match self {
            Self::Constant { tps } => ok(*tps),
            Self::Ramp { from, to, .. } => ok(*from) && ok(*to),
            Self::Steps { steps } => {
                if steps.is_empty() {
                    return Err(RateError("steps: at least one step is needed"));
                }
                steps.iter().all(|s| ok(s.tps))
            }
            Self::Spike {
                baseline,
                spike,
                length,
                every,
            } => {
                if every.is_zero() || length > every {
                    return Err(RateError(
                        "spike: the interval must be longer than zero and the burst",
                    ));
                }
                ok(*baseline) && ok(*spike)
            }
        };
        if valid {
            Ok(())
        } else {
            Err(RateError("rates must be finite and not negative"))
        }
    }

    /// The highest rate the profile reaches, tx/s.
    pub fn peak(&self) -> f64 {
        match self {
            Self::Constant { tps } => *tps,
            Self::Ramp { from, to, .. } => from.max(*to),
            Self::Steps { steps } => steps.iter().map(|s| s.tps).fold(0.0, f64::max),
            Self::Spike {
                baseline, spike, ..
            } => baseline.max(*spike),
        }
    }

    /// The rate at `t` after the start, tx/s.
    pub fn rate_at(&self, t: Duration) -> f64 {
        let mut segments = self.segments();
        loop {
            let s = segments.next_segment();
            if s.len == Duration::MAX || t < s.start.saturating_add(s.len) {
                let into = (t.saturating_sub(s.start)).as_secs_f64();
                return s.rate_at(into);
            }
        }
    }

    /// How many transactions are due in `[0, end)`; as fast for a million as for ten.
    pub fn count_until(&self, end: Duration) -> u64 {
        self.schedule().skip_until(end)
    }

    /// The integral of the rate over `[0, t)`: how many transactions are due by `t`, within
    /// rounding.
    fn integral(&self, t: Duration) -> f64 {
        let mut segments = self.segments();
        loop {
            let s = segments.next_segment();
            if s.len == Duration::MAX || t < s.start.saturating_add(s.len) {
                return s.count_before + s.integral(t.saturating_sub(s.start).as_secs_f64());
            }
        }
    }

    /// The intended send times, from the start.
    pub fn schedule(&self) -> Schedule {
        Schedule {
            segments: self.segments(),
            current: None,
            next_index: 0,
            stride: 1,
        }
    }

    fn segments(&self) -> Segments {
        Segments {
            rate: self.clone(),
            index: 0,
            start: Duration::ZERO,
            count_before: 0.0,
        }
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Constant { tps } => write!(f, "constant {tps} tx/s"),
            Self::Ramp { from, to, over } => write!(f, "ramp {from} -> {to} tx/s over {over:?}"),
            Self::Steps { steps } => {
                f.write_str("steps")?;
                for s in steps {
                    write!(f, " {}tx/s*{:?}", s.tps, s.duration)?;
                }
                Ok(())
            }
            Self::Spike {
                baseline,
                spike,
                length,
                every,
            } => write!(
                f,
                "{baseline} tx/s with spikes of {spike} tx/s for {length:?} every {every:?}"
            ),
        }
    }
}

/// The intended send times of a [`Rate`], as offsets from the run start, in order.
///
/// Every due time is computed from the index alone (the integral is inverted per piece), so
/// rounding never accumulates over a long run.
#[derive(Debug, Clone)]
pub struct Schedule {
    segments: Segments,
    current: Option<Segment>,
    next_index: u64,
    /// Indices taken: `next_index + k * stride` (1 unless [sharded](Schedule::shard)).
    stride: u64,
}

impl Schedule {
    /// The next transaction's due time, `None` once the rate stays at zero forever.
    pub fn next_due(&mut self) -> Option<Duration> {
        let due = self.peek()?;
        self.next_index += self.stride;
        Some(due)
    }

    /// The next transaction's index and due time (see [`next_due`](Self::next_due)).
    pub(crate) fn next_tick(&mut self) -> Option<(u64, Duration)> {
        let index = self.next_index;
        self.next_due().map(|due| (index, due))
    }

    /// The part of this schedule shard `index` of `count` owns: transactions `k` with
    /// `k ≡ index (mod count)`, with their indices and due times unchanged. The shards'
    /// schedules together are exactly the whole one, whatever the profile.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use spam_core::Rate;
    ///
    /// let rate = Rate::constant(10.0);
    /// let mut second = rate.schedule().shard(1, 3);
    /// assert_eq!(second.next_index(), 1);
    /// assert_eq!(second.next_due(), Some(Duration::from_millis(100)));
    /// assert_eq!(second.next_index(), 4);
    /// assert_eq!(second.skip_until(Duration::from_secs(1)), 2); // ticks 4 and 7
    /// ```
    ///
    /// # Panics
    /// If `index >= count`.
    #[must_use]
    pub fn shard(mut self, index: u32, count: u32) -> Self {
        assert!(index < count, "shard {index} of {count}");
        self.stride = u64::from(count);
        self.next_index = u64::from(index);
        self
    }

    /// Skips every transaction due before `t` and returns how many it skipped. The work does
    /// not grow with the count (the integral gives the place, a step or two makes it exact), so
    /// a pacer far behind a high rate catches up at once.
    pub fn skip_until(&mut self, t: Duration) -> u64 {
        let from = self.next_index;
        let estimate = self.segments.rate.integral(t);
        if estimate.is_finite() {
            // One short of the estimate: rounding never skips a transaction due at or after `t`.
            let jump = (estimate.floor() as u64).saturating_sub(1);
            if jump > self.next_index {
                // Down to this schedule's own indices.
                self.next_index += (jump - self.next_index) / self.stride * self.stride;
            }
        }
        while self.peek().is_some_and(|due| due < t) {
            self.next_index += self.stride;
        }
        (self.next_index - from) / self.stride
    }

    /// The due time of the transaction at `next_index`, without taking it.
    fn peek(&mut self) -> Option<Duration> {
        let k = self.next_index as f64;
        loop {
            let segment = match self.current {
                Some(s) => s,
                None => {
                    let s = self.segments.next_segment();
                    self.current = Some(s);
                    s
                }
            };
            if let Some(offset) = segment.time_of(k - segment.count_before) {
                return Some(segment.start.saturating_add(offset));
            }
            if segment.len == Duration::MAX {
                return None; // the rate stays at zero
            }
            self.current = None;
        }
    }

    /// Index of the transaction [`next_due`](Self::next_due) returns next.
    pub fn next_index(&self) -> u64 {
        self.next_index
    }
}

/// A piece of the profile where the rate changes linearly from `r0` to `r1`.
#[derive(Debug, Clone, Copy)]
struct Segment {
    start: Duration,
    /// `Duration::MAX` for the open-ended last piece.
    len: Duration,
    r0: f64,
    r1: f64,
    /// Integral of the rate before this piece.
    count_before: f64,
}

impl Segment {
    fn rate_at(&self, into: f64) -> f64 {
        if self.len == Duration::MAX || self.r0 == self.r1 {
            return self.r0;
        }
        self.r0 + (self.r1 - self.r0) * (into / self.len.as_secs_f64())
    }

    /// Count due in the first `into` seconds of this piece.
    fn integral(&self, into: f64) -> f64 {
        if self.len == Duration::MAX || self.r0 == self.r1 {
            return self.r0 * into;
        }
        let into = into.min(self.len.as_secs_f64());
        self.r0 * into + (self.r1 - self.r0) / (2.0 * self.len.as_secs_f64()) * into * into
    }

    /// Count due within this whole piece.
    fn count_within(&self) -> f64 {
        if self.len == Duration::MAX {
            return f64::INFINITY;
        }
        (self.r0 + self.r1) / 2.0 * self.len.as_secs_f64()
    }

    /// Offset into this piece at which the integral reaches `c` (counted from the piece's
    /// start), or `None` if it does not within the piece.
    fn time_of(&self, c: f64) -> Option<Duration> {
        if c < 0.0 {
            return Some(Duration::ZERO);
        }
        if self.len != Duration::MAX && c >= self.count_within() {
            return None;
        }
        let tau = if self.len == Duration::MAX || (self.r1 - self.r0).abs() < 1e-12 {
            if self.r0 <= 0.0 {
                return None;
            }
            c / self.r0
        } else {
            // r0 τ + a τ² = c with a = (r1 - r0) / (2 len)
            let a = (self.r1 - self.r0) / (2.0 * self.len.as_secs_f64());
            let disc = (self.r0 * self.r0 + 4.0 * a * c).max(0.0);
            // The stable form of (-r0 + sqrt(disc)) / (2a), exact when a is tiny.
            2.0 * c / (self.r0 + disc.sqrt())
        };
        let tau = if tau.is_finite() { tau.max(0.0) } else { 0.0 };
        let offset = Duration::try_from_secs_f64(tau).unwrap_or(Duration::MAX);
        Some(if self.len == Duration::MAX {
            offset
        } else {
            offset.min(self.len)
        })
    }
}

/// Walks a profile's pieces in order.
#[derive(Debug, Clone)]
struct Segments {
    rate: Rate,
    index: u64,
    start: Duration,
    count_before: f64,
}

impl Segments {
    fn next_segment(&mut self) -> Segment {
        let (len, r0, r1) = self.piece(self.index);
        let segment = Segment {
            start: self.start,
            len,
            r0,
            r1,
            count_before: self.count_before,
        };
        if len != Duration::MAX {
            self.index += 1;
            self.start = self.start.saturating_add(len);
            self.count_before += segment.count_within();
        }
        segment
    }

    /// The `i`-th piece: `(length, rate at its start, rate at its end)`.
    fn piece(&self, i: u64) -> (Duration, f64, f64) {
        let clamp = |tps: f64| if tps.is_finite() { tps.max(0.0) } else { 0.0 };
        match &self.rate {
            Rate::Constant { tps } => (Duration::MAX, clamp(*tps), clamp(*tps)),
            Rate::Ramp { from, to, over } => {
                if i == 0 && !over.is_zero() {
                    (*over, clamp(*from), clamp(*to))
                } else {
                    (Duration::MAX, clamp(*to), clamp(*to))
                }
            }
            Rate::Steps { steps } => {
                let i = usize::try_from(i).unwrap_or(usize::MAX);
                match steps.get(i) {
                    Some(step) if i + 1 < steps.len() => {
                        (step.duration, clamp(step.tps), clamp(step.tps))
                    }
                    Some(step) => (Duration::MAX, clamp(step.tps), clamp(step.tps)),
                    None => (Duration::MAX, 0.0, 0.0),
                }
            }
            Rate::Spike {
                baseline,
                spike,
                length,
                every,
            } => {
                // Even pieces are the baseline gap, odd ones the burst.
                let gap = every.saturating_sub(*length);
                if every.is_zero() {
                    (Duration::MAX, clamp(*baseline), clamp(*baseline))
                } else if i.is_multiple_of(2) {
                    (gap, clamp(*baseline), clamp(*baseline))
                } else {
                    (*length, clamp(*spike), clamp(*spike))
                }
            }
        }
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis().try_into().unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests;
