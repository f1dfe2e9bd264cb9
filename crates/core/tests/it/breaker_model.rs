//! Random event sequences against the circuit breaker, compared step by step with a plain
//! reference of the specification: same answers, same transitions, nothing else.

use std::{
    num::NonZeroU32,
    sync::{Arc, Mutex},
    time::Duration,
};

use proptest::prelude::*;
use spam_core::breaker::{
    BreakerConfig, BreakerState, CircuitBreaker, ConfigError, MAX_DURATION, ManualBreakerClock,
    Permit,
};

const WINDOW_MS: u64 = 1_000;
const BUCKETS: u64 = 4;
const OPEN_MS: u64 = 500;
const MIN_CALLS: u64 = 4;
const PROBES: u32 = 2;
const FAILURE_RATE: f64 = 0.25;
const REVOCATION_RATE: f64 = 0.5;

#[derive(Debug, Clone)]
enum Event {
    Acquire,
    Succeed(usize),
    Fail(usize),
    Drop(usize),
    Revocation(bool),
    Advance(u64),
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        4 => Just(Event::Acquire),
        3 => any::<usize>().prop_map(Event::Succeed),
        3 => any::<usize>().prop_map(Event::Fail),
        1 => any::<usize>().prop_map(Event::Drop),
        2 => any::<bool>().prop_map(Event::Revocation),
        2 => (0..700u64).prop_map(Event::Advance),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Closed,
    Open { until: u64 },
    HalfOpen { in_flight: u32, successes: u32 },
}

/// The specification, written the obvious way: the window is a list of timestamped events.
#[derive(Debug)]
struct Reference {
    now: u64,
    phase: Phase,
    generation: u64,
    /// (bucket, is_call, bad)
    events: Vec<(u64, bool, bool)>,
    transitions: Vec<(BreakerState, BreakerState)>,
}

impl Reference {
    fn bucket(&self) -> u64 {
        self.now / (WINDOW_MS / BUCKETS)
    }

    fn stats(&self) -> (u64, u64, u64, u64) {
        let b = self.bucket();
        let live = self
            .events
            .iter()
            .filter(|(at, ..)| *at <= b && at + BUCKETS > b);
        let (mut calls, mut fails, mut obs, mut rev) = (0, 0, 0, 0);
        for (_, is_call, bad) in live {
            if *is_call {
                calls += 1;
                fails += u64::from(*bad);
            } else {
                obs += 1;
                rev += u64::from(*bad);
            }
        }
        (calls, fails, obs, rev)
    }

