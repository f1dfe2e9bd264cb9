//! `--metrics-addr` against docs/metrics.md: the documented table is the code's list, and a
//! scrape of a real run of each engine (two endpoints, a store) has every family its runs
//! export, with samples. The run is long and stopped with SIGINT once the scrape is complete,
//! so no assertion waits on the machine's speed. (The closed loop counts an inclusion once it
//! is final, 16 blocks on: its run lasts about 20 s.)

use std::{
    collections::BTreeMap,
    fs::File,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use spam_core::prometheus::{FAMILIES, Scope};
use spam_devnet::Devnet;

use crate::live::{free_port, scrape_within};

mod prometheus;

/// The rows of docs/metrics.md's table: name → (type, runs).
fn documented() -> BTreeMap<String, (String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/metrics.md");
    let text = std::fs::read_to_string(path).expect("docs/metrics.md");
    text.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let name = cells.get(1)?.strip_prefix("`spam_")?.strip_suffix('`')?;
            Some((
                format!("spam_{name}"),
                (cells[2].to_owned(), cells[4].to_owned()),
            ))
        })
        .collect()
}

const fn runs(scope: Scope) -> &'static str {
    match scope {
        Scope::Always => "all",
        Scope::ClosedLoop => "closed loop",
        Scope::OpenLoop => "open loop",
        Scope::Endpoints => "several endpoints",
        Scope::Store => "persisted",
        _ => "?",
    }
}

#[test]
fn the_docs_list_every_family_the_code_exports() {
    let docs = documented();
    let code: BTreeMap<String, (String, String)> = FAMILIES
        .iter()
        .map(|f| {
            let doc = (f.kind.as_str().to_owned(), runs(f.scope).to_owned());
            (f.name.to_owned(), doc)
        })
        .collect();
    assert_eq!(docs, code);
}

/// A spammer process, stopped when dropped.
struct Spammer(Child);

impl Spammer {
    fn start(dir: &Path, args: &[&str]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_spammer"));
        command
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(File::create(dir.join("stdout")).unwrap())
            .stderr(File::create(dir.join("stderr")).unwrap());
        for (key, _) in std::env::vars() {
            if key.starts_with("SPAM_") {
                command.env_remove(key);
            }
        }
        Self(command.spawn().expect("spammer starts"))
    }

