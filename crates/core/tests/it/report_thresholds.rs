//! Thresholds against a report with known figures: what passes, what fails, and that each
//! failure names the threshold, the limit and the measured value.

use std::time::Duration;

use spam_core::{NonceStats, Recorder, Report, RunInfo, ThresholdError, Thresholds};
use tokio::time::Instant;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// 100 tasks over 10 s: task `i` (1..=100) takes `i` ms; 95 succeed, 3 fail with "nonce too
/// low", 2 with "timeout". 100 txs sent, 90 included after `10 * i` ms.
fn report() -> Report {
    let t0 = Instant::now();
    let mut r = Recorder::new(t0);
    for i in 1..=100u64 {
        let start = t0 + ms(i * 90);
        let outcome = match i {
            1..=3 => Err("nonce too low"),
            4..=5 => Err("timeout"),
            _ => Ok(()),
        };
        r.task("transfer", start, start + ms(i), outcome);
        r.tx_sent("transfer", start, start + ms(1));
        if i <= 90 {
            r.tx_included("transfer", start, start + ms(10 * i), 21_000);
        }
    }
    Report::build(RunInfo::default(), &r, NonceStats::default(), ms(10_000))
}

fn empty_report() -> Report {
    Report::build(
        RunInfo::default(),
        &Recorder::new(Instant::now()),
        NonceStats::default(),
        ms(10_000),
    )
}

#[test]
fn figures_are_as_built() {
    let r = report();
    let t = &r.totals;
    assert_eq!((t.started, t.succeeded, t.failed), (100, 95, 5));
    assert_eq!(t.success_rate, 0.95);
    assert_eq!(t.tasks_per_sec, 10.0);
    // HDR percentiles are bucket upper bounds, at most 0.1% above the 99 ms and 900 ms samples.
    assert!((99.0..99.1).contains(&t.task_ms.p99), "{}", t.task_ms.p99);
    assert!(
        (900.0..900.9).contains(&t.inclusion_ms.p99),
        "{}",
        t.inclusion_ms.p99
    );
}

#[test]
fn met_limits_pass() -> Result<(), ThresholdError> {
    let thresholds = Thresholds::default()
        .with_min_success_rate(0.95)
        .with_max_p99_task(ms(100))
        .with_max_p99_inclusion(ms(901))
        .with_min_tasks_per_sec(10.0)
        .with_max_error_count(5);
    report().check(&thresholds).into_result()
}

#[test]
fn no_thresholds_pass_even_an_empty_run() {
    let verdict = empty_report().check(&Thresholds::default());
    assert!(verdict.passed);
    assert!(verdict.failures.is_empty());
    assert_eq!(verdict.to_string(), "passed");
}

#[track_caller]
fn fails_with(thresholds: Thresholds, expected: &[&str]) {
    let verdict = report().check(&thresholds);
    assert!(!verdict.passed, "{verdict}");
    assert_eq!(verdict.failures.len(), 1, "{verdict}");
    for part in expected {
        assert!(
            verdict.failures[0].contains(part),
            "{part:?} not in {verdict}"
        );
    }
}

#[test]
fn low_success_rate_fails() {
    fails_with(
        Thresholds::default().with_min_success_rate(0.99),
        &["min_success_rate", "95.00%", "99.00%", "95 of 100"],
    );
}

#[test]
fn slow_task_p99_fails() {
    fails_with(
        Thresholds::default().with_max_p99_task(ms(50)),
        &[
            "max_p99_task: p99 task latency 99.",
            "ms is above the limit 50 ms",
        ],
    );
}

#[test]
fn slow_inclusion_p99_fails() {
    fails_with(
        Thresholds::default().with_max_p99_inclusion(Duration::from_millis(500)),
        &[
            "max_p99_inclusion: p99 inclusion latency 900.",
            "limit 500 ms (90 samples)",
        ],
    );
}

#[test]
fn low_throughput_fails() {
    fails_with(
        Thresholds::default().with_min_tasks_per_sec(12.5),
        &["min_tasks_per_sec", "10 tasks/s", "12.5 tasks/s"],
    );
}

#[test]
fn too_many_errors_fails_and_names_them() {
    fails_with(
        Thresholds::default().with_max_error_count(4),
        &[
            "max_error_count",
            "5 failed",
            "limit 4",
            "nonce too low: 3, timeout: 2",
        ],
    );
}

#[test]
fn every_failure_is_listed() {
    let thresholds = Thresholds::default()
        .with_min_success_rate(1.0)
        .with_max_p99_task(ms(1))
        .with_max_p99_inclusion(ms(1))
        .with_min_tasks_per_sec(1_000.0)
        .with_max_error_count(0);
    let verdict = report().check(&thresholds);
    assert_eq!(verdict.failures.len(), 5, "{verdict}");
    let text = verdict.to_string();
    assert!(text.starts_with("failed:\n  - min_success_rate"), "{text}");
    let error = verdict.into_result().unwrap_err();
    assert!(
        error.to_string().starts_with("5 threshold(s) failed: "),
        "{error}"
    );
    assert_eq!(error.failures.len(), 5);
}

#[test]
fn latency_limits_fail_when_nothing_was_measured() {
    let thresholds = Thresholds::default()
        .with_max_p99_task(ms(100))
        .with_max_p99_inclusion(ms(100));
    let verdict = empty_report().check(&thresholds);
    assert_eq!(verdict.failures.len(), 2, "{verdict}");
    assert!(
        verdict.failures[0].contains("no task latency was measured"),
        "{verdict}"
    );
    assert!(
        verdict.failures[1].contains("no inclusion latency"),
        "{verdict}"
    );
}

#[test]
fn rate_limits_fail_on_an_empty_run() {
    let thresholds = Thresholds::default()
        .with_min_success_rate(0.5)
        .with_min_tasks_per_sec(0.1);
    let verdict = empty_report().check(&thresholds);
    assert_eq!(verdict.failures.len(), 2, "{verdict}");
    assert!(verdict.failures[0].contains("0 of 0 tasks"), "{verdict}");
}

#[test]
fn nan_limits_fail() {
    let thresholds = Thresholds::default()
        .with_min_success_rate(f64::NAN)
        .with_min_tasks_per_sec(f64::NAN);
    assert_eq!(report().check(&thresholds).failures.len(), 2);
}
