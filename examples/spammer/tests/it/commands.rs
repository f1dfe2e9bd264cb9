//! `task`, `sequence`, `wallets` and `devnet` through the real binary; every child is killed
//! after 60 s.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use spam_devnet::Devnet;

/// How long any child may run.
const DEADLINE: Duration = Duration::from_secs(60);

/// The password tests encrypt keystores with.
const PASSWORD: &str = "correct horse battery staple";

#[derive(Debug)]
struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// `spammer ARGS` in `dir`, with `env` set and every other `SPAM_*` variable removed.
fn spammer(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut command = Command::new(env!("CARGO_BIN_EXE_spammer"));
    command.args(args).current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("SPAM_") && key != "SPAM_SKIP_ANVIL" {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
    let out = finish(command, args);
    println!("$ spammer {}\n{}{}", args.join(" "), out.stdout, out.stderr);
    out
}

/// Runs `command` to its end, killing it after [`DEADLINE`].
fn finish(mut command: Command, what: &[&str]) -> Out {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    // Read both pipes while it runs: a full pipe would stall it.
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            pipe.read_to_string(&mut text).expect("utf-8 output");
            text
        })
    };
    let stdout = read(Box::new(child.stdout.take().expect("piped")));
    let stderr = read(Box::new(child.stderr.take().expect("piped")));
    let status = wait(&mut child, what);
    Out {
        code: status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

/// Waits for `child` until [`DEADLINE`], then kills it and fails.
fn wait(child: &mut Child, what: &[&str]) -> Option<i32> {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code();
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            panic!("{what:?} did not end within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The single `error:` line of `stderr`.
fn error_line(out: &Out) -> &str {
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(lines.len(), 1, "one error line: {}", out.stderr);
    lines[0]
}

#[test]
fn tasks_lists_the_catalogue_with_its_engines() {
    let dir = tempfile::tempdir().unwrap();
    let out = spammer(dir.path(), &["tasks"], &[]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let row = |name: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} in {}", out.stdout))
            .to_string()
    };
    assert!(row("transfer_self").contains("run, loadgen --tx"));
    assert!(row("transfer_self").contains("21000"));
    assert!(row("erc20_transfer").contains("run, loadgen --tx"));
    assert!(
        row("erc721_transfer").contains(" run "),
        "two transactions: closed loop only"
    );
    assert!(
        row("blob_tx").contains("type-3"),
        "the blob feature is on by default"
    );
    assert!(out.stdout.contains("--scenario FILE"));

    // The same as JSON, for scripts.
    let out = spammer(dir.path(), &["tasks", "--json"], &[]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).expect("JSON");
    let transfer = rows
        .iter()
        .find(|r| r["name"] == "transfer_self")
        .expect("transfer_self");
    assert_eq!(transfer["gas"], 21_000);
    assert_eq!(transfer["engines"], serde_json::json!(["run", "loadgen"]));
}

#[test]
fn completions_for_each_shell() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let out = spammer(dir.path(), &["completions", shell], &[]);
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(out.stdout.contains("loadgen"), "{shell}: {}", out.stdout);
        assert!(out.stdout.contains("run-id"), "{shell}: flags complete too");
    }
    let out = spammer(dir.path(), &["completions", "tcsh"], &[]);
    assert_eq!(out.code, Some(2), "{out:?}");
}

#[test]
fn task_runs_once_and_prints_the_transaction() {
    if spam_devnet::for_test(Devnet::builder()).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = spammer(dir.path(), &["task", "transfer_self"], &[]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stderr.contains("started anvil"), "{}", out.stderr);
    assert!(out.stdout.contains("[1/1] transfer_self"), "{}", out.stdout);
    assert!(out.stdout.contains("outcome: ok"), "{}", out.stdout);
    let tx = out
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("tx 0x"))
        .unwrap_or_else(|| panic!("a tx hash in {}", out.stdout));
    assert!(tx.len() >= 64 && tx[..64].chars().all(|c| c.is_ascii_hexdigit()));
    assert!(tx.contains("gas 21000, success"), "{tx}");
    assert!(out.stdout.contains("gas used: 21000"), "{}", out.stdout);

    let out = spammer(dir.path(), &["task", "no_such"], &[]);
    assert_eq!(out.code, Some(2), "{out:?}");
    let error = error_line(&out);
    for part in [
        "unknown task `no_such`",
        "transfer_self",
        "counter_increment",
    ] {
        assert!(error.contains(part), "{part} in {error}");
    }
    assert!(out.stdout.is_empty(), "{}", out.stdout);
}

