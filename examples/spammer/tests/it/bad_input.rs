//! Bad input through the real binary: one clear message, exit code 2, nothing written (no
//! `spammer.db`, no report folder). Only the last case needs a node: an anvil serving a public
//! mainnet's chain id.

use std::net::TcpListener;

use crate::common::{files_in, spammer_env};

/// A loopback URL nothing listens on.
fn dead_url() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

/// Runs `args` in an empty folder (with `env`) and checks: exit 2, `expected` in the message
/// (each part), a single `error:` line, and the folder still empty.
fn refused_env(args: &[&str], env: &[(&str, &str)], expected: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    refused_in(dir.path(), args, env, expected);
}

/// [`refused_env`] in `dir`, which may hold files: they are all that is there afterwards.
fn refused_in(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)], expected: &[&str]) {
    refused_with(dir, 2, args, env, expected);
}

/// A node that does not answer: exit code 3, nothing written.
fn unreachable_env(args: &[&str], env: &[(&str, &str)], expected: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    refused_with(dir.path(), 3, args, env, expected);
}

/// [`refused_in`] with exit code `code`.
fn refused_with(
    dir: &std::path::Path,
    code: i32,
    args: &[&str],
    env: &[(&str, &str)],
    expected: &[&str],
) {
    let before = files_in(dir);
    let out = spammer_env(dir, args, env);
    assert_eq!(out.code, Some(code), "{args:?}: {out:?}");
    for part in expected {
        assert!(
            out.stderr.contains(part),
            "{args:?}: {part:?} in {}",
            out.stderr
        );
    }
    assert_eq!(
        out.stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .count(),
        1,
        "one message: {}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
    assert_eq!(files_in(dir), before, "{args:?} left files behind");
}

fn refused(args: &[&str], expected: &[&str]) {
    refused_env(args, &[], expected);
}

#[test]
fn rates_that_cannot_be_paced() {
    refused(&["loadgen", "--rate", "0"], &["--rate", "above 0 tx/s"]);
    refused(
        &["loadgen", "--rate", "-5"],
        &["--rate", "above 0 tx/s", "`-5`"],
    );
    refused(&["loadgen", "--rate", "fast"], &["not a rate"]);
    refused(&["loadgen", "--ramp", "10:100"], &["--ramp", "FROM:TO:DUR"]);
    refused(&["loadgen", "--ramp", "10:100:soon"], &["not a duration"]);
    refused(&["loadgen", "--ramp", "-1:100:5s"], &["0 or more tx/s"]);
    refused(
        &["loadgen", "--steps", "100:10s,300"],
        &["--steps", "TPS:DUR"],
    );
    refused(
        &["loadgen", "--spike", "10:100:20s:10s"],
        &["--spike", "must not be longer"],
    );
    refused(
        &["loadgen", "--rate", "10", "--ramp", "1:2:3s"],
        &["cannot be used with"],
    );
    refused(
        &["loadgen", "--duration", "0s"],
        &["--duration", "longer than zero"],
    );
}

#[test]
fn numbers_out_of_range_name_the_flag_and_the_range() {
    refused(
        &["loadgen", "--rate", "1e12", "--duration", "2s"],
        &["--rate", "at most 1000000 tx/s", "`1e12`"],
    );
    refused(
        &["loadgen", "--ramp", "0:5e6:10s"],
        &["--ramp", "at most 1000000 tx/s"],
    );
    for command in ["run", "loadgen"] {
        refused(
            &[command, "--duration", "1000000000h"],
            &["--duration", "at most 30d"],
        );
        refused(&[command, "--duration", "-5s"], &["--duration", "negative"]);
        refused(&[command, "--grace", "-1s"], &["--grace", "negative"]);
        refused(&[command, "--seed", "-1"], &["--seed", "from 0 to", "`-1`"]);
        refused(
            &[command, "--max-errors", "-3"],
            &["--max-errors", "from 0 to"],
        );
    }
    refused(
        &["run", "--workers", "4294967295"],
        &["--workers", "from 1 to 100000"],
    );
    refused(
        &["run", "--workers", "-1"],
        &["--workers", "from 1 to 100000", "`-1`"],
    );
    refused(
        &["run", "--senders", "2000000"],
        &["--senders", "from 1 to 1000000"],
    );
    refused(
        &["loadgen", "--connections", "0"],
        &["--connections", "from 1 to 1024"],
    );
    refused(
        &["loadgen", "--max-in-flight-per-wallet", "-2"],
        &["--max-in-flight-per-wallet", "from 1 to"],
    );
    refused(
        &["task", "transfer_self", "--wallet-index", "2147483648"],
        &["--wallet-index", "from 0 to 2147483647"],
    );
}

#[test]
fn a_report_dir_that_cannot_be_a_writable_folder_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("afile"), b"").unwrap();
    for command in ["run", "loadgen"] {
        refused_in(
            dir.path(),
            &[command, "--report-dir", "afile/sub", "--duration", "1s"],
            &[],
            &["--report-dir afile/sub", "afile is a file, not a folder"],
        );
        refused_in(
            dir.path(),
            &[command, "--report-dir", "afile"],
            &[],
            &["--report-dir afile", "not a folder"],
        );
    }
}

