//! The page's tables and text: run info, accounting, tasks, errors, latencies, blocks,
//! proxies. The charts beside them are in [`figures`](super::figures).

use maud::{Markup, html};

use super::closed_loop::{closed_loop_identities, closed_loop_rows};
use super::{
    format::{count, gwei, ms, percent, share, si, utc},
    page::{note, pairs, table},
};
use crate::report::{LatencySummary, OpenLoopStats, Report};

/// What ran, where and when; the config as given, folded.
pub(super) fn run_info(report: &Report) -> Markup {
    let run = &report.run;
    let mut rows = vec![
        ("engine", engine(report).to_owned()),
        ("chain id", run.chain_id.to_string()),
        ("client", run.client_version.clone()),
        ("started (UTC)", utc(run.started_at_unix_ms)),
        ("ended (UTC)", utc(run.ended_at_unix_ms)),
        ("length", format!("{:.3} s", report.elapsed_secs)),
        ("workers", run.workers.to_string()),
        ("seed", run.seed.to_string()),
    ];
    if let Some(ol) = &report.open_loop {
        rows.extend([
            ("rate profile", ol.rate.to_string()),
            ("send strategy", ol.strategy.to_string()),
            (
                "signing",
                if ol.presigned { "presigned" } else { "live" }.to_owned(),
            ),
            ("execution layer", ol.execution_layer.to_string()),
            ("nonces read via", ol.nonce_source.clone()),
            ("blocks followed via", ol.blocks_via.clone()),
        ]);
    }
    if let Some(funding) = &report.funding {
        if !funding.funder.is_empty() {
            rows.push((
                "funding (before the load)",
                format!(
                    "{} senders topped up from {}, {} already held enough; {} wei sent, fees at most {} wei, {:.1} s",
                    count(funding.funded),
                    funding.funder,
                    count(funding.already_funded),
                    funding.value_wei,
                    funding.max_fees_wei,
                    funding.secs
                ),
            ));
        }
        rows.push((
            "funding during the run",
            format!(
                "{} top-ups ({} wei), {} rounds short, {} senders parked for lack of funds",
                count(funding.top_ups),
                if funding.top_up_value_wei.is_empty() {
                    "0"
                } else {
                    &funding.top_up_value_wei
                },
                count(funding.top_up_failed_rounds),
                count(funding.parkings)
            ),
        ));
    }
    if let Some(store) = &report.store {
        rows.push((
            "store",
            match store.rows {
                Some(rows) => format!(
                    "run {}, {} records written, {} lost; the database holds {} tasks, {} txs, {} blocks",
                    store.run_id,
                    count(store.written),
                    count(store.dropped),
                    count(rows.tasks),
                    count(rows.txs),
                    count(rows.blocks)
                ),
                None => format!(
                    "run {}, {} records written, {} lost",
                    store.run_id,
                    count(store.written),
                    count(store.dropped)
                ),
            },
        ));
    }
    let nonces = report.nonces;
    rows.push((
        "nonce repairs",
        format!(
            "{} resyncs, {} fast-forwards, {} holes filled",
            nonces.resyncs, nonces.fast_forwards, nonces.holes_filled
        ),
    ));
    let config = serde_json::to_string_pretty(&run.config).unwrap_or_default();
    html! {
        (pairs(rows))
        details {
            summary { "configuration" }
            pre { (config) }
        }
    }
}

/// `loadgen` for an open-loop run, else the engine its config names (`spammer`).
pub(super) fn engine(report: &Report) -> &str {
    if report.open_loop.is_some() {
        return "loadgen";
    }
    report
        .run
        .config
        .get("engine")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("spammer")
}

/// The identities a report keeps, each with a mark of whether its sides are equal; the rates
/// and counts beside them; for an open-loop run, drops, the breaker and preconfirmations.
pub(super) fn accounting(report: &Report) -> Markup {
    let t = &report.totals;
    let errors: u64 = report.errors.values().sum();
    let mut identities = vec![
        identity(
            t.started,
            &format!(
                "tasks finished {} = succeeded {} + failed {}",
                count(t.started),
                count(t.succeeded),
                count(t.failed)
            ),
            t.succeeded + t.failed,
        ),
        identity(
            t.failed,
            &format!(
                "failed {} = sum of the error classes {}",
                count(t.failed),
                count(errors)
            ),
            errors,
        ),
    ];
    let mut rows = vec![
        ("success rate", percent(t.success_rate)),
        ("tasks per second", format!("{:.1}", t.tasks_per_sec)),
        ("transactions sent", count(t.txs_sent)),
        ("transactions included", count(t.txs_included)),
        ("gas used", si(t.gas_used as f64)),
    ];
    if let Some(ol) = &report.open_loop {
        identities.extend(open_loop_identities(ol));
        rows.extend(open_loop_rows(ol));
    }
    if let Some(cl) = &report.closed_loop {
        identities.extend(closed_loop_identities(cl));
        rows.extend(closed_loop_rows(cl));
    }
    html! {
        ul.identities { @for line in identities { (line) } }
        (pairs(rows))
        @if let Some(ol) = &report.open_loop {
            h3 { "Drops by reason" }
            @if ol.dropped_by_reason.is_empty() {
                (note("Nothing was dropped."))
            } @else {
                (table(
                    &["reason", "dropped", "share of offered"],
                    ol.dropped_by_reason
                        .iter()
                        .map(|(reason, &n)| vec![reason.clone(), count(n), share(n, ol.offered)]),
                ))
            }
            (breaker(ol))
            (preconf(ol))
        }
    }
}

