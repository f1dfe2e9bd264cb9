//! The open-loop part of the report: [`OpenLoopStats`] from the ledger and the block scan.

use std::{collections::HashMap, sync::Arc, time::Duration};

use alloy::{
    primitives::Address,
    providers::{Provider, RootProvider},
};

use super::{
    LoadGenBuilder,
    ledger::{Counters, Ledger},
};
use crate::{
    metrics::{Latency, Recorder},
    report::{
        BlockSummary, BreakerEvent, LatencySummary, OpenLoopStats, PreconfStats, Report, round,
    },
    session::Session,
};

/// What the run's watchers hand over at the end.
pub(super) struct Ending {
    pub(super) ledger: Arc<Ledger>,
    /// The run start.
    pub(super) start: tokio::time::Instant,
    /// The lowest the adaptive cap on unanswered sends went.
    pub(super) in_flight_cap_low: u64,
    pub(super) blocks: BlockSummary,
    pub(super) blocks_via: String,
    pub(super) receipts_missing: u64,
    pub(super) receipts_sampled_blocks: u64,
    pub(super) breaker: Vec<BreakerEvent>,
    pub(super) preconf: Option<PreconfStats>,
}

/// The ledger's final figures, copied out of its lock.
pub(super) struct Figures {
    pub(super) recorder: Recorder,
    counters: Counters,
    lag: Latency,
}

impl Ending {
    pub(super) fn figures(&self) -> Figures {
        let books = self.ledger.books();
        Figures {
            recorder: books.recorder.clone(),
            counters: books.counters.clone(),
            lag: books.lag.clone(),
        }
    }
}

/// Accepted transactions never seen in a block: `(pending at the end, superseded)`.
pub(super) type Unincluded = (u64, u64);

/// The open-loop figures of `report` (already built from the recorder: its totals give the
/// latencies) over the sending `window`.
pub(super) fn open_loop_stats(
    s: &LoadGenBuilder,
    session: &Session,
    ending: &Ending,
    figures: &Figures,
    report: &Report,
    (pending_at_end, superseded): Unincluded,
    window: Duration,
) -> OpenLoopStats {
    let c = &figures.counters;
    let caps = session.el.capabilities();
    let inclusion_window = c
        .last_inclusion
        .map_or(window, |last| {
            last.saturating_duration_since(ending.start).max(window)
        })
        .as_secs_f64();
    let window = window.as_secs_f64();
    let task = &report.totals;
    OpenLoopStats {
        rate: s.rate.clone(),
        strategy: s.strategy,
        presigned: s.presign,
        execution_layer: session.el,
        capabilities: caps,
        nonce_source: if caps.pending_nonce_method {
            "eth_getPendingNonce (send URL)"
        } else {
            "eth_getTransactionCount pending (send URL)"
        }
        .into(),
        blocks_via: ending.blocks_via.clone(),
        offered: c.offered,
        dropped: c.dropped.values().sum(),
        dropped_by_reason: c
            .dropped
            .iter()
            .map(|(r, n)| (r.label().to_owned(), *n))
            .collect(),
        sent: c.sent,
        accepted: c.accepted,
        rejected: c.rejected,
        unanswered: c.unanswered,
        included: c.included,
        pending_at_end,
        superseded: superseded + c.superseded,
        landed_after_error: c.landed_after_error,
        retries: c.retries.clone(),
        reconciliations: c
            .reconciliations
            .iter()
            .map(|(cause, n)| ((*cause).to_owned(), *n))
            .collect(),
        rebroadcasts: c.rebroadcasts,
        in_flight_cap_low: ending.in_flight_cap_low,
        duplicates: c.duplicates,
        late: c.late,
        late_after_ms: s.late_after.as_secs_f64() * 1_000.0,
        lag_ms: LatencySummary::from_latency(&figures.lag),
        ack_ms: task.task_ms,
        inclusion_ms: task.inclusion_ms,
        send_ms: task.send_ms,
        included_tps: round(c.included as f64 / inclusion_window, 3),
        inclusion_window_secs: round(inclusion_window, 3),
        gas_per_sec: round(c.own_gas as f64 / window, 3),
        receipts: c.receipts,
        receipts_missing: ending.receipts_missing,
        receipts_sampled_blocks: ending.receipts_sampled_blocks,
        reverted: c.reverted,
        blocks: ending.blocks.clone(),
        breaker: ending.breaker.clone(),
        preconf: ending.preconf.clone(),
    }
}

/// Splits accepted-but-unseen transactions by the chain's mined nonce of their sender: at or
/// above it they are still pending (or evicted); below it another transaction took the nonce.
pub(super) async fn split_unincluded(
    provider: &RootProvider,
    txs: Vec<(Address, u64)>,
) -> Unincluded {
    let mut mined: HashMap<Address, Option<u64>> = HashMap::new();
    let (mut pending, mut superseded) = (0, 0);
    for (sender, nonce) in txs {
        let latest = match mined.get(&sender) {
            Some(n) => *n,
            None => {
                let n = provider.get_transaction_count(sender).latest().await.ok();
                mined.insert(sender, n);
                n
            }
        };
        match latest {
            Some(latest) if nonce < latest => superseded += 1,
            _ => pending += 1,
        }
    }
    (pending, superseded)
}
