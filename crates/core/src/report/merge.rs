//! The report of a run over several shards, merged from what each stored: counts summed over
//! the shards that reported, latency percentiles from the merged per-second HDR histograms
//! (never averages of percentiles), and one row per shard with its state.

use spam_store::{ShardSecond, ShardState, ShardView};

use super::{
    ClosedLoopStats, EndpointSummary, FundingStats, LatencySummary, NonceStats, OpenLoopStats,
    Report, ShardSummary, round,
};
use crate::shard::{Hists, decode_histograms};

impl Report {
    /// Merges the shards of a sharded run into this report (rebuilt from the rows all shards
    /// wrote): the open- and closed-loop figures, nonce repairs and the per-second offered,
    /// dropped and late counts are the sums over the shards that reported; every latency
    /// comes from the merged histograms of all shards.
    pub(super) fn merge_shards(&mut self, view: &ShardView, seconds: &[ShardSecond]) {
        let mut reports = Vec::new();
        self.shards = view
            .shards
            .iter()
            .map(|record| {
                let figures = &record.figures;
                let report = figures
                    .get("report")
                    .and_then(|r| serde_json::from_value::<Report>(r.clone()).ok());
                let progress = &figures["progress"];
                let count = |key: &str| progress[key].as_u64().unwrap_or(0);
                let dropped: u64 = progress["dropped_by_reason"].as_object().map_or(0, |m| {
                    m.values().filter_map(serde_json::Value::as_u64).sum()
                });
                let state = if record.is_lost(view.now_us) {
                    "lost".to_owned()
                } else {
                    record.state.as_str().to_owned()
                };
                let offered = count("offered");
                let planned = figures["planned"].as_u64().unwrap_or(0);
                let merged = record.state == ShardState::Done && report.is_some();
                let summary = ShardSummary {
                    index: record.shard,
                    host: record.host.clone(),
                    state,
                    late_ms: figures["late_ms"].as_u64().unwrap_or(0),
                    offered,
                    dropped,
                    sent: count("sent"),
                    included: count("included"),
                    unreported: if merged {
                        0
                    } else {
                        planned.saturating_sub(offered)
                    },
                    merged,
                };
                if let (true, Some(report)) = (merged, report) {
                    reports.push((record.shard, report));
                }
                summary
            })
            .collect();
        self.merge_reports(&reports);
        self.merge_latencies(seconds);
    }

    /// The shards' own figures, summed.
    fn merge_reports(&mut self, reports: &[(u32, Report)]) {
        let mut open: Option<OpenLoopStats> = None;
        let mut closed: Option<ClosedLoopStats> = None;
        let mut nonces = NonceStats::default();
        let mut endpoints = Vec::new();
        let mut proxies = Vec::new();
        let mut funding: Option<FundingStats> = None;
        // The rows gave the transaction counts; the rest is the shards' alone.
        let len = reports
            .iter()
            .map(|(_, r)| r.series.len())
            .max()
            .unwrap_or(0);
        while self.series.len() < len {
            self.series.push(super::SecondStats {
                second: self.series.len() as u64,
                ..Default::default()
            });
        }
        for second in &mut self.series {
            (second.offered, second.dropped, second.late) = (0, 0, 0);
        }
        for (index, report) in reports {
            self.elapsed_secs = self.elapsed_secs.max(report.elapsed_secs);
            nonces.resyncs += report.nonces.resyncs;
            nonces.fast_forwards += report.nonces.fast_forwards;
            nonces.holes_filled += report.nonces.holes_filled;
            if let Some(o) = &report.open_loop {
                match &mut open {
                    Some(sum) => sum.absorb(o),
                    None => open = Some(o.clone()),
                }
            }
            if let Some(c) = &report.closed_loop {
                match &mut closed {
                    Some(sum) => sum.absorb(c),
                    None => closed = Some(c.clone()),
                }
            }
            if let Some(f) = &report.funding {
                match &mut funding {
                    Some(sum) => sum.absorb(f),
                    None => funding = Some(f.clone()),
                }
            }
            proxies.extend(report.proxies.iter().cloned());
            endpoints.extend(report.endpoints.iter().map(|e| EndpointSummary {
                endpoint: format!("shard {index} · {}", e.endpoint),
                ..e.clone()
            }));
            for (mine, theirs) in self.series.iter_mut().zip(&report.series) {
                mine.offered += theirs.offered;
                mine.dropped += theirs.dropped;
                mine.late += theirs.late;
            }
        }
        if let Some(o) = &mut open {
            o.included_tps = round(
                o.included as f64 / o.inclusion_window_secs.max(f64::MIN_POSITIVE),
                3,
            );
        }
        self.open_loop = open;
        self.closed_loop = closed;
        self.nonces = nonces;
        self.endpoints = endpoints;
        self.proxies = proxies;
        self.funding = funding;
    }

