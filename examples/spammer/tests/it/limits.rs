//! Bounded whatever the input, and honest about what was stored: the top rate holds memory
//! flat and a SIGTERM ends it; a store that fills up mid-run fails the run with its losses
//! counted exactly.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use spam_store::{RunId, SqlStore, Store};

use crate::common::{files_in, spammer};

/// Peak resident memory of `pid` in KiB (`VmHWM`), from /proc.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

#[test]
fn the_top_rate_keeps_memory_bounded_and_sigterm_ends_the_run() {
    let Some(devnet) = spam_devnet::for_test(spam_devnet::Devnet::builder().accounts(20)) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_spammer"))
        .args([
            "loadgen",
            "--rpc-url",
            devnet.endpoint().as_str(),
            "--rate",
            "1000000",
            "--senders",
            "20",
            "--duration",
            "10m",
            "--grace",
            "5s",
            "--progress-every",
            "1s",
            "--no-db",
        ])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Six seconds of samples: the pacer walks millions of ticks meanwhile.
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let lines = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for line in stderr.lines() {
            let line = line.unwrap();
            seen.push(line);
        }
        seen
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut peak = 0;
    let mut samples = 0;
    while samples < 30 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        if child.try_wait().unwrap().is_some() {
            break;
        }
        peak = peak.max(peak_rss_kib(pid));
        samples += 1;
    }
    assert_eq!(samples, 30, "the run ended by itself before the signal");
    // A million ticks a second for six seconds: held in memory they would take gigabytes.
    assert!(peak < 512 * 1024, "peak RSS {peak} KiB");
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "SIGTERM did not end the run");
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = lines.join().unwrap().join("\n");
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted: no new sends"), "{stderr}");
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    // The report's identities hold for an interrupted run too.
    let offered = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("offered "))
        .unwrap_or_else(|| panic!("{stdout}"));
    let numbers: Vec<u64> = offered
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(numbers[0], numbers[1] + numbers[2], "{offered}");
}

#[test]
fn a_store_that_fills_up_mid_run_fails_the_run_and_says_exactly_what_it_holds() {
    let Some(devnet) = spam_devnet::for_test(spam_devnet::Devnet::builder().accounts(8)) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("db")).unwrap();
    // A file-size limit of 300 KiB makes the disk full for SQLite's WAL after a few hundred
    // rows, without mounting anything (SIGXFSZ ignored: the write fails with EFBIG instead).
    let out = Command::new("sh")
        .args([
            "-c",
            "trap '' XFSZ; ulimit -f 300; exec \"$0\" \"$@\"",
            env!("CARGO_BIN_EXE_spammer"),
            "run",
            "--rpc-url",
            devnet.endpoint().as_str(),
            "--workers",
            "8",
            "--duration",
            "4s",
            "--db",
            "db/full.db",
            "--report-dir",
            "out",
            "--quiet",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("LOST"), "{stdout}");
    assert!(stderr.contains("--allow-store-loss"), "{stderr}");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/report.json")).unwrap())
            .unwrap();
    let store = &report["store"];
    let (written, lost) = (
        store["written"].as_u64().unwrap(),
        store["dropped"].as_u64().unwrap(),
    );
    assert!(lost > 0 && written > 0, "{store}");
    let run = RunId::new(store["run_id"].as_u64().unwrap()).unwrap();

    // What the database holds after the process ended is what the report said.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let held = rt.block_on(async {
        let db = SqlStore::sqlite(dir.path().join("db/full.db"))
            .await
            .unwrap();
        let rows = db.row_counts(run).await.unwrap();
        let runs = db.runs().await.unwrap().len() as u64;
        db.close().await;
        (rows, runs)
    });
    let (rows, runs) = held;
    assert_eq!(store["rows"]["tasks"].as_u64(), Some(rows.tasks), "{store}");
    assert_eq!(store["rows"]["txs"].as_u64(), Some(rows.txs), "{store}");
    // The closed loop writes one record per row (a task, each of its transactions, the run's
    // first row): the records counted written are exactly the rows there.
    assert_eq!(written, rows.tasks + rows.txs + runs, "{store}");

    // The same run with the loss allowed exits 0.
    let allowed = spammer(
        dir.path(),
        &[
            "run",
            "--rpc-url",
            devnet.endpoint().as_str(),
            "--duration",
            "1s",
            "--db",
            "db/ok.db",
            "--allow-store-loss",
        ],
    );
    assert_eq!(allowed.code, Some(0), "{allowed:?}");
    assert!(files_in(&dir.path().join("db")).contains(&"ok.db".to_owned()));
}
