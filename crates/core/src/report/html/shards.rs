//! The shards section of a merged report: one row per shard of the run.

use maud::{Markup, html};

use super::{format::count, page::table};
use crate::report::Report;

pub(super) fn shards(report: &Report) -> Markup {
    let merged = report.shards.iter().filter(|s| s.merged).count();
    let rows = report.shards.iter().map(|s| {
        vec![
            s.index.to_string(),
            s.host.clone(),
            s.state.clone(),
            count(s.late_ms),
            count(s.offered),
            count(s.dropped),
            count(s.sent),
            count(s.included),
            count(s.unreported),
            if s.merged { "yes" } else { "no" }.to_owned(),
        ]
    });
    html! {
        p {
            (report.shards.len()) " shards, " (merged) " reported and merged: the counts above are "
            "theirs; every latency is from the merged histograms of every shard. A lost shard "
            "(no heartbeat for 10 s) shows what it had done at its last heartbeat, and the "
            "ticks of its part it never reported."
        }
        (table(
            &[
                "shard", "host", "state", "late ms", "offered", "dropped", "sent", "included",
                "unreported", "merged",
            ],
            rows,
        ))
    }
}
