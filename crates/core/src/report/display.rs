//! The terminal summary of a [`Report`]: run line, an aligned per-task table, errors, nonces.

use std::fmt;

use super::{LatencySummary, OpenLoopStats, Report, TaskStats};

/// Prints a compact summary: one line about the run, a table with a row per task and a total
/// row (count, ok, failed, success %, tasks/s, task latency p50/p90/p99/p99.9/max, send and
/// inclusion p50/p99, all in ms; `-` where nothing was measured), error classes by count, and
/// nonce repairs.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let run = &self.run;
        let client = if run.client_version.is_empty() {
            "unknown client"
        } else {
            &run.client_version
        };
        writeln!(
            f,
            "run: chain {} ({client}), {} workers, seed {}, {} s",
            run.chain_id, run.workers, run.seed, self.elapsed_secs,
        )?;
        let t = &self.totals;
        let gas_per_sec = if self.elapsed_secs > 0.0 {
            t.gas_used as f64 / self.elapsed_secs
        } else {
            0.0
        };
        writeln!(
            f,
            "txs: {} sent, {} included, gas {} ({}/s)",
            t.txs_sent,
            t.txs_included,
            si(t.gas_used as f64),
            si(gas_per_sec),
        )?;
        writeln!(f)?;

        let mut rows = vec![HEADER.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
        rows.extend(self.tasks.iter().map(|(name, stats)| row(name, stats)));
        rows.push(row("total", t));
        f.write_str(&table(&rows))?;
        if self.open_loop.is_some() {
            writeln!(
                f,
                "latencies in ms; p50..max: intended time to node answer, send: sent to node answer, incl: intended time to seen in a block"
            )?;
        } else {
            writeln!(
                f,
                "latencies in ms; send: sent to node answer, incl: sent to seen in a block"
            )?;
        }

        if self.errors.is_empty() {
            writeln!(f, "errors: none")?;
        } else {
            writeln!(f, "errors:")?;
            let mut errors: Vec<_> = self.errors.iter().collect();
            errors.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let width = errors[0].1.to_string().len();
            for (label, count) in errors {
                writeln!(f, "  {count:>width$}  {label}")?;
            }
        }
        let n = &self.nonces;
        write!(
            f,
            "nonces: {} resyncs, {} fast-forwards, {} holes filled",
            n.resyncs, n.fast_forwards, n.holes_filled,
        )?;
        if !self.endpoints.is_empty() {
            write!(
                f,
                "\n{}",
                super::endpoints::EndpointsSummary(&self.endpoints)
            )?;
        }
        if !self.proxies.is_empty() {
            write!(f, "\n{}", super::proxies::ProxiesSummary(&self.proxies))?;
        }
        if let Some(open) = &self.open_loop {
            write!(f, "\n{}", OpenLoopSummary(open))?;
        }
        if let Some(closed) = &self.closed_loop {
            write!(f, "\n{}", super::closed_loop::ClosedLoopSummary(closed))?;
        }
        if !self.shards.is_empty() {
            write!(f, "\n{}", super::shards::ShardsSummary(&self.shards))?;
        }
        if let Some(funding) = &self.funding {
            let before = !funding.funder.is_empty();
            if before {
                write!(
                    f,
                    "\nfunding (before the load, not in its figures): {} senders topped up from {}, {} already held enough; {} sent, fees at most {}, {:.1} s; budget {}",
                    funding.funded,
                    funding.funder,
                    funding.already_funded,
                    wei_as_eth(&funding.value_wei),
                    wei_as_eth(&funding.max_fees_wei),
                    funding.secs,
                    funding.budget,
                )?;
            }
            if funding.top_ups > 0 || funding.parkings > 0 || funding.top_up_failed_rounds > 0 {
                write!(
                    f,
                    "\n{}during the run: {} top-ups ({}), {} rounds short, {} senders parked for lack of funds",
                    if before { "  " } else { "funding " },
                    funding.top_ups,
                    wei_as_eth(&funding.top_up_value_wei),
                    funding.top_up_failed_rounds,
                    funding.parkings,
                )?;
            }
        }
        if let Some(store) = &self.store {
            write!(
                f,
                "\nstore: run {}, {} records written",
                store.run_id, store.written
            )?;
            if let Some(rows) = store.rows {
                write!(
                    f,
                    " (the database holds {} tasks, {} txs, {} blocks of it)",
                    rows.tasks, rows.txs, rows.blocks
                )?;
            }
            if store.dropped > 0 {
                write!(
                    f,
                    ", {} LOST (the store failed or fell behind; the stored run is incomplete)",
                    store.dropped
                )?;
            }
        }
        Ok(())
    }
}

