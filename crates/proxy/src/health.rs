//! Health probes and their results.

use std::{
    fmt,
    time::{Duration, Instant},
};

use reqwest::Url;

use crate::{
    entry::ProxyId,
    failure::{Failure, FailureKind},
    proxy_url::ProxyUrl,
};

/// What a health check sends through a proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Probe {
    /// JSON-RPC `eth_chainId` POSTed to this RPC URL (the usual probe: the target you will load);
    /// healthy when the answer is a JSON-RPC result.
    ChainId(Url),
    /// `GET` this URL; healthy on any 2xx status.
    Get(Url),
}

impl Probe {
    /// JSON-RPC `eth_chainId` to `rpc_url`.
    pub const fn chain_id(rpc_url: Url) -> Self {
        Self::ChainId(rpc_url)
    }

    /// `GET url`, healthy on 2xx.
    pub const fn get(url: Url) -> Self {
        Self::Get(url)
    }

    /// Runs the probe with `client`, giving up after `deadline`.
    pub(crate) async fn run(&self, client: &reqwest::Client, deadline: Duration) -> Health {
        let start = Instant::now();
        match tokio::time::timeout(deadline, self.send(client)).await {
            Ok(Ok(())) => Health::Healthy {
                latency: start.elapsed(),
            },
            Ok(Err(failure)) => Health::Unhealthy(failure),
            Err(_) => Health::Unhealthy(Failure::new(
                FailureKind::Timeout,
                format!("no answer within {}ms", deadline.as_millis()),
            )),
        }
    }

    async fn send(&self, client: &reqwest::Client) -> Result<(), Failure> {
        let request = match self {
            Self::ChainId(url) => client
                .post(url.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}"#),
            Self::Get(url) => client.get(url.clone()),
        };
        let response = request
            .send()
            .await
            .map_err(|e| Failure::from_reqwest(&e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(Failure::from_status(status.as_u16()));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| Failure::from_reqwest(&e))?;
        match self {
            Self::ChainId(_) => check_chain_id(&body),
            Self::Get(_) => Ok(()),
        }
    }
}

fn check_chain_id(body: &[u8]) -> Result<(), Failure> {
    let bad = |what: String| Failure::new(FailureKind::BadResponse, what);
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        bad(format!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&body[..body.len().min(80)])
        ))
    })?;
    if value
        .get("result")
        .and_then(|r| r.as_str())
        .is_some_and(|r| r.starts_with("0x"))
    {
        return Ok(());
    }
    match value.get("error") {
        Some(error) => Err(bad(format!("JSON-RPC error {error}"))),
        None => Err(bad(format!("no eth_chainId result in {value}"))),
    }
}

/// The outcome of one health check.
///
/// `Display`: `ok (12ms)` or the failure (`auth: answered 407 Proxy Authentication Required`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// The probe succeeded.
    Healthy {
        /// From sending the request to reading the whole answer.
        latency: Duration,
    },
    /// The probe failed.
    Unhealthy(Failure),
}

impl Health {
    /// Whether the probe succeeded.
    pub const fn is_healthy(&self) -> bool {
        matches!(self, Self::Healthy { .. })
    }

    /// The latency, when healthy.
    pub const fn latency(&self) -> Option<Duration> {
        match self {
            Self::Healthy { latency } => Some(*latency),
            Self::Unhealthy(_) => None,
        }
    }

    /// The failure, when unhealthy.
    pub const fn failure(&self) -> Option<&Failure> {
        match self {
            Self::Healthy { .. } => None,
            Self::Unhealthy(failure) => Some(failure),
        }
    }

    /// A one-word status for tables: `"ok"` or the failure's kind (`"auth"`, `"connect"`…).
    pub const fn status(&self) -> &'static str {
        match self {
            Self::Healthy { .. } => "ok",
            Self::Unhealthy(failure) => failure.kind().as_str(),
        }
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Healthy { latency } => write!(f, "ok ({}ms)", latency.as_millis()),
            Self::Unhealthy(failure) => failure.fmt(f),
        }
    }
}

/// One proxy's health check, as returned by [`ProxyPool::check_all`](crate::ProxyPool::check_all).
///
/// `Display`: `#0 socks5://***:***@127.0.0.1:1080 ok (3ms)`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CheckResult {
    /// Which proxy.
    pub id: ProxyId,
    /// Its address (`Display` redacts credentials).
    pub proxy: ProxyUrl,
    /// The outcome.
    pub health: Health,
    /// Whether this check banned the proxy (it was not banned before).
    pub banned: bool,
}

impl fmt::Display for CheckResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.id, self.proxy, self.health)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_id_answers_are_checked() {
        assert!(check_chain_id(br#"{"jsonrpc":"2.0","id":1,"result":"0x7a69"}"#).is_ok());
        for (body, detail) in [
            (&br#"<html>blocked</html>"#[..], "not JSON"),
            (
                br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"nope"}}"#,
                "JSON-RPC error",
            ),
            (
                br#"{"jsonrpc":"2.0","id":1,"result":7}"#,
                "no eth_chainId result",
            ),
        ] {
            let failure = check_chain_id(body).unwrap_err();
            assert_eq!(failure.kind(), FailureKind::BadResponse);
            assert!(failure.detail().starts_with(detail), "{failure}");
        }
    }

    #[test]
    fn health_prints_status_and_latency() {
        let ok = Health::Healthy {
            latency: Duration::from_millis(12),
        };
        assert_eq!((ok.to_string(), ok.status()), ("ok (12ms)".into(), "ok"));
        let bad = Health::Unhealthy(Failure::from_status(429));
        assert_eq!(bad.status(), "rate-limited");
        assert_eq!(
            bad.to_string(),
            "rate-limited: answered 429 Too Many Requests"
        );
    }
}
