use std::{collections::BTreeMap, time::Duration};

use tokio::time::Instant;

use super::*;
use crate::LATENCY_BOUNDS;
use crate::{
    ChainProgress, EndpointSummary, Recorder, StoreProgress, TaskProgress, report::BlockStats,
};

/// One sample line: name (with suffix), labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// Parses the text format strictly enough to catch what Prometheus would refuse: every sample
/// belongs to the family of the `# TYPE` line before it; label values are quoted and escaped.
fn parse(text: &str) -> (Vec<(String, String)>, Vec<Sample>) {
    let (mut types, mut samples) = (Vec::new(), Vec::new());
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            types.push((name.to_owned(), kind.to_owned()));
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("value of {line}"));
        let (name, labels) = match series.split_once('{') {
            None => (series.to_owned(), BTreeMap::new()),
            Some((name, rest)) => (name.to_owned(), labels(rest.strip_suffix('}').unwrap())),
        };
        let family = &types.last().expect("a sample after a # TYPE").0;
        assert!(
            name == *family
                || ["_bucket", "_sum", "_count"]
                    .iter()
                    .any(|s| name == format!("{family}{s}")),
            "{name} under # TYPE {family}"
        );
        samples.push((name, labels, value));
    }
    (types, samples)
}

fn labels(mut s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    while !s.is_empty() {
        let (key, rest) = s.split_once("=\"").unwrap();
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next().unwrap() {
                (_, '\\') => match chars.next().unwrap().1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (i, '"') => break i,
                (_, c) => value.push(c),
            }
        };
        out.insert(key.to_owned(), value);
        s = rest[end + 1..]
            .strip_prefix(',')
            .unwrap_or(&rest[end + 1..]);
    }
    out
}

fn progress(open_loop: bool) -> Progress {
    let t0 = Instant::now();
    let ms = Duration::from_millis;
    let mut r = Recorder::new(t0);
    r.task("transfer", t0, t0 + ms(30), Ok(()));
    r.task("deploy", t0, t0 + ms(3_000), Err("reverted"));
    r.tx_sent("transfer", t0, t0 + ms(2));
    r.tx_included("transfer", t0, t0 + ms(1_100), 21_000);
    let mut p = Progress::closed_loop(&r, ms(5_000));
    p.chain = ChainProgress {
        blocks: 5,
        txs: 40,
        gas_used: 840_000,
        last: Some(BlockStats {
            number: 12,
            txs: 8,
            gas_used: 168_000,
            gas_limit: 30_000_000,
            base_fee: 7,
            ..BlockStats::default()
        }),
    };
    if open_loop {
        p.offered = 10;
        p.accepted = 9;
        p.dropped_by_reason.insert("wallet in-flight cap".into(), 1);
        let mut lag = crate::metrics::Latency::default();
        lag.record(ms(4));
        p.lag_buckets = LatencyBuckets::from_latency(&lag);
    }
    p
}

#[test]
fn every_family_is_written_in_a_run_that_has_it() {
    let mut p = progress(true);
    p.store = Some(StoreProgress {
        written: 10,
        lost: 1,
    });
    let mut e = EndpointSummary {
        endpoint: "#0 http://127.0.0.1:8545".into(),
        roles: "read+send".into(),
        requests: 5,
        sends: 4,
        share: 1.0,
        accepted: 4,
        duplicates: 0,
        errors: BTreeMap::from([("timeout".into(), 1)]),
        ack_p50_ms: None,
        ack_p99_ms: None,
        rate_limited: 0,
        probes: 0,
        probe_failures: 0,
        transitions: Vec::new(),
        unhealthy_s: 0.0,
        healthy: true,
        senders: 2,
        senders_in: 0,
        senders_out: 0,
    };
    let ack = p.tasks["transfer"].ack.clone().unwrap();
    p.endpoint_ack.insert(e.endpoint.clone(), ack);
    p.endpoints.push(e.clone());
    e.endpoint = "#1 http://127.0.0.1:8546".into();
    p.endpoints.push(e);
    let (types, samples) = parse(&render(&p));
    let typed: BTreeMap<_, _> = types.iter().cloned().collect();
    assert_eq!(typed.len(), types.len(), "each family once");
    for f in FAMILIES {
        if f.scope == Scope::ClosedLoop {
            assert!(
                !typed.contains_key(f.name),
                "{} in an open-loop run",
                f.name
            );
            continue;
        }
        assert_eq!(
            typed.get(f.name).map(String::as_str),
            Some(f.kind.as_str()),
            "{}",
            f.name
        );
        let of_family: Vec<_> = samples.iter().filter(|s| s.0.starts_with(f.name)).collect();
        assert!(!of_family.is_empty(), "{} has samples", f.name);
        for (_, labels, _) in of_family {
            let mut names: Vec<_> = labels.keys().filter(|k| *k != "le").cloned().collect();
            names.sort();
            let mut want: Vec<_> = f.labels.iter().map(|s| (*s).to_owned()).collect();
            want.sort();
            assert_eq!(names, want, "labels of {}", f.name);
        }
    }
}