#[test]
fn unknown_names_list_the_valid_ones() {
    refused(
        &["loadgen", "--tx", "erc721_transfer"],
        &[
            "'erc721_transfer' for '--tx",
            "transfer_self",
            "large_calldata",
            "erc20_deploy",
        ],
    );
    refused(
        &["loadgen", "--el", "nethermind"],
        &[
            "unknown execution layer",
            "anvil",
            "op-reth",
            "gravity-reth",
        ],
    );
    refused(
        &[
            "run",
            "--tasks",
            "transfer_self=1,teleport=2",
            "--rpc-url",
            &dead_url(),
        ],
        &["teleport"],
    );
}

#[test]
fn malformed_urls_and_counts() {
    refused(
        &["loadgen", "--rpc-url", "not a url"],
        &["--rpc-url", "not a URL"],
    );
    refused(
        &["loadgen", "--send-url", "ws://127.0.0.1:8546"],
        &["--send-url", "http or https"],
    );
    refused(
        &["loadgen", "--ws-url", "http://127.0.0.1:8545"],
        &["--ws-url", "ws or wss"],
    );
    refused(&["run", "--rpc-url", "127.0.0.1:8545"], &["--rpc-url"]);
    refused(&["loadgen", "--senders", "0"], &["--senders", "from 1 to"]);
    refused(&["run", "--workers", "0"], &["--workers", "from 1 to"]);
    refused(&["loadgen", "--batch", "0"], &["--batch", "from 1 to"]);
    refused(
        &["loadgen", "--min-success", "1.5"],
        &["--min-success", "from 0 to 1"],
    );
    refused(&["run", "--max-drop-rate", "-0.1"], &["--max-drop-rate"]);
    refused(
        &["loadgen", "--max-p99", "soon"],
        &["--max-p99", "not a duration"],
    );
}

#[test]
fn breaker_settings_out_of_range() {
    for command in ["loadgen", "run"] {
        refused(
            &[command, "--breaker-failure-rate", "1.5"],
            &["--breaker-failure-rate", "from 0 to 1", "`1.5`"],
        );
        refused(
            &[command, "--breaker-failure-rate", "-0.1"],
            &["--breaker-failure-rate", "from 0 to 1"],
        );
        refused(
            &[command, "--breaker-min-calls", "0"],
            &["--breaker-min-calls", "from 1 to"],
        );
        refused(
            &[command, "--breaker-window", "0s"],
            &["--breaker-window", "longer than zero"],
        );
        refused(
            &[command, "--breaker-window", "400days"],
            &["--breaker-window", "at most a year"],
        );
        refused(
            &[command, "--recovery-rate", "-1"],
            &["--recovery-rate", "0 or more tx/s"],
        );
        // checked before anything starts: no node is needed to refuse it
        refused(
            &[command, "--no-breaker", "--breaker-window", "5s"],
            &["--no-breaker cannot be used with --breaker-window"],
        );
        refused(
            &[command, "--no-breaker", "--recovery-rate", "5"],
            &["--no-breaker cannot be used with --recovery-rate"],
        );
    }
}

#[test]
fn an_unreachable_node_is_named() {
    let url = dead_url();
    // Exit code 3, apart from bad input: the settings may be right and the node down.
    for command in ["loadgen", "run"] {
        unreachable_env(
            &[command, "--rpc-url", &url, "--report-dir", "out"],
            &[],
            &[
                &format!("--rpc-url {url}/ is unreachable"),
                "Connection refused",
            ],
        );
    }
    // The same through the environment.
    unreachable_env(
        &["loadgen"],
        &[("SPAM_RPC_URL", &url)],
        &[&format!("--rpc-url {url}/ is unreachable")],
    );
    refused_env(&["loadgen"], &[("SPAM_RPC_URL", "nope")], &["not a URL"]);
}

/// `DATABASE_URL` with its database (the path) replaced by `database`.
fn postgres_with_database(database: &str) -> Option<String> {
    let url = std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    let base = url.split('?').next()?.rsplit_once('/')?.0.to_owned();
    Some(format!("{base}/{database}"))
}

#[test]
fn a_store_that_cannot_be_reached_or_written_is_refused_before_the_run() {
    let Some(devnet) = spam_devnet::for_test(spam_devnet::Devnet::builder().accounts(2)) else {
        return;
    };
    let url = devnet.endpoint();
    let dead = dead_url().replace("http://", "postgres://postgres@") + "/test";
    let port = dead.rsplit(':').next().unwrap().split('/').next().unwrap();
    for command in ["run", "loadgen"] {
        let run = |db: &str| {
            vec![
                command,
                "--rpc-url",
                url.as_str(),
                "--duration",
                "1s",
                "--db",
            ]
            .into_iter()
            .chain([db])
            .map(str::to_owned)
            .collect::<Vec<_>>()
        };
        let args = run(&dead);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        refused(&args, &[&format!("127.0.0.1:{port}"), "connection refused"]);
        if let Some(missing) = postgres_with_database("spam_no_such_database") {
            let args = run(&missing);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            refused(&args, &["spam_no_such_database", "no such database"]);
        }
        // A database the process may read but not write: every record would be lost.
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            spam_store::SqlStore::sqlite(dir.path().join("ro.db"))
                .await
                .unwrap()
                .close()
                .await;
        });
        // `mode=ro` is how SQLite opens a file it may not write (chmod does not stop root).
        let args = run("sqlite://ro.db?mode=ro");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        refused_in(
            dir.path(),
            &args,
            &[],
            &["--db ro.db: cannot write to it", "readonly"],
        );
    }
}

