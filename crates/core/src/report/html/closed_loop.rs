//! The closed-loop part of the accounting section: the transaction identities and what kept
//! them exact (retries, re-broadcasts, reconciliations).

use std::collections::BTreeMap;

use maud::Markup;

use super::{format::count, sections::identity};
use crate::report::ClosedLoopStats;

pub(super) fn closed_loop_identities(cl: &ClosedLoopStats) -> [Markup; 2] {
    [
        identity(
            cl.sent,
            &format!(
                "transactions sent {} = accepted {} + refused {} + unanswered {}",
                count(cl.sent),
                count(cl.accepted),
                count(cl.refused),
                count(cl.unanswered)
            ),
            cl.accepted + cl.refused + cl.unanswered,
        ),
        identity(
            cl.accepted + cl.unanswered,
            &format!(
                "accepted + unanswered {} = on the final chain {} + superseded {} + pending at end {} + unverified {}",
                count(cl.accepted + cl.unanswered),
                count(cl.included),
                count(cl.superseded),
                count(cl.pending_at_end),
                count(cl.unverified)
            ),
            cl.included + cl.superseded + cl.pending_at_end + cl.unverified,
        ),
    ]
}

pub(super) fn closed_loop_rows(cl: &ClosedLoopStats) -> [(&'static str, String); 4] {
    let per = |m: &BTreeMap<String, u64>| {
        m.iter()
            .map(|(k, n)| format!("{k} {}", count(*n)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    [
        ("landed after their task gave up", count(cl.landed_unseen)),
        (
            "retries",
            format!("{} {}", count(cl.total_retries()), per(&cl.retries)),
        ),
        ("re-broadcasts", count(cl.rebroadcasts)),
        ("reconciliations", per(&cl.reconciliations)),
    ]
}
