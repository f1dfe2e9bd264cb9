//! Property tests of the accounting: over random event streams from several workers, a report's
//! sums match (tasks, series, errors, latency counts), merging the workers' recorders equals
//! recording everything in one, rates stay in range and the JSON round trip is exact.

use std::time::Duration;

use proptest::prelude::*;
use spam_core::{NonceStats, Recorder, Report, RunInfo, SecondStats, TaskStats};
use tokio::time::Instant;

const TASKS: [&str; 3] = ["transfer", "deploy", "erc20 mint"];
const ERRORS: [&str; 3] = ["nonce too low", "timeout", "panic"];
const WORKERS: usize = 4;
/// Events are placed from `base`; the run starts 1 s later, so some fall before the start.
const START_OFFSET_MS: u64 = 1_000;

#[derive(Debug, Clone)]
enum Event {
    Task {
        at_ms: u64,
        took_ms: u64,
        error: Option<usize>,
    },
    Sent {
        at_ms: u64,
        took_ms: u64,
    },
    Included {
        at_ms: u64,
        took_ms: u64,
        gas: u64,
    },
}

#[derive(Debug, Clone)]
struct Recorded {
    worker: usize,
    task: usize,
    event: Event,
}

fn took_ms() -> impl Strategy<Value = u64> {
    prop_oneof![
        8 => 0u64..5_000,
        1 => 0u64..10_000_000, // beyond the histograms' one hour
    ]
}

fn event() -> impl Strategy<Value = Event> {
    let at = 0u64..40_000;
    prop_oneof![
        (at.clone(), took_ms(), prop::option::of(0..ERRORS.len())).prop_map(
            |(at_ms, took_ms, error)| Event::Task {
                at_ms,
                took_ms,
                error
            }
        ),
        (at.clone(), took_ms()).prop_map(|(at_ms, took_ms)| Event::Sent { at_ms, took_ms }),
        (at, took_ms(), 0u64..30_000_000).prop_map(|(at_ms, took_ms, gas)| Event::Included {
            at_ms,
            took_ms,
            gas
        }),
    ]
}

fn recorded() -> impl Strategy<Value = Recorded> {
    (0..WORKERS, 0..TASKS.len(), event()).prop_map(|(worker, task, event)| Recorded {
        worker,
        task,
        event,
    })
}

fn apply(recorder: &mut Recorder, base: Instant, r: &Recorded) {
    let at = |ms: u64| base + Duration::from_millis(ms);
    let task = TASKS[r.task];
    match r.event {
        Event::Task {
            at_ms,
            took_ms,
            error,
        } => recorder.task(
            task,
            at(at_ms),
            at(at_ms + took_ms),
            error.map_or(Ok(()), |e| Err(ERRORS[e])),
        ),
        Event::Sent { at_ms, took_ms } => recorder.tx_sent(task, at(at_ms), at(at_ms + took_ms)),
        Event::Included {
            at_ms,
            took_ms,
            gas,
        } => recorder.tx_included(task, at(at_ms), at(at_ms + took_ms), gas),
    }
}

fn build(recorder: &Recorder, elapsed_ms: u64) -> Report {
    let mut run = RunInfo::default();
    run.chain_id = 31_337;
    run.workers = WORKERS as u32;
    Report::build(
        run,
        recorder,
        NonceStats::default(),
        Duration::from_millis(elapsed_ms),
    )
}

/// started, succeeded, failed, txs sent, txs included, gas used.
fn counters(s: &TaskStats) -> [u64; 6] {
    [
        s.started,
        s.succeeded,
        s.failed,
        s.txs_sent,
        s.txs_included,
        s.gas_used,
    ]
}

/// The counters of one second, in the order of [`counters`].
fn counters_of(s: &SecondStats) -> [u64; 6] {
    [
        s.started,
        s.succeeded,
        s.failed,
        s.txs_sent,
        s.txs_included,
        s.gas_used,
    ]
}