#[test]
fn the_closed_loop_has_task_durations_and_no_open_loop_families() {
    let text = render(&progress(false));
    let (types, _) = parse(&text);
    let names: Vec<_> = types.iter().map(|t| t.0.as_str()).collect();
    assert!(names.contains(&"spam_task_duration_seconds"));
    for f in FAMILIES.iter().filter(|f| f.scope != Scope::Always) {
        if f.scope != Scope::ClosedLoop {
            assert!(!names.contains(&f.name), "{} in\n{text}", f.name);
        }
    }
}

#[test]
fn histograms_are_cumulative_and_add_up() {
    let (_, samples) = parse(&render(&progress(false)));
    let value = |name: &str, task: &str, le: Option<&str>| {
        samples
            .iter()
            .find(|(n, l, _)| {
                n == name
                    && l.get("task").map(String::as_str) == Some(task)
                    && l.get("le").map(String::as_str) == le
            })
            .map(|s| s.2)
            .unwrap_or_else(|| panic!("{name} {task} {le:?}"))
    };
    let buckets: Vec<f64> = samples
        .iter()
        .filter(|(n, l, _)| n == "spam_task_duration_seconds_bucket" && l["task"] == "deploy")
        .map(|s| s.2)
        .collect();
    assert_eq!(buckets.len(), LATENCY_BOUNDS.len() + 1);
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
    let h = "spam_task_duration_seconds";
    assert_eq!(value(&format!("{h}_bucket"), "deploy", Some("2.5")), 0.0);
    assert_eq!(value(&format!("{h}_bucket"), "deploy", Some("5")), 1.0);
    assert_eq!(value(&format!("{h}_bucket"), "deploy", Some("+Inf")), 1.0);
    assert_eq!(value(&format!("{h}_count"), "deploy", None), 1.0);
    assert!((value(&format!("{h}_sum"), "deploy", None) - 3.0).abs() < 0.01);
    let i = "spam_inclusion_latency_seconds";
    assert_eq!(value(&format!("{i}_bucket"), "transfer", Some("1")), 0.0);
    assert_eq!(value(&format!("{i}_bucket"), "transfer", Some("2.5")), 1.0);
    assert_eq!(value("spam_tasks_total", "deploy", None), 0.0, "outcome ok");
}

#[test]
fn label_values_are_escaped_and_tasks_bounded() {
    let mut p = progress(false);
    let odd = "a \"quoted\\\" name\nnext".to_owned();
    p.tasks.insert(odd.clone(), TaskProgress::default());
    for i in 0..MAX_TASK_LABELS {
        p.tasks.insert(
            format!("zz{i:03}"),
            TaskProgress {
                sent: 1,
                ..TaskProgress::default()
            },
        );
    }
    let (_, samples) = parse(&render(&p));
    let sent: BTreeMap<String, f64> = samples
        .iter()
        .filter(|s| s.0 == "spam_transactions_sent_total")
        .map(|s| (s.1["task"].clone(), s.2))
        .collect();
    assert!(sent.contains_key(&odd), "{sent:?}");
    assert_eq!(sent.len(), MAX_TASK_LABELS);
    let all: f64 = sent.values().sum();
    let want: u64 = p.tasks.values().map(|t| t.sent).sum();
    assert_eq!(all, want as f64, "nothing lost by folding into `other`");
    assert!(sent["other"] >= 1.0);
}
