//! The endpoints section: one row per RPC endpoint, and the breaker transitions of those
//! that were unhealthy.

use maud::{Markup, html};

use super::{
    format::{count, ms, percent},
    page::table,
};
use crate::report::Report;

pub(super) fn endpoints(report: &Report) -> Markup {
    let rows = report.endpoints.iter().map(|e| {
        let errors: u64 = e.errors.values().sum();
        vec![
            e.endpoint.clone(),
            e.roles.clone(),
            count(e.requests),
            count(e.sends),
            percent(e.share),
            count(e.duplicates),
            count(errors),
            e.ack_p50_ms.map_or_else(|| "-".to_owned(), ms),
            e.ack_p99_ms.map_or_else(|| "-".to_owned(), ms),
            count(e.rate_limited),
            format!("{:.1}", e.unhealthy_s),
            format!("{} / +{} / -{}", e.senders, e.senders_in, e.senders_out),
            if e.healthy { "yes" } else { "no" }.to_owned(),
        ]
    });
    let transitions: Vec<String> = report
        .endpoints
        .iter()
        .filter(|e| !e.transitions.is_empty())
        .map(|e| {
            let steps: Vec<String> = e
                .transitions
                .iter()
                .map(|t| format!("{} at {:.2} s", t.to, t.at_s))
                .collect();
            format!("{}: {}", e.endpoint, steps.join(", "))
        })
        .collect();
    html! {
        (table(
            &[
                "endpoint", "role", "requests", "sends", "share", "duplicates", "errors",
                "ack p50 ms", "ack p99 ms", "rate-limited", "unhealthy s",
                "senders (end / in / out)", "healthy at end",
            ],
            rows,
        ))
        @if !transitions.is_empty() {
            p { "Health transitions (unhealthy: its senders move; healthy: it takes traffic again):" }
            ul { @for t in &transitions { li { (t) } } }
        }
    }
}
