//! `--config FILE` through the real binary: mistakes in the file (exit 2, one `error:` line
//! naming the file, nothing written), which of file, variable and flag wins, the example file,
//! and a run set up by a file alone.

use std::{net::TcpListener, path::Path};

use serde_json::Value;
use spam_devnet::Devnet;

use crate::common::{files_in, spammer, spammer_env};

/// A loopback URL nothing listens on.
fn dead_url() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

/// Runs `args` in a folder holding only `spammer.toml` (= `toml`) and checks: exit 2, each of
/// `expected` in the one `error:` line, and nothing written beside the file.
fn refused_env(toml: &str, args: &[&str], env: &[(&str, &str)], expected: &[&str]) {
    refused_code(2, toml, args, env, expected);
}

/// [`refused_env`] with exit code `code` (3: the node did not answer).
fn refused_code(code: i32, toml: &str, args: &[&str], env: &[(&str, &str)], expected: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spammer.toml"), toml).unwrap();
    let out = spammer_env(dir.path(), args, env);
    assert_eq!(out.code, Some(code), "{args:?}: {out:?}");
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "one message: {}", out.stderr);
    for part in expected {
        assert!(errors[0].contains(part), "{part:?} in {}", errors[0]);
    }
    assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
    assert_eq!(
        files_in(dir.path()),
        ["spammer.toml"],
        "{toml}: nothing written"
    );
}

fn refused(toml: &str, command: &str, expected: &[&str]) {
    refused_env(toml, &[command, "--config", "spammer.toml"], &[], expected);
}

#[test]
fn an_unreadable_or_malformed_file() {
    refused_env(
        "",
        &["loadgen", "--config", "missing.toml"],
        &[],
        &["--config missing.toml: cannot read it"],
    );
    refused_env(
        "",
        &["run"],
        &[("SPAM_CONFIG", "nope/x.toml")],
        &["--config nope/x.toml: cannot read it"],
    );
    refused(
        "[loadgen]\nrate = 10\nsenders 4\n",
        "loadgen",
        &["spammer.toml:3:", "not valid TOML"],
    );
    refused(
        "[loadgen]\nrate = 1\nrate = 2\n",
        "loadgen",
        &["spammer.toml:3:1: not valid TOML", "duplicate key"],
    );
}

#[test]
fn unknown_keys_name_the_closest_valid_one() {
    refused(
        "[loadgen]\nrpc_ur = \"http://127.0.0.1:8545\"\n",
        "loadgen",
        &["spammer.toml:2:1: unknown key `rpc_ur` in [loadgen]; did you mean `rpc_url`?"],
    );
    refused(
        "durration = \"5s\"\n",
        "run",
        &["spammer.toml:1:1: unknown key `durration` in the top level; did you mean `duration`?"],
    );
    refused(
        "[run]\nworkers = 4\n\n[loadgen]\nworkers = 4\n",
        "run",
        &["spammer.toml:5:1: unknown key `workers` in [loadgen]; it belongs in [run]"],
    );
    refused(
        "[spam]\nrate = 1\n",
        "loadgen",
        &["unknown key `spam` in the top level", "valid keys: rpc_url"],
    );
}

#[test]
fn wrong_types_name_line_and_column() {
    refused(
        "[run]\nworkers = \"four\"\n",
        "run",
        &["spammer.toml:2:11: `workers` in [run] must be a whole number, not a string"],
    );
    refused(
        "[loadgen]\nduration = 30\n",
        "loadgen",
        &["spammer.toml:2:12: `duration` in [loadgen] must be a duration string like \"30s\""],
    );
    refused(
        "quiet = \"yes\"\n",
        "loadgen",
        &["spammer.toml:1:9: `quiet` in the top level must be true or false, not a string"],
    );
    refused(
        "run = 3\n",
        "run",
        &["`run` must be a table ([run]), not an integer"],
    );
}

#[test]
fn values_get_the_flags_checks() {
    refused(
        "[run]\nworkers = 0\n",
        "run",
        &[
            "spammer.toml:2:11: `workers` in [run]",
            "from 1 to 100000, got `0`",
        ],
    );
    refused(
        "[loadgen]\nrate = -5\n",
        "loadgen",
        &[
            "spammer.toml:2:8: `rate` in [loadgen]",
            "above 0 tx/s, got `-5`",
        ],
    );
    refused(
        "rpc_url = \"not a url\"\n",
        "loadgen",
        &["spammer.toml:1:11: `rpc_url` in the top level", "not a URL"],
    );
    refused(
        "[loadgen]\nramp = \"10:100\"\n",
        "loadgen",
        &["`ramp` in [loadgen]", "FROM:TO:DUR"],
    );
    refused(
        "[loadgen]\ntx = \"teleport\"\n",
        "loadgen",
        &[
            "`tx` in [loadgen]",
            "`teleport` is not one of transfer_self",
        ],
    );
    refused(
        "min_success = 1.5\n",
        "run",
        &["`min_success` in the top level", "from 0 to 1"],
    );
    refused(
        "[loadgen]\nrate = 100\nramp = \"1:2:3s\"\n",
        "loadgen",
        &["spammer.toml:3:8: `rate` and `ramp` in [loadgen] cannot both be set"],
    );
}

