//! `--scenario` through the real binary: both engines run the example counter, and a bad file
//! is refused with its line and column before anything is written or sent.

use serde_json::Value;
use spam_devnet::Devnet;

use crate::common::{files_in, spammer};

fn example(name: &str) -> String {
    format!("{}/../scenarios/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn json(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn both_engines_run_the_counter_scenario_and_report_each_tx() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(8)) else {
        return;
    };
    let url = devnet.endpoint();
    let scenario = example("counter.toml");
    let dir = tempfile::tempdir().unwrap();
    let out = spammer(
        dir.path(),
        &[
            "run",
            "--rpc-url",
            &url,
            "--scenario",
            &scenario,
            "--workers",
            "8",
            "--senders",
            "8",
            "--duration",
            "2s",
            "--no-db",
            "--report-dir",
            "run",
        ],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stderr.contains("scenario counter: Counter at 0x"),
        "{}",
        out.stderr
    );
    let report = json(&dir.path().join("run/report.json"));
    for name in ["increment", "set", "ping"] {
        assert!(
            report["tasks"][name]["succeeded"].as_u64().unwrap() > 0,
            "{name} in {report:#}"
        );
    }
    // The same scenario and seed: the contract is found where the first run put it.
    let out = spammer(
        dir.path(),
        &[
            "loadgen",
            "--rpc-url",
            &url,
            "--scenario",
            &scenario,
            "--rate",
            "50",
            "--senders",
            "8",
            "--duration",
            "2s",
            "--db",
            "runs.db",
            "--report-dir",
            "loadgen",
        ],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stderr.contains("found (reused)"), "{}", out.stderr);
    let report = json(&dir.path().join("loadgen/report.json"));
    let o = &report["open_loop"];
    assert_eq!(o["included"], o["sent"], "{o:#}");
    for name in ["increment", "set", "ping"] {
        let included = report["tasks"][name]["txs_included"].as_u64();
        assert!(included.is_some_and(|n| n > 0), "{name} in {report:#}");
    }
    // The reused contract is recorded with the run.
    let db = dir.path().join("runs.db");
    let assets = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = spam_store::SqlStore::sqlite(&db).await.unwrap();
        spam_store::Store::assets_of_chain(&store, 31337)
            .await
            .unwrap()
    });
    assert_eq!(assets.len(), 1, "{assets:?}");
    assert_eq!(assets[0].kind, "scenario:counter/Counter");
}

#[test]
fn a_bad_scenario_is_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "name = \"bad\"\n[[tx]]\nname = \"a\"\nto = \"0x000000000000000000000000000000000000dEaD\"\nwieght = 3\n",
    )
    .unwrap();
    let before = files_in(dir.path());
    for command in ["run", "loadgen"] {
        // No --rpc-url: a file that is refused must not even start an anvil.
        let out = spammer(dir.path(), &[command, "--scenario", "bad.toml"]);
        assert_eq!(out.code, Some(2), "{out:?}");
        assert_eq!(
            out.stderr.trim(),
            "error: --scenario bad.toml:5:1: unknown key `wieght`; did you mean `weight`?"
        );
        assert!(!out.stderr.contains("started anvil"));
    }
    let out = spammer(
        dir.path(),
        &["run", "--scenario", "bad.toml", "--tasks", "transfer_self"],
    );
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("cannot be used with"), "{}", out.stderr);
    assert_eq!(files_in(dir.path()), before, "nothing written");
}
