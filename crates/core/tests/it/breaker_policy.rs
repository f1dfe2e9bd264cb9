//! The default breaker measures a faulty node instead of hiding it: evenly spread failures
//! below the threshold never open it, whatever the rate; a close forgets the past (failures
//! recorded before it, and late answers of permits taken before it); a disabled breaker never
//! opens. All on a manual clock.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

use proptest::prelude::*;
use spam_core::breaker::{BreakerConfig, BreakerState, CircuitBreaker, ManualBreakerClock, Permit};

/// Whether call `i` of a sequence failing a fraction `f` of calls, evenly spread, fails:
/// any `n` consecutive calls hold at most `n·f + 1` failures.
fn fails(i: u64, f: f64) -> bool {
    ((i + 1) as f64 * f).floor() > (i as f64 * f).floor()
}

/// Sends `calls` calls at `rate` per second on `clock`, `in_flight` of them unresolved at a
/// time (answers arrive in order), failing a fraction `f`; returns the states seen.
fn drive(
    breaker: &CircuitBreaker,
    clock: &ManualBreakerClock,
    calls: u64,
    rate: f64,
    in_flight: usize,
    f: f64,
) -> Vec<BreakerState> {
    let gap = Duration::from_secs_f64(1.0 / rate);
    let mut pending: VecDeque<(Permit, bool)> = VecDeque::new();
    let mut states = Vec::new();
    for i in 0..calls {
        let permit = breaker.try_acquire().expect("the breaker stays closed");
        pending.push_back((permit, fails(i, f)));
        if pending.len() > in_flight {
            let (permit, failed) = pending.pop_front().unwrap();
            if failed {
                permit.failure();
            } else {
                permit.success();
            }
        }
        clock.advance(gap);
        states.push(breaker.state());
    }
    for (permit, failed) in pending {
        if failed {
            permit.failure();
        } else {
            permit.success();
        }
    }
    states.push(breaker.state());
    states
}

#[test]
fn ten_percent_failures_never_open_the_default_breaker() {
    let clock = ManualBreakerClock::default();
    let breaker = CircuitBreaker::with_clock(BreakerConfig::default(), clock.clone());
    // 300 tx/s for two minutes, every tenth answer a failure (503s, lost answers)
    let states = drive(&breaker, &clock, 36_000, 300.0, 20, 0.10);
    assert!(states.iter().all(|s| *s == BreakerState::Closed));
    let stats = breaker.stats();
    assert!(stats.calls > 2_500, "{stats:?}");
    assert!(
        (stats.failure_rate() - 0.10).abs() < 0.01,
        "measured, not hidden: {stats:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Below the default threshold (50%) with room for the rounding of a 100-call minimum,
    /// no rate, concurrency or fraction of evenly spread failures opens the breaker.
    #[test]
    fn evenly_spread_failures_below_the_threshold_never_open_it(
        f in 0.0..0.49f64,
        rate in 5.0..20_000.0f64,
        in_flight in 0usize..64,
        calls in 1u64..6_000,
    ) {
        let clock = ManualBreakerClock::default();
        let breaker = CircuitBreaker::with_clock(BreakerConfig::default(), clock.clone());
        let states = drive(&breaker, &clock, calls, rate, in_flight, f);
        prop_assert!(states.iter().all(|s| *s == BreakerState::Closed));
    }
}

/// Opens a default breaker with 100 failures (none of 100 calls answered).
fn open(breaker: &CircuitBreaker) {
    for _ in 0..100 {
        breaker.try_acquire().unwrap().failure();
    }
    assert_eq!(breaker.state(), BreakerState::Open);
}

/// Lets the open period pass and closes the breaker with its probes.
fn close(breaker: &CircuitBreaker, clock: &ManualBreakerClock) {
    clock.advance(BreakerConfig::default().open_for());
    for _ in 0..3 {
        breaker.try_acquire().expect("probe").success();
    }
    assert_eq!(breaker.state(), BreakerState::Closed);
}

#[test]
fn a_close_forgets_the_failures_before_it() {
    let clock = ManualBreakerClock::default();
    let closes = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&closes);
    let breaker = CircuitBreaker::with_clock(BreakerConfig::default(), clock.clone())
        .on_transition(move |t| {
            if t.to == BreakerState::Closed {
                log.lock().unwrap().push(t.stats);
            }
        });
    // answers still out when the node goes down: they arrive after it is back
    let late: Vec<Permit> = (0..50).map(|_| breaker.try_acquire().unwrap()).collect();
    open(&breaker);
    close(&breaker, &clock);
    assert_eq!(breaker.stats(), Default::default(), "the window is cleared");
    for permit in late {
        permit.failure();
    }
    assert_eq!(
        breaker.stats().failures,
        0,
        "permits of an older generation"
    );
    // a few failures right after the close do not re-open it
    for _ in 0..20 {
        breaker.try_acquire().unwrap().failure();
    }
    assert_eq!(breaker.state(), BreakerState::Closed);
    assert_eq!(breaker.stats().failures, 20);

    // a node that is still down does re-open it, once the minimum is reached
    for _ in 0..79 {
        breaker.try_acquire().unwrap().failure();
    }
    assert_eq!(breaker.state(), BreakerState::Closed, "99 calls < 100");
    breaker.try_acquire().unwrap().failure();
    assert_eq!(breaker.state(), BreakerState::Open);

    // every close so far started from an empty window
    close(&breaker, &clock);
    let closes = closes.lock().unwrap();
    assert_eq!(closes.len(), 2);
    assert!(
        closes.iter().all(|s| *s == Default::default()),
        "{closes:?}"
    );
}

#[test]
fn after_a_close_ten_percent_failures_keep_it_closed() {
    let clock = ManualBreakerClock::default();
    let breaker = CircuitBreaker::with_clock(BreakerConfig::default(), clock.clone());
    open(&breaker);
    close(&breaker, &clock);
    // the fault that re-tripped the old defaults 0.2 s after every close (10% 503s at 300 tx/s)
    let states = drive(&breaker, &clock, 3_000, 300.0, 10, 0.10);
    assert!(states.iter().all(|s| *s == BreakerState::Closed));
}

#[test]
fn a_disabled_breaker_never_opens_and_still_counts() {
    let clock = ManualBreakerClock::default();
    let config = BreakerConfig::disabled();
    assert!(config.is_disabled() && !BreakerConfig::default().is_disabled());
    let breaker = CircuitBreaker::with_clock(config, clock.clone());
    for _ in 0..5_000 {
        breaker.try_acquire().expect("never open").failure();
        breaker.record_revocation(true);
        clock.advance(Duration::from_millis(1));
    }
    assert_eq!(breaker.state(), BreakerState::Closed);
    let stats = breaker.stats();
    assert_eq!((stats.failures, stats.revoked), (5_000, 5_000));
}

#[test]
fn the_documented_defaults() {
    let config = BreakerConfig::default();
    assert_eq!(config.failure_rate(), 0.5);
    assert_eq!(config.min_calls(), 100);
    assert_eq!(config.window(), Duration::from_secs(10));
    assert_eq!(config.open_for(), Duration::from_secs(5));
}