#[test]
fn sequence_prints_each_step_on_one_wallet() {
    if spam_devnet::for_test(Devnet::builder()).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = spammer(
        dir.path(),
        &["sequence", "deploy_counter,counter_increment"],
        &[],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let s = &out.stdout;
    let deploy = s.find("[1/2] deploy_counter").expect("step 1");
    let created = s.find("created: counter at 0x").expect("the counter");
    let increment = s.find("[2/2] counter_increment").expect("step 2");
    assert!(deploy < created && created < increment, "{s}");
    assert_eq!(s.matches("outcome: ok").count(), 2, "{s}");
    assert!(s.contains("sequence: 2 steps ok"), "{s}");

    let out = spammer(dir.path(), &["sequence", "deploy_counter,nope"], &[]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(error_line(&out).contains("unknown task `nope`"), "{out:?}");
}

/// `(address, balance in ETH)` of each `wallets list` line.
fn listed(out: &Out) -> Vec<(String, Option<f64>)> {
    out.stdout
        .lines()
        .map(|line| {
            let mut words = line.split_whitespace();
            let address = words.next().expect("an address").to_owned();
            let balance = words.next().map(|b| b.parse().expect("a balance"));
            (address, balance)
        })
        .collect()
}

/// `cast ARGS` (bounded), its trimmed stdout.
fn cast(cast: &Path, args: &[&str]) -> String {
    let mut command = Command::new(cast);
    command.args(args);
    let out = finish(command, args);
    assert_eq!(out.code, Some(0), "cast {args:?}: {out:?}");
    out.stdout.trim().to_owned()
}

#[test]
fn wallets_new_list_fund_and_sweep() {
    let Some(cast_bin) = spam_devnet::cast_for_test() else {
        return;
    };
    let Some(devnet) = spam_devnet::for_test(Devnet::builder()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let password = [("SPAM_KEYSTORE_PASSWORD", PASSWORD)];

    // No password: refused, naming the variable, nothing written.
    let out = spammer(
        dir.path(),
        &["wallets", "new", "3", "--keystore-dir", "k"],
        &[],
    );
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        error_line(&out).contains("SPAM_KEYSTORE_PASSWORD"),
        "{out:?}"
    );
    let out = spammer(
        dir.path(),
        &[
            "wallets",
            "new",
            "3",
            "--keystore-dir",
            "k",
            "--password-env",
            "MY_KEYSTORE_PW",
        ],
        &password,
    );
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(error_line(&out).contains("MY_KEYSTORE_PW"), "{out:?}");
    assert!(!dir.path().join("k").exists());

    let out = spammer(
        dir.path(),
        &["wallets", "new", "3", "--keystore-dir", "k"],
        &password,
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let keystores = dir.path().join("k");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&keystores)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 3, "{files:?}");

    // cast decrypts each file to the address `wallets list` prints (list is in file order).
    let list = spammer(
        dir.path(),
        &["wallets", "list", "--keystore-dir", "k"],
        &password,
    );
    assert_eq!(list.code, Some(0), "{list:?}");
    let wallets = listed(&list);
    assert_eq!(wallets.len(), 3, "{list:?}");
    for (file, (address, balance)) in files.iter().zip(&wallets) {
        let from_cast = cast(
            &cast_bin,
            &[
                "wallet",
                "address",
                "--keystore",
                file.to_str().unwrap(),
                "--password",
                PASSWORD,
            ],
        );
        assert_eq!(&from_cast, address);
        assert!(balance.is_none(), "no balances without --rpc-url");
    }

    let url = format!("http://127.0.0.1:{}", devnet.port());
    let node = ["--keystore-dir", "k", "--rpc-url", url.as_str()];
    let with = |command: &str, extra: &[&str]| -> Vec<String> {
        let mut args = vec!["wallets".to_owned(), command.to_owned()];
        args.extend(node.iter().chain(extra).map(|s| (*s).to_owned()));
        args
    };
    let run = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        spammer(dir.path(), &args, &password)
    };
    let funder = devnet.addresses()[0].to_string();
    let funder_wei = || -> u128 {
        cast(&cast_bin, &["balance", &funder, "--rpc-url", &url])
            .parse()
            .unwrap()
    };

    let out = run(with("fund", &["--amount", "0.1eth"]));
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout.contains("funded: 3 transfer(s), 0.3 ETH"),
        "{out:?}"
    );
    let out = run(with("list", &[]));
    let funded = listed(&out);
    assert_eq!(funded.len(), 3, "{out:?}");
    assert!(funded.iter().all(|(_, b)| *b == Some(0.1)), "{funded:?}");
    let before_sweep = funder_wei();

    let out = run(with("sweep", &[]));
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("swept: 3 transfer(s)"), "{out:?}");
    let out = run(with("list", &[]));
    let swept = listed(&out);
    // What stays is the unspent part of one transfer's maximum fee.
    assert!(
        swept.iter().all(|(_, b)| b.is_some_and(|b| b < 0.001)),
        "{swept:?}"
    );
    let back = funder_wei() - before_sweep;
    assert!(back > 299 * 10u128.pow(15), "{back} wei back");
}

