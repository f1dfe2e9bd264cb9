//! [`Report::to_html`]: a report as one self-contained page (inline CSS and SVG charts, no
//! scripts, nothing fetched).

mod charts;
mod page;
mod sections;

use crate::report::{LatencySummary, Report};

use self::{
    charts::{BLUE, GREEN, GREY, MAX_BARS, ORANGE, PURPLE, RED, Series},
    page::{count, note, section},
};

/// The page: run info, accounting, counts per second, blocks, tasks, errors, latencies and
/// proxies, with charts where the report has the data for them.
pub(super) fn render(report: &Report) -> String {
    let title = format!("{} report", sections::engine(report));
    let subtitle = format!(
        "chain {} ({}), {:.1} s, {} tasks finished, {} transactions included",
        report.run.chain_id,
        if report.run.client_version.is_empty() {
            "unknown client"
        } else {
            &report.run.client_version
        },
        report.elapsed_secs,
        count(report.totals.started),
        count(report.totals.txs_included),
    );
    let mut body = String::new();
    body += &section("run", "Run", &sections::run_info(report));
    body += &section("accounting", "Accounting", &sections::accounting(report));
    body += &section("over-time", "Over time", &over_time(report));
    if let Some(ol) = &report.open_loop {
        let mut blocks = sections::blocks_summary(ol);
        blocks += &per_block(report);
        body += &section("blocks", "Blocks", &blocks);
    }
    body += &section("tasks", "Tasks", &tasks(report));
    body += &section("errors", "Errors", &errors(report));
    body += &section("latency", "Latency", &latency(report));
    if !report.proxies.is_empty() {
        body += &section("proxies", "Proxies", &sections::proxies(report));
    }
    page::document(&title, &subtitle, &body)
}

/// Counters per second of the run: what was offered, sent and included (open loop), or
/// started, succeeded and failed (closed loop).
fn over_time(report: &Report) -> String {
    if report.series.is_empty() {
        return note("The run lasted less than a second: no per-second figures.");
    }
    let points = |f: fn(&crate::report::SecondStats) -> u64| {
        report
            .series
            .iter()
            .map(|s| (s.second as f64, f(s) as f64))
            .collect::<Vec<_>>()
    };
    let mut out = String::new();
    if report.open_loop.is_some() {
        out += &charts::lines(
            "Transactions per second",
            "seconds since the start",
            "tx/s",
            "Offered: due by the rate profile; sent: answered by the node; included: seen in a \
             block that second; dropped: due but not sent.",
            &[
                Series::new("offered", GREY, points(|s| s.offered)),
                Series::new("sent", BLUE, points(|s| s.txs_sent)),
                Series::new("included", GREEN, points(|s| s.txs_included)),
                Series::new("dropped", RED, points(|s| s.dropped)),
            ],
        );
    } else {
        out += &charts::lines(
            "Tasks and transactions per second",
            "seconds since the start",
            "per second",
            "Started: tasks started that second; succeeded/failed: tasks that ended that \
             second; included: transactions seen in a block that second.",
            &[
                Series::new("started", GREY, points(|s| s.started)),
                Series::new("succeeded", BLUE, points(|s| s.succeeded)),
                Series::new("failed", RED, points(|s| s.failed)),
                Series::new("included", GREEN, points(|s| s.txs_included)),
            ],
        );
        out += &charts::lines(
            "Gas used per second",
            "seconds since the start",
            "gas/s",
            "Gas of the run's transactions, in the second their block was seen.",
            &[Series::new("gas used", ORANGE, points(|s| s.gas_used))],
        );
    }
    out
}

/// Transactions and gas of each block seen (open loop).
fn per_block(report: &Report) -> String {
    let Some(ol) = &report.open_loop else {
        return String::new();
    };
    let list = &ol.blocks.list;
    if list.is_empty() {
        return note("No block was seen.");
    }
    let points = |f: fn(&crate::report::BlockRecord) -> u64| {
        list.iter()
            .map(|b| (b.number as f64, f(b) as f64))
            .collect::<Vec<_>>()
    };
    let mut out = String::new();
    out += &charts::columns(
        "Transactions per block",
        "block number",
        "transactions",
        "All transactions in each block seen during the run and its grace period, and ours \
         among them.",
        &[
            Series::new("all", GREY, points(|b| b.txs)),
            Series::new("ours", BLUE, points(|b| b.own_txs)),
        ],
    );
    out += &charts::columns(
        "Gas used per block",
        "block number",
        "gas",
        "Gas used by all the transactions of each block.",
        &[Series::new("gas used", ORANGE, points(|b| b.gas_used))],
    );
    out
}

fn tasks(report: &Report) -> String {
    let mut out = sections::tasks(report);
    if report.tasks.is_empty() {
        return out + &note("No task finished.");
    }
    let names: Vec<String> = report.tasks.keys().cloned().collect();
    let shown = &names[..names.len().min(MAX_BARS)];
    out += &charts::bars(
        "Tasks per outcome",
        "tasks",
        "Tasks that finished, per name: succeeded and failed.",
        shown,
        &[
            Series::bars(
                "succeeded",
                GREEN,
                shown.iter().map(|n| report.tasks[n].succeeded as f64),
            ),
            Series::bars(
                "failed",
                RED,
                shown.iter().map(|n| report.tasks[n].failed as f64),
            ),
        ],
    );
    if names.len() > MAX_BARS {
        out += &note(&format!(
            "The chart shows the first {MAX_BARS} of {} tasks; the table has them all.",
            names.len()
        ));
    }
    out
}

