//! `loadgen`, `run` and `report` through the real binary against the anvil it starts: exit
//! codes, `report.json`, the store and reports rebuilt from it.

use std::path::Path;

use serde_json::Value;
use spam_devnet::Devnet;

use crate::common::{files_in, spammer, spammer_env};

/// Whether anvil is installed (else the test returns early, as `for_test` allows).
fn anvil() -> bool {
    spam_devnet::for_test(Devnet::builder()).is_some()
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn u(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} in {v:#}"))
}

/// The id in the first column of the `report --list` row that holds `needle`.
fn listed_id(list: &str, needle: &str) -> String {
    list.lines()
        .skip(1)
        .find(|row| row.contains(needle))
        .and_then(|row| row.split_whitespace().next())
        .unwrap_or_else(|| panic!("{needle} in {list}"))
        .to_owned()
}

#[test]
fn loadgen_writes_a_report_and_the_store_rebuilds_it() {
    if !anvil() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = spammer(
        dir.path(),
        &[
            "loadgen",
            "--rate",
            "50",
            "--duration",
            "2s",
            "--senders",
            "4",
            "--batch",
            "10",
            "--report-dir",
            "tmp",
            "--db",
            "tmp/x.db",
            "--min-success",
            "0.9",
            "--max-drop-rate",
            "0.5",
            "--max-errors",
            "5",
            "--grace",
            "20s",
        ],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stderr.contains("started anvil (1 s blocks)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains("open loop: constant 50 tx/s"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("thresholds: passed"), "{}", out.stdout);
    assert_eq!(files_in(dir.path()), ["tmp"], "no spammer.db beside --db");

    let live = json(&dir.path().join("tmp/report.json"));
    let open = &live["open_loop"];
    let (offered, sent) = (u(open, "offered"), u(open, "sent"));
    assert_eq!(offered, 100, "50 tx/s for 2 s");
    assert_eq!(offered, u(open, "dropped") + sent);
    assert_eq!(
        sent,
        u(open, "accepted") + u(open, "rejected") + u(open, "unanswered")
    );
    assert_eq!(
        u(open, "accepted") + u(open, "unanswered"),
        u(open, "included")
            + u(open, "pending_at_end")
            + u(open, "superseded")
            + u(open, "duplicates")
    );
    assert!(u(open, "included") > 0, "{open:#}");
    assert_eq!(
        (&open["strategy"]["kind"], &open["strategy"]["max"]),
        (&Value::from("batch"), &Value::from(10)),
        "{:#}",
        open["strategy"]
    );
    assert_eq!(u(&live["store"], "dropped"), 0);
    let run_id = u(&live["store"], "run_id").to_string();

    let list = spammer(dir.path(), &["report", "--db", "tmp/x.db", "--list"]);
    assert_eq!(list.code, Some(0));
    assert_eq!(
        listed_id(&list.stdout, " loadgen "),
        run_id,
        "{}",
        list.stdout
    );
    assert!(list.stdout.contains(" 31337 "), "{}", list.stdout);

    let rebuilt = spammer(
        dir.path(),
        &[
            "report",
            "--db",
            "tmp/x.db",
            "--run",
            &run_id,
            "--report-dir",
            "again",
        ],
    );
    assert_eq!(rebuilt.code, Some(0), "{rebuilt:?}");
    assert!(
        rebuilt.stdout.contains("open loop: constant 50 tx/s"),
        "{}",
        rebuilt.stdout
    );
    let again = json(&dir.path().join("again/report.json"));
    for key in [
        "offered",
        "dropped",
        "sent",
        "accepted",
        "rejected",
        "unanswered",
        "included",
    ] {
        assert_eq!(again["open_loop"][key], open[key], "{key}");
    }
    assert_eq!(again["totals"]["succeeded"], live["totals"]["succeeded"]);

    // The latest run is the default, and SPAM_DB names the store.
    let latest = spammer_env(dir.path(), &["report"], &[("SPAM_DB", "tmp/x.db")]);
    assert_eq!(latest.code, Some(0));
    assert!(
        latest.stdout.contains("offered 100 = dropped"),
        "{}",
        latest.stdout
    );

    let unknown = spammer(
        dir.path(),
        &["report", "--db", "tmp/x.db", "--run", "12345"],
    );
    assert_eq!(unknown.code, Some(2));
    assert!(
        unknown.stderr.contains("--run 12345: no such run"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn a_threshold_that_cannot_be_met_exits_1_listing_it_and_the_default_store_is_spammer_db() {
    if !anvil() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Inclusion takes up to a block (1 s): its p99 cannot be a microsecond.
    let out = spammer(
        dir.path(),
        &[
            "loadgen",
            "--rate",
            "20",
            "--duration",
            "1s",
            "--max-p99",
            "1us",
            "--max-errors",
            "0",
        ],
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout.contains("thresholds: failed:"), "{}", out.stdout);
    assert!(out.stdout.contains("- max_p99_inclusion"), "{}", out.stdout);
    assert!(
        !out.stdout.contains("max_error_count"),
        "met: {}",
        out.stdout
    );
    assert_eq!(files_in(dir.path()), ["spammer.db"]);

    let list = spammer(dir.path(), &["report", "--list"]);
    assert_eq!(list.code, Some(0));
    assert_eq!(list.stdout.lines().count(), 2, "{}", list.stdout);
    // The header and the row line up: each column starts where its header does.
    let lines: Vec<&str> = list.stdout.lines().collect();
    let column = |line: &str, n: usize| {
        line.char_indices()
            .filter(|&(i, c)| c != ' ' && (i == 0 || line.as_bytes()[i - 1] == b' '))
            .nth(n)
            .map(|(i, _)| i)
    };
    assert_eq!(column(lines[0], 1), column(lines[1], 1), "{}", list.stdout);
    let json = spammer(dir.path(), &["report", "--list", "--json"]);
    let runs: Vec<serde_json::Value> = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["engine"], "loadgen", "{}", json.stdout);
    assert_eq!(runs[0]["status"], "done", "{}", json.stdout);
    assert!(
        lines[0].contains(" status ") && lines[1].contains(" done "),
        "{}",
        list.stdout
    );
    assert!(lines[1].starts_with(&runs[0]["id"].to_string()));
}

#[test]
fn run_persists_and_reports_too() {
    if !anvil() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = spammer(
        dir.path(),
        &[
            "run",
            "--duration",
            "1s",
            "--workers",
            "2",
            "--tasks",
            "transfer_self",
            "--grace",
            "10s",
            "--db",
            "runs.db",
            "--report-dir",
            "out",
            "--min-success",
            "0.99",
        ],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("thresholds: passed"), "{}", out.stdout);
    let live = json(&dir.path().join("out/report.json"));
    let succeeded = u(&live["totals"], "succeeded");
    assert!(succeeded > 0, "{live:#}");
    assert!(live.get("open_loop").is_none());

    let list = spammer(dir.path(), &["report", "--db", "runs.db", "--list"]);
    let id = listed_id(&list.stdout, " spammer ");
    assert_eq!(id, u(&live["store"], "run_id").to_string());
    let rebuilt = spammer(
        dir.path(),
        &[
            "report",
            "--db",
            "runs.db",
            "--run",
            &id,
            "--report-dir",
            "again",
        ],
    );
    assert_eq!(rebuilt.code, Some(0), "{rebuilt:?}");
    let again = json(&dir.path().join("again/report.json"));
    assert_eq!(u(&again["totals"], "succeeded"), succeeded);

    // --no-db writes no store; a failed threshold still writes the report.
    let dir = tempfile::tempdir().unwrap();
    let out = spammer(
        dir.path(),
        &[
            "run",
            "--duration",
            "1s",
            "--workers",
            "1",
            "--tasks",
            "transfer_self",
            "--no-db",
            "--report-dir",
            "out",
            "--max-p99",
            "1us",
        ],
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout.contains("- max_p99_inclusion"), "{}", out.stdout);
    assert_eq!(files_in(dir.path()), ["out"]);
}

#[test]
fn ctrl_c_stops_the_pacer_and_still_reports_with_exit_130() {
    if !anvil() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_spammer"))
        .args(["loadgen", "--rate", "20", "--duration", "60s", "--no-db"])
        .args(["--report-dir", "out"])
        .current_dir(dir.path())
        .env_remove("SPAM_RPC_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    // The run ends after its inclusions, well before the 60 s it was given.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().ok();
            panic!("spammer did not stop after Ctrl-C");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(130), "{stdout}{stderr}");
    assert!(stderr.contains("interrupted: no new sends"), "{stderr}");
    let report = json(&dir.path().join("out/report.json"));
    let open = &report["open_loop"];
    let offered = u(open, "offered");
    assert!(offered > 0 && offered < 20 * 60, "{open:#}");
    assert_eq!(offered, u(open, "dropped") + u(open, "sent"));
}
