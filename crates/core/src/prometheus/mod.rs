//! Prometheus text exposition of a [`Progress`] snapshot, the same for both engines: counters,
//! gauges and histograms (`_bucket`/`_sum`/`_count` over [`LATENCY_BOUNDS`](crate::LATENCY_BOUNDS)), so that
//! instances can be aggregated and re-bucketed in PromQL. Every family is listed in
//! [`FAMILIES`].
//!
//! Nothing is recorded on the send path: an exporter keeps the latest snapshot (from
//! [`on_progress`](crate::LoadGenBuilder::on_progress)) and renders it when scraped.
//!
//! # Examples
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use std::time::Duration;
//!
//! use spam_core::{LoadGen, Progress, prometheus};
//!
//! let latest: Arc<Mutex<Option<Progress>>> = Arc::default();
//! let keep = Arc::clone(&latest);
//! let builder = LoadGen::builder().on_progress(Duration::from_secs(1), move |p| {
//!     *keep.lock().unwrap() = Some(p.clone());
//! });
//! # drop(builder);
//! // in the HTTP handler of GET /metrics:
//! let body = latest.lock().unwrap().as_ref().map(prometheus::render).unwrap_or_default();
//! # assert!(body.is_empty());
//! ```

mod families;
mod text;

use std::collections::BTreeMap;

pub use self::families::{FAMILIES, Family, Kind, Scope, family_named};
use self::text::Text;
use crate::{LatencyBuckets, Progress, breaker::BreakerState};

/// Distinct `task` label values at most; further task names count under `other`.
pub const MAX_TASK_LABELS: usize = 64;

/// Endpoints exported at most (a run's first ones, in the order given); a run with more leaves
/// the rest out.
pub const MAX_ENDPOINT_LABELS: usize = 32;

/// The `Content-Type` of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The snapshot in the Prometheus text format (version 0.0.4): every family of
/// [`FAMILIES`] that applies, with its `# HELP` and `# TYPE` lines.
pub fn render(p: &Progress) -> String {
    let mut t = Text::default();
    run(&mut t, p);
    latency(&mut t, p);
    open_loop(&mut t, p);
    blocks(&mut t, p);
    endpoints(&mut t, p);
    store(&mut t, p);
    t.finish()
}

fn run(t: &mut Text, p: &Progress) {
    // Per task: ok, failed, sent, included, gas used.
    let counts = p.tasks.iter().map(|(task, c)| {
        let counts = [c.ok, c.failed, c.sent, c.included, c.gas_used];
        (task.clone(), counts)
    });
    let tasks = bounded(counts.collect(), MAX_TASK_LABELS, |a, b| {
        for (a, b) in a.iter_mut().zip(b) {
            *a = a.saturating_add(*b);
        }
    });
    t.value("spam_elapsed_seconds", &[], p.elapsed.as_secs_f64());
    t.family("spam_tasks_total");
    for (task, [ok, failed, ..]) in &tasks {
        t.sample(&[("task", task), ("outcome", "ok")], *ok as f64);
        t.sample(&[("task", task), ("outcome", "error")], *failed as f64);
    }
    t.family("spam_errors_total");
    for (class, n) in &p.rejected_by_class {
        t.sample(&[("class", class)], *n as f64);
    }
    for (name, i) in [
        ("spam_transactions_sent_total", 2),
        ("spam_transactions_included_total", 3),
        ("spam_gas_used_total", 4),
    ] {
        t.family(name);
        for (task, counts) in &tasks {
            t.sample(&[("task", task)], counts[i] as f64);
        }
    }
    t.value("spam_in_flight", &[], p.in_flight as f64);
    let breaker = match p.breaker {
        BreakerState::Closed => 0.0,
        BreakerState::HalfOpen => 1.0,
        BreakerState::Open => 2.0,
    };
    t.value("spam_breaker_state", &[], breaker);
}

fn latency(t: &mut Text, p: &Progress) {
    type Pick = fn(&crate::TaskProgress) -> Option<&LatencyBuckets>;
    let mut kinds: Vec<(&str, Pick)> = vec![
        ("spam_ack_latency_seconds", |c| c.ack.as_ref()),
        ("spam_inclusion_latency_seconds", |c| c.inclusion.as_ref()),
    ];
    if !is_open_loop(p) {
        kinds.insert(0, ("spam_task_duration_seconds", |c| c.task.as_ref()));
    }
    for (name, pick) in kinds {
        let per_task: BTreeMap<String, LatencyBuckets> = p
            .tasks
            .iter()
            .filter_map(|(task, c)| Some((task.clone(), pick(c)?.clone())))
            .collect();
        t.family(name);
        for (task, b) in bounded(per_task, MAX_TASK_LABELS, LatencyBuckets::merge) {
            t.histogram(&[("task", &task)], &b);
        }
    }
}

