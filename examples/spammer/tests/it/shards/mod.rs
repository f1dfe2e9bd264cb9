//! One run over several `spammer` processes (shards) sharing one anvil and the local
//! PostgreSQL (`DATABASE_URL`): the merged report is exact, a lost shard is shown, a shard
//! with other settings is refused, a late shard drops what it missed, and closed-loop shards
//! use disjoint senders.

mod support;

use std::{
    process::Child,
    time::{Duration, Instant},
};

use serde_json::Value;
use spam_core::Rate;
use spam_devnet::Devnet;

use self::support::{
    anvil, assert_identities, borrow, database, loadgen, merged, run_name, shards, start,
    txs_on_chain, u, wait, wait_for,
};
use crate::common::spammer;
#[test]
fn three_loadgen_shards_merge_into_one_exact_report() {
    let Some(db) = database() else { return };
    let Some(devnet) = anvil(40) else { return };
    let url = devnet.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let name = run_name("three");
    let outs = shards(
        dir.path(),
        3,
        &loadgen(
            &url,
            &db,
            &name,
            &["--rate", "300", "--duration", "10s", "--senders", "30"],
        ),
    );
    for out in &outs {
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(
            out.stderr.contains("spammer report --run"),
            "{}",
            out.stderr
        );
    }
    let report = merged(dir.path(), &db, &name);
    let open = &report["open_loop"];
    assert_identities(open);
    let offered = u(&open["offered"]);
    assert!(offered.abs_diff(3_000) <= 1, "merged offered {offered}");
    let shards = report["shards"].as_array().unwrap();
    assert_eq!(shards.len(), 3);
    for shard in shards {
        assert_eq!(shard["state"], "done", "{shard}");
        assert_eq!(shard["merged"], true);
        assert!(u(&shard["offered"]).abs_diff(1_000) <= 1, "{shard}");
    }
    // Every transaction on the chain is one of ours, and every one is counted.
    assert_eq!(u(&open["included"]), txs_on_chain(&url));
    assert_eq!(u(&report["totals"]["txs_included"]), u(&open["included"]));
    // The merged histograms' p99 (intended time to answer) against the same percentile
    // from every task row of every shard: equal within HDR precision and µs rounding.
    let merged_p99 = open["ack_ms"]["p99"].as_f64().unwrap();
    let rows_p99 = report["tasks"]["transfer_self"]["task_ms"]["p99"]
        .as_f64()
        .unwrap();
    assert!(
        (merged_p99 - rows_p99).abs() <= rows_p99 * 0.002 + 0.01,
        "merged p99 {merged_p99} ms, from rows {rows_p99} ms"
    );
    assert_eq!(
        u(&open["ack_ms"]["count"]),
        u(&report["tasks"]["transfer_self"]["task_ms"]["count"])
    );
    let html = std::fs::read_to_string(dir.path().join(&name).join("report.html")).unwrap();
    assert!(
        html.contains("id=\"shards\""),
        "the page has a shards section"
    );
}

#[test]
fn a_ramp_split_over_three_shards_offers_the_profile_second_by_second() {
    let Some(db) = database() else { return };
    let Some(devnet) = anvil(40) else { return };
    let url = devnet.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let name = run_name("ramp");
    let outs = shards(
        dir.path(),
        3,
        &loadgen(
            &url,
            &db,
            &name,
            &["--ramp", "30:240:6s", "--duration", "6s", "--senders", "30"],
        ),
    );
    for out in &outs {
        assert_eq!(out.code, Some(0), "{out:?}");
    }
    let report = merged(dir.path(), &db, &name);
    assert_identities(&report["open_loop"]);
    let rate = Rate::ramp(30.0, 240.0, Duration::from_secs(6));
    let secs = |s: u64| Duration::from_secs(s);
    let series = report["series"].as_array().unwrap();
    for s in 0..6u64 {
        let expected = rate.count_until(secs(s + 1)) - rate.count_until(secs(s));
        assert_eq!(
            u(&series[s as usize]["offered"]),
            expected,
            "second {s} of {series:#?}"
        );
    }
    assert_eq!(
        u(&report["open_loop"]["offered"]),
        rate.count_until(secs(6))
    );
}

