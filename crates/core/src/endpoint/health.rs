//! The probe loop: endpoints without traffic, or with a breaker that is not closed, are
//! asked for their block number; senders then move where they belong.

use std::{sync::Arc, time::Duration};

use alloy::rpc::json_rpc::{Id, Request, RequestPacket};
use tokio_util::{sync::CancellationToken, task::AbortOnDropHandle};

use tokio::time::Instant;
use tower::Service;

use super::{member::Kind, router::Router, transport::failures};
use crate::rpc::ErrorClass;

/// How long a probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

impl Router {
    /// Probes and rebalances every `probe_every` until `stop` or the handle is dropped.
    /// Nothing to do with one endpoint: `None`.
    pub(crate) fn spawn_health(
        self: &Arc<Self>,
        stop: CancellationToken,
    ) -> Option<AbortOnDropHandle<()>> {
        if !self.is_multi() {
            return None;
        }
        let router = Arc::clone(self);
        Some(AbortOnDropHandle::new(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(router.probe_every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    () = stop.cancelled() => return,
                }
                let probes = router
                    .endpoints()
                    .iter()
                    .filter(|e| !e.is_healthy() || e.is_idle(router.probe_every * 4));
                futures_util::future::join_all(probes.map(|e| async move {
                    // An open breaker refuses until its open period ends; then one probe
                    // decides (half-open).
                    let Ok(permit) = e.breaker.try_acquire() else {
                        return;
                    };
                    let request = Request::new("eth_blockNumber", Id::Number(0), ())
                        .serialize()
                        .expect("a request without parameters serializes");
                    e.permits(1).await;
                    let started = Instant::now();
                    let answer = tokio::time::timeout(
                        PROBE_TIMEOUT,
                        e.transport.clone().call(RequestPacket::Single(request)),
                    )
                    .await;
                    let failures = match &answer {
                        Ok(result) => failures(1, result),
                        Err(_) => vec![ErrorClass::Timeout],
                    };
                    e.observe(Kind::Probe, 1, started.elapsed(), &failures, Some(permit));
                }))
                .await;
                router.rebalance();
            }
        })))
    }
}
