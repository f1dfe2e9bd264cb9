//! [`Progress`]: what a running open-loop run has done so far, for progress lines and
//! exporters.

use std::{collections::BTreeMap, time::Duration};

use tokio::time::Instant;

use super::ledger::Ledger;
use crate::{LatencySummary, breaker::BreakerState};

/// A snapshot of a running [`LoadGen`](crate::LoadGen) run; see
/// [`LoadGenBuilder::on_progress`](crate::LoadGenBuilder::on_progress). Counts are totals since
/// the start, with the meanings of [`OpenLoopStats`](crate::OpenLoopStats).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Progress {
    /// Time since the run start (it keeps growing through the grace period).
    pub elapsed: Duration,
    /// Ticks due so far.
    pub offered: u64,
    /// Ticks not sent, per reason.
    pub dropped_by_reason: BTreeMap<String, u64>,
    /// Transactions sent.
    pub sent: u64,
    /// Sends the node took.
    pub accepted: u64,
    /// Sends refused or unanswered, per error class.
    pub rejected_by_class: BTreeMap<String, u64>,
    /// Accepted transactions seen in a block.
    pub included: u64,
    /// Transactions sent and not settled yet (unanswered, or accepted and not yet seen).
    pub in_flight: u64,
    /// Transactions sent later than the late threshold.
    pub late: u64,
    /// The circuit breaker's state.
    pub breaker: BreakerState,
    /// Intended time to sent.
    pub lag: LatencySummary,
    /// Intended time to the node's answer.
    pub ack: LatencySummary,
    /// Intended time to seen in a block.
    pub inclusion: LatencySummary,
}

impl Progress {
    /// Ticks dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped_by_reason.values().sum()
    }

    /// Sends rejected so far.
    pub fn rejected(&self) -> u64 {
        self.rejected_by_class.values().sum()
    }

    pub(crate) fn snapshot(ledger: &Ledger, start: Instant, breaker: BreakerState) -> Self {
        let in_flight = ledger.in_flight.len() as u64;
        let books = ledger.books();
        let c = &books.counters;
        let (ack, inclusion) = books
            .recorder
            .tasks()
            .values()
            .next()
            .map(|m| {
                (
                    LatencySummary::from_latency(&m.task),
                    LatencySummary::from_latency(&m.inclusion),
                )
            })
            .unwrap_or_default();
        Self {
            elapsed: start.elapsed(),
            offered: c.offered,
            dropped_by_reason: c
                .dropped
                .iter()
                .map(|(reason, n)| (reason.label().to_owned(), *n))
                .collect(),
            sent: c.sent,
            accepted: c.accepted,
            rejected_by_class: books.recorder.errors().clone(),
            included: c.included,
            in_flight,
            late: c.late,
            breaker,
            lag: LatencySummary::from_latency(&books.lag),
            ack,
            inclusion,
        }
    }
}