    fn state(p: Phase) -> BreakerState {
        match p {
            Phase::Closed => BreakerState::Closed,
            Phase::Open { .. } => BreakerState::Open,
            Phase::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    fn go(&mut self, to: Phase) {
        self.transitions
            .push((Self::state(self.phase), Self::state(to)));
        self.phase = to;
        self.generation += 1;
    }

    fn maybe_open(&mut self) {
        let (calls, fails, obs, rev) = self.stats();
        let failing = calls >= MIN_CALLS && fails as f64 / calls as f64 > FAILURE_RATE;
        let revoking = obs >= MIN_CALLS && rev as f64 / obs as f64 > REVOCATION_RATE;
        if failing || revoking {
            self.go(Phase::Open {
                until: self.now + OPEN_MS,
            });
        }
    }

    /// `Some((generation, probe))` when a call is allowed.
    fn acquire(&mut self) -> Option<(u64, bool)> {
        if let Phase::Open { until } = self.phase {
            if self.now < until {
                return None;
            }
            self.go(Phase::HalfOpen {
                in_flight: 0,
                successes: 0,
            });
        }
        match &mut self.phase {
            Phase::Closed => Some((self.generation, false)),
            Phase::HalfOpen {
                in_flight,
                successes,
            } if *in_flight + *successes < PROBES => {
                *in_flight += 1;
                Some((self.generation, true))
            }
            _ => None,
        }
    }

    fn resolve(&mut self, generation: u64, probe: bool, ok: Option<bool>) {
        if generation != self.generation {
            return;
        }
        match (self.phase, ok) {
            (Phase::Closed, Some(ok)) => {
                self.events.push((self.bucket(), true, !ok));
                if !ok {
                    self.maybe_open();
                }
            }
            (
                Phase::HalfOpen {
                    in_flight,
                    successes,
                },
                ok,
            ) if probe => match ok {
                Some(true) if successes + 1 >= PROBES => {
                    self.events.clear();
                    self.go(Phase::Closed);
                }
                Some(true) => {
                    self.phase = Phase::HalfOpen {
                        in_flight: in_flight - 1,
                        successes: successes + 1,
                    }
                }
                Some(false) => self.go(Phase::Open {
                    until: self.now + OPEN_MS,
                }),
                None => {
                    self.phase = Phase::HalfOpen {
                        in_flight: in_flight - 1,
                        successes,
                    }
                }
            },
            _ => {}
        }
    }

    fn revocation(&mut self, revoked: bool) {
        if self.phase == Phase::Closed {
            self.events.push((self.bucket(), false, revoked));
            self.maybe_open();
        }
    }
}

fn run(events: Vec<Event>) {
    let clock = ManualBreakerClock::default();
    let config = BreakerConfig::builder()
        .window(Duration::from_millis(WINDOW_MS))
        .buckets(NonZeroU32::new(BUCKETS as u32).unwrap())
        .min_calls(MIN_CALLS as u32)
        .failure_rate(FAILURE_RATE)
        .revocation_rate(REVOCATION_RATE)
        .open_for(Duration::from_millis(OPEN_MS))
        .probes(NonZeroU32::new(PROBES).unwrap())
        .build()
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let breaker = CircuitBreaker::with_clock(config, clock.clone())
        .on_transition(move |t| log.lock().unwrap().push((t.from, t.to)));
    let mut reference = Reference {
        now: 0,
        phase: Phase::Closed,
        generation: 0,
        events: Vec::new(),
        transitions: Vec::new(),
    };
    let mut permits: Vec<(Permit, u64, bool)> = Vec::new();

    for event in events {
        match event {
            Event::Acquire => {
                let real = breaker.try_acquire();
                let expected = reference.acquire();
                assert_eq!(
                    real.is_ok(),
                    expected.is_some(),
                    "acquire in {:?}",
                    reference.phase
                );
                if let (Ok(permit), Some((generation, probe))) = (real, expected) {
                    permits.push((permit, generation, probe));
                }
            }
            Event::Succeed(i) | Event::Fail(i) | Event::Drop(i) if !permits.is_empty() => {
                let (permit, generation, probe) = permits.swap_remove(i % permits.len());
                let ok = match event {
                    Event::Succeed(_) => {
                        permit.success();
                        Some(true)
                    }
                    Event::Fail(_) => {
                        permit.failure();
                        Some(false)
                    }
                    _ => {
                        drop(permit);
                        None
                    }
                };
                reference.resolve(generation, probe, ok);
            }
            Event::Succeed(_) | Event::Fail(_) | Event::Drop(_) => {}
            Event::Revocation(revoked) => {
                breaker.record_revocation(revoked);
                reference.revocation(revoked);
            }
            Event::Advance(ms) => {
                clock.advance(Duration::from_millis(ms));
                reference.now += ms;
            }
        }
        assert_eq!(breaker.state(), Reference::state(reference.phase));
        assert_eq!(
            *seen.lock().unwrap(),
            reference.transitions,
            "transitions differ"
        );
        if reference.phase == Phase::Closed {
            let (calls, failures, observed, revoked) = reference.stats();
            let s = breaker.stats();
            assert_eq!(
                (s.calls, s.failures, s.observed, s.revoked),
                (calls, failures, observed, revoked)
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3_000))]

    #[test]
    fn breaker_follows_the_specification(events in prop::collection::vec(event(), 1..120)) {
        run(events);
    }
}

#[test]
fn invalid_configs_cannot_be_built() {
    assert!(BreakerConfig::builder().failure_rate(-0.1).build().is_err());
    assert!(
        BreakerConfig::builder()
            .revocation_rate(f64::NAN)
            .build()
            .is_err()
    );
    assert!(
        BreakerConfig::builder()
            .window(Duration::ZERO)
            .build()
            .is_err()
    );
    assert!(
        BreakerConfig::builder()
            .open_for(Duration::ZERO)
            .build()
            .is_err()
    );
    let too_long = BreakerConfig::builder().open_for(Duration::MAX).build();
    assert!(matches!(
        too_long,
        Err(ConfigError::TooLong { name: "open_for" })
    ));
    let too_long = BreakerConfig::builder().window(Duration::MAX).build();
    assert!(matches!(
        too_long,
        Err(ConfigError::TooLong { name: "window" })
    ));
    assert!(
        BreakerConfig::builder()
            .open_for(MAX_DURATION)
            .build()
            .is_ok()
    );
    assert!(BreakerConfig::builder().failure_rate(1.0).build().is_ok());
}