/// The open-loop section: the accounting identities spelled out, drops, lag, blocks, breaker.
struct OpenLoopSummary<'a>(&'a OpenLoopStats);

impl fmt::Display for OpenLoopSummary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = self.0;
        writeln!(
            f,
            "open loop: {}, {} sends, {} signing, {} (blocks via {})",
            o.rate,
            o.strategy,
            if o.presigned { "presigned" } else { "live" },
            o.execution_layer,
            o.blocks_via,
        )?;
        writeln!(
            f,
            "  offered {} = dropped {} + sent {}; sent = accepted {} + rejected {} + unanswered {}; accepted + unanswered = included {} + pending at end {} + superseded {} + duplicates {}",
            o.offered,
            o.dropped,
            o.sent,
            o.accepted,
            o.rejected,
            o.unanswered,
            o.included,
            o.pending_at_end,
            o.superseded,
            o.duplicates,
        )?;
        let by = |m: &std::collections::BTreeMap<String, u64>| {
            let parts: Vec<String> = m.iter().map(|(k, n)| format!("{n} {k}")).collect();
            parts.join(", ")
        };
        if !o.retries.is_empty() {
            writeln!(f, "  retries: {}", by(&o.retries))?;
        }
        if !o.reconciliations.is_empty() || o.rebroadcasts > 0 {
            writeln!(
                f,
                "  reconciled senders: {}; {} re-broadcast",
                by(&o.reconciliations),
                o.rebroadcasts
            )?;
        }
        if !o.dropped_by_reason.is_empty() {
            let reasons: Vec<String> = o
                .dropped_by_reason
                .iter()
                .map(|(reason, n)| format!("{n} {reason}"))
                .collect();
            writeln!(f, "  dropped: {}", reasons.join(", "))?;
        }
        if o.landed_after_error > 0 {
            writeln!(
                f,
                "  {} refused sends landed anyway (an earlier copy)",
                o.landed_after_error
            )?;
        }
        writeln!(
            f,
            "  late {} (> {} ms); lag intended->sent p50 {} p99 {} max {} ms",
            o.late,
            o.late_after_ms,
            ms(&o.lag_ms, |l| l.p50),
            ms(&o.lag_ms, |l| l.p99),
            ms(&o.lag_ms, |l| l.max),
        )?;
        let b = &o.blocks;
        writeln!(
            f,
            "  included {:.1} tx/s (over {:.1} s), gas {}/s, {} reverted; {} blocks, {:.1} txs/block (max {}), fill {:.2}%, block time {} s",
            o.included_tps,
            o.inclusion_window_secs,
            si(o.gas_per_sec),
            o.reverted,
            b.count,
            b.mean_txs,
            b.max_txs,
            b.mean_fill * 100.0,
            b.mean_block_time_secs,
        )?;
        if o.receipts_sampled_blocks > 0 {
            writeln!(
                f,
                "  receipts: {} read, {} not read; {} blocks sampled (whole-block reads slowed the node), reverted counts the sample",
                o.receipts, o.receipts_missing, o.receipts_sampled_blocks,
            )?;
        }
        if let Some(p) = &o.preconf {
            let events: Vec<String> = p.events.iter().map(|(s, n)| format!("{n} {s}")).collect();
            writeln!(
                f,
                "  preconfirmations: {}; intended->preconfirmed p50 {} p99 {} ms",
                events.join(", "),
                ms(&p.preconf_ms, |l| l.p50),
                ms(&p.preconf_ms, |l| l.p99),
            )?;
        }
        if o.breaker.is_empty() {
            write!(f, "  breaker: stayed closed")
        } else {
            let events: Vec<String> = o
                .breaker
                .iter()
                .map(|e| format!("{:.1}s {}->{}", e.at_ms as f64 / 1_000.0, e.from, e.to))
                .collect();
            write!(f, "  breaker: {}", events.join(", "))
        }
    }
}