    /// Ctrl-C, then its exit code (killed after 60 s).
    fn interrupt(mut self) -> Option<i32> {
        let sent = Command::new("kill")
            .args(["-INT", &self.0.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Spammer {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

/// Families with a sample only once something happened (an error of some class).
const SPARSE: &[&str] = &["spam_errors_total", "spam_endpoint_errors_total"];

/// The families of `body` with at least one sample.
fn sampled(body: &str) -> Vec<String> {
    FAMILIES
        .iter()
        .filter(|f| {
            body.lines().any(|line| {
                !line.starts_with('#')
                    && line.strip_prefix(f.name).is_some_and(|rest| {
                        ["{", " ", "_bucket{", "_count", "_sum"]
                            .iter()
                            .any(|s| rest.starts_with(s))
                    })
            })
        })
        .map(|f| f.name.to_owned())
        .collect()
}

/// Runs `command` for up to 3 minutes against an anvil with 1 s blocks, over two URLs of it and
/// with a SQLite store; scrapes until every family of `scopes` has samples. A real Prometheus
/// scrapes it too: the body passes `promtool check metrics`, every query of the Grafana
/// dashboard runs, and the panels named in `panels` have data. Then it stops the run.
fn scrape_a_run(command: &str, extra: &[&str], scopes: &'static [Scope], panels: &[&str]) {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().block_time(1.0)) else {
        return;
    };
    let primary = devnet.endpoint();
    // The same anvil under another name: a second endpoint.
    let other = if primary.contains("localhost") {
        primary.replace("localhost", "127.0.0.1")
    } else {
        primary.replace("127.0.0.1", "localhost")
    };
    let urls = format!("{primary},{other}");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut args = vec![
        command,
        "--rpc-url",
        &urls,
        "--duration",
        "180s",
        "--senders",
        "4",
        "--db",
        "runs.db",
        "--metrics-addr",
        &addr,
    ];
    args.extend_from_slice(extra);
    let server = prometheus::tools().map(|(binary, promtool)| {
        let server = prometheus::Prometheus::start(&binary, dir.path(), &addr);
        (server, promtool)
    });
    let spammer = Spammer::start(dir.path(), &args);
    let want: Vec<String> = FAMILIES
        .iter()
        .filter(|f| scopes.contains(&f.scope))
        .map(|f| f.name.to_owned())
        .collect();
    let expected = want.clone();
    let complete = move |body: &str| {
        let have = sampled(body);
        expected
            .iter()
            .all(|f| SPARSE.contains(&f.as_str()) || have.contains(f))
    };
    let body = scrape_within(port, Duration::from_secs(150), complete)
        .join()
        .unwrap();
    let checked = body
        .as_deref()
        .zip(server.as_ref())
        .map(|(body, (server, promtool))| through_prometheus(server, promtool, body, panels));
    let code = spammer.interrupt();
    let stderr = std::fs::read_to_string(dir.path().join("stderr")).unwrap();
    let body = body.unwrap_or_else(|| panic!("/metrics answered\n{stderr}"));
    if let Some(Err(problem)) = checked {
        let log = std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default();
        panic!("{problem}\n{stderr}\n{log}");
    }
    let have = sampled(&body);
    for family in &want {
        let declared = format!("# TYPE {family} ");
        assert!(
            body.contains(&declared),
            "{family} declared in\n{body}\n{stderr}"
        );
        let sparse = SPARSE.contains(&family.as_str());
        assert!(
            sparse || have.contains(family),
            "samples of {family} in\n{body}\n{stderr}"
        );
    }
    // Interrupted: the report of what ran, and the exit code of an interrupted run.
    assert_eq!(code, Some(130), "{stderr}");
    let stdout = std::fs::read_to_string(dir.path().join("stdout")).unwrap();
    assert!(stdout.contains("included"), "{stdout}");
    // The store says so too.
    let list = crate::common::spammer(
        dir.path(),
        &["report", "--list", "--json", "--db", "runs.db"],
    );
    let runs: Vec<serde_json::Value> = serde_json::from_str(&list.stdout).expect("JSON");
    assert_eq!(runs.len(), 1, "{}", list.stdout);
    assert_eq!(runs[0]["status"], "stopped", "{}", list.stdout);
    for line in body.lines().filter(|l| l.starts_with("# TYPE ")) {
        let name = line.split(' ').nth(2).unwrap();
        assert!(
            want.iter().any(|w| w == name),
            "{name} is not for {command} runs"
        );
    }
}

/// Lints `body`, waits until `server` holds 15 s of scrapes with inclusions in them, then runs
/// every dashboard query: all must succeed, and the panels named in `panels` must show data.
fn through_prometheus(
    server: &prometheus::Prometheus,
    promtool: &Path,
    body: &str,
    panels: &[&str],
) -> Result<(), String> {
    let lint = prometheus::lint(promtool, body);
    if !lint.is_empty() {
        return Err(format!("promtool check metrics: {lint}"));
    }
    let within = Duration::from_secs(120);
    for (expr, min) in [
        ("count_over_time(spam_elapsed_seconds[1m])", 15.0),
        ("sum(spam_transactions_included_total)", 1.0),
    ] {
        if !server.wait_for(expr, min, within) {
            return Err(format!("Prometheus: {expr} never reached {min}"));
        }
    }
    let mut with_data = std::collections::BTreeSet::new();
    for (title, expr) in prometheus::dashboard_queries() {
        let data = server
            .query(&expr)
            .map_err(|e| format!("panel {title:?}: `{expr}` failed: {e}"))?;
        if data["result"].as_array().is_some_and(|r| !r.is_empty()) {
            with_data.insert(title);
        }
    }
    match panels.iter().find(|p| !with_data.contains(**p)) {
        Some(title) => Err(format!("panel {title:?} has no data")),
        None => Ok(()),
    }
}

#[test]
fn a_loadgen_scrape_has_every_open_loop_family() {
    scrape_a_run(
        "loadgen",
        &["--rate", "20"],
        &[
            Scope::Always,
            Scope::OpenLoop,
            Scope::Endpoints,
            Scope::Store,
        ],
        &[
            "Transactions per second",
            "Inclusion latency",
            "Ack latency (node's answer to a send)",
            "Send lag (open loop)",
            "Gas per second",
            "Transactions per block",
            "Base fee",
            "Sends per endpoint",
            "Endpoint ack p99",
        ],
    );
}

#[test]
fn a_run_scrape_has_every_closed_loop_family() {
    scrape_a_run(
        "run",
        &["--workers", "2", "--max-rate", "20"],
        &[
            Scope::Always,
            Scope::ClosedLoop,
            Scope::Endpoints,
            Scope::Store,
        ],
        &[
            "Transactions per second",
            "Ack latency (node's answer to a send)",
            "Task duration (closed loop)",
            "Gas per second",
            "Base fee",
            "Sends per endpoint",
        ],
    );
}

#[test]
fn the_grafana_dashboard_queries_only_documented_families() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/grafana/spam.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).expect("valid JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    let mut used = std::collections::BTreeSet::new();
    for panel in panels.iter().filter(|p| p["type"] != "row") {
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{}", panel["title"]);
        for target in targets {
            let expr = target["expr"].as_str().expect("expr");
            for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                let Some(name) = word.strip_prefix("spam_") else {
                    continue;
                };
                let family = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s))
                    .unwrap_or(name);
                let family = format!("spam_{family}");
                assert!(
                    FAMILIES.iter().any(|f| f.name == family),
                    "{family} in `{expr}` is not a family"
                );
                used.insert(family);
            }
        }
    }
    // Every latency histogram has a panel.
    for f in FAMILIES
        .iter()
        .filter(|f| f.kind == spam_core::prometheus::Kind::Histogram)
    {
        assert!(used.contains(f.name), "no panel for {}", f.name);
    }
}
