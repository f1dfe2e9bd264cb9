//! One endpoint of a run: its HTTP transport, health, request cap and figures.

use std::{
    collections::BTreeMap,
    num::NonZeroU32,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering},
    },
    time::Duration,
};

use alloy::transports::{BoxTransport, http::reqwest};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use parking_lot::Mutex;
use tokio::time::Instant;

use crate::{
    breaker::{BreakerConfig, BreakerState, CircuitBreaker, Transition},
    metrics::{Latency, LatencyBuckets},
    report::{EndpointSummary, EndpointTransition},
    rpc::ErrorClass,
};

/// Failed calls in a row (no answer, connection, 5xx) that make an endpoint unhealthy at
/// once, whatever the successes before: a node that just died.
const TRIP_AFTER: u32 = 3;

/// An endpoint's breaker: opens when half the calls of the last 2 s fail (at least 3), tries
/// again after 500 ms with one probe; blind to a few percent of failures.
fn breaker_config() -> BreakerConfig {
    BreakerConfig::builder()
        .window(Duration::from_secs(2))
        .buckets(NonZeroU32::new(4).expect("4 > 0"))
        .min_calls(3)
        .failure_rate(0.5)
        .open_for(Duration::from_millis(500))
        .probes(NonZeroU32::new(1).expect("1 > 0"))
        .build()
        .expect("valid breaker settings")
}

/// What a request to an endpoint carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Reads (or nonce reads).
    Read,
    /// `eth_sendRawTransaction` calls.
    Send,
    /// A health probe.
    Probe,
}

pub(crate) struct Endpoint {
    pub(crate) index: usize,
    pub(crate) label: String,
    pub(crate) url: reqwest::Url,
    pub(crate) transport: BoxTransport,
    pub(crate) breaker: CircuitBreaker,
    limiter: Option<DefaultDirectRateLimiter>,
    health: Arc<Health>,
}

/// Whether the endpoint is healthy, and the figures: shared with the breaker's hook.
struct Health {
    label: String,
    start: Instant,
    /// The breaker is closed (kept by its hook: read without its lock).
    closed: AtomicBool,
    /// Node failures since the last call that got an answer.
    consecutive: AtomicU32,
    /// The health last recorded, for transitions.
    healthy: AtomicBool,
    /// Transitions so far: the router rebalances only after one.
    changes: AtomicU64,
    /// Milliseconds since `start` of the last request (probes aside).
    last_used: AtomicU64,
    figures: Mutex<Figures>,
}

#[derive(Debug)]
struct Figures {
    requests: u64,
    sends: u64,
    accepted: u64,
    duplicates: u64,
    errors: BTreeMap<String, u64>,
    /// Send → answer, µs.
    ack: Latency,
    rate_limited: u64,
    probes: u64,
    probe_failures: u64,
    transitions: Vec<EndpointTransition>,
    down_since: Option<Instant>,
    down_total: Duration,
    senders_in: u64,
    senders_out: u64,
}

impl Health {
    fn is_healthy(&self) -> bool {
        self.closed.load(Ordering::Relaxed) && self.consecutive.load(Ordering::Relaxed) < TRIP_AFTER
    }