#[test]
fn breaker_keys_get_the_flags_checks() {
    refused(
        "[loadgen]\nbreaker_failure_rate = 2\n",
        "loadgen",
        &[
            "spammer.toml:2:24: `breaker_failure_rate` in [loadgen]",
            "from 0 to 1, got `2`",
        ],
    );
    refused(
        "[run]\nbreaker_min_calls = 0\n",
        "run",
        &["`breaker_min_calls` in [run]", "from 1 to"],
    );
    refused(
        "breaker_window = \"0s\"\n",
        "run",
        &["`breaker_window` in the top level", "longer than zero"],
    );
    refused(
        "[loadgen]\nrecovery_rate = -3\n",
        "loadgen",
        &["`recovery_rate` in [loadgen]", "0 or more tx/s"],
    );
    refused(
        "breaker_window = 10\n",
        "loadgen",
        &["`breaker_window` in the top level must be a duration string"],
    );
    // the file's `no_breaker` with another breaker key, from the file or a flag
    refused(
        "no_breaker = true\n[run]\nbreaker_min_calls = 50\n",
        "run",
        &["--no-breaker cannot be used with --breaker-min-calls"],
    );
    refused_env(
        "[loadgen]\nno_breaker = true\n",
        &[
            "loadgen",
            "--config",
            "spammer.toml",
            "--breaker-failure-rate",
            "0.2",
        ],
        &[],
        &["--no-breaker cannot be used with --breaker-failure-rate"],
    );
}

/// The node a run would use, read from the "unreachable" message (nothing listens there).
fn unreachable_in(toml: &str, args: &[&str], env: &[(&str, &str)], url: &str) {
    let mut all = vec!["loadgen", "--config", "spammer.toml"];
    all.extend(args);
    refused_code(
        3,
        toml,
        &all,
        env,
        &[&format!("--rpc-url {url}/ is unreachable")],
    );
}

#[test]
fn flag_beats_variable_beats_file() {
    let (file, env, flag) = (dead_url(), dead_url(), dead_url());
    let toml = format!("rpc_url = \"{file}\"\n[loadgen]\nduration = \"1s\"\n");
    unreachable_in(&toml, &[], &[], &file);
    unreachable_in(&toml, &[], &[("SPAM_RPC_URL", &env)], &env);
    unreachable_in(
        &toml,
        &["--rpc-url", &flag],
        &[("SPAM_RPC_URL", &env)],
        &flag,
    );
    // A section's value beats the top level's.
    let toml = format!("rpc_url = \"{file}\"\n[loadgen]\nrpc_url = \"{env}\"\n");
    unreachable_in(&toml, &[], &[], &env);
}

/// The example file parses for both commands and names every flag of both.
#[test]
fn the_example_file_holds_every_flag() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("spammer.example.toml");
    let text = std::fs::read_to_string(&example).unwrap();
    for command in ["run", "loadgen"] {
        let dir = tempfile::tempdir().unwrap();
        let url = dead_url();
        let out = spammer(
            dir.path(),
            &[
                command,
                "--config",
                example.to_str().unwrap(),
                "--rpc-url",
                &url,
            ],
        );
        assert_eq!(out.code, Some(3), "{out:?}");
        assert!(
            out.stderr.contains(&format!("{url}/ is unreachable")),
            "the file is accepted: {}",
            out.stderr
        );
        let help = spammer(dir.path(), &[command, "--help"]);
        // Flag lines start with `-`; descriptions may mention flags too.
        for line in help
            .stdout
            .lines()
            .filter(|l| l.trim_start().starts_with('-'))
        {
            let Some(flag) = line
                .trim_start()
                .split([' ', ','])
                .find(|w| w.starts_with("--"))
            else {
                continue;
            };
            let key = flag.trim_start_matches("--").replace('-', "_");
            if ["help", "config"].contains(&key.as_str()) {
                continue;
            }
            assert!(
                text.contains(&format!("\n{key} = ")) || text.contains(&format!("\n# {key} = ")),
                "`{key}` of {command} is missing from spammer.example.toml"
            );
        }
    }
}

#[test]
fn a_file_alone_sets_up_a_loadgen_run() {
    if spam_devnet::for_test(Devnet::builder()).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("load.toml"),
        "no_db = true\nreport_dir = \"out\"\nquiet = true\n\n[loadgen]\nramp = \"20:40:2s\"\n\
         duration = \"2s\"\nsenders = 4\ngrace = \"20s\"\nmin_success = 0.9\n",
    )
    .unwrap();
    let out = spammer_env(dir.path(), &["loadgen"], &[("SPAM_CONFIG", "load.toml")]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("thresholds: passed"), "{}", out.stdout);
    assert_eq!(
        files_in(dir.path()),
        ["load.toml", "out"],
        "no_db from the file"
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/report.json")).unwrap())
            .unwrap();
    let rate = &report["open_loop"]["rate"];
    assert_eq!(rate["kind"], "ramp", "{rate:#}");
    assert_eq!(
        (rate["from"].as_f64(), rate["to"].as_f64()),
        (Some(20.0), Some(40.0))
    );
    assert_eq!(rate["over"], 2000, "{rate:#}");
    assert_eq!(
        report["open_loop"]["sent"].as_u64().map(|s| s > 0),
        Some(true)
    );
}
