//! [`Report::to_html`]: a report as one self-contained page (inline CSS and SVG charts, no
//! scripts, nothing fetched). The page and its sections are maud templates, which escape every
//! value they splice in; the charts are SVG from plotters, which escapes its text.

mod charts;
mod closed_loop;
mod endpoints;
mod figures;
mod format;
mod page;
mod sections;
mod shards;

use maud::html;

use self::{format::count, page::section};
use crate::report::Report;

/// The page: run info, accounting, counts per second, blocks, tasks, errors, latencies and
/// proxies, with charts where the report has the data for them.
pub(super) fn render(report: &Report) -> String {
    // The engine by its type name and loop: "spammer report" read as the binary's name twice.
    let title = match sections::engine(report) {
        "loadgen" => "LoadGen report (open loop)".to_owned(),
        "spammer" => "Spammer report (closed loop)".to_owned(),
        other => format!("{other} report"),
    };
    let client = if report.run.client_version.is_empty() {
        "unknown client"
    } else {
        &report.run.client_version
    };
    let subtitle = format!(
        "chain {} ({client}), {:.1} s, {} tasks finished, {} transactions included",
        report.run.chain_id,
        report.elapsed_secs,
        count(report.totals.started),
        count(report.totals.txs_included),
    );
    let body = html! {
        (section("run", "Run", sections::run_info(report)))
        (section("accounting", "Accounting", sections::accounting(report)))
        (section("over-time", "Over time", figures::over_time(report)))
        @if let Some(ol) = &report.open_loop {
            (section("blocks", "Blocks", html! {
                (sections::blocks_summary(ol))
                (figures::per_block(ol))
            }))
        }
        (section("tasks", "Tasks", html! {
            (sections::tasks(report))
            (figures::tasks(report))
        }))
        (section("errors", "Errors", html! {
            (sections::errors(report))
            (figures::errors(report))
        }))
        (section("latency", "Latency", html! {
            (sections::latency(report))
            (figures::latency(report))
        }))
        @if !report.endpoints.is_empty() {
            (section("endpoints", "Endpoints", endpoints::endpoints(report)))
        }
        @if !report.proxies.is_empty() {
            (section("proxies", "Proxies", sections::proxies(report)))
        }
        @if !report.shards.is_empty() {
            (section("shards", "Shards", shards::shards(report)))
        }
    };
    page::document(&title, &subtitle, body).into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Report {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Every tag opened in `html` is closed, in order (void elements aside).
    fn assert_balanced(html: &str) {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = html;
        while let Some(start) = rest.find('<') {
            rest = &rest[start + 1..];
            let end = rest.find('>').expect("tag ends");
            let tag = &rest[..end];
            rest = &rest[end + 1..];
            if tag.starts_with('!') || tag.starts_with('?') || tag.ends_with('/') {
                continue;
            }
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            if ["meta", "br", "hr", "img", "input", "link"].contains(&name.as_str()) {
                continue;
            }
            if tag.starts_with('/') {
                assert_eq!(stack.pop().as_deref(), Some(name.as_str()), "at <{tag}>");
            } else {
                stack.push(name);
            }
        }
        assert!(stack.is_empty(), "unclosed: {stack:?}");
    }

    #[test]
    fn open_loop_page_spells_out_the_accounting_and_draws_every_chart() {
        let report = fixture("loadgen-report.json");
        let ol = report.open_loop.as_ref().unwrap();
        let html = render(&report);
        assert_balanced(&html);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<title>LoadGen report (open loop)</title>"));
        let identity = format!(
            "offered {} = dropped {} + sent {}",
            count(ol.offered),
            count(ol.dropped),
            count(ol.sent)
        );
        for needle in [
            identity.as_str(),
            "wallet in-flight cap",
            "Transactions per second",
            "Transactions per block",
            "Gas used per block",
            "Tasks per outcome",
            "Latency percentiles per stage",
            "ramp 50 -&gt; 600 tx/s over 5s",
        ] {
            assert!(html.contains(needle), "{needle} missing");
        }
        assert!(!html.contains("does not hold"), "the fixture's sums hold");
        assert_eq!(
            html.matches("<svg").count(),
            5,
            "per second, 2 per block, tasks, latency"
        );
        // Self-contained: nothing to fetch, nothing to run.
        for banned in ["<script", "src=", "href=\"http", "@import", "url("] {
            assert!(!html.contains(banned), "{banned}");
        }
    }

    #[test]
    fn per_second_latency_is_drawn_over_time() {
        let mut report = fixture("loadgen-report.json");
        assert!(render(&report).contains("No latency was measured per second."));
        for (i, second) in report.series.iter_mut().enumerate() {
            second.task_p50_ms = 2.0 + i as f64;
            second.task_p99_ms = 9.0 + i as f64;
            second.inclusion_p50_ms = 500.0;
            second.inclusion_p99_ms = 990.0;
        }
        let html = render(&report);
        assert_balanced(&html);
        assert!(
            html.contains("Ack latency over time") && html.contains("Inclusion latency over time")
        );
        assert_eq!(
            html.matches("<svg").count(),
            7,
            "the two charts over time added"
        );
    }

    #[test]
    fn closed_loop_page_has_per_task_charts() {
        let report = fixture("run-report.json");
        let html = render(&report);
        assert_balanced(&html);
        assert!(html.contains("<title>Spammer report (closed loop)</title>"));
        assert!(html.contains("tasks finished"));
        assert!(
            html.contains("Task latency per task") && html.contains("Inclusion latency per task")
        );
        assert!(!html.contains("Transactions per block"));
        assert_eq!(
            html.matches("<svg").count(),
            5,
            "2 per second, tasks, 2 latency"
        );
    }

    #[test]
    fn closed_loop_identities_are_checked() {
        let mut report = fixture("run-report.json");
        let mut stats = crate::ClosedLoopStats::default();
        (stats.sent, stats.accepted, stats.refused) = (10, 9, 1);
        (stats.included, stats.pending_at_end) = (8, 1);
        stats.retries.insert("http 503".into(), 332);
        report.closed_loop = Some(stats);
        let html = render(&report);
        assert_balanced(&html);
        assert!(html.contains("transactions sent 10 = accepted 9 + refused 1 + unanswered 0"));
        assert!(html.contains("332 http 503"));
        assert!(!html.contains("does not hold"));
        report.closed_loop.as_mut().unwrap().included = 7;
        assert!(render(&report).contains("does not hold"));
    }

    #[test]
    fn names_and_error_classes_are_escaped() {
        let mut report = fixture("run-report.json");
        let stats = report.tasks.values().next().unwrap().clone();
        report
            .tasks
            .insert("<img src=x onerror=alert(1)>".into(), stats);
        report
            .errors
            .insert("<script>alert(\"x\")</script>".into(), 3);
        report.totals.failed += 3;
        report.run.client_version = "a&b".into();
        let html = render(&report);
        assert_balanced(&html);
        assert!(
            !html.contains("<script") && !html.contains("<img"),
            "unescaped"
        );
        assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(html.contains("Failures per error class"));
        assert!(html.contains("a&amp;b"));
        // The identities are checked, not assumed.
        assert!(
            html.contains("does not hold"),
            "started != succeeded + failed now"
        );
    }

    #[test]
    fn endpoints_get_a_table_and_their_transitions() {
        let mut report = fixture("run-report.json");
        assert!(!render(&report).contains("id=\"endpoints\""));
        report.endpoints = serde_json::from_value(serde_json::json!([
            { "endpoint": "#0 http://10.0.0.1:8545", "roles": "read+send", "requests": 1200,
              "sends": 900, "share": 0.9, "accepted": 900, "duplicates": 0, "errors": {},
              "ack_p50_ms": 1.5, "ack_p99_ms": 4.25, "rate_limited": 0, "probes": 0,
              "probe_failures": 0, "unhealthy_s": 6.0, "healthy": false,
              "transitions": [{ "at_s": 4.01, "to": "unhealthy" }],
              "senders": 0, "senders_in": 0, "senders_out": 20 },
            { "endpoint": "#1 http://10.0.0.2:8545/…", "roles": "send", "requests": 100,
              "sends": 100, "share": 0.1, "accepted": 100, "duplicates": 0,
              "errors": { "connection failed": 3 }, "rate_limited": 7, "probes": 12,
              "probe_failures": 0, "unhealthy_s": 0.0, "healthy": true, "transitions": [],
              "senders": 20, "senders_in": 20, "senders_out": 0 }
        ]))
        .unwrap();
        let html = render(&report);
        assert_balanced(&html);
        assert!(html.contains("#1 http://10.0.0.2:8545/…"));
        assert!(html.contains("unhealthy at 4.01 s"));
        assert!(html.contains("20 / +20 / -0"));
    }

    #[test]
    fn an_empty_report_still_renders() {
        let mut report = fixture("run-report.json");
        report.series.clear();
        report.tasks.clear();
        let html = render(&report);
        assert_balanced(&html);
        assert!(html.contains("less than a second") && html.contains("No task finished."));
    }
}
