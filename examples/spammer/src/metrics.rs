//! `--metrics-addr`: a Prometheus endpoint (`GET /metrics`) for the length of a run. It serves
//! [`spam_core::prometheus::render`] of the latest progress snapshot of either engine: the
//! families of docs/metrics.md, histograms included, and nothing recorded on the send path.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
};

use axum::{Router, http::header, routing::get};
use spam_core::{Progress, prometheus};

use crate::input::bad_input;

/// Where to serve metrics.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct MetricsArgs {
    /// Serve Prometheus metrics at http://ADDR/metrics while the run lasts, e.g. 127.0.0.1:9000.
    #[arg(long, env = "SPAM_METRICS_ADDR", value_name = "ADDR", value_parser = socket_addr)]
    metrics_addr: Option<SocketAddr>,
}

/// The latest progress snapshot: the progress hook writes it, `/metrics` renders it.
pub(crate) type Latest = Arc<Mutex<Option<Progress>>>;

impl MetricsArgs {
    /// Starts the endpoint when asked for, serving `latest`; `true` when it serves. Call it
    /// before anything else starts, so a taken port is reported as bad input with nothing
    /// written.
    ///
    /// # Errors
    /// [`BadInput`](crate::input::BadInput) when the address cannot be bound.
    pub(crate) async fn start(&self, latest: &Latest) -> anyhow::Result<bool> {
        let Some(addr) = self.metrics_addr else {
            return Ok(false);
        };
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|why| bad_input(format!("--metrics-addr {addr}: {why}")))?;
        let latest = Arc::clone(latest);
        let app = Router::new().route(
            "/metrics",
            get(move || {
                let body = latest
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .as_ref()
                    .map(prometheus::render)
                    .unwrap_or_default();
                async move { ([(header::CONTENT_TYPE, prometheus::CONTENT_TYPE)], body) }
            }),
        );
        // Lives as long as the process: the run's end is the process's end.
        tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                tracing::warn!(target: "spam::metrics", %err, "the metrics endpoint stopped");
            }
        });
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