const HEADER: [&str; 15] = [
    "task", "count", "ok", "failed", "success", "tasks/s", "p50", "p90", "p99", "p99.9", "max",
    "send p50", "send p99", "incl p50", "incl p99",
];

fn row(name: &str, s: &TaskStats) -> Vec<String> {
    let task = |pick: fn(&LatencySummary) -> f64| ms(&s.task_ms, pick);
    vec![
        name.to_owned(),
        s.started.to_string(),
        s.succeeded.to_string(),
        s.failed.to_string(),
        if s.started == 0 {
            "-".to_owned()
        } else {
            format!("{:.2}%", s.success_rate * 100.0)
        },
        format!("{:.1}", s.tasks_per_sec),
        task(|l| l.p50),
        task(|l| l.p90),
        task(|l| l.p99),
        task(|l| l.p999),
        task(|l| l.max),
        ms(&s.send_ms, |l| l.p50),
        ms(&s.send_ms, |l| l.p99),
        ms(&s.inclusion_ms, |l| l.p50),
        ms(&s.inclusion_ms, |l| l.p99),
    ]
}

/// A latency in ms with about 3 significant digits, `-` when nothing was measured.
fn ms(latency: &LatencySummary, pick: fn(&LatencySummary) -> f64) -> String {
    if latency.count == 0 {
        return "-".to_owned();
    }
    match pick(latency) {
        v if v < 10.0 => format!("{v:.2}"),
        v if v < 1_000.0 => format!("{v:.1}"),
        v => format!("{v:.0}"),
    }
}

/// `value` with a k/M/G/T suffix and one decimal.
fn si(value: f64) -> String {
    const UNITS: [(f64, &str); 4] = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")];
    UNITS.iter().find(|(scale, _)| value >= *scale).map_or_else(
        || format!("{value:.0}"),
        |(scale, unit)| format!("{:.1}{unit}", value / scale),
    )
}

/// Rows aligned in columns two spaces apart: the first column to the left, the others (numbers)
/// to the right.
fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if c == 0 {
                line.push_str(&format!("{cell:<width$}"));
            } else {
                line.push_str(&format!("  {cell:>width$}"));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A decimal wei amount as ETH (`1.5 ETH`), or as it is when it does not parse.
fn wei_as_eth(wei: &str) -> String {
    wei.parse::<alloy::primitives::U256>()
        .map_or_else(|_| format!("{wei} wei"), crate::wallet::eth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns() {
        let rows = vec![
            vec!["task".to_owned(), "count".to_owned()],
            vec!["a-long-name".to_owned(), "7".to_owned()],
            vec!["b".to_owned(), "1234567".to_owned()],
        ];
        assert_eq!(
            table(&rows),
            "task           count\na-long-name        7\nb            1234567\n"
        );
    }

    #[test]
    fn ms_precision() {
        let mut l = LatencySummary {
            count: 1,
            ..LatencySummary::default()
        };
        let p50 = |l: &LatencySummary| l.p50;
        for (v, text) in [(0.123, "0.12"), (12.34, "12.3"), (1_234.5, "1234")] {
            l.p50 = v;
            assert_eq!(ms(&l, p50), text);
        }
        assert_eq!(ms(&LatencySummary::default(), p50), "-");
    }

    #[test]
    fn si_units() {
        assert_eq!(si(0.0), "0");
        assert_eq!(si(999.0), "999");
        assert_eq!(si(21_000.0), "21.0k");
        assert_eq!(si(41_800_000.0), "41.8M");
        assert_eq!(si(3.5e9), "3.5G");
    }
}
