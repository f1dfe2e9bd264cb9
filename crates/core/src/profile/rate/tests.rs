//! Tests of the parent module.
use proptest::prelude::*;

use super::*;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

#[test]
fn constant_is_evenly_spaced_from_zero() {
    let mut s = Rate::constant(200.0).schedule();
    assert_eq!(s.next_due(), Some(Duration::ZERO));
    assert_eq!(s.next_due(), Some(ms(5)));
    for _ in 2..1_999 {
        s.next_due();
    }
    assert_eq!(s.next_due(), Some(ms(9_995)));
    assert_eq!(s.next_index(), 2_000);
    assert_eq!(Rate::constant(200.0).count_until(secs(10)), 2_000);
}

#[test]
fn ramp_follows_the_integral() {
    let rate = Rate::ramp(50.0, 500.0, secs(10));
    // ∫ = 50 t + 22.5 t²
    assert_eq!(rate.count_until(secs(1)), 73);
    assert_eq!(rate.count_until(secs(10)), 2_750);
    assert_eq!(rate.count_until(secs(11)), 3_250);
    assert_eq!(rate.rate_at(secs(5)), 275.0);
    assert_eq!(rate.rate_at(secs(20)), 500.0);
    let down = Rate::ramp(500.0, 0.0, secs(4));
    assert_eq!(down.count_until(secs(100)), 1_000);
    assert_eq!(down.schedule().nth_due(1_000), None);
}

#[test]
fn steps_and_spikes() {
    let steps = Rate::steps([(secs(1), 10.0), (secs(1), 0.0), (secs(1), 20.0)]);
    let times: Vec<_> = std::iter::from_fn({
        let mut s = steps.schedule();
        move || s.next_due()
    })
    .take(12)
    .collect();
    assert_eq!(times[9], ms(900));
    assert_eq!(times[10], secs(2), "the zero step sends nothing");
    assert_eq!(times[11], ms(2_050));

    let spike = Rate::spike(10.0, 1_000.0, ms(100), secs(1));
    // 0.9 s at 10 (9 txs), then 0.1 s at 1000 (100 txs), repeat.
    assert_eq!(spike.count_until(ms(900)), 9);
    assert_eq!(spike.count_until(secs(1)), 109);
    assert_eq!(spike.count_until(secs(2)), 218);
    assert_eq!(spike.rate_at(ms(950)), 1_000.0);
    assert_eq!(spike.rate_at(ms(1_050)), 10.0);
}

#[test]
fn zero_rate_ends_the_schedule() {
    assert_eq!(Rate::constant(0.0).schedule().next_due(), None);
    assert_eq!(Rate::steps([(secs(1), 0.0)]).count_until(secs(5)), 0);
}

#[test]
fn validation() {
    assert!(Rate::constant(-1.0).validate().is_err());
    assert!(Rate::constant(f64::NAN).validate().is_err());
    assert!(Rate::steps([]).validate().is_err());
    assert!(Rate::spike(1.0, 2.0, secs(2), secs(1)).validate().is_err());
    assert!(Rate::ramp(0.0, 10.0, Duration::ZERO).validate().is_ok());
}

#[test]
fn serde_round_trip() {
    for rate in [
        Rate::constant(5.0),
        Rate::ramp(1.0, 2.0, secs(3)),
        Rate::steps([(secs(1), 4.0)]),
        Rate::spike(1.0, 9.0, ms(100), secs(2)),
    ] {
        let json = serde_json::to_string(&rate).unwrap();
        assert_eq!(serde_json::from_str::<Rate>(&json).unwrap(), rate, "{json}");
    }
}