/// Whether `p` is an open-loop snapshot (a closed-loop one offers nothing and has no lag).
fn is_open_loop(p: &Progress) -> bool {
    p.offered > 0 || p.lag_buckets.is_some()
}

fn open_loop(t: &mut Text, p: &Progress) {
    if !is_open_loop(p) {
        return;
    }
    t.value("spam_offered_total", &[], p.offered as f64);
    t.value("spam_accepted_total", &[], p.accepted as f64);
    // Every reason from the start, at 0 until it happens, so that `rate()` sees each one.
    let mut dropped: BTreeMap<&str, u64> = crate::loadgen::DropReason::ALL
        .iter()
        .map(|r| (r.label(), 0))
        .collect();
    for (reason, n) in &p.dropped_by_reason {
        dropped.insert(reason, *n);
    }
    t.family("spam_dropped_total");
    for (reason, n) in dropped {
        t.sample(&[("reason", reason)], n as f64);
    }
    t.value("spam_late_total", &[], p.late as f64);
    t.family("spam_send_lag_seconds");
    if let Some(b) = &p.lag_buckets {
        t.histogram(&[], b);
    }
}

fn blocks(t: &mut Text, p: &Progress) {
    let c = &p.chain;
    t.value("spam_blocks_total", &[], c.blocks as f64);
    t.value("spam_block_transactions_total", &[], c.txs as f64);
    t.value("spam_block_gas_used_total", &[], c.gas_used as f64);
    let Some(last) = &c.last else {
        return;
    };
    t.value("spam_head_block", &[], last.number as f64);
    t.value("spam_last_block_transactions", &[], last.txs as f64);
    t.value("spam_last_block_gas_used", &[], last.gas_used as f64);
    t.value("spam_last_block_gas_limit", &[], last.gas_limit as f64);
    t.value("spam_base_fee_wei", &[], last.base_fee as f64);
}

fn endpoints(t: &mut Text, p: &Progress) {
    if p.endpoints.is_empty() {
        return;
    }
    let listed = &p.endpoints[..p.endpoints.len().min(MAX_ENDPOINT_LABELS)];
    type Count = fn(&crate::EndpointSummary) -> f64;
    let series: [(&str, Count); 8] = [
        ("spam_endpoint_requests_total", |e| e.requests as f64),
        ("spam_endpoint_sends_total", |e| e.sends as f64),
        ("spam_endpoint_duplicates_total", |e| e.duplicates as f64),
        ("spam_endpoint_rate_limited_total", |e| {
            e.rate_limited as f64
        }),
        ("spam_endpoint_breaker_opened_total", |e| {
            e.transitions.iter().filter(|t| t.to == "unhealthy").count() as f64
        }),
        ("spam_endpoint_healthy", |e| f64::from(u8::from(e.healthy))),
        ("spam_endpoint_unhealthy_seconds", |e| e.unhealthy_s),
        ("spam_endpoint_senders", |e| e.senders as f64),
    ];
    for (name, of) in series {
        t.family(name);
        for e in listed {
            t.sample(&[("endpoint", &e.endpoint)], of(e));
        }
    }
    t.family("spam_endpoint_errors_total");
    for e in listed {
        for (class, n) in &e.errors {
            t.sample(&[("endpoint", &e.endpoint), ("class", class)], *n as f64);
        }
    }
    t.family("spam_endpoint_ack_latency_seconds");
    for e in listed {
        if let Some(b) = p.endpoint_ack.get(&e.endpoint) {
            t.histogram(&[("endpoint", &e.endpoint)], b);
        }
    }
}

fn store(t: &mut Text, p: &Progress) {
    if let Some(s) = &p.store {
        t.value("spam_store_written_total", &[], s.written as f64);
        t.value("spam_store_lost_total", &[], s.lost as f64);
    }
}

/// `map` with at most `max` keys: the first `max - 1` as they are, the rest merged under
/// `other`.
fn bounded<T>(
    mut map: BTreeMap<String, T>,
    max: usize,
    merge: impl Fn(&mut T, &T),
) -> BTreeMap<String, T> {
    if map.len() <= max {
        return map;
    }
    let rest = map.split_off(&map.keys().nth(max - 1).expect("more than max keys").clone());
    for (_, v) in rest {
        match map.get_mut("other") {
            Some(acc) => merge(acc, &v),
            None => {
                map.insert("other".into(), v);
            }
        }
    }
    map
}

#[cfg(test)]
mod tests;
