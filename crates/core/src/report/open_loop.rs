//! The open-loop part of a [`Report`](crate::Report): what was offered, dropped, sent,
//! accepted, included, and the blocks it landed in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::LatencySummary;
use crate::{node::Capabilities, node::ExecutionLayer, profile::Rate, profile::SendStrategy};

/// What an open-loop ([`LoadGen`](crate::LoadGen)) run did.
///
/// # Accounting
///
/// Exact, and a report whose sums do not match is a bug:
/// - `offered == dropped + sent` (every tick of the profile before the end is one or the other);
/// - `sent == accepted + rejected + unanswered` (every send ends in one of the three before
///   the report is built);
/// - `accepted + unanswered == included + pending_at_end + superseded + duplicates`.
///
/// A send without a readable answer (timeout, lost answer, a gateway's HTTP error) is
/// *unanswered*, not rejected: the node may have it, so it stays in flight, is re-broadcast
/// byte for byte when its sender gets stuck, and counts as included when a block holds it.
/// `landed_after_error` counts refused sends seen in a block anyway (an earlier copy
/// landed); they stay counted as rejected. Our transactions on chain are `included +
/// landed_after_error` plus the nonce-hole fillers counted in the report's nonce stats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OpenLoopStats {
    /// The rate profile.
    pub rate: Rate,
    /// How transactions were submitted.
    pub strategy: SendStrategy,
    /// Whether every transaction was signed before the run started.
    pub presigned: bool,
    /// The execution layer the run assumed, and what it offers.
    pub execution_layer: ExecutionLayer,
    /// Its capabilities, as used.
    pub capabilities: Capabilities,
    /// How sender nonces were read.
    pub nonce_source: String,
    /// How blocks were followed.
    pub blocks_via: String,
    /// Ticks of the profile due before the end.
    pub offered: u64,
    /// Ticks not sent.
    pub dropped: u64,
    /// Dropped ticks per reason.
    pub dropped_by_reason: BTreeMap<String, u64>,
    /// Transactions sent.
    pub sent: u64,
    /// Sends the node took (*already known* included).
    pub accepted: u64,
    /// Sends the node refused; per class in the report's `errors`.
    pub rejected: u64,
    /// Sends without a readable answer (timeout, lost answer, HTTP error), even after the
    /// retries; per class in the report's `errors`. Kept in flight until settled.
    #[serde(default)]
    pub unanswered: u64,
    /// Accepted or unanswered transactions seen in a block.
    pub included: u64,
    /// Accepted or unanswered transactions not in a block at the end whose nonce the chain
    /// has not used yet (still pending, evicted, or never arrived).
    pub pending_at_end: u64,
    /// Accepted or unanswered transactions whose nonce the chain used for another
    /// transaction (found by a reconciliation during the run, or at the end).
    pub superseded: u64,
    /// Accepted sends of a transaction identical to one already sent (rebuilt with the same
    /// nonce and fields after a resync): the chain holds it once, under the first send.
    pub duplicates: u64,
    /// Refused sends seen in a block anyway (an earlier copy of the same bytes landed).
    pub landed_after_error: u64,
    /// Sends tried again (same bytes) after a transient error, by the error's class.
    #[serde(default)]
    pub retries: BTreeMap<String, u64>,
    /// Senders reconciled during the run, by cause (`stuck sender`, `after an outage`): the
    /// node asked for their nonces, what it lacked re-broadcast.
    #[serde(default)]
    pub reconciliations: BTreeMap<String, u64>,
    /// Transactions re-broadcast (the same bytes) because the node had lost them.
    #[serde(default)]
    pub rebroadcasts: u64,
    /// The lowest the cap on sends waiting for their answer went: it halves when sends time
    /// out and grows back as they are answered, up to `max_in_flight`.
    #[serde(default)]
    pub in_flight_cap_low: u64,
    /// Transactions sent more than `late_after_ms` after their intended time.
    pub late: u64,
    /// The lateness threshold.
    pub late_after_ms: f64,
    /// Intended time to sent.
    pub lag_ms: LatencySummary,
    /// Intended time to the node's answer (coordinated-omission free).
    pub ack_ms: LatencySummary,
    /// Intended time to seen in a block (coordinated-omission free).
    pub inclusion_ms: LatencySummary,
    /// Sent to the node's answer (raw request latency).
    pub send_ms: LatencySummary,
    /// Included transactions per second of the inclusion window.
    pub included_tps: f64,
    /// From the run start to the last inclusion of ours, or the sending window when that
    /// is longer; seconds.
    #[serde(default)]
    pub inclusion_window_secs: f64,
    /// Gas of our included transactions per second of the sending window (from receipts).
    pub gas_per_sec: f64,
    /// Receipts read for included transactions.
    pub receipts: u64,
    /// Included transactions whose receipt was not read (unavailable, or not in the sample of
    /// a sampled block).
    pub receipts_missing: u64,
    /// Blocks whose receipts were sampled (64 by hash) instead of read whole, because whole
    /// reads slowed the node (over 250 ms); their gas comes from the header when they hold
    /// only the run's transactions, and `reverted` counts the sample only.
    #[serde(default)]
    pub receipts_sampled_blocks: u64,
    /// Included transactions that reverted.
    pub reverted: u64,
    /// The blocks seen during the run.
    pub blocks: BlockSummary,
    /// Circuit breaker transitions, in order.
    pub breaker: Vec<BreakerEvent>,
    /// Preconfirmation events, when a source was configured.
    pub preconf: Option<PreconfStats>,
}

