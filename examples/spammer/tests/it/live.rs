//! What `run` and `loadgen` show while they run, through the real binary: the plain progress
//! lines on a piped stderr, `--quiet`, and the Prometheus endpoint of `--metrics-addr`, scraped
//! during the run.

use std::{
    io::{Read as _, Write as _},
    net::{SocketAddr, TcpListener, TcpStream},
    thread::JoinHandle,
    time::{Duration, Instant},
};

use spam_devnet::Devnet;

use crate::common::{Out, files_in, spammer_env};

/// Whether anvil is installed (else the test returns early, as `for_test` allows).
fn anvil() -> bool {
    spam_devnet::for_test(Devnet::builder()).is_some()
}

/// A loopback port free a moment ago.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The body of `GET /metrics` on `port`, `None` while nothing answers 200.
fn scrape(port: u16) -> Option<String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_owned())
}

/// Scrapes `port` every 100 ms from another thread until `enough` holds of a body (or 60 s
/// pass): the last body seen.
pub(crate) fn scrape_until(
    port: u16,
    enough: impl Fn(&str) -> bool + Send + 'static,
) -> JoinHandle<Option<String>> {
    scrape_within(port, Duration::from_secs(60), enough)
}

/// [`scrape_until`], giving up after `within`.
pub(crate) fn scrape_within(
    port: u16,
    within: Duration,
    enough: impl Fn(&str) -> bool + Send + 'static,
) -> JoinHandle<Option<String>> {
    std::thread::spawn(move || {
        let deadline = Instant::now() + within;
        let mut last = None;
        while Instant::now() < deadline {
            if let Some(body) = scrape(port) {
                let done = enough(&body);
                last = Some(body);
                if done {
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        last
    })
}

/// The sum of the samples of metric `name` (every label set) in a Prometheus text body.
pub(crate) fn total(body: &str, name: &str) -> f64 {
    body.lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with([' ', '{']))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The stderr lines starting with `prefix`.
fn lines<'a>(out: &'a Out, prefix: &str) -> Vec<&'a str> {
    out.stderr
        .lines()
        .filter(|line| line.starts_with(prefix))
        .collect()
}

/// One progress line a second instead of every 5 s, so a short run shows several.
const EVERY_SECOND: (&str, &str) = ("SPAM_PROGRESS_EVERY", "1s");

#[test]
fn loadgen_serves_metrics_and_prints_progress_lines() {
    if !anvil() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let scraper = scrape_until(port, |body| {
        total(body, "spam_transactions_sent_total") > 0.0
    });
    let addr = format!("127.0.0.1:{port}");
    let out = spammer_env(
        dir.path(),
        &[
            "loadgen",
            "--rate",
            "50",
            "--duration",
            "4s",
            "--senders",
            "4",
            "--no-db",
            "--grace",
            "20s",
            "--metrics-addr",
            &addr,
        ],
        &[EVERY_SECOND],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let body = scraper.join().unwrap().expect("/metrics answered");
    for name in [
        "# TYPE spam_offered_total counter",
        "# TYPE spam_transactions_sent_total counter",
        "# TYPE spam_accepted_total counter",
        "# TYPE spam_transactions_included_total counter",
        "# TYPE spam_in_flight gauge",
        "# TYPE spam_breaker_state gauge",
        "# TYPE spam_ack_latency_seconds histogram",
        "# HELP spam_transactions_sent_total ",
    ] {
        assert!(body.contains(name), "{name} in\n{body}");
    }
    let sent = total(&body, "spam_transactions_sent_total");
    assert!(sent > 0.0, "{body}");
    assert!(total(&body, "spam_offered_total") >= sent, "{body}");
    assert!(
        out.stderr
            .contains(&format!("metrics at http://{addr}/metrics")),
        "{}",
        out.stderr
    );

    // Piped stderr: plain lines, not a redrawn bar; the report stays on stdout.
    let progress = lines(&out, "progress ");
    assert!(progress.len() >= 2, "{}", out.stderr);
    for line in &progress {
        for part in [
            "/4s",
            ": offered ",
            " sent ",
            " included ",
            " dropped ",
            " in flight ",
            " breaker closed ",
            " ack p50 ",
            " inclusion p50 ",
        ] {
            assert!(line.contains(part), "{part:?} in {line}");
        }
    }
    assert_eq!(lines(&out, "done ").len(), 1, "{}", out.stderr);
    assert!(!out.stderr.contains('\r'), "no redraws: {:?}", out.stderr);
    assert!(!out.stdout.contains("progress "), "{}", out.stdout);
    assert!(
        out.stdout.contains("open loop: constant 50 tx/s"),
        "{}",
        out.stdout
    );
    assert!(files_in(dir.path()).is_empty(), "--no-db writes nothing");
}

#[test]
fn run_serves_task_metrics_and_prints_progress_lines() {
    if !anvil() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let scraper = scrape_until(port, |body| total(body, "spam_tasks_total") > 0.0);
    let addr = format!("127.0.0.1:{port}");
    let out = spammer_env(
        dir.path(),
        &[
            "run",
            "--duration",
            "4s",
            "--workers",
            "4",
            "--no-db",
            "--metrics-addr",
            &addr,
        ],
        &[EVERY_SECOND],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let body = scraper.join().unwrap().expect("/metrics answered");
    for name in [
        "# TYPE spam_tasks_total counter",
        "# TYPE spam_transactions_sent_total counter",
        "# TYPE spam_task_duration_seconds histogram",
        "spam_task_duration_seconds_bucket{task=\"transfer_self\",le=\"0.5\"}",
        "spam_tasks_total{task=\"transfer_self\",outcome=\"ok\"}",
    ] {
        assert!(body.contains(name), "{name} in\n{body}");
    }
    assert!(total(&body, "spam_tasks_total") > 0.0, "{body}");

    let progress = lines(&out, "progress ");
    assert!(progress.len() >= 2, "{}", out.stderr);
    for line in &progress {
        for part in ["/4s", ": tasks ", " success ", " task p50 ", " p99 "] {
            assert!(line.contains(part), "{part:?} in {line}");
        }
    }
    let done = lines(&out, "done ");
    assert_eq!(done.len(), 1, "{}", out.stderr);
    assert!(done[0].contains("success 100.0%"), "{}", done[0]);
    assert!(!out.stdout.contains("progress "), "{}", out.stdout);
}

#[test]
fn quiet_shows_no_progress() {
    if !anvil() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = spammer_env(
        dir.path(),
        &[
            "loadgen",
            "--rate",
            "20",
            "--duration",
            "2s",
            "--senders",
            "2",
            "--no-db",
            "--quiet",
        ],
        &[EVERY_SECOND],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(lines(&out, "progress ").is_empty(), "{}", out.stderr);
    assert!(lines(&out, "done ").is_empty(), "{}", out.stderr);
    assert!(out.stdout.contains("offered 40"), "{}", out.stdout);
}

#[test]
fn a_metrics_address_that_cannot_serve_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    for command in ["run", "loadgen"] {
        let out = spammer_env(dir.path(), &[command, "--metrics-addr", &addr], &[]);
        assert_eq!(out.code, Some(2), "{out:?}");
        assert!(
            out.stderr
                .contains(&format!("error: --metrics-addr {addr}: ")),
            "{}",
            out.stderr
        );
        let out = spammer_env(dir.path(), &[command, "--metrics-addr", "localhost"], &[]);
        assert_eq!(out.code, Some(2), "{out:?}");
        assert!(
            out.stderr.contains("--metrics-addr") && out.stderr.contains("IP:PORT"),
            "{}",
            out.stderr
        );
    }
    assert!(files_in(dir.path()).is_empty(), "nothing written");
}
