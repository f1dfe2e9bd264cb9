//! Circuit breaker: stop calling a node that is down, probe, resume.
//!
//! [`CircuitBreaker`] is plain synchronous logic with an injected [`BreakerClock`]; [`BreakerLayer`]
//! wraps an alloy transport with it.
//!
//! # One outcome per call
//!
//! Resolve one [`Permit`] per *logical* call, with its final outcome: a call that failed with
//! a transient error (503, 429, a timeout), was retried and finally succeeded is one success.
//! Take the permit before the retries and resolve it after them, e.g. around
//! [`send_raw_transaction`](crate::send_raw_transaction) and its retries; with tower layers, add
//! [`BreakerLayer`] *before* a retry layer such as alloy's `RetryBackoffLayer`, so the breaker
//! wraps the retries. Placed inside the retries, every failed attempt counts as a failure.

mod clock;
mod config;
mod layer;
mod window;

use std::{
    fmt,
    sync::Arc,
    time::{Duration, Instant},
};

use parking_lot::Mutex;

use self::window::Window;
pub use self::{
    clock::{BreakerClock, ManualBreakerClock, SystemBreakerClock},
    config::{BreakerConfig, BreakerConfigBuilder, ConfigError, MAX_DURATION},
    layer::{BreakerLayer, BreakerService, is_breaker_open},
    window::WindowStats,
};

/// The breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Calls pass; outcomes are counted.
    Closed,
    /// Calls are refused until the open period ends.
    Open,
    /// A few probe calls pass; enough successes close the breaker, a failure reopens it.
    HalfOpen,
}

/// A state change, passed to the [`CircuitBreaker::on_transition`] hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transition {
    /// The state before.
    pub from: BreakerState,
    /// The state after.
    pub to: BreakerState,
    /// The window's counts when it happened.
    pub stats: WindowStats,
    /// When it happened, by the breaker's clock.
    pub at: Instant,
}

/// The breaker refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("circuit breaker is open")]
pub struct BreakerOpen {
    /// Time until probes are let through, when known.
    pub retry_in: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Closed,
    Open { until: Instant },
    HalfOpen { in_flight: u32, successes: u32 },
}

#[derive(Debug)]
struct Machine {
    phase: Phase,
    /// Bumped on every transition; permits from an earlier phase cannot steer a later one.
    generation: u64,
    window: Window,
}

type Hook = Box<dyn Fn(&Transition) + Send + Sync>;

struct Shared {
    config: BreakerConfig,
    clock: Box<dyn BreakerClock>,
    machine: Mutex<Machine>,
    hook: Option<Hook>,
}

/// A circuit breaker over a time-based rolling window.
///
/// Opens when, with at least `min_calls` events in the window (default 100), the failure rate
/// exceeds its threshold (default 50%) or the revocation rate does (default 20%). Stays open
/// for `open_for` (default 5 s), then lets `probes` calls through (half-open, default 3): that
/// many successes close it, one failure reopens it. The defaults open on a node that is down,
/// not on one that fails a few percent of the requests (see [`BreakerConfig::default`]);
/// [`BreakerConfig::disabled`] never opens. Cheap to clone; clones share state.
///
/// Closing forgets: the window is cleared on every transition to closed, and permits taken
/// before a transition (an older *generation*) are ignored when they resolve, so failures
/// from before an outage, or answers arriving late from it, cannot re-open the breaker.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use spam_core::breaker::{BreakerConfig, BreakerState, CircuitBreaker, ManualBreakerClock};
///
/// let clock = ManualBreakerClock::default();
/// let config = BreakerConfig::builder().min_calls(4).open_for(Duration::from_secs(1)).build()?;
/// let breaker = CircuitBreaker::with_clock(config, clock.clone());
/// for _ in 0..4 {
///     breaker.try_acquire().unwrap().failure();
/// }
/// assert_eq!(breaker.state(), BreakerState::Open);
/// assert!(breaker.try_acquire().is_err());
/// clock.advance(Duration::from_secs(1));
/// for _ in 0..3 {
///     breaker.try_acquire().unwrap().success(); // probes
/// }
/// assert_eq!(breaker.state(), BreakerState::Closed);
/// # Ok::<(), spam_core::breaker::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct CircuitBreaker {
    shared: Arc<Shared>,
}

impl CircuitBreaker {
    /// A breaker on the system clock.
    pub fn new(config: BreakerConfig) -> Self {
        Self::with_clock(config, SystemBreakerClock)
    }

    /// A breaker on `clock`.
    pub fn with_clock(config: BreakerConfig, clock: impl BreakerClock) -> Self {
        let window = Window::new(clock.now(), config.window, config.buckets.get());
        let machine = Machine {
            phase: Phase::Closed,
            generation: 0,
            window,
        };
        Self {
            shared: Arc::new(Shared {
                config,
                clock: Box::new(clock),
                machine: Mutex::new(machine),
                hook: None,
            }),
        }
    }

    /// Calls `hook` on every state change (after the change, outside the breaker's lock).
    ///
    /// # Panics
    /// If the breaker was already cloned: set hooks while building.
    pub fn on_transition(mut self, hook: impl Fn(&Transition) + Send + Sync + 'static) -> Self {
        Arc::get_mut(&mut self.shared)
            .expect("set hooks before cloning the breaker")
            .hook = Some(Box::new(hook));
        self
    }