/// Posts `eth_chainId` to `127.0.0.1:port` and returns the response body.
fn chain_id(port: u16) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("anvil listens");
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}"#;
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// `spammer devnet`, stopped (SIGINT, then SIGKILL after 5 s) when dropped: a failing test
/// leaves no anvil behind.
struct DevnetChild(Child);

impl DevnetChild {
    /// Sends SIGINT, as Ctrl-C does.
    fn interrupt(&self) {
        let sent = Command::new("kill")
            .args(["-INT", &self.0.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success());
    }
}

impl Drop for DevnetChild {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            self.interrupt();
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(self.0.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            self.0.kill().ok();
            self.0.wait().ok();
        }
    }
}

/// Sends each line of `pipe` to the returned channel until it closes.
fn lines_of(pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (lines, printed) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            if lines.send(line.expect("utf-8 output")).is_err() {
                break;
            }
        }
    });
    printed
}

/// The lines `printed` sends until it closes, or 5 s without a line.
fn rest(printed: &mpsc::Receiver<String>) -> Vec<String> {
    std::iter::from_fn(|| printed.recv_timeout(Duration::from_secs(5)).ok()).collect()
}

#[test]
fn devnet_prints_its_url_and_stops_on_ctrl_c() {
    if spam_devnet::for_test(Devnet::builder()).is_none() {
        return;
    }
    let mut child = DevnetChild(
        Command::new(env!("CARGO_BIN_EXE_spammer"))
            .args(["devnet", "--accounts", "3"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let printed = lines_of(child.0.stdout.take().unwrap());
    let errors = lines_of(child.0.stderr.take().unwrap());
    let mut seen = Vec::new();
    let port = loop {
        let line = printed
            .recv_timeout(DEADLINE)
            .unwrap_or_else(|_| panic!("no URL printed: {seen:?} {:?}", rest(&errors)));
        if let Some(url) = line.strip_prefix("http: http://127.0.0.1:") {
            break url.parse::<u16>().expect("a port");
        }
        seen.push(line);
    };
    let answer = chain_id(port);
    assert!(answer.contains("\"result\":\"0x7a69\""), "{answer}");

    // Ctrl-C at once: anvil stops with it.
    child.interrupt();
    let code = wait(&mut child.0, &["devnet"]);
    let stderr = rest(&errors);
    assert_eq!(code, Some(0), "{stderr:?}");
    assert!(stderr.iter().any(|l| l == "anvil stopped"), "{stderr:?}");
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "anvil still listens on {port}"
    );
    seen.extend(rest(&printed));
    assert!(
        seen.contains(&format!("ws: ws://127.0.0.1:{port}")),
        "{seen:?}"
    );
    assert!(seen.iter().any(|l| l == "chain id: 31337"), "{seen:?}");
}

/// `spammer tasks | head`: output to a closed pipe ends the process by SIGPIPE, quietly, as
/// for other command-line tools; no panic message.
#[test]
fn a_closed_stdout_pipe_ends_quietly() {
    use std::os::unix::process::ExitStatusExt as _;

    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_spammer"))
        .arg("tasks")
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.signal(),
        Some(SIGPIPE),
        "{:?}: {stderr}",
        out.status
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// SIGPIPE's number on Linux.
const SIGPIPE: i32 = 13;
