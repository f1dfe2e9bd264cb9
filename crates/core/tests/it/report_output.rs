//! A report's outputs: JSON that reads back equal, and a terminal summary that shows each
//! task, its percentiles, the totals, the error classes and the nonce repairs.

use std::time::Duration;

use spam_core::{NonceStats, Recorder, Report, RunInfo};
use tokio::time::Instant;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn report() -> Report {
    let t0 = Instant::now();
    let mut r = Recorder::new(t0);
    for i in 0..200u64 {
        let start = t0 + ms(i * 10);
        r.task("transfer", start, start + ms(40 + i % 10), Ok(()));
        r.tx_sent("transfer", start, start + ms(2));
        r.tx_included("transfer", start, start + ms(1_000 + i), 21_000);
    }
    for i in 0..20u64 {
        let start = t0 + ms(i * 100);
        let outcome = if i % 4 == 0 {
            Err("nonce too low")
        } else {
            Ok(())
        };
        r.task("erc20 deploy", start, start + ms(2_500), outcome);
    }
    r.task("erc20 deploy", t0, t0 + ms(30), Err("timeout"));

    let mut run = RunInfo::default();
    run.chain_id = 31_337;
    run.client_version = "anvil/v1.4.0".into();
    run.started_at_unix_ms = 1_700_000_000_000;
    run.ended_at_unix_ms = 1_700_000_005_000;
    run.seed = 42;
    run.workers = 8;
    run.config = serde_json::json!({ "rate": 100, "tasks": ["transfer", "erc20 deploy"] });
    let mut nonces = NonceStats::default();
    nonces.resyncs = 2;
    nonces.fast_forwards = 1;
    nonces.holes_filled = 3;
    Report::build(run, &r, nonces, ms(5_000))
}

#[test]
fn json_round_trip_is_equal() {
    let report = report();
    let json = report.to_json();
    assert!(json.contains("\n  \"run\": {"), "not pretty:\n{json}");
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
}

#[test]
fn json_field_names_are_stable() {
    let value: serde_json::Value = serde_json::from_str(&report().to_json()).unwrap();
    for key in [
        "run",
        "elapsed_secs",
        "totals",
        "tasks",
        "errors",
        "series",
        "nonces",
    ] {
        assert!(value.get(key).is_some(), "missing {key}");
    }
    let transfer = &value["tasks"]["transfer"];
    assert_eq!(transfer["started"], 200);
    let p99 = transfer["task_ms"]["p99"].as_f64().unwrap();
    assert!((49.0..49.05).contains(&p99), "{p99}");
    assert_eq!(value["series"][0]["second"], 0);
    assert_eq!(value["errors"]["nonce too low"], 5);
    assert_eq!(value["nonces"]["holes_filled"], 3);
}

#[test]
fn display_shows_tasks_percentiles_errors_and_nonces() {
    let text = report().to_string();
    for part in [
        "chain 31337 (anvil/v1.4.0)",
        "8 workers",
        "seed 42",
        "transfer",
        "erc20 deploy",
        "total",
        "p50",
        "p99",
        "p99.9",
        "max",
        "incl p99",
        "nonce too low",
        "timeout",
        "2 resyncs",
        "3 holes filled",
    ] {
        assert!(text.contains(part), "{part:?} not in\n{text}");
    }

    let row = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} row in\n{text}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let transfer = row("transfer");
    // count, ok, failed, success, tasks/s, then task p50 p90 p99 p99.9 max.
    assert_eq!(transfer[1..6], ["200", "200", "0", "100.00%", "40.0"]);
    assert_eq!(transfer[6..11], ["44.0", "48.0", "49.0", "49.0", "49.0"]);
    let total = row("total");
    assert_eq!(total[1..4], ["221", "215", "6"]);
}

#[test]
fn display_columns_line_up() {
    let text = report().to_string();
    let table: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("task"))
        .take_while(|l| !l.starts_with("latencies"))
        .collect();
    assert_eq!(table.len(), 4, "{text}");
    // Right-aligned numbers: every row ends at the same column.
    let width = table[0].len();
    assert!(table.iter().all(|l| l.len() == width), "{text}");
}

#[test]
fn empty_report_displays() {
    let report = Report::build(
        RunInfo::default(),
        &Recorder::new(Instant::now()),
        NonceStats::default(),
        Duration::ZERO,
    );
    let text = report.to_string();
    assert!(text.contains("errors: none"), "{text}");
    assert!(text.contains("unknown client"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("total")), "{text}");
}