    /// Records a change of health (once, whoever sees it first).
    fn refresh(&self) {
        let now = self.is_healthy();
        if self
            .healthy
            .compare_exchange(!now, now, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        self.changes.fetch_add(1, Ordering::Relaxed);
        let at = Instant::now();
        let mut f = self.figures.lock();
        f.transitions.push(EndpointTransition {
            at_s: crate::report::round(at.saturating_duration_since(self.start).as_secs_f64(), 3),
            to: if now { "healthy" } else { "unhealthy" }.into(),
        });
        if now {
            if let Some(since) = f.down_since.take() {
                f.down_total += at.saturating_duration_since(since);
            }
            tracing::info!(target: "spam::endpoint", endpoint = %self.label, "endpoint healthy again");
        } else {
            f.down_since.get_or_insert(at);
            tracing::warn!(target: "spam::endpoint", endpoint = %self.label, "endpoint unhealthy: its senders move");
        }
    }
}

impl Endpoint {
    pub(crate) fn new(
        index: usize,
        url: reqwest::Url,
        timeout: Duration,
        max_rps: Option<NonZeroU32>,
        start: Instant,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .tcp_nodelay(true)
            .pool_max_idle_per_host(64)
            .build()?;
        let transport = BoxTransport::new(alloy::transports::http::Http::with_client(
            http,
            url.clone(),
        ));
        let label = format!("#{index} {}", super::config::redact(&url));
        let health = Arc::new(Health {
            label: label.clone(),
            start,
            closed: AtomicBool::new(true),
            consecutive: AtomicU32::new(0),
            healthy: AtomicBool::new(true),
            changes: AtomicU64::new(0),
            last_used: AtomicU64::new(0),
            figures: Mutex::new(Figures {
                requests: 0,
                sends: 0,
                accepted: 0,
                duplicates: 0,
                errors: BTreeMap::new(),
                ack: Latency::default(),
                rate_limited: 0,
                probes: 0,
                probe_failures: 0,
                transitions: Vec::new(),
                down_since: None,
                down_total: Duration::ZERO,
                senders_in: 0,
                senders_out: 0,
            }),
        });
        let breaker = CircuitBreaker::new(breaker_config()).on_transition({
            let health = Arc::clone(&health);
            move |t: &Transition| {
                health
                    .closed
                    .store(t.to == BreakerState::Closed, Ordering::Relaxed);
                health.refresh();
            }
        });
        let limiter = max_rps.map(|rps| {
            // A burst of 10 ms of requests (at least one), drained up front: the first second
            // then holds the cap like every other (governor's default burst doubles it).
            let burst = NonZeroU32::new((rps.get() / 100).max(1)).expect("at least 1");
            let limiter = RateLimiter::direct(Quota::per_second(rps).allow_burst(burst));
            let _ = limiter.check_n(burst);
            limiter
        });
        Ok(Self {
            index,
            label,
            url,
            transport,
            breaker,
            limiter,
            health,
        })
    }

    /// Whether it takes traffic: its breaker closed, and no run of failures since its last
    /// answer.
    pub(crate) fn is_healthy(&self) -> bool {
        self.health.is_healthy()
    }

    /// How often its health changed so far.
    pub(crate) fn health_changes(&self) -> u64 {
        self.health.changes.load(Ordering::Relaxed)
    }

    /// Whether nothing but probes reached it for `idle`.
    pub(crate) fn is_idle(&self, idle: Duration) -> bool {
        let last = Duration::from_millis(self.health.last_used.load(Ordering::Relaxed));
        self.health.start.elapsed().saturating_sub(last) >= idle
    }

    /// Takes `n` request permits now, or counts the refusal: for the open loop, which
    /// drops instead of waiting.
    pub(crate) fn try_permits(&self, n: u32) -> bool {
        let Some(limiter) = &self.limiter else {
            return true;
        };
        let ok = NonZeroU32::new(n).is_none_or(|n| matches!(limiter.check_n(n), Ok(Ok(()))));
        if !ok {
            self.health.figures.lock().rate_limited += 1;
        }
        ok
    }

    /// Waits for `n` request permits.
    pub(crate) async fn permits(&self, n: usize) {
        let Some(limiter) = &self.limiter else {
            return;
        };
        let n32 = NonZeroU32::new(u32::try_from(n).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN);
        if matches!(limiter.check_n(n32), Ok(Ok(()))) {
            return;
        }
        self.health.figures.lock().rate_limited += 1;
        for _ in 0..n {
            limiter.until_ready().await;
        }
    }

