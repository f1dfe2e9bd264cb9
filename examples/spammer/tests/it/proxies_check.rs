//! `spammer proxies check` through the real binary: a live tinyproxy and a dead port, only
//! dead ports, and a list with a bad line.

use std::{
    io::Write,
    process::{Command, Output},
};

use spam_devnet::Devnet;
use spam_proxy::testing::{TinyProxy, dead_port};

const PASS: &str = "s3cret-pw";

fn list(lines: &[String]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "# proxies for the test").unwrap();
    for line in lines {
        writeln!(file, "{line}").unwrap();
    }
    file
}

/// Runs `spammer proxies check FILE [args]`; the checks have a 5 s deadline, so it ends.
fn check(file: &tempfile::NamedTempFile, args: &[&str]) -> (Option<i32>, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_spammer"))
        .args(["proxies", "check"])
        .arg(file.path())
        .args(["--timeout", "5s"])
        .args(args)
        .env_remove("SPAM_RPC_URL")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    );
    println!("{stdout}{stderr}");
    (status.code(), stdout, stderr)
}

#[test]
fn one_live_and_one_dead_proxy_exit_0_with_a_table() {
    let Some(http) = TinyProxy::for_test("spam", PASS) else {
        return;
    };
    let Some(devnet) = spam_devnet::for_test(Devnet::builder()) else {
        return;
    };
    let dead = dead_port();
    // `ProxyUrl`'s Display redacts, so spell the credentials out for the file.
    let live = format!("http://spam:{PASS}@127.0.0.1:{}", http.port());
    let file = list(&[live, format!("socks5h://spam:{PASS}@127.0.0.1:{dead}")]);

    let (code, stdout, _) = check(&file, &["--rpc-url", &devnet.endpoint()]);
    assert_eq!(code, Some(0));
    let rows: Vec<&str> = stdout.lines().collect();
    assert!(
        rows[0].starts_with('#') && rows[0].contains("status"),
        "{stdout}"
    );
    assert!(
        rows[1].starts_with(&format!("#0  http://***:***@127.0.0.1:{} ", http.port())),
        "{stdout}"
    );
    let status_at = rows[0].find("status").unwrap();
    let latency_at = rows[0].find("latency").unwrap();
    assert!(rows[1][status_at..].starts_with("ok "), "{stdout}");
    assert!(rows[1][latency_at..].contains("ms"), "{stdout}");
    assert!(
        rows[2].starts_with(&format!("#1  socks5h://***:***@127.0.0.1:{dead} ")),
        "{stdout}"
    );
    assert!(rows[2][status_at..].starts_with("connect "), "{stdout}");
    assert!(stdout.contains("1 of 2 healthy"), "{stdout}");
    assert!(!stdout.contains(PASS), "{stdout}");
}

#[test]
fn only_dead_proxies_exit_1_and_without_rpc_url_an_anvil_is_started() {
    // The binary starts its own anvil: only check here that one can be found.
    if spam_devnet::for_test(Devnet::builder()).is_none() {
        return;
    }
    let file = list(&[
        format!("http://127.0.0.1:{}", dead_port()),
        format!("socks5://u:{PASS}@127.0.0.1:{}", dead_port()),
    ]);
    let (code, stdout, stderr) = check(&file, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("started anvil at http://"), "{stderr}");
    assert!(
        !stderr.contains("proxy banned"),
        "the table says it: {stderr}"
    );
    assert_eq!(
        stdout.lines().filter(|l| l.contains(" connect ")).count(),
        2,
        "{stdout}"
    );
    assert!(stdout.contains("0 of 2 healthy"), "{stdout}");
    assert!(!stdout.contains(PASS) && !stderr.contains(PASS));
}

#[test]
fn a_bad_line_exits_2_naming_it() {
    let file = list(&[
        format!("http://127.0.0.1:{}", dead_port()),
        String::new(),
        format!("http://user:{PASS}@127.0.0.1"),
    ]);
    let (code, stdout, stderr) = check(&file, &["--rpc-url", "http://127.0.0.1:1"]);
    assert_eq!(code, Some(2));
    assert!(stdout.is_empty(), "{stdout}");
    // line 1 is the comment, 2 the dead proxy, 3 blank, 4 the bad one
    assert!(stderr.contains("line 4: invalid proxy"), "{stderr}");
    assert!(stderr.contains("missing port"), "{stderr}");
    assert!(!stderr.contains(PASS), "{stderr}");

    let (code, _, stderr) = check(
        &list(&[]),
        &["--rpc-url", "http://127.0.0.1:1", "--no-such-flag"],
    );
    assert_eq!(code, Some(2), "clap's usage error: {stderr}");
    let missing = std::env::temp_dir().join("spam-no-such-proxy-list.txt");
    let output = Command::new(env!("CARGO_BIN_EXE_spammer"))
        .args(["proxies", "check"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("cannot read proxy list"),
        "{output:?}"
    );
}
