//! Several RPC endpoints through the real binary: comma lists, the strategy, the caps, the
//! per-endpoint figures in report.json and Prometheus, and refusals before anything is written.

use serde_json::Value;
use spam_devnet::Devnet;

use crate::{
    common::{files_in, spammer},
    live::{free_port, scrape_until, total},
};

fn json(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn run_over_two_urls_with_failover_and_a_start_cap_reports_each_endpoint() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(10)) else {
        return;
    };
    let primary = devnet.endpoint();
    // The same anvil under another name: a second endpoint.
    let backup = if primary.contains("localhost") {
        primary.replace("localhost", "127.0.0.1")
    } else {
        primary.replace("127.0.0.1", "localhost")
    };
    let dir = tempfile::tempdir().unwrap();
    let urls = format!("{primary},{backup}");
    let port = free_port();
    let scraper = scrape_until(port, |body| total(body, "spam_endpoint_sends_total") > 0.0);
    let addr = format!("127.0.0.1:{port}");
    let out = spammer(
        dir.path(),
        &[
            "run",
            "--metrics-addr",
            &addr,
            "--rpc-url",
            &urls,
            "--endpoint-strategy",
            "failover",
            "--max-rate",
            "40",
            "--workers",
            "8",
            "--senders",
            "8",
            "--duration",
            "3s",
            "--no-db",
            "--report-dir",
            "out",
        ],
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("endpoints: 2"), "{}", out.stdout);
    let report = json(&dir.path().join("out/report.json"));
    let endpoints = report["endpoints"]
        .as_array()
        .expect("per-endpoint figures");
    assert_eq!(endpoints.len(), 2);
    assert!(
        endpoints[0]["endpoint"]
            .as_str()
            .unwrap()
            .starts_with("#0 ")
    );
    assert_eq!(endpoints[0]["senders"], 8, "failover: all on the primary");
    assert_eq!(endpoints[1]["sends"], 0);
    let started = report["totals"]["started"].as_u64().unwrap();
    assert!(
        started <= 3 * 40 * 102 / 100 + 1,
        "{started} started under --max-rate 40"
    );
    let body = scraper.join().unwrap().expect("/metrics answered");
    for family in [
        "# TYPE spam_endpoint_requests_total counter",
        "# TYPE spam_endpoint_healthy gauge",
        "spam_endpoint_sends_total{endpoint=\"#0 http://",
    ] {
        assert!(body.contains(family), "{family} in\n{body}");
    }
    let html = std::fs::read_to_string(dir.path().join("out/report.html")).unwrap();
    assert!(html.contains("id=\"endpoints\""));
}

#[test]
fn bad_endpoint_settings_are_refused_before_anything_is_written() {
    let Some(devnet) = spam_devnet::for_test(Devnet::builder().accounts(2)) else {
        return;
    };
    let url = devnet.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let twice = format!("{url},{url}");
    for (args, code, says) in [
        (
            vec!["--endpoint-strategy", "round-robin"],
            2,
            "expected spread, failover or broadcast",
        ),
        (
            vec!["--send-url", "http://127.0.0.1:1"],
            3,
            "--send-url http://127.0.0.1:1/ is unreachable",
        ),
        (
            vec!["--max-rps-per-endpoint", "0"],
            2,
            "--max-rps-per-endpoint",
        ),
    ] {
        let mut all = vec!["loadgen", "--rpc-url", url.as_str(), "--duration", "1s"];
        all.extend(args);
        let out = spammer(dir.path(), &all);
        assert_eq!(out.code, Some(code), "{out:?}");
        assert!(out.stderr.contains(says), "{says} in {}", out.stderr);
    }
    let out = spammer(
        dir.path(),
        &["run", "--rpc-url", &twice, "--duration", "1s"],
    );
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("is given twice"), "{}", out.stderr);
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );
}
