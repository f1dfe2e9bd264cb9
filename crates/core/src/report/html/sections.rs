//! The page's sections as HTML: run info, accounting, tasks, errors, latencies, blocks,
//! proxies. Every text that comes from the run (task names, error classes, config) is escaped
//! by [`page`](super::page)'s helpers.

use std::fmt::Write as _;

use crate::report::{LatencySummary, OpenLoopStats, Report};

use super::page::{count, escape, ms, note, pairs, percent, share, si, table};

/// What ran, where and when; the config as given, folded.
pub(super) fn run_info(report: &Report) -> String {
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
    if let Some(store) = &report.store {
        rows.push((
            "store",
            format!(
                "run {}, {} records written, {} lost",
                store.run_id,
                count(store.written),
                count(store.dropped)
            ),
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
    format!(
        "{}<details><summary>configuration</summary><pre>{}</pre></details>\n",
        pairs(rows),
        escape(&config)
    )
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

/// `2024-05-01 12:00:00.250` (UTC), `-` for 0 (not recorded).
fn utc(unix_ms: u64) -> String {
    if unix_ms == 0 {
        return "-".to_owned();
    }
    let (days, ms_of_day) = (unix_ms / 86_400_000, unix_ms % 86_400_000);
    let (year, month, day) = civil_from_days(days);
    let secs = ms_of_day / 1_000;
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:03}",
        secs / 3_600,
        secs / 60 % 60,
        secs % 60,
        ms_of_day % 1_000
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01: Howard Hinnant's `civil_from_days`
/// (<https://howardhinnant.github.io/date_algorithms.html>), for days on or after the epoch.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shifted so that eras (400 years) start on 0000-03-01: the leap day ends a year.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// The identities a report keeps, each with a mark of whether its sides are equal.
pub(super) fn accounting(report: &Report) -> String {
    let t = &report.totals;
    let errors: u64 = report.errors.values().sum();
    let mut lines = vec![
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
    let mut out = String::new();
    if let Some(ol) = &report.open_loop {
        lines.extend(open_loop_identities(ol));
    }
    out.push_str("<ul class=\"identities\">\n");
    for line in lines {
        out.push_str(&line);
    }
    out.push_str("</ul>\n");

    let mut rows = vec![
        ("success rate", percent(t.success_rate)),
        ("tasks per second", format!("{:.1}", t.tasks_per_sec)),
        ("transactions sent", count(t.txs_sent)),
        ("transactions included", count(t.txs_included)),
        ("gas used", si(t.gas_used as f64)),
    ];
    if let Some(ol) = &report.open_loop {
        rows.extend([
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
                    "{} (rejected sends later seen in a block)",
                    count(ol.landed_after_error)
                ),
            ),
            ("included per second", format!("{:.1}", ol.included_tps)),
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
        ]);
    }
    out.push_str(&pairs(rows));
    if let Some(ol) = &report.open_loop {
        out.push_str("<h3>Drops by reason</h3>\n");
        if ol.dropped_by_reason.is_empty() {
            out.push_str(&note("Nothing was dropped."));
        } else {
            out.push_str(&table(
                &["reason", "dropped", "share of offered"],
                ol.dropped_by_reason
                    .iter()
                    .map(|(reason, &n)| vec![reason.clone(), count(n), share(n, ol.offered)]),
            ));
        }
        out.push_str(&breaker(ol));
        out.push_str(&preconf(ol));
    }
    out
}

fn open_loop_identities(ol: &OpenLoopStats) -> Vec<String> {
    vec![
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
                "sent {} = accepted {} + rejected {}",
                count(ol.sent),
                count(ol.accepted),
                count(ol.rejected)
            ),
            ol.accepted + ol.rejected,
        ),
        identity(
            ol.accepted,
            &format!(
                "accepted {} = included {} + pending at end {} + superseded {} + duplicates {}",
                count(ol.accepted),
                count(ol.included),
                count(ol.pending_at_end),
                count(ol.superseded),
                count(ol.duplicates)
            ),
            ol.included + ol.pending_at_end + ol.superseded + ol.duplicates,
        ),
    ]
}

/// One `<li>`: `text`, marked as holding when `left == right`.
fn identity(left: u64, text: &str, right: u64) -> String {
    let (class, mark) = if left == right {
        ("ok", "holds")
    } else {
        ("bad", "does not hold: a bug")
    };
    format!(
        "<li>{} <span class=\"{class}\">{mark}</span></li>\n",
        escape(text)
    )
}

fn breaker(ol: &OpenLoopStats) -> String {
    let mut out = String::from("<h3>Circuit breaker</h3>\n");
    if ol.breaker.is_empty() {
        out.push_str(&note("Stayed closed."));
    } else {
        out.push_str(&table(
            &["at (s)", "from", "to"],
            ol.breaker.iter().map(|e| {
                vec![
                    format!("{:.3}", e.at_ms as f64 / 1_000.0),
                    e.from.clone(),
                    e.to.clone(),
                ]
            }),
        ));
    }
    out
}

fn preconf(ol: &OpenLoopStats) -> String {
    let Some(pre) = &ol.preconf else {
        return String::new();
    };
    let mut out = String::from("<h3>Preconfirmations</h3>\n");
    out.push_str(&table(
        &["status", "events"],
        pre.events
            .iter()
            .map(|(status, &n)| vec![status.clone(), count(n)]),
    ));
    let _ = write!(
        out,
        "{}",
        note(&format!(
            "{} events for hashes that were not ours; intended time to preconfirmed: p50 {} ms, \
             p99 {} ms",
            count(pre.unmatched),
            ms(pre.preconf_ms.p50),
            ms(pre.preconf_ms.p99)
        ))
    );
    out
}

/// Per task: counters, rates and latency percentiles; the totals last.
pub(super) fn tasks(report: &Report) -> String {
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
pub(super) fn errors(report: &Report) -> String {
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

/// A table of latency summaries, one row per `(name, what it measures, summary)`.
pub(super) fn latency_table(rows: &[(&str, &str, LatencySummary)]) -> String {
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
pub(super) fn blocks_summary(ol: &OpenLoopStats) -> String {
    let b = &ol.blocks;
    let mut out = pairs([
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
    ]);
    if b.truncated {
        out.push_str(&note(&format!(
            "The per-block list stops after {} blocks.",
            b.list.len()
        )));
    }
    out
}

fn gwei(wei: u64) -> String {
    format!("{:.3}", wei as f64 / 1e9)
}

/// One row per proxy of the pool.
pub(super) fn proxies(report: &Report) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "-");
        assert_eq!(utc(1), "1970-01-01 00:00:00.001");
        assert_eq!(utc(951_825_600_000), "2000-02-29 12:00:00.000");
        assert_eq!(utc(1_700_000_000_250), "2023-11-14 22:13:20.250");
        assert_eq!(utc(1_795_251_625_144), "2026-11-21 09:00:25.144");
        assert_eq!(utc(4_107_542_399_999), "2100-02-28 23:59:59.999");
        assert_eq!(utc(4_107_542_400_000), "2100-03-01 00:00:00.000");
    }
}
