//! `--metrics-addr`: a Prometheus endpoint (`GET /metrics`) for the length of a run, fed by the
//! engines' hooks: every finished task of `run`, the periodic progress snapshots of `loadgen`.

use std::net::SocketAddr;

use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder};
use spam_core::{EndpointSummary, LatencySummary, Progress, TaskEvent, breaker::BreakerState};

use crate::input::bad_input;

/// Bucket bounds of `spam_task_seconds`: a transfer on automine to a slow multi-step task.
const TASK_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Where to serve metrics.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct MetricsArgs {
    /// Serve Prometheus metrics at http://ADDR/metrics while the run lasts, e.g. 127.0.0.1:9000.
    #[arg(long, env = "SPAM_METRICS_ADDR", value_name = "ADDR", value_parser = socket_addr)]
    metrics_addr: Option<SocketAddr>,
}

impl MetricsArgs {
    /// Starts the endpoint when asked for; `true` when it serves. Call it before anything else
    /// starts, so a taken port is reported as bad input with nothing written.
    ///
    /// # Errors
    /// [`BadInput`](crate::input::BadInput) when the address cannot be bound.
    pub(crate) fn start(&self) -> anyhow::Result<bool> {
        let Some(addr) = self.metrics_addr else {
            return Ok(false);
        };
        let installed = PrometheusBuilder::new()
            .with_http_listener(addr)
            .set_buckets_for_metric(Matcher::Full("spam_task_seconds".into()), TASK_BUCKETS)
            .and_then(PrometheusBuilder::install);
        match installed {
            Ok(()) => {}
            Err(BuildError::FailedToCreateHTTPListener(why)) => {
                return Err(bad_input(format!("--metrics-addr {addr}: {why}")));
            }
            Err(err) => return Err(anyhow::Error::new(err).context("starting --metrics-addr")),
        }
        describe();
        eprintln!("metrics at http://{addr}/metrics");
        Ok(true)
    }
}

/// `IP:PORT`.
fn socket_addr(s: &str) -> Result<SocketAddr, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("expected IP:PORT, e.g. 127.0.0.1:9000, got `{s}`"))
}

fn describe() {
    // closed loop (`run`)
    describe_counter!(
        "spam_tasks_total",
        "Tasks finished, by task and outcome (ok or error)"
    );
    describe_counter!("spam_errors_total", "Failed tasks, by error class");
    describe_histogram!(
        "spam_task_seconds",
        Unit::Seconds,
        "How long each task ran, by task"
    );
    // both
    describe_counter!(
        "spam_sent_total",
        "Transactions sent (run: by task; loadgen: all)"
    );
    // open loop (`loadgen`): totals of the latest progress snapshot
    describe_counter!(
        "spam_offered_total",
        "Sends the pacer scheduled (ticks due)"
    );
    describe_counter!("spam_accepted_total", "Sends the node accepted");
    describe_counter!(
        "spam_included_total",
        "Accepted transactions seen in a block"
    );
    describe_counter!(
        "spam_late_total",
        "Transactions sent later than the late threshold"
    );
    describe_counter!("spam_dropped_total", "Ticks not sent, by reason");
    describe_counter!(
        "spam_rejected_total",
        "Sends refused or unanswered, by error class"
    );
    describe_gauge!(
        "spam_in_flight",
        "Transactions sent and not settled yet (unanswered, or accepted and not yet in a block)"
    );
    // several endpoints (both commands)
    for (name, what) in [
        (
            "spam_endpoint_requests_total",
            "Calls made to the endpoint, probes aside",
        ),
        (
            "spam_endpoint_sends_total",
            "Transactions sent to the endpoint",
        ),
        (
            "spam_endpoint_duplicates_total",
            "Broadcast copies the endpoint accepted after another",
        ),
        (
            "spam_endpoint_rate_limited_total",
            "Requests its cap held back or ticks it dropped",
        ),
        (
            "spam_endpoint_errors_total",
            "Calls that failed or were refused, by class",
        ),
        (
            "spam_endpoint_breaker_opened_total",
            "Times the endpoint turned unhealthy",
        ),
    ] {
        describe_counter!(name, what);
    }
    describe_gauge!(
        "spam_endpoint_healthy",
        "1 while the endpoint's breaker is closed"
    );
    describe_gauge!(
        "spam_endpoint_unhealthy_seconds",
        Unit::Seconds,
        "Time the endpoint's breaker was not closed"
    );
    describe_gauge!("spam_endpoint_senders", "Senders assigned to the endpoint");
    describe_gauge!(
        "spam_endpoint_ack_seconds",
        Unit::Seconds,
        "Send to answer at the endpoint: percentile given by the quantile label"
    );
    describe_gauge!(
        "spam_breaker_state",
        "Circuit breaker: 0 closed, 1 half-open, 2 open"
    );
    for (name, what) in [
        ("spam_lag_seconds", "intended send time to sent"),
        (
            "spam_ack_seconds",
            "intended send time to the node's answer",
        ),
        (
            "spam_inclusion_seconds",
            "intended send time to seen in a block",
        ),
    ] {
        describe_gauge!(
            name,
            Unit::Seconds,
            format!(
                "Latency from {what}: percentile given by the quantile label over every \
                 transaction since the start (HDR histogram in the engine; a gauge, not a \
                 Prometheus summary)"
            )
        );
    }
}