fn open_loop_identities(ol: &OpenLoopStats) -> [Markup; 3] {
    [
        identity(
            ol.offered,
            &format!(
                "offered {} = dropped {} + sent {}",
                count(ol.offered),
                count(ol.dropped),
                count(ol.sent)
            ),
            ol.dropped + ol.sent,
        ),
        identity(
            ol.sent,
            &format!(
                "sent {} = accepted {} + rejected {} + unanswered {}",
                count(ol.sent),
                count(ol.accepted),
                count(ol.rejected),
                count(ol.unanswered)
            ),
            ol.accepted + ol.rejected + ol.unanswered,
        ),
        identity(
            ol.accepted + ol.unanswered,
            &format!(
                "accepted + unanswered {} = included {} + pending at end {} + superseded {} + duplicates {}",
                count(ol.accepted + ol.unanswered),
                count(ol.included),
                count(ol.pending_at_end),
                count(ol.superseded),
                count(ol.duplicates)
            ),
            ol.included + ol.pending_at_end + ol.superseded + ol.duplicates,
        ),
    ]
}

fn open_loop_rows(ol: &OpenLoopStats) -> [(&'static str, String); 8] {
    let by = |m: &std::collections::BTreeMap<String, u64>| {
        if m.is_empty() {
            return "none".to_owned();
        }
        let parts: Vec<String> = m
            .iter()
            .map(|(k, n)| format!("{} {k}", count(*n)))
            .collect();
        parts.join(", ")
    };
    [
        ("retries", by(&ol.retries)),
        ("reconciled senders", by(&ol.reconciliations)),
        (
            "re-broadcasts",
            format!(
                "{} (the same bytes, sent again after the node lost them)",
                count(ol.rebroadcasts)
            ),
        ),
        (
            "late sends",
            format!(
                "{} (more than {} ms after the intended time)",
                count(ol.late),
                ol.late_after_ms
            ),
        ),
        (
            "landed after an error",
            format!(
                "{} (refused sends later seen in a block)",
                count(ol.landed_after_error)
            ),
        ),
        (
            "included per second",
            format!(
                "{:.1} (over {:.1} s, the run start to the last inclusion)",
                ol.included_tps, ol.inclusion_window_secs
            ),
        ),
        ("gas per second", si(ol.gas_per_sec)),
        (
            "receipts",
            format!(
                "{} read, {} missing, {} reverted",
                count(ol.receipts),
                count(ol.receipts_missing),
                count(ol.reverted)
            ),
        ),
    ]
}

/// One `<li>`: `text`, marked as holding when `left == right`.
pub(super) fn identity(left: u64, text: &str, right: u64) -> Markup {
    let (class, mark) = if left == right {
        ("ok", "holds")
    } else {
        ("bad", "does not hold: a bug")
    };
    html! { li { (text) " " span class=(class) { (mark) } } }
}

fn breaker(ol: &OpenLoopStats) -> Markup {
    html! {
        h3 { "Circuit breaker" }
        @if ol.breaker.is_empty() {
            (note("Stayed closed."))
        } @else {
            (table(
                &["at (s)", "from", "to"],
                ol.breaker.iter().map(|e| {
                    vec![
                        format!("{:.3}", e.at_ms as f64 / 1_000.0),
                        e.from.clone(),
                        e.to.clone(),
                    ]
                }),
            ))
        }
    }
}

fn preconf(ol: &OpenLoopStats) -> Markup {
    let Some(pre) = &ol.preconf else {
        return html! {};
    };
    html! {
        h3 { "Preconfirmations" }
        (table(
            &["status", "events"],
            pre.events.iter().map(|(status, &n)| vec![status.clone(), count(n)]),
        ))
        (note(&format!(
            "{} events for hashes that were not ours; intended time to preconfirmed: p50 {} ms, \
             p99 {} ms",
            count(pre.unmatched),
            ms(pre.preconf_ms.p50),
            ms(pre.preconf_ms.p99)
        )))
    }
}

/// Per task: counters, rates and latency percentiles; the totals last.
pub(super) fn tasks(report: &Report) -> Markup {
    let rows = report
        .tasks
        .iter()
        .map(|(name, t)| (name.as_str(), t))
        .chain([("total", &report.totals)])
        .map(|(name, t)| {
            vec![
                name.to_owned(),
                count(t.started),
                count(t.succeeded),
                count(t.failed),
                percent(t.success_rate),
                format!("{:.1}", t.tasks_per_sec),
                count(t.txs_sent),
                count(t.txs_included),
                si(t.gas_used as f64),
                ms(t.task_ms.p50),
                ms(t.task_ms.p99),
                ms(t.inclusion_ms.p50),
                ms(t.inclusion_ms.p99),
            ]
        });
    table(
        &[
            "task",
            "finished",
            "ok",
            "failed",
            "success",
            "tasks/s",
            "txs sent",
            "included",
            "gas",
            "task p50 ms",
            "task p99 ms",
            "incl p50 ms",
            "incl p99 ms",
        ],
        rows,
    )
}

/// Error classes, most frequent first, with their share of the failures.
pub(super) fn errors(report: &Report) -> Markup {
    if report.errors.is_empty() {
        return note("No task failed.");
    }
    let total: u64 = report.errors.values().sum();
    table(
        &["error class", "count", "share of failures"],
        by_count(&report.errors)
            .into_iter()
            .map(|(class, n)| vec![class.to_owned(), count(n), share(n, total)]),
    )
}

/// `(key, count)` pairs, largest count first (then by key).
pub(super) fn by_count(map: &std::collections::BTreeMap<String, u64>) -> Vec<(&str, u64)> {
    let mut list: Vec<(&str, u64)> = map.iter().map(|(k, &v)| (k.as_str(), v)).collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    list
}

/// The latencies the run measured, one row per stage: `(name, what it measures, summary)`.
/// Open loop: lag, send, ack and inclusion; closed loop: task, send and inclusion.
pub(super) fn latency_stages(report: &Report) -> Vec<(&'static str, &'static str, LatencySummary)> {
    if let Some(ol) = &report.open_loop {
        return vec![
            ("lag", "intended time → sent", ol.lag_ms),
            ("send", "sent → node's answer", ol.send_ms),
            ("ack", "intended time → node's answer", ol.ack_ms),
            (
                "inclusion",
                "intended time → seen in a block",
                ol.inclusion_ms,
            ),
        ];
    }
    let t = &report.totals;
    vec![
        ("task", "task start → finish", t.task_ms),
        ("send", "sent → node's answer", t.send_ms),
        ("inclusion", "sent → seen in a block", t.inclusion_ms),
    ]
}

/// A table of the run's latency summaries, one row per [stage](latency_stages).
pub(super) fn latency(report: &Report) -> Markup {
    let rows = latency_stages(report);
    table(
        &[
            "latency",
            "from → to",
            "count",
            "mean",
            "p50",
            "p90",
            "p99",
            "p99.9",
            "max",
        ],
        rows.iter().map(|(name, what, l)| {
            vec![
                (*name).to_owned(),
                (*what).to_owned(),
                count(l.count),
                ms(l.mean),
                ms(l.p50),
                ms(l.p90),
                ms(l.p99),
                ms(l.p999),
                ms(l.max),
            ]
        }),
    )
}

/// The blocks seen: totals and means.
pub(super) fn blocks_summary(ol: &OpenLoopStats) -> Markup {
    let b = &ol.blocks;
    let rows = [
        ("blocks seen", count(b.count)),
        (
            "transactions",
            format!("{} ({} ours)", count(b.txs), count(b.own_txs)),
        ),
        (
            "per block",
            format!("mean {:.1}, max {}", b.mean_txs, count(b.max_txs)),
        ),
        ("gas used", si(b.gas_used as f64)),
        ("mean fill (gas used / limit)", percent(b.mean_fill)),
        (
            "mean block time",
            format!("{:.2} s", b.mean_block_time_secs),
        ),
        (
            "chain throughput",
            format!("{:.1} tx/s, {} gas/s", b.chain_tps, si(b.chain_gas_per_sec)),
        ),
        (
            "base fee (first → last)",
            format!(
                "{} → {} gwei",
                gwei(b.base_fee_first),
                gwei(b.base_fee_last)
            ),
        ),
    ];
    html! {
        (pairs(rows))
        @if b.truncated {
            (note(&format!("The per-block list stops after {} blocks.", b.list.len())))
        }
    }
}

/// One row per proxy of the pool.
pub(super) fn proxies(report: &Report) -> Markup {
    table(
        &[
            "proxy",
            "picks",
            "requests",
            "failures",
            "last latency ms",
            "bans",
            "banned at end",
        ],
        report.proxies.iter().map(|p| {
            vec![
                p.proxy.clone(),
                count(p.picks),
                count(p.requests),
                count(p.failures),
                p.last_latency_ms.map_or_else(|| "-".to_owned(), ms),
                p.ban_count.to_string(),
                p.banned.clone().unwrap_or_else(|| "-".to_owned()),
            ]
        }),
    )
}