#[test]
fn a_killed_shard_is_lost_and_the_others_are_unaffected() {
    let Some(db) = database() else { return };
    let Some(devnet) = anvil(40) else { return };
    let url = devnet.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let name = run_name("killed");
    let children: Vec<Child> = (0..3)
        .map(|i| {
            let shard = format!("{i}/3");
            start(
                dir.path(),
                &loadgen(
                    &url,
                    &db,
                    &name,
                    &[
                        "--rate",
                        "150",
                        "--duration",
                        "10s",
                        "--senders",
                        "30",
                        "--shard",
                        &shard,
                    ],
                ),
                &format!("shard{i}"),
            )
        })
        .collect();
    // Shard 2 dies a few seconds into the run (its "loadgen:" line comes at the start).
    let mut children = children.into_iter();
    let (a, b, mut killed) = (
        children.next().unwrap(),
        children.next().unwrap(),
        children.next().unwrap(),
    );
    wait_for(dir.path(), "shard2.err", "loadgen:");
    std::thread::sleep(Duration::from_secs(5));
    killed.kill().unwrap();
    killed.wait().unwrap();
    let killed_at = Instant::now();
    assert_eq!(wait(a, Duration::from_secs(90)), Some(0));
    assert_eq!(wait(b, Duration::from_secs(90)), Some(0));
    // Lost once silent for 10 s.
    std::thread::sleep((Duration::from_secs(11)).saturating_sub(killed_at.elapsed()));
    let report = merged(dir.path(), &db, &name);
    let shards = report["shards"].as_array().unwrap();
    assert_eq!(shards.len(), 3);
    for shard in &shards[..2] {
        assert_eq!(shard["state"], "done", "{shard}");
        assert_eq!(u(&shard["offered"]), 500, "{shard}");
    }
    let lost = &shards[2];
    assert_eq!(lost["state"], "lost", "{lost}");
    assert_eq!(lost["merged"], false);
    let offered = u(&lost["offered"]);
    assert!((1..500).contains(&offered), "kept up to the kill: {lost}");
    assert!(u(&lost["sent"]) > 0, "{lost}");
    assert_eq!(u(&lost["unreported"]), 500 - offered, "{lost}");
    // The totals add up over the shards that reported.
    let open = &report["open_loop"];
    assert_identities(open);
    assert_eq!(u(&open["offered"]), 1_000);
    let text = spammer(dir.path(), &["report", "--run", &name, "--db", &db]).stdout;
    assert!(text.contains("ticks never reported"), "{text}");
}

#[test]
fn a_shard_with_other_settings_is_refused_and_a_late_one_drops_what_it_missed() {
    let Some(db) = database() else { return };
    let Some(devnet) = anvil(20) else { return };
    let url = devnet.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let name = run_name("late");
    let args = |rate: &'static str, shard: &'static str| {
        vec![
            "loadgen".to_owned(),
            "--rpc-url".into(),
            url.clone(),
            "--rate".into(),
            rate.into(),
            "--duration".into(),
            "8s".into(),
            "--senders".into(),
            "10".into(),
            "--db".into(),
            db.clone(),
            "--run-id".into(),
            name.clone(),
            "--shard".into(),
            shard.into(),
            "--barrier-timeout".into(),
            "1s".into(),
            "--quiet".into(),
        ]
    };
    // Shard 0 starts alone when the barrier times out.
    let first = start(dir.path(), &borrow(&args("100", "0/2")), "first");
    wait_for(dir.path(), "first.err", "loadgen:");
    // Another rate: refused before anything is sent.
    let refused = spammer(dir.path(), &borrow(&args("200", "1/2")));
    assert_eq!(refused.code, Some(2), "{refused:?}");
    assert!(
        refused.stderr.contains("`rate` differs"),
        "{}",
        refused.stderr
    );
    // The right settings, seconds after the start: the ticks it missed are dropped.
    std::thread::sleep(Duration::from_secs(6));
    let late = spammer(
        dir.path(),
        &[borrow(&args("100", "1/2")), vec!["--report-dir", "late"]].concat(),
    );
    assert_eq!(late.code, Some(0), "{late:?}");
    assert_eq!(wait(first, Duration::from_secs(90)), Some(0));
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("late/report.json")).unwrap(),
    )
    .unwrap();
    let open = &report["open_loop"];
    assert_identities(open);
    let missed = u(&open["dropped_by_reason"]["shard late"]);
    assert_eq!(
        u(&open["offered"]),
        400,
        "its whole part is offered: {open:#}"
    );
    let merged = merged(dir.path(), &db, &name);
    let late_ms = u(&merged["shards"][1]["late_ms"]);
    // 50 tx/s for as long as it was late (its first ticks are signed a lookahead ahead).
    assert!(
        late_ms >= 1_000 && missed >= 40,
        "{late_ms} ms late, {open:#}"
    );
    assert!(
        missed.abs_diff(late_ms / 20) <= 30,
        "{missed} missed for {late_ms} ms late"
    );
}