impl Schedule {
    fn nth_due(&mut self, n: u64) -> Option<Duration> {
        let mut last = None;
        while self.next_index <= n {
            last = Some(self.next_due()?);
        }
        last
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Due times never go backwards, and the count due by `t` matches the integral
    /// within one transaction.
    #[test]
    fn schedule_matches_the_integral(
        from in 0.0f64..2_000.0,
        to in 0.0f64..2_000.0,
        over_ms in 1u64..5_000,
        check_ms in 1u64..8_000,
    ) {
        let over = ms(over_ms);
        let rate = Rate::ramp(from, to, over);
        let t = ms(check_ms).as_secs_f64();
        let o = over.as_secs_f64();
        let integral = if t <= o {
            from * t + (to - from) / (2.0 * o) * t * t
        } else {
            (from + to) / 2.0 * o + to * (t - o)
        };
        let count = rate.count_until(ms(check_ms)) as f64;
        prop_assert!((count - integral).abs() <= 1.0 + 1e-6 * integral, "{count} vs {integral}");

        let mut s = rate.schedule();
        let mut last = Duration::ZERO;
        for _ in 0..500 {
            let Some(due) = s.next_due() else { break };
            prop_assert!(due >= last);
            last = due;
        }
    }

    #[test]
    fn steps_count_is_the_sum_of_steps(
        steps in proptest::collection::vec((1u64..2_000, 0.0f64..500.0), 1..6)
    ) {
        let rate = Rate::steps(steps.iter().map(|&(d, r)| (ms(d), r)));
        let total: Duration = steps.iter().map(|&(d, _)| ms(d)).sum();
        let expected: f64 = steps.iter().map(|&(d, r)| r * d as f64 / 1000.0).sum();
        let count = rate.count_until(total) as f64;
        prop_assert!((count - expected).abs() <= 1.0 + 1e-6 * expected, "{count} vs {expected}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Skipping to `t` lands exactly where stepping through every due time does, from any
    /// position, on every kind of profile.
    #[test]
    fn skipping_lands_where_stepping_does(
        a in 0.0f64..3_000.0,
        b in 0.0f64..3_000.0,
        len_ms in 1u64..3_000,
        first_ms in 0u64..4_000,
        then_ms in 0u64..6_000,
        kind in 0u8..4,
    ) {
        let rate = match kind {
            0 => Rate::constant(a.max(0.5)),
            1 => Rate::ramp(a, b, ms(len_ms)),
            2 => Rate::steps([(ms(len_ms), a), (ms(len_ms / 2 + 1), b)]),
            _ => Rate::spike(a, b.max(1.0), ms(len_ms / 4 + 1), ms(len_ms + 1)),
        };
        let mut stepped = rate.schedule();
        let mut skipped = rate.schedule();
        for t in [ms(first_ms), ms(first_ms + then_ms)] {
            let mut n = 0;
            loop {
                let mut peek = stepped.clone();
                match peek.next_due() {
                    Some(due) if due < t => {
                        stepped = peek;
                        n += 1;
                    }
                    _ => break,
                }
            }
            prop_assert_eq!(skipped.skip_until(t), n);
            prop_assert_eq!(skipped.next_index(), stepped.next_index());
        }
        prop_assert_eq!(skipped.next_due(), stepped.next_due());
    }

    /// Shards' schedules together are the whole schedule: every tick once, at its own time,
    /// and a shard that skips ahead lands where stepping its own ticks does.
    #[test]
    fn shards_partition_the_schedule(
        a in 0.0f64..2_000.0,
        b in 0.0f64..2_000.0,
        len_ms in 1u64..2_000,
        skip_ms in 0u64..3_000,
        count in 1u32..6,
        kind in 0u8..3,
    ) {
        let rate = match kind {
            0 => Rate::constant(a.max(0.5)),
            1 => Rate::ramp(a, b, ms(len_ms)),
            _ => Rate::steps([(ms(len_ms), a), (ms(len_ms / 2 + 1), b)]),
        };
        let end = ms(len_ms * 2);
        let mut whole = Vec::new();
        let mut s = rate.schedule();
        while let Some(due) = s.next_due().filter(|&d| d < end) {
            whole.push((s.next_index() - 1, due));
        }
        let mut union = Vec::new();
        for index in 0..count {
            let mut shard = rate.schedule().shard(index, count);
            loop {
                let k = shard.next_index();
                match shard.next_due().filter(|&d| d < end) {
                    Some(due) => union.push((k, due)),
                    None => break,
                }
            }
            let mut stepped = rate.schedule().shard(index, count);
            let mut skipped = stepped.clone();
            let mut n = 0;
            loop {
                let mut peek = stepped.clone();
                match peek.next_due() {
                    Some(due) if due < ms(skip_ms) => {
                        stepped = peek;
                        n += 1;
                    }
                    _ => break,
                }
            }
            prop_assert_eq!(skipped.skip_until(ms(skip_ms)), n);
            prop_assert_eq!(skipped.next_index(), stepped.next_index());
        }
        union.sort_unstable_by_key(|&(k, _)| k);
        prop_assert_eq!(union, whole);
    }
}

#[test]
fn counting_a_month_at_the_top_rate_does_not_walk_it() {
    let month = secs(30 * 24 * 3600);
    assert_eq!(
        Rate::constant(Rate::MAX_TPS).count_until(month),
        2_592_000_000_000
    );
    // Skipping backwards is a no-op.
    let mut s = Rate::constant(10.0).schedule();
    assert_eq!(s.skip_until(secs(2)), 20);
    assert_eq!(s.skip_until(secs(1)), 0);
    assert_eq!(s.next_due(), Some(secs(2)));
}

#[test]
fn rates_above_the_top_are_refused() {
    assert!(Rate::constant(Rate::MAX_TPS).validate().is_ok());
    let err = Rate::constant(1e12).validate().unwrap_err().to_string();
    assert!(err.contains("at most 1000000"), "{err}");
    assert!(Rate::ramp(0.0, 2e6, secs(1)).validate().is_err());
}