#[test]
fn a_send_url_that_does_not_answer_or_serves_another_chain_is_refused() {
    let Some(node) = spam_devnet::for_test(spam_devnet::Devnet::builder().accounts(2)) else {
        return;
    };
    let Some(other) = spam_devnet::for_test(
        spam_devnet::Devnet::builder()
            .accounts(2)
            .arg("--chain-id")
            .arg("999"),
    ) else {
        return;
    };
    let (url, dead) = (node.endpoint(), dead_url());
    unreachable_env(
        &["loadgen", "--rpc-url", url.as_str(), "--send-url", &dead],
        &[],
        &[
            &format!("--send-url {dead}/ is unreachable"),
            "Connection refused",
        ],
    );
    refused(
        &[
            "loadgen",
            "--rpc-url",
            url.as_str(),
            "--send-url",
            other.endpoint().as_str(),
        ],
        &["serves chain id 999", "chain id 31337"],
    );
}

#[test]
fn report_needs_an_existing_store_and_run() {
    refused(&["report", "--list"], &["--db spammer.db: no such file"]);
    refused_env(
        &["report"],
        &[("SPAM_DB", "runs/none.db")],
        &["--db runs/none.db: no such file"],
    );
    refused(
        &["report", "--list", "--run", "3"],
        &["cannot be used with"],
    );
}

#[test]
fn sender_sources_that_cannot_be_read() {
    let keys = tempfile::tempdir().unwrap();
    let bad_store = keys.path().join("store");
    std::fs::create_dir(&bad_store).unwrap();
    std::fs::write(bad_store.join("a.json"), r#"{"not":"a keystore"}"#).unwrap();
    let bad_store = bad_store.to_str().unwrap();
    // The password's variable is named, never its value.
    refused(
        &["loadgen", "--keystore-dir", bad_store],
        &["--keystore-dir", "SPAM_KEYSTORE_PASSWORD", "is not set"],
    );
    refused_env(
        &[
            "run",
            "--keystore-dir",
            bad_store,
            "--password-env",
            "MY_PW",
        ],
        &[("MY_PW", "hunter2")],
        &["a.json", "not a valid web3 secret storage file"],
    );
    let empty = keys.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    refused_env(
        &["loadgen", "--keystore-dir", empty.to_str().unwrap()],
        &[("SPAM_KEYSTORE_PASSWORD", "x")],
        &["holds no keys"],
    );
    let file = keys.path().join("keys.txt");
    std::fs::write(&file, "# senders\nzz-not-hex\n").unwrap();
    refused(
        &["run", "--keys-file", file.to_str().unwrap()],
        &["--keys-file", "keys.txt:2", "not a valid private key"],
    );
    refused(
        &["loadgen", "--keys-file", "/no/such/keys.txt"],
        &["cannot read /no/such/keys.txt"],
    );
    refused(
        &[
            "run",
            "--keys-file",
            file.to_str().unwrap(),
            "--keystore-dir",
            bad_store,
        ],
        &["--keystore-dir", "cannot be used with"],
    );
}

#[test]
fn a_mainnet_chain_id_is_refused_and_leaves_no_database() {
    let Some(devnet) = spam_devnet::for_test(
        spam_devnet::Devnet::builder()
            .accounts(2)
            .arg("--chain-id")
            .arg("1"),
    ) else {
        return;
    };
    let url = devnet.endpoint();
    for engine in ["run", "loadgen"] {
        refused(
            &[
                engine,
                "--rpc-url",
                url.as_str(),
                "--duration",
                "1s",
                "--report-dir",
                "out",
                "--db",
                "runs/spammer.db",
            ],
            &["chain id 1 is Ethereum", "--allow-mainnet"],
        );
    }
    // A database that was there before stays, with nothing of the refused run in it.
    let dir = tempfile::tempdir().unwrap();
    let out = crate::common::spammer(dir.path(), &["loadgen", "--rpc-url", url.as_str()]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );
    std::fs::write(dir.path().join("keep.db"), b"").unwrap();
    let out = crate::common::spammer(
        dir.path(),
        &["loadgen", "--rpc-url", url.as_str(), "--db", "keep.db"],
    );
    assert_eq!(out.code, Some(2), "{out:?}");
    assert_eq!(files_in(dir.path()), ["keep.db"]);
    let list = crate::common::spammer(dir.path(), &["report", "--list", "--db", "keep.db"]);
    assert!(list.stdout.contains("(no runs)"), "{list:?}");
}