#[test]
fn two_closed_loop_shards_use_disjoint_senders() {
    let Some(db) = database() else { return };
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(10)) else {
        return;
    };
    let url = devnet.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let name = run_name("closed");
    let outs = shards(
        dir.path(),
        2,
        &[
            "run",
            "--rpc-url",
            &url,
            "--workers",
            "4",
            "--senders",
            "4",
            "--duration",
            "4s",
            "--tasks",
            "transfer_self",
            "--db",
            &db,
            "--run-id",
            &name,
            "--quiet",
        ],
    );
    for out in &outs {
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(out.stdout.contains("errors: none"), "{}", out.stdout);
    }
    let report = merged(dir.path(), &db, &name);
    assert_eq!(report["errors"].as_object().unwrap().len(), 0, "{report:#}");
    let closed = &report["closed_loop"];
    assert!(u(&closed["sent"]) > 0);
    assert_eq!(u(&closed["refused"]), 0, "{closed:#}");
    assert_eq!(u(&closed["included"]), u(&closed["accepted"]), "{closed:#}");
    assert_eq!(u(&closed["included"]), txs_on_chain(&url));
    let shards = report["shards"].as_array().unwrap();
    assert!(shards.iter().all(|s| s["state"] == "done"), "{shards:#?}");
}

#[test]
fn an_indexed_job_needs_no_shard_flag_and_bad_shards_are_refused_first() {
    let Some(db) = database() else { return };
    let Some(devnet) = anvil(4) else { return };
    let url = devnet.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let name = run_name("indexed");
    let args = [
        "loadgen",
        "--rpc-url",
        &url,
        "--rate",
        "20",
        "--duration",
        "2s",
        "--senders",
        "2",
        "--db",
        &db,
        "--quiet",
    ];
    // What Kubernetes sets in a pod of an Indexed Job, plus the two variables of the recipe.
    let out = crate::common::spammer_env(
        dir.path(),
        &args,
        &[
            ("SPAM_RUN_ID", name.as_str()),
            ("JOB_COMPLETION_INDEX", "0"),
            ("SPAM_SHARD_COUNT", "1"),
        ],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stderr.contains(&format!("{name} shard 0/1")),
        "{}",
        out.stderr
    );
    let report = merged(dir.path(), &db, &name);
    assert_eq!(u(&report["open_loop"]["offered"]), 40);
    assert_eq!(report["shards"][0]["state"], "done");
    // The same name again: that shard already ran.
    let again = crate::common::spammer_env(
        dir.path(),
        &[args.as_slice(), &["--run-id", &name, "--shard", "0/1"]].concat(),
        &[],
    );
    assert_eq!(again.code, Some(2), "{again:?}");
    assert!(
        again.stderr.contains("already finished"),
        "{}",
        again.stderr
    );

    // Refused before anything starts (exit 2, no run registered).
    for (extra, env, says) in [
        (
            vec!["--run-id", "bad name", "--shard", "0/2"],
            vec![],
            "invalid run id",
        ),
        (
            vec!["--run-id", "x1", "--shard", "2/2"],
            vec![],
            "not below the shard count",
        ),
        (
            vec!["--run-id", "x2", "--shard", "one"],
            vec![],
            "is not I/N",
        ),
        (
            vec!["--run-id", "x3"],
            vec![("JOB_COMPLETION_INDEX", "1")],
            "SPAM_SHARD_COUNT is not",
        ),
        (
            vec!["--run-id", "x4", "--shard", "0/2", "--no-db"],
            vec![],
            "drop --no-db",
        ),
    ] {
        let mut all = args.to_vec();
        all.extend(extra);
        let out = crate::common::spammer_env(dir.path(), &all, &env);
        assert_eq!(out.code, Some(2), "{out:?}");
        assert!(out.stderr.contains(says), "{says}: {}", out.stderr);
    }
    let out = spammer(dir.path(), &["report", "--run", "x1", "--db", &db]);
    assert_eq!(out.code, Some(2), "no run x1 was registered: {out:?}");
}
