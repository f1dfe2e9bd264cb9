//! Health checks: on demand and in the background, with a concurrency cap.

use std::{fmt, sync::Arc, time::Duration};

use tokio::{sync::Semaphore, task::JoinSet, time::MissedTickBehavior};

use crate::{
    entry::ProxyId,
    health::{CheckResult, Probe},
    pool::ProxyPool,
};

const TARGET: &str = "spam::proxy";

impl ProxyPool {
    /// Checks one proxy with `probe` and records the result: a failure bans it (or renews its
    /// ban), a success records the latency. A passing check does not lift a ban; bans end on
    /// expiry or with [`unban`](Self::unban).
    ///
    /// Returns `None` for an id of another pool.
    ///
    /// # Cancel safety
    /// Dropping the future abandons the check; nothing is recorded.
    pub async fn check(&self, id: ProxyId, probe: &Probe) -> Option<CheckResult> {
        let entry = self.entry(id)?;
        let health = probe
            .run(&entry.client, self.inner.config.check_timeout)
            .await;
        let banned = entry.record_check(&health, self.now(), &self.inner.config);
        Some(CheckResult {
            id,
            proxy: entry.url.clone(),
            health,
            banned,
        })
    }

    /// Checks every proxy, banned or not, at most
    /// [`check_concurrency`](crate::PoolConfig::with_check_concurrency) at a time, each within
    /// [`check_timeout`](crate::PoolConfig::with_check_timeout). Results in list order.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    ///
    /// # Cancel safety
    /// Dropping the future aborts the checks in flight; those already finished stay recorded.
    pub async fn check_all(&self, probe: &Probe) -> Vec<CheckResult> {
        self.check_ids(self.ids().collect(), probe).await
    }

    /// Like [`check_all`](Self::check_all) but skips proxies that are banned: what the
    /// background task runs, since a passing check would not lift a ban anyway.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    ///
    /// # Cancel safety
    /// As [`check_all`](Self::check_all).
    pub async fn check_available(&self, probe: &Probe) -> Vec<CheckResult> {
        let ids = self.ids().filter(|&id| !self.is_banned(id)).collect();
        self.check_ids(ids, probe).await
    }

    async fn check_ids(&self, ids: Vec<ProxyId>, probe: &Probe) -> Vec<CheckResult> {
        let permits = Arc::new(Semaphore::new(self.inner.config.check_concurrency.get()));
        let mut tasks = JoinSet::new();
        for id in ids {
            let (pool, probe, permits) = (self.clone(), probe.clone(), permits.clone());
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await.expect("never closed");
                pool.check(id, &probe).await
            });
        }
        let mut results = Vec::with_capacity(tasks.len());
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(result) => results.extend(result),
                // A panic inside reqwest would be a bug there; keep the other results.
                Err(e) => tracing::error!(target: TARGET, error = %e, "health check task failed"),
            }
        }
        results.sort_by_key(|r| r.id);
        let healthy = results.iter().filter(|r| r.health.is_healthy()).count();
        tracing::debug!(target: TARGET, checked = results.len(), healthy, "health checks done");
        results
    }

    /// Runs [`check_available`](Self::check_available) now and then every `every` in a
    /// background task, until the returned [`HealthTask`] is dropped or stopped.
    ///
    /// # Panics
    /// Outside a tokio runtime, or if `every` is zero.
    pub fn spawn_health_checks(&self, probe: Probe, every: Duration) -> HealthTask {
        let pool = self.clone();
        let handle = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                pool.check_available(&probe).await;
            }
        });
        HealthTask { handle }
    }
}

/// The background health checker of [`ProxyPool::spawn_health_checks`]; stops when dropped.
pub struct HealthTask {
    handle: tokio::task::JoinHandle<()>,
}

impl HealthTask {
    /// Stops the checks (the same as dropping it).
    pub fn stop(self) {}
}

impl Drop for HealthTask {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

impl fmt::Debug for HealthTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HealthTask")
            .field("finished", &self.handle.is_finished())
            .finish()
    }
}