fn errors(report: &Report) -> String {
    let mut out = sections::errors(report);
    if report.errors.is_empty() {
        return out;
    }
    let classes = sections::by_count(&report.errors);
    let shown = &classes[..classes.len().min(MAX_BARS)];
    let names: Vec<String> = shown.iter().map(|(c, _)| (*c).to_owned()).collect();
    out += &charts::bars(
        "Failures per error class",
        "failures",
        if report.open_loop.is_some() {
            "Rejected sends per error class, most frequent first."
        } else {
            "Failed tasks per error class, most frequent first."
        },
        &names,
        &[Series::bars(
            "failures",
            RED,
            shown.iter().map(|(_, n)| *n as f64),
        )],
    );
    out
}

/// Percentile bars: per stage of a send (open loop), per task (closed loop). The report holds
/// percentiles of the whole run, then p50/p99 per second over time.
fn latency(report: &Report) -> String {
    let mut out = String::new();
    if let Some(ol) = &report.open_loop {
        let rows = [
            ("lag", "intended time → sent", ol.lag_ms),
            ("send", "sent → node's answer", ol.send_ms),
            ("ack", "intended time → node's answer", ol.ack_ms),
            (
                "inclusion",
                "intended time → seen in a block",
                ol.inclusion_ms,
            ),
        ];
        out += &sections::latency_table(&rows);
        let names: Vec<String> = rows.iter().map(|(n, _, _)| (*n).to_owned()).collect();
        let summaries: Vec<LatencySummary> = rows.iter().map(|r| r.2).collect();
        out += &percentile_bars(
            "Latency percentiles per stage",
            "Measured from the intended send time (coordinated-omission free), except send: \
             the raw request time.",
            &names,
            &summaries,
        );
    } else {
        let t = &report.totals;
        out += &sections::latency_table(&[
            ("task", "task start → finish", t.task_ms),
            ("send", "sent → node's answer", t.send_ms),
            ("inclusion", "sent → seen in a block", t.inclusion_ms),
        ]);
        let names: Vec<String> = report.tasks.keys().take(MAX_BARS).cloned().collect();
        if !names.is_empty() {
            let of = |f: fn(&crate::report::TaskStats) -> LatencySummary| {
                names
                    .iter()
                    .map(|n| f(&report.tasks[n]))
                    .collect::<Vec<_>>()
            };
            out += &percentile_bars(
                "Task latency per task",
                "Task start to finish, per task name.",
                &names,
                &of(|t| t.task_ms),
            );
            out += &percentile_bars(
                "Inclusion latency per task",
                "Transaction sent to seen in a block, per task name.",
                &names,
                &of(|t| t.inclusion_ms),
            );
        }
    }
    out += &latency_over_time(report);
    out
}

/// p50 and p99 per second: task (open loop: intended → answer) by the second a task ended,
/// inclusion by the second its block was seen, each on its own chart (their scales differ by
/// orders of magnitude). Seconds without samples are left out.
fn latency_over_time(report: &Report) -> String {
    let points = |f: fn(&crate::report::SecondStats) -> f64| {
        report
            .series
            .iter()
            .filter(|s| f(s) > 0.0)
            .map(|s| (s.second as f64, f(s)))
            .collect::<Vec<_>>()
    };
    let (title, caption) = if report.open_loop.is_some() {
        (
            "Ack latency over time",
            "Per second, to 2%: intended send time to the node's answer, of the answers that \
             second.",
        )
    } else {
        (
            "Task latency over time",
            "Per second, to 2%: start to finish of the tasks that ended that second.",
        )
    };
    let charts = [
        (
            title,
            caption,
            [
                Series::new("p50", BLUE, points(|s| s.task_p50_ms)),
                Series::new("p99", PURPLE, points(|s| s.task_p99_ms)),
            ],
        ),
        (
            "Inclusion latency over time",
            "Per second, to 2%: of the transactions seen in a block that second (open loop: from \
             the intended send time).",
            [
                Series::new("p50", GREEN, points(|s| s.inclusion_p50_ms)),
                Series::new("p99", ORANGE, points(|s| s.inclusion_p99_ms)),
            ],
        ),
    ];
    let mut out = String::new();
    for (title, caption, series) in charts {
        if series.iter().any(|s| !s.values.is_empty()) {
            out += &charts::lines(title, "seconds since the start", "ms", caption, &series);
        }
    }
    if out.is_empty() {
        out = note("No latency was measured per second.");
    }
    out
}

fn percentile_bars(
    title: &str,
    caption: &str,
    names: &[String],
    summaries: &[LatencySummary],
) -> String {
    let of = |f: fn(&LatencySummary) -> f64| summaries.iter().map(f).collect::<Vec<_>>();
    charts::bars(
        title,
        "ms",
        caption,
        names,
        &[
            Series::bars("p50", BLUE, of(|l| l.p50)),
            Series::bars("p90", GREEN, of(|l| l.p90)),
            Series::bars("p99", ORANGE, of(|l| l.p99)),
            Series::bars("p99.9", PURPLE, of(|l| l.p999)),
        ],
    )
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
        assert!(html.contains("<title>loadgen report</title>"));
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
        assert!(html.contains("<title>spammer report</title>"));
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
    fn an_empty_report_still_renders() {
        let mut report = fixture("run-report.json");
        report.series.clear();
        report.tasks.clear();
        let html = render(&report);
        assert_balanced(&html);
        assert!(html.contains("less than a second") && html.contains("No task finished."));
    }
}
