//! The metric families [`render`](super::render) writes: one list, read by the docs test and
//! by the renderer's own test, so that nothing is exported undocumented.

/// The type of a metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// Only goes up (a total since the run start).
    Counter,
    /// A value that moves.
    Gauge,
    /// `_bucket{le}`, `_sum` and `_count`, over [`LATENCY_BOUNDS`](crate::LATENCY_BOUNDS).
    Histogram,
}

impl Kind {
    /// The name in a `# TYPE` line.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
        }
    }
}

/// Which runs export a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scope {
    /// Every run of either engine.
    Always,
    /// The closed-loop [`Spammer`](crate::Spammer) only.
    ClosedLoop,
    /// The open-loop [`LoadGen`](crate::LoadGen) only.
    OpenLoop,
    /// Runs with several endpoints (or a request cap).
    Endpoints,
    /// Persisted runs (with a store).
    Store,
}

/// One metric family.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Family {
    /// The name, with its unit and `_total` for counters.
    pub name: &'static str,
    /// Its type.
    pub kind: Kind,
    /// Its label names (histograms add `le`).
    pub labels: &'static [&'static str],
    /// Which runs export it.
    pub scope: Scope,
    /// The `# HELP` text.
    pub help: &'static str,
}

const fn family(
    name: &'static str,
    kind: Kind,
    labels: &'static [&'static str],
    scope: Scope,
    help: &'static str,
) -> Family {
    Family {
        name,
        kind,
        labels,
        scope,
        help,
    }
}

use Kind::{Counter, Gauge, Histogram};
use Scope::{Always, ClosedLoop, Endpoints, OpenLoop, Store};

/// Every family, in the order they are written.
#[rustfmt::skip]
pub const FAMILIES: &[Family] = &[
    // the run
    family("spam_elapsed_seconds", Gauge, &[], Always, "Time since the run start"),
    family("spam_tasks_total", Counter, &["task", "outcome"], Always,
        "Tasks finished (open loop: sends answered), by task or transaction kind and outcome (ok or error)"),
    family("spam_errors_total", Counter, &["class"], Always,
        "Failed tasks (open loop: sends refused or unanswered), by error class"),
    family("spam_transactions_sent_total", Counter, &["task"], Always,
        "Transactions sent, by task or transaction kind"),
    family("spam_transactions_included_total", Counter, &["task"], Always,
        "Transactions seen in a block, by task or transaction kind"),
    family("spam_gas_used_total", Counter, &["task"], Always,
        "Gas used by the included transactions, where known, by task or transaction kind"),
    family("spam_in_flight", Gauge, &[], Always,
        "Transactions sent and not settled yet (unanswered, or accepted and not yet in a block)"),
    family("spam_breaker_state", Gauge, &[], Always,
        "The circuit breaker: 0 closed, 1 half-open, 2 open"),
    // latency
    family("spam_task_duration_seconds", Histogram, &["task"], ClosedLoop,
        "Task start to finish, by task"),
    family("spam_ack_latency_seconds", Histogram, &["task"], Always,
        "To the node's answer to a send, from the intended send time (open loop) or from the send (closed loop)"),
    family("spam_inclusion_latency_seconds", Histogram, &["task"], Always,
        "To seen in a block, from the intended send time (open loop) or from the send (closed loop)"),
    // the open loop
    family("spam_offered_total", Counter, &[], OpenLoop, "Sends the pacer scheduled (ticks due)"),
    family("spam_accepted_total", Counter, &[], OpenLoop, "Sends the node accepted"),
    family("spam_dropped_total", Counter, &["reason"], OpenLoop, "Ticks not sent, by reason"),
    family("spam_late_total", Counter, &[], OpenLoop,
        "Transactions sent later than the late threshold"),
    family("spam_send_lag_seconds", Histogram, &[], OpenLoop, "Intended send time to sent"),
    // blocks
    family("spam_blocks_total", Counter, &[], Always, "Blocks seen since the run start"),
    family("spam_block_transactions_total", Counter, &[], Always,
        "Transactions in the blocks seen, everyone's (rate over spam_blocks_total: transactions per block)"),
    family("spam_block_gas_used_total", Counter, &[], Always,
        "Gas used by the blocks seen (its rate: gas per second)"),
    family("spam_head_block", Gauge, &[], Always, "Number of the latest block seen"),
    family("spam_last_block_transactions", Gauge, &[], Always,
        "Transactions in the latest block seen"),
    family("spam_last_block_gas_used", Gauge, &[], Always, "Gas used by the latest block seen"),
    family("spam_last_block_gas_limit", Gauge, &[], Always, "Gas limit of the latest block seen"),
    family("spam_base_fee_wei", Gauge, &[], Always, "Base fee of the latest block seen, in wei"),
    // endpoints
    family("spam_endpoint_requests_total", Counter, &["endpoint"], Endpoints,
        "Calls made to the endpoint, probes aside"),
    family("spam_endpoint_sends_total", Counter, &["endpoint"], Endpoints,
        "Transactions sent to the endpoint"),
    family("spam_endpoint_duplicates_total", Counter, &["endpoint"], Endpoints,
        "Broadcast copies the endpoint accepted after another"),
    family("spam_endpoint_rate_limited_total", Counter, &["endpoint"], Endpoints,
        "Requests its cap held back or ticks it dropped"),
    family("spam_endpoint_errors_total", Counter, &["endpoint", "class"], Endpoints,
        "Calls that failed or were refused, by error class"),
    family("spam_endpoint_breaker_opened_total", Counter, &["endpoint"], Endpoints,
        "Times the endpoint turned unhealthy"),
    family("spam_endpoint_healthy", Gauge, &["endpoint"], Endpoints,
        "1 while the endpoint's breaker is closed"),
    family("spam_endpoint_unhealthy_seconds", Gauge, &["endpoint"], Endpoints,
        "Time the endpoint's breaker was not closed"),
    family("spam_endpoint_senders", Gauge, &["endpoint"], Endpoints,
        "Senders assigned to the endpoint"),
    family("spam_endpoint_ack_latency_seconds", Histogram, &["endpoint"], Endpoints,
        "Send to the endpoint's answer"),
    // the store
    family("spam_store_written_total", Counter, &[], Store, "Records the store committed"),
    family("spam_store_lost_total", Counter, &[], Store,
        "Records that will not reach the store (queue full, or given up after retries)"),
];

/// The family named `name`.
pub fn family_named(name: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| f.name == name)
}