/// Counts one finished task of the closed-loop Spammer.
pub(crate) fn record_task(event: &TaskEvent<'_>) {
    let task = event.task.to_owned();
    let outcome = match event.outcome {
        Ok(()) => "ok",
        Err(class) => {
            counter!("spam_errors_total", "class" => class.to_owned()).increment(1);
            "error"
        }
    };
    counter!("spam_tasks_total", "task" => task.clone(), "outcome" => outcome).increment(1);
    counter!("spam_sent_total", "task" => task.clone()).increment(event.txs_sent as u64);
    histogram!("spam_task_seconds", "task" => task).record(event.duration.as_secs_f64());
}

/// Sets every open-loop metric from a progress snapshot (its counts are totals since the
/// start, so counters take them as absolute values).
pub(crate) fn record_progress(p: &Progress) {
    counter!("spam_offered_total").absolute(p.offered);
    counter!("spam_sent_total").absolute(p.sent);
    counter!("spam_accepted_total").absolute(p.accepted);
    counter!("spam_included_total").absolute(p.included);
    counter!("spam_late_total").absolute(p.late);
    for (reason, n) in &p.dropped_by_reason {
        counter!("spam_dropped_total", "reason" => reason.clone()).absolute(*n);
    }
    for (class, n) in &p.rejected_by_class {
        counter!("spam_rejected_total", "class" => class.clone()).absolute(*n);
    }
    gauge!("spam_in_flight").set(p.in_flight as f64);
    gauge!("spam_breaker_state").set(match p.breaker {
        BreakerState::Closed => 0.0,
        BreakerState::HalfOpen => 1.0,
        BreakerState::Open => 2.0,
    });
    latency("spam_lag_seconds", &p.lag);
    latency("spam_ack_seconds", &p.ack);
    latency("spam_inclusion_seconds", &p.inclusion);
    record_endpoints(&p.endpoints);
}

/// Per-endpoint families, labelled `endpoint` (`#index scheme://host:port`: no path, so no
/// API key), from a progress snapshot of a run over several endpoints.
pub(crate) fn record_endpoints(endpoints: &[EndpointSummary]) {
    for e in endpoints {
        let label = || e.endpoint.clone();
        counter!("spam_endpoint_requests_total", "endpoint" => label()).absolute(e.requests);
        counter!("spam_endpoint_sends_total", "endpoint" => label()).absolute(e.sends);
        counter!("spam_endpoint_duplicates_total", "endpoint" => label()).absolute(e.duplicates);
        counter!("spam_endpoint_rate_limited_total", "endpoint" => label())
            .absolute(e.rate_limited);
        for (class, n) in &e.errors {
            counter!("spam_endpoint_errors_total", "endpoint" => label(), "class" => class.clone())
                .absolute(*n);
        }
        let opened = e.transitions.iter().filter(|t| t.to == "unhealthy").count() as u64;
        counter!("spam_endpoint_breaker_opened_total", "endpoint" => label()).absolute(opened);
        gauge!("spam_endpoint_healthy", "endpoint" => label()).set(if e.healthy {
            1.0
        } else {
            0.0
        });
        gauge!("spam_endpoint_unhealthy_seconds", "endpoint" => label()).set(e.unhealthy_s);
        gauge!("spam_endpoint_senders", "endpoint" => label()).set(e.senders as f64);
        for (q, v) in [("0.5", e.ack_p50_ms), ("0.99", e.ack_p99_ms)] {
            if let Some(ms) = v {
                gauge!("spam_endpoint_ack_seconds", "endpoint" => label(), "quantile" => q)
                    .set(ms / 1000.0);
            }
        }
    }
}

fn latency(name: &'static str, summary: &LatencySummary) {
    if summary.count == 0 {
        return;
    }
    gauge!(name, "quantile" => "0.5").set(summary.p50 / 1000.0);
    gauge!(name, "quantile" => "0.99").set(summary.p99 / 1000.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse() {
        assert_eq!(
            socket_addr("127.0.0.1:9000").unwrap(),
            SocketAddr::from(([127, 0, 0, 1], 9000))
        );
        assert!(socket_addr("localhost").unwrap_err().contains("IP:PORT"));
    }
}