fn check_stats(s: &TaskStats) -> Result<(), TestCaseError> {
    prop_assert_eq!(s.started, s.succeeded + s.failed);
    prop_assert!((0.0..=1.0).contains(&s.success_rate), "{}", s.success_rate);
    prop_assert!(s.tasks_per_sec >= 0.0);
    prop_assert_eq!(s.task_ms.count, s.started);
    prop_assert_eq!(s.send_ms.count, s.txs_sent);
    prop_assert_eq!(s.inclusion_ms.count, s.txs_included);
    for l in [&s.task_ms, &s.send_ms, &s.inclusion_ms] {
        prop_assert!(
            0.0 <= l.p50 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max,
            "{:?}",
            l
        );
        prop_assert!(l.mean <= l.max, "{:?}", l);
    }
    Ok(())
}

proptest! {
    #[test]
    fn sums_match(events in prop::collection::vec(recorded(), 0..300), elapsed_ms in 0u64..45_000) {
        let base = Instant::now();
        let mut recorder = Recorder::new(base + Duration::from_millis(START_OFFSET_MS));
        for e in &events {
            apply(&mut recorder, base, e);
        }
        let report = build(&recorder, elapsed_ms);
        let t = &report.totals;

        // Totals against the events themselves.
        let mut expected = [0u64; 6];
        for e in &events {
            match e.event {
                Event::Task { error, .. } => {
                    expected[0] += 1;
                    expected[if error.is_some() { 2 } else { 1 }] += 1;
                }
                Event::Sent { .. } => expected[3] += 1,
                Event::Included { gas, .. } => {
                    expected[4] += 1;
                    expected[5] += gas;
                }
            }
        }
        prop_assert_eq!(counters(t), expected);

        // Totals = sum over tasks = sum over seconds; errors sum to the failures.
        check_stats(t)?;
        let mut over_tasks = [0u64; 6];
        for stats in report.tasks.values() {
            check_stats(stats)?;
            for (sum, v) in over_tasks.iter_mut().zip(counters(stats)) {
                *sum += v;
            }
        }
        prop_assert_eq!(over_tasks, counters(t));
        let mut over_seconds = [0u64; 6];
        for (i, s) in report.series.iter().enumerate() {
            prop_assert_eq!(s.second, i as u64);
            for (sum, v) in over_seconds.iter_mut().zip(counters_of(s)) {
                *sum += v;
            }
        }
        prop_assert_eq!(over_seconds, counters(t));
        prop_assert_eq!(report.errors.values().sum::<u64>(), t.failed);

        // The series covers the run, and no more than the run or the last event.
        let run_seconds = elapsed_ms.div_ceil(1_000);
        prop_assert!(report.series.len() as u64 >= run_seconds);
        if report.series.len() as u64 > run_seconds {
            prop_assert_ne!(report.series.last().map(counters_of), Some([0; 6]));
        }
    }

    #[test]
    fn merge_equals_one_recorder(
        events in prop::collection::vec(recorded(), 0..300),
        order in Just((0..WORKERS).collect::<Vec<_>>()).prop_shuffle(),
        elapsed_ms in 0u64..45_000,
    ) {
        let base = Instant::now();
        let start = base + Duration::from_millis(START_OFFSET_MS);
        let mut single = Recorder::new(start);
        let mut workers: Vec<_> = (0..WORKERS).map(|_| Recorder::new(start)).collect();
        for e in &events {
            apply(&mut single, base, e);
            apply(&mut workers[e.worker], base, e);
        }
        let mut merged = Recorder::new(start);
        for w in order {
            merged.merge(&workers[w]);
        }
        prop_assert_eq!(build(&merged, elapsed_ms), build(&single, elapsed_ms));
    }

    #[test]
    fn json_round_trip(events in prop::collection::vec(recorded(), 0..100), elapsed_ms in 0u64..45_000) {
        let base = Instant::now();
        let mut recorder = Recorder::new(base);
        for e in &events {
            apply(&mut recorder, base, e);
        }
        let report = build(&recorder, elapsed_ms);
        let back: Report = serde_json::from_str(&report.to_json()).unwrap();
        prop_assert_eq!(back, report);
    }
}
