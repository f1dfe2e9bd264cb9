//! The charts of each section: which figures of the report each one draws, in which colours,
//! with which caption. Drawing is [`charts`](super::charts)' job.

use maud::{Markup, html};

use super::{
    charts::{self, BLUE, GREEN, GREY, MAX_BARS, ORANGE, PURPLE, RED, Series},
    page::note,
    sections,
};
use crate::report::{BlockStats, LatencySummary, OpenLoopStats, Report, SecondStats, TaskStats};

/// Counters per second of the run: what was offered, sent and included (open loop), or
/// started, succeeded and failed, and gas (closed loop).
pub(super) fn over_time(report: &Report) -> Markup {
    if report.series.is_empty() {
        return note("The run lasted less than a second: no per-second figures.");
    }
    let points = |f: fn(&SecondStats) -> u64| {
        report
            .series
            .iter()
            .map(|s| (s.second as f64, f(s) as f64))
            .collect::<Vec<_>>()
    };
    if report.open_loop.is_some() {
        return charts::lines(
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
    }
    html! {
        (charts::lines(
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
        ))
        (charts::lines(
            "Gas used per second",
            "seconds since the start",
            "gas/s",
            "Gas of the run's transactions, in the second their block was seen.",
            &[Series::new("gas used", ORANGE, points(|s| s.gas_used))],
        ))
    }
}

/// Transactions and gas of each block seen (open loop).
pub(super) fn per_block(ol: &OpenLoopStats) -> Markup {
    let list = &ol.blocks.list;
    if list.is_empty() {
        return note("No block was seen.");
    }
    let points = |f: fn(&BlockStats) -> u64| {
        list.iter()
            .map(|b| (b.number as f64, f(b) as f64))
            .collect::<Vec<_>>()
    };
    html! {
        (charts::columns(
            "Transactions per block",
            "block number",
            "transactions",
            "All transactions in each block seen during the run and its grace period, and ours \
             among them.",
            &[
                Series::new("all", GREY, points(|b| b.txs)),
                Series::new("ours", BLUE, points(|b| b.own_txs)),
            ],
        ))
        (charts::columns(
            "Gas used per block",
            "block number",
            "gas",
            "Gas used by all the transactions of each block.",
            &[Series::new("gas used", ORANGE, points(|b| b.gas_used))],
        ))
    }
}

/// Succeeded and failed tasks per name, the first [`MAX_BARS`] names.
pub(super) fn tasks(report: &Report) -> Markup {
    if report.tasks.is_empty() {
        return note("No task finished.");
    }
    let names: Vec<String> = report.tasks.keys().cloned().collect();
    let shown = &names[..names.len().min(MAX_BARS)];
    let of = |f: fn(&TaskStats) -> u64| shown.iter().map(move |n| f(&report.tasks[n]) as f64);
    html! {
        (charts::bars(
            "Tasks per outcome",
            "tasks",
            "Tasks that finished, per name: succeeded and failed.",
            shown,
            &[
                Series::bars("succeeded", GREEN, of(|t| t.succeeded)),
                Series::bars("failed", RED, of(|t| t.failed)),
            ],
        ))
        @if names.len() > MAX_BARS {
            (note(&format!(
                "The chart shows the first {MAX_BARS} of {} tasks; the table has them all.",
                names.len()
            )))
        }
    }
}

/// Failures per error class, the [`MAX_BARS`] most frequent; nothing when none failed.
pub(super) fn errors(report: &Report) -> Markup {
    if report.errors.is_empty() {
        return html! {};
    }
    let classes = sections::by_count(&report.errors);
    let shown = &classes[..classes.len().min(MAX_BARS)];
    let names: Vec<String> = shown.iter().map(|(c, _)| (*c).to_owned()).collect();
    charts::bars(
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
    )
}

/// Percentile bars: per stage of a send (open loop), per task (closed loop); then p50/p99 per
/// second over time.
pub(super) fn latency(report: &Report) -> Markup {
    html! {
        @if report.open_loop.is_some() {
            (per_stage(report))
        } @else if !report.tasks.is_empty() {
            (per_task(report))
        }
        (latency_over_time(report))
    }
}

/// The percentiles of each stage of an open-loop send, on one chart.
fn per_stage(report: &Report) -> Markup {
    let stages = sections::latency_stages(report);
    let names: Vec<String> = stages.iter().map(|(n, _, _)| (*n).to_owned()).collect();
    let summaries: Vec<LatencySummary> = stages.iter().map(|s| s.2).collect();
    percentile_bars(
        "Latency percentiles per stage",
        "Measured from the intended send time (coordinated-omission free), except send: the raw \
         request time.",
        &names,
        &summaries,
    )
}

/// Task and inclusion latency percentiles of the first [`MAX_BARS`] task names.
fn per_task(report: &Report) -> Markup {
    let names: Vec<String> = report.tasks.keys().take(MAX_BARS).cloned().collect();
    let of = |f: fn(&TaskStats) -> LatencySummary| {
        names
            .iter()
            .map(|n| f(&report.tasks[n]))
            .collect::<Vec<_>>()
    };
    html! {
        (percentile_bars(
            "Task latency per task",
            "Task start to finish, per task name.",
            &names,
            &of(|t| t.task_ms),
        ))
        (percentile_bars(
            "Inclusion latency per task",
            "Transaction sent to seen in a block, per task name.",
            &names,
            &of(|t| t.inclusion_ms),
        ))
    }
}

/// p50 and p99 per second: task (open loop: intended → answer) by the second a task ended,
/// inclusion by the second its block was seen, each on its own chart (their scales differ by
/// orders of magnitude). Seconds without samples are left out.
fn latency_over_time(report: &Report) -> Markup {
    let points = |f: fn(&SecondStats) -> f64| {
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
    let drawn: Vec<_> = charts
        .iter()
        .filter(|(_, _, series)| series.iter().any(|s| !s.values.is_empty()))
        .collect();
    html! {
        @for (title, caption, series) in &drawn {
            (charts::lines(title, "seconds since the start", "ms", caption, series))
        }
        @if drawn.is_empty() {
            (note("No latency was measured per second."))
        }
    }
}

fn percentile_bars(
    title: &str,
    caption: &str,
    names: &[String],
    summaries: &[LatencySummary],
) -> Markup {
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