    /// Every latency of the run from the shards' merged histograms, per second and overall.
    fn merge_latencies(&mut self, seconds: &[ShardSecond]) {
        let mut all = Hists::default();
        let mut per_second: Vec<Hists> = Vec::new();
        for row in seconds {
            let Some(hists) = decode_histograms(&row.histograms) else {
                tracing::warn!(target: "spam::report", shard = row.shard, second = row.second, "unreadable shard histograms skipped");
                continue;
            };
            all.merge(&hists);
            let i = usize::try_from(row.second).unwrap_or(usize::MAX);
            if i < self.series.len() {
                if per_second.len() <= i {
                    per_second.resize_with(i + 1, Hists::default);
                }
                per_second[i].merge(&hists);
            }
        }
        for second in &mut self.series {
            second.task_p50_ms = 0.0;
            second.task_p99_ms = 0.0;
            second.inclusion_p50_ms = 0.0;
            second.inclusion_p99_ms = 0.0;
        }
        for (second, hists) in self.series.iter_mut().zip(&per_second) {
            let (task, inclusion) = (
                LatencySummary::from_latency(&hists.task),
                LatencySummary::from_latency(&hists.inclusion),
            );
            second.task_p50_ms = task.p50;
            second.task_p99_ms = task.p99;
            second.inclusion_p50_ms = inclusion.p50;
            second.inclusion_p99_ms = inclusion.p99;
        }
        let [task, send, inclusion, lag] =
            [&all.task, &all.send, &all.inclusion, &all.lag].map(LatencySummary::from_latency);
        self.totals.task_ms = task;
        self.totals.send_ms = send;
        self.totals.inclusion_ms = inclusion;
        if let Some(o) = &mut self.open_loop {
            o.ack_ms = task;
            o.send_ms = send;
            o.inclusion_ms = inclusion;
            o.lag_ms = lag;
        }
    }
}

impl OpenLoopStats {
    /// Adds another shard's figures: counts summed, the windows the longest, the blocks (one
    /// chain) as this shard saw them with every shard's own transactions.
    fn absorb(&mut self, o: &Self) {
        self.offered += o.offered;
        self.dropped += o.dropped;
        add_map(&mut self.dropped_by_reason, &o.dropped_by_reason);
        self.sent += o.sent;
        self.accepted += o.accepted;
        self.rejected += o.rejected;
        self.unanswered += o.unanswered;
        self.included += o.included;
        self.pending_at_end += o.pending_at_end;
        self.superseded += o.superseded;
        self.duplicates += o.duplicates;
        self.landed_after_error += o.landed_after_error;
        add_map(&mut self.retries, &o.retries);
        add_map(&mut self.reconciliations, &o.reconciliations);
        self.rebroadcasts += o.rebroadcasts;
        self.in_flight_cap_low = self.in_flight_cap_low.min(o.in_flight_cap_low);
        self.late += o.late;
        self.inclusion_window_secs = self.inclusion_window_secs.max(o.inclusion_window_secs);
        self.gas_per_sec = round(self.gas_per_sec + o.gas_per_sec, 3);
        self.receipts += o.receipts;
        self.receipts_missing += o.receipts_missing;
        self.receipts_sampled_blocks += o.receipts_sampled_blocks;
        self.reverted += o.reverted;
        self.blocks.own_txs += o.blocks.own_txs;
        self.breaker.extend(o.breaker.iter().cloned());
    }
}

impl ClosedLoopStats {
    /// Adds another shard's figures.
    fn absorb(&mut self, c: &Self) {
        self.sent += c.sent;
        self.accepted += c.accepted;
        self.refused += c.refused;
        self.unanswered += c.unanswered;
        self.included += c.included;
        self.landed_unseen += c.landed_unseen;
        self.superseded += c.superseded;
        self.pending_at_end += c.pending_at_end;
        self.unverified += c.unverified;
        self.rebroadcasts += c.rebroadcasts;
        add_map(&mut self.reconciliations, &c.reconciliations);
        add_map(&mut self.retries, &c.retries);
        self.breaker.extend(c.breaker.iter().cloned());
        self.pauses.extend(c.pauses.iter().cloned());
    }
}

impl FundingStats {
    /// Adds another shard's funding (each funded its own senders).
    fn absorb(&mut self, f: &Self) {
        let wei = |a: &str, b: &str| match (a.parse::<u128>(), b.parse::<u128>()) {
            (Ok(a), Ok(b)) => a.saturating_add(b).to_string(),
            _ => a.to_owned(),
        };
        self.funded += f.funded;
        self.already_funded += f.already_funded;
        self.value_wei = wei(&self.value_wei, &f.value_wei);
        self.max_fees_wei = wei(&self.max_fees_wei, &f.max_fees_wei);
        self.secs += f.secs;
        self.top_ups += f.top_ups;
        self.top_up_value_wei = wei(&self.top_up_value_wei, &f.top_up_value_wei);
        self.top_up_failed_rounds += f.top_up_failed_rounds;
        self.parkings += f.parkings;
    }
}

fn add_map(
    into: &mut std::collections::BTreeMap<String, u64>,
    from: &std::collections::BTreeMap<String, u64>,
) {
    for (key, n) in from {
        *into.entry(key.clone()).or_default() += n;
    }
}
