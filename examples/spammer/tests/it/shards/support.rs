//! Helpers of the shard tests: the database, shard processes, merged reports, the chain.

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;
use spam_devnet::Devnet;

use crate::common::{Out, spammer};
/// The PostgreSQL the shards meet in; `None` (skip) without `DATABASE_URL` outside CI.
pub(super) fn database() -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("DATABASE_URL is required under CI=true")
        }
        _ => {
            eprintln!("SKIPPED: DATABASE_URL is not set");
            None
        }
    }
}

/// A run name no other test (or earlier run of this one) uses.
pub(super) fn run_name(tag: &str) -> String {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros();
    format!("{tag}-{}-{}", std::process::id(), micros % 1_000_000_000)
}

/// The shards of one run, each `spammer ARGS --shard i/n`, at once; their outputs in order.
pub(super) fn shards(dir: &Path, n: u32, args: &[&str]) -> Vec<Out> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                scope.spawn(move || {
                    let shard = format!("{i}/{n}");
                    let mut args: Vec<&str> = args.to_vec();
                    args.extend(["--shard", &shard]);
                    spammer(dir, &args)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// `spammer loadgen` against `url`, stored in `db` as run `name`, with `load` (profile,
/// duration, senders, shard).
pub(super) fn loadgen<'a>(
    url: &'a str,
    db: &'a str,
    name: &'a str,
    load: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "loadgen",
        "--rpc-url",
        url,
        "--db",
        db,
        "--run-id",
        name,
        "--quiet",
    ];
    args.extend_from_slice(load);
    args
}

/// `spammer report --run NAME` as JSON.
pub(super) fn merged(dir: &Path, db: &str, name: &str) -> Value {
    let out = spammer(
        dir,
        &["report", "--run", name, "--db", db, "--report-dir", name],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let text = std::fs::read_to_string(dir.join(name).join("report.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub(super) fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("{v} is not a count"))
}

/// Every identity of the open-loop accounting.
pub(super) fn assert_identities(open: &Value) {
    let dropped: u64 = open["dropped_by_reason"]
        .as_object()
        .unwrap()
        .values()
        .map(u)
        .sum();
    assert_eq!(u(&open["dropped"]), dropped, "{open:#}");
    assert_eq!(
        u(&open["offered"]),
        u(&open["dropped"]) + u(&open["sent"]),
        "{open:#}"
    );
    assert_eq!(
        u(&open["sent"]),
        u(&open["accepted"]) + u(&open["rejected"]) + u(&open["unanswered"]),
        "{open:#}"
    );
    assert_eq!(
        u(&open["accepted"]) + u(&open["unanswered"]),
        u(&open["included"])
            + u(&open["pending_at_end"])
            + u(&open["superseded"])
            + u(&open["duplicates"]),
        "{open:#}"
    );
}

/// Transactions in every block of the chain (the tests' anvils carry nothing else).
pub(super) fn txs_on_chain(url: &str) -> u64 {
    let cast = spam_devnet::cast_for_test().expect("cast");
    let cast = |args: &[&str]| {
        let out = Command::new(&cast).args(args).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let head: u64 = cast(&["block-number", "--rpc-url", url])
        .trim()
        .parse()
        .unwrap();
    (0..=head)
        .map(|n| {
            let block: Value = serde_json::from_str(&cast(&[
                "block",
                &n.to_string(),
                "--json",
                "--rpc-url",
                url,
            ]))
            .unwrap();
            block["transactions"].as_array().unwrap().len() as u64
        })
        .sum()
}

pub(super) fn anvil(accounts: u32) -> Option<spam_devnet::Devnet> {
    spam_devnet::for_test(
        Devnet::builder()
            .accounts(accounts)
            .block_time(1.0)
            .arg("--gas-limit")
            .arg("1000000000"),
    )
}

pub(super) fn borrow(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// `spammer ARGS` started in `dir`, output to files there.
pub(super) fn start(dir: &Path, args: &[&str], tag: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_spammer"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::from(
            std::fs::File::create(dir.join(format!("{tag}.out"))).unwrap(),
        ))
        .stderr(Stdio::from(
            std::fs::File::create(dir.join(format!("{tag}.err"))).unwrap(),
        ))
        .spawn()
        .unwrap()
}

pub(super) fn wait(mut child: Child, within: Duration) -> Option<i32> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if Instant::now() > deadline {
            child.kill().ok();
            panic!("a shard did not end within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until `file` in `dir` contains `text`.
pub(super) fn wait_for(dir: &Path, file: &str, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(dir.join(file)).is_ok_and(|s| s.contains(text)) {
        assert!(Instant::now() < deadline, "{file} never said {text:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