/// The blocks seen from the run start to the end of the grace period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BlockSummary {
    /// Blocks seen.
    pub count: u64,
    /// Transactions in them, ours and others'.
    pub txs: u64,
    /// Our transactions in them.
    pub own_txs: u64,
    /// Gas used by all their transactions.
    pub gas_used: u64,
    /// Mean of gas used / gas limit, in `0..=1`.
    pub mean_fill: f64,
    /// Most transactions in one block.
    pub max_txs: u64,
    /// Mean transactions per block.
    pub mean_txs: f64,
    /// Mean time between consecutive blocks, by their timestamps, in seconds.
    pub mean_block_time_secs: f64,
    /// All transactions per second over the blocks' timestamp span.
    pub chain_tps: f64,
    /// All gas per second over the blocks' timestamp span.
    pub chain_gas_per_sec: f64,
    /// Base fee of the first and last block, wei.
    pub base_fee_first: u64,
    /// See `base_fee_first`.
    pub base_fee_last: u64,
    /// Per-block records (the first 10 000 blocks).
    pub list: Vec<BlockStats>,
    /// Whether `list` stops before the last block.
    pub truncated: bool,
}

/// One block.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BlockStats {
    /// Block number.
    pub number: u64,
    /// Chain timestamp, Unix seconds.
    pub timestamp: u64,
    /// When the tracker saw it, milliseconds since the run start.
    pub seen_ms: u64,
    /// Transactions in it.
    pub txs: u64,
    /// Ours among them.
    pub own_txs: u64,
    /// Gas used.
    pub gas_used: u64,
    /// Gas limit.
    pub gas_limit: u64,
    /// Base fee, wei.
    pub base_fee: u64,
}

/// A circuit-breaker transition during the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BreakerEvent {
    /// Milliseconds since the run start.
    pub at_ms: u64,
    /// State before.
    pub from: String,
    /// State after.
    pub to: String,
}

/// Preconfirmation events of the run's transactions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PreconfStats {
    /// Events per status (`pending`, `preconfirmed`, `confirmed`, `revoked`, `dropped`).
    pub events: BTreeMap<String, u64>,
    /// Intended time to preconfirmed.
    pub preconf_ms: LatencySummary,
    /// Events for hashes that were not ours (or arrived after the transaction settled).
    pub unmatched: u64,
}
