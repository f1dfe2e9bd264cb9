//! The closed-loop part of a [`Report`](crate::Report): every transaction the tasks sent and
//! its fate on the final chain, reconciliations, retries and the breaker.

use std::{collections::BTreeMap, fmt};

use serde::{Deserialize, Serialize};

use super::BreakerEvent;

/// What the transactions of a closed-loop ([`Spammer`](crate::Spammer)) run became.
///
/// # Accounting
///
/// Exact, and a report whose sums do not match is a bug:
/// - `sent == accepted + refused + unanswered` (each distinct transaction handed to the node
///   once);
/// - `accepted + unanswered == included + superseded + pending_at_end + unverified`;
/// - `accepted + unanswered == totals.txs_sent` and `included == totals.txs_included` (the
///   per-task and per-second figures count the same transactions);
/// - our transactions on the final chain `== included + nonces.holes_filled` (gap fillers are
///   the only other transactions the run sends), when no one else sends from the run's
///   wallets.
///
/// A transaction counts as included only once it is on the final chain: mid-run once it is
/// 16 blocks deep and was seen 30 s ago, else when the end-of-run check finds it in a block.
/// One a node forgot in a restart is sent again, not counted. One whose task failed, timed
/// out or was cancelled counts when it lands, also in `landed_unseen`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClosedLoopStats {
    /// Distinct transactions the tasks handed to the node.
    pub sent: u64,
    /// Those the node took.
    pub accepted: u64,
    /// Those the node refused; per class in the report's `errors` (as failed tasks).
    pub refused: u64,
    /// Those with no readable answer after the retries, or whose send was cut off (task
    /// timeout, hard stop): the node may have them, so they stay in flight, are sent again if
    /// it lacks them, and count by their fate like accepted ones.
    #[serde(default)]
    pub unanswered: u64,
    /// Accepted or unanswered transactions on the final chain.
    pub included: u64,
    /// Included transactions whose task never saw the receipt (it failed, timed out or was
    /// cancelled before).
    pub landed_unseen: u64,
    /// Accepted or unanswered transactions whose nonce another transaction used.
    pub superseded: u64,
    /// Accepted or unanswered transactions not on chain at the end whose nonce is unused
    /// (still pending, or lost and not sent again).
    pub pending_at_end: u64,
    /// Accepted or unanswered transactions whose fate the end-of-run check could not learn: the node did not
    /// answer (their tasks may have seen them in a block; on the final chain they may be or
    /// not). Zero whenever the node answers at the end.
    #[serde(default)]
    pub unverified: u64,
    /// Transactions sent again because the node had lost them.
    pub rebroadcasts: u64,
    /// Senders reconciled, per cause (`receipt stalled`, `node recovered`, `end of run`).
    pub reconciliations: BTreeMap<String, u64>,
    /// Calls retried, per error class of the attempt that was retried (the call itself may
    /// have succeeded).
    pub retries: BTreeMap<String, u64>,
    /// Circuit breaker transitions, in order.
    pub breaker: Vec<BreakerEvent>,
    /// Stretches during which no task started because the node was out, in order.
    #[serde(default)]
    pub pauses: Vec<Pause>,
}

/// A stretch of a closed-loop run during which no task started: the node was out until it
/// answered again (the breaker closed) and every sender with transactions in flight was
/// reconciled.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Pause {
    /// Milliseconds since the run start when it began.
    pub from_ms: u64,
    /// Milliseconds since the run start when tasks could start again (or the load ended).
    pub to_ms: u64,
    /// What showed the node out: `breaker open`, or `node out` (its last attempts all failed
    /// for a node reason).
    pub cause: String,
}

impl ClosedLoopStats {
    /// Retries of all classes.
    pub fn total_retries(&self) -> u64 {
        self.retries.values().sum()
    }
}

/// The closed-loop section of the terminal summary.
pub(super) struct ClosedLoopSummary<'a>(pub(super) &'a ClosedLoopStats);

impl fmt::Display for ClosedLoopSummary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.0;
        writeln!(
            f,
            "closed loop: sent {} = accepted {} + refused {} + unanswered {}; accepted + unanswered = included {} (landed unseen {}) + superseded {} + pending at end {} + unverified {}",
            c.sent,
            c.accepted,
            c.refused,
            c.unanswered,
            c.included,
            c.landed_unseen,
            c.superseded,
            c.pending_at_end,
            c.unverified,
        )?;
        let per = |m: &BTreeMap<String, u64>| {
            m.iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if c.retries.is_empty() {
            write!(f, "  retries: none")?;
        } else {
            write!(f, "  retries: {} ({})", c.total_retries(), per(&c.retries))?;
        }
        if c.rebroadcasts > 0 || !c.reconciliations.is_empty() {
            write!(
                f,
                "\n  reconciled: {}; {} re-broadcasts",
                per(&c.reconciliations),
                c.rebroadcasts
            )?;
        }
        if !c.pauses.is_empty() {
            let pauses: Vec<String> = c
                .pauses
                .iter()
                .map(|p| {
                    format!(
                        "{:.1}–{:.1} s ({})",
                        p.from_ms as f64 / 1e3,
                        p.to_ms as f64 / 1e3,
                        p.cause
                    )
                })
                .collect();
            write!(f, "\n  paused: {}", pauses.join(", "))?;
        }
        if !c.breaker.is_empty() {
            let events: Vec<String> = c
                .breaker
                .iter()
                .map(|e| format!("{} → {} at {:.1} s", e.from, e.to, e.at_ms as f64 / 1e3))
                .collect();
            write!(f, "\n  breaker: {}", events.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_spells_out_the_identities_and_retries() {
        let stats = ClosedLoopStats {
            sent: 10,
            accepted: 9,
            refused: 1,
            included: 8,
            landed_unseen: 2,
            pending_at_end: 1,
            retries: BTreeMap::from([("http 503".to_string(), 332)]),
            ..ClosedLoopStats::default()
        };
        let text = ClosedLoopSummary(&stats).to_string();
        assert!(
            text.contains("sent 10 = accepted 9 + refused 1 + unanswered 0"),
            "{text}"
        );
        assert!(text.contains("retries: 332 (http 503 332)"), "{text}");
    }
}
