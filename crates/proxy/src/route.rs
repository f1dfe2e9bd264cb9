//! A chosen way out: one proxy's client, or the direct client.

use std::{fmt, time::Duration};

use crate::{entry::ProxyId, failure::Failure, pool::ProxyPool, proxy_url::ProxyUrl};

/// What [`ProxyPool::pick`] and [`ProxyPool::assign`] hand out: a proxy's pooled
/// `reqwest::Client` (or the direct one) plus a way to report outcomes back to the pool.
/// Cheap to clone; keep it as long as you like — a ban does not invalidate it, the next pick
/// simply avoids the proxy.
///
/// `Display`: the redacted proxy (`http://***:***@10.0.0.1:3128`) or `direct`.
#[derive(Clone)]
pub struct Route {
    pool: ProxyPool,
    id: Option<ProxyId>,
    client: reqwest::Client,
}

impl Route {
    pub(crate) fn proxy(pool: ProxyPool, id: ProxyId) -> Self {
        let client = pool.inner.entries[id.0].client.clone();
        Self {
            pool,
            id: Some(id),
            client,
        }
    }

    pub(crate) fn direct(pool: ProxyPool) -> Self {
        let client = pool.inner.direct.clone();
        Self {
            pool,
            id: None,
            client,
        }
    }

    /// The client: requests made with it go through the proxy.
    pub const fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The proxy, or `None` for a direct route.
    pub const fn proxy_id(&self) -> Option<ProxyId> {
        self.id
    }

    /// The proxy's address, or `None` for a direct route.
    pub fn proxy_url(&self) -> Option<&ProxyUrl> {
        self.id.and_then(|id| self.pool.proxy(id))
    }

    /// Whether this route bypasses the proxies.
    pub const fn is_direct(&self) -> bool {
        self.id.is_none()
    }

    /// The pool this route came from.
    pub const fn pool(&self) -> &ProxyPool {
        &self.pool
    }

    /// Reports a successful request (no-op for a direct route).
    pub fn report_success(&self, latency: Duration) {
        if let Some(id) = self.id {
            self.pool.report_success(id, latency);
        }
    }

    /// Reports a failed request; returns whether it banned the proxy (never for a direct route).
    pub fn report_failure(&self, failure: Failure) -> bool {
        self.id
            .is_some_and(|id| self.pool.report_failure(id, failure))
    }

    /// Classifies a reqwest error with [`Failure::from_reqwest`] and reports it.
    pub fn report_reqwest_error(&self, err: &reqwest::Error) -> bool {
        self.report_failure(Failure::from_reqwest(err))
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.proxy_url() {
            Some(url) => url.fmt(f),
            None => f.write_str("direct"),
        }
    }
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Route")
            .field("id", &self.id)
            .field("proxy", &self.to_string())
            .finish_non_exhaustive()
    }
}