    /// Counts one request of `calls` calls of `kind`, answered after `took`; `failures` holds
    /// the class of each call that failed or was refused. The request failed for the
    /// endpoint's health when the way to the node failed (no answer, connection, 5xx),
    /// whatever the node said otherwise.
    pub(crate) fn observe(
        &self,
        kind: Kind,
        calls: usize,
        took: Duration,
        failures: &[ErrorClass],
        permit: Option<crate::breaker::Permit>,
    ) {
        let health = &self.health;
        if kind != Kind::Probe {
            let ms = health.start.elapsed().as_millis() as u64;
            health.last_used.store(ms, Ordering::Relaxed);
        }
        let node_failed = failures.iter().any(ErrorClass::is_node_failure);
        if node_failed {
            health.consecutive.fetch_add(1, Ordering::Relaxed);
        } else {
            health.consecutive.store(0, Ordering::Relaxed);
        }
        if let Some(permit) = permit {
            if node_failed {
                permit.failure();
            } else {
                permit.success();
            }
        }
        health.refresh();
        let mut f = health.figures.lock();
        match kind {
            Kind::Probe => {
                f.probes += 1;
                f.probe_failures += u64::from(node_failed);
                return;
            }
            Kind::Send => {
                f.sends += calls as u64;
                f.accepted += (calls - failures.len().min(calls)) as u64;
                f.ack.record(took);
            }
            Kind::Read => {}
        }
        f.requests += calls as u64;
        for class in failures {
            *f.errors.entry(label(class)).or_default() += 1;
        }
    }

    /// Counts transactions it accepted after another endpoint did (broadcast).
    pub(crate) fn duplicates(&self, n: u64) {
        self.health.figures.lock().duplicates += n;
    }

    /// Counts senders moved to (`true`) or away from it.
    pub(crate) fn moved(&self, into: bool) {
        let mut f = self.health.figures.lock();
        if into {
            f.senders_in += 1;
        } else {
            f.senders_out += 1;
        }
    }

    /// Sends counted so far.
    pub(crate) fn sends(&self) -> u64 {
        self.health.figures.lock().sends
    }

    /// Send to answer so far, `None` before the first answer.
    pub(crate) fn ack_buckets(&self) -> Option<LatencyBuckets> {
        let f = self.health.figures.lock();
        LatencyBuckets::from_latency(&f.ack)
    }

    /// The figures at the end of the run.
    pub(crate) fn summary(&self, roles: &str, senders: u64, all_sends: u64) -> EndpointSummary {
        let f = self.health.figures.lock();
        let pct = |q: f64| {
            let ack = f.ack.histogram()?;
            Some(crate::report::round(
                ack.value_at_quantile(q) as f64 / 1_000.0,
                3,
            ))
        };
        let down = f.down_total + f.down_since.map_or(Duration::ZERO, |since| since.elapsed());
        EndpointSummary {
            endpoint: self.label.clone(),
            roles: roles.into(),
            requests: f.requests,
            sends: f.sends,
            share: if all_sends == 0 {
                0.0
            } else {
                crate::report::round(f.sends as f64 / all_sends as f64, 4)
            },
            accepted: f.accepted,
            duplicates: f.duplicates,
            errors: f.errors.clone(),
            ack_p50_ms: pct(0.5),
            ack_p99_ms: pct(0.99),
            rate_limited: f.rate_limited,
            probes: f.probes,
            probe_failures: f.probe_failures,
            transitions: f.transitions.clone(),
            unhealthy_s: crate::report::round(down.as_secs_f64(), 3),
            healthy: self.health.is_healthy(),
            senders,
            senders_in: f.senders_in,
            senders_out: f.senders_out,
        }
    }
}

/// The label a failed call counts under.
fn label(class: &ErrorClass) -> String {
    match class {
        ErrorClass::Reverted { .. } => "reverted".into(),
        class => class.to_string(),
    }
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("endpoint", &self.label)
            .field("healthy", &self.is_healthy())
            .finish_non_exhaustive()
    }
}