    /// Asks to make a call. Resolve the returned [`Permit`] with its outcome.
    ///
    /// # Errors
    /// [`BreakerOpen`] while open, or while half-open with all probes out.
    pub fn try_acquire(&self) -> Result<Permit, BreakerOpen> {
        let now = self.shared.clock.now();
        let mut m = self.shared.machine.lock();
        let mut transition = None;
        if let Phase::Open { until } = m.phase {
            if now < until {
                return Err(BreakerOpen {
                    retry_in: Some(until - now),
                });
            }
            transition = self.change(
                &mut m,
                Phase::HalfOpen {
                    in_flight: 0,
                    successes: 0,
                },
                now,
            );
        }
        let probe = match &mut m.phase {
            Phase::Closed => false,
            Phase::HalfOpen {
                in_flight,
                successes,
            } => {
                if *in_flight + *successes >= self.shared.config.probes.get() {
                    drop(m);
                    self.notify(transition);
                    return Err(BreakerOpen { retry_in: None });
                }
                *in_flight += 1;
                true
            }
            Phase::Open { .. } => unreachable!("left above"),
        };
        let permit = Permit {
            breaker: self.clone(),
            generation: m.generation,
            probe,
            resolved: false,
        };
        drop(m);
        self.notify(transition);
        Ok(permit)
    }

    /// Records whether a preconfirmed transaction was revoked; may open the breaker.
    pub fn record_revocation(&self, revoked: bool) {
        self.update(|this, m, now| {
            if m.phase != Phase::Closed {
                return None;
            }
            m.window.record(now, |s| {
                s.observed += 1;
                s.revoked += u64::from(revoked);
            });
            this.open_if_needed(m, now)
        });
    }

    /// The current state. An open breaker whose period ended reports `Open` until the next
    /// [`try_acquire`](Self::try_acquire) lets a probe through.
    pub fn state(&self) -> BreakerState {
        match self.shared.machine.lock().phase {
            Phase::Closed => BreakerState::Closed,
            Phase::Open { .. } => BreakerState::Open,
            Phase::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Counts in the current window.
    pub fn stats(&self) -> WindowStats {
        let now = self.shared.clock.now();
        self.shared.machine.lock().window.stats(now)
    }

    fn resolve(&self, generation: u64, probe: bool, outcome: Option<bool>) {
        self.update(|this, m, now| {
            if m.generation != generation {
                return None; // a permit from an earlier phase
            }
            match (m.phase, outcome) {
                (Phase::Closed, Some(ok)) => {
                    m.window.record(now, |s| {
                        s.calls += 1;
                        s.failures += u64::from(!ok);
                    });
                    if ok {
                        None
                    } else {
                        this.open_if_needed(m, now)
                    }
                }
                (
                    Phase::HalfOpen {
                        in_flight,
                        successes,
                    },
                    outcome,
                ) if probe => match outcome {
                    Some(true) if successes + 1 >= this.shared.config.probes.get() => {
                        this.change(m, Phase::Closed, now)
                    }
                    Some(true) => {
                        m.phase = Phase::HalfOpen {
                            in_flight: in_flight - 1,
                            successes: successes + 1,
                        };
                        None
                    }
                    Some(false) => this.open(m, now),
                    None => {
                        m.phase = Phase::HalfOpen {
                            in_flight: in_flight - 1,
                            successes,
                        };
                        None
                    }
                },
                _ => None,
            }
        });
    }

    fn update(&self, f: impl FnOnce(&Self, &mut Machine, Instant) -> Option<Transition>) {
        let now = self.shared.clock.now();
        let transition = f(self, &mut self.shared.machine.lock(), now);
        self.notify(transition);
    }

    fn open_if_needed(&self, m: &mut Machine, now: Instant) -> Option<Transition> {
        let c = &self.shared.config;
        let s = m.window.stats(now);
        let min = u64::from(c.min_calls).max(1);
        let failing = s.calls >= min && s.failure_rate() > c.failure_rate;
        let revoking = s.observed >= min && s.revocation_rate() > c.revocation_rate;
        if failing || revoking {
            self.open(m, now)
        } else {
            None
        }
    }

    fn open(&self, m: &mut Machine, now: Instant) -> Option<Transition> {
        self.change(
            m,
            Phase::Open {
                until: now + self.shared.config.open_for,
            },
            now,
        )
    }

    fn change(&self, m: &mut Machine, to: Phase, now: Instant) -> Option<Transition> {
        if to == Phase::Closed {
            // A closed breaker judges only what happened since it closed.
            m.window.clear();
        }
        let state = |p: Phase| match p {
            Phase::Closed => BreakerState::Closed,
            Phase::Open { .. } => BreakerState::Open,
            Phase::HalfOpen { .. } => BreakerState::HalfOpen,
        };
        let transition = Transition {
            from: state(m.phase),
            to: state(to),
            stats: m.window.stats(now),
            at: now,
        };
        m.phase = to;
        m.generation += 1;
        tracing::info!(target: "spam::breaker", from = ?transition.from, to = ?transition.to,
            calls = transition.stats.calls, failures = transition.stats.failures, "circuit breaker");
        Some(transition)
    }

    fn notify(&self, transition: Option<Transition>) {
        if let (Some(t), Some(hook)) = (transition, &self.shared.hook) {
            hook(&t);
        }
    }
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("state", &self.state())
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

/// Leave to make one call; resolve it with [`success`](Self::success) or
/// [`failure`](Self::failure). Dropped unresolved, it counts as neither (a cancelled call) and
/// frees its probe slot.
#[must_use = "a permit counts only when resolved"]
#[derive(Debug)]
pub struct Permit {
    breaker: CircuitBreaker,
    generation: u64,
    probe: bool,
    resolved: bool,
}

impl Permit {
    /// The call succeeded.
    pub fn success(mut self) {
        self.resolved = true;
        self.breaker
            .resolve(self.generation, self.probe, Some(true));
    }

    /// The call failed in a way the breaker counts.
    pub fn failure(mut self) {
        self.resolved = true;
        self.breaker
            .resolve(self.generation, self.probe, Some(false));
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.resolved {
            self.breaker.resolve(self.generation, self.probe, None);
        }
    }
}
