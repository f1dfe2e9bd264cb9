//! alloy integration: HTTP transports over a route's client that report back to the pool.

mod layer;

pub use layer::{ReportLayer, ReportService};

use alloy::{
    providers::RootProvider,
    rpc::client::{ClientBuilder, RpcClient},
    transports::{RpcError, TransportError, TransportErrorKind},
};
use reqwest::Url;

use crate::{
    failure::{Failure, FailureKind, classify_chain},
    route::Route,
};

impl Route {
    /// An alloy [`RpcClient`] for `rpc_url` over this route's client. Every request's outcome is
    /// reported to the pool ([`ReportLayer`]): a transport-level failure counts towards a ban,
    /// anything the node answered (JSON-RPC errors included) as a success.
    ///
    /// For more layers (a circuit breaker, retries) build the client yourself:
    /// `ClientBuilder::default().layer(ReportLayer::new(route.clone())).layer(..)
    /// .http_with_client(route.client().clone(), url)`.
    pub fn rpc_client(&self, rpc_url: Url) -> RpcClient {
        ClientBuilder::default()
            .layer(ReportLayer::new(self.clone()))
            .http_with_client(self.client().clone(), rpc_url)
    }

    /// An alloy provider for `rpc_url` over this route, built on [`rpc_client`](Self::rpc_client).
    /// For fillers and wallets: `ProviderBuilder::new().connect_client(route.rpc_client(url))`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// use alloy::providers::Provider;
    /// use spam_proxy::{PoolConfig, ProxyPool};
    ///
    /// let pool = ProxyPool::from_list("socks5h://u:p@10.0.0.2:1080", PoolConfig::default())?;
    /// let wallet = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    /// let provider = pool.assign(wallet)?.provider("http://10.0.0.9:8545".parse()?);
    /// let block = provider.get_block_number().await?;
    /// # Ok(()) }
    /// ```
    pub fn provider(&self, rpc_url: Url) -> RootProvider {
        RootProvider::new(self.rpc_client(rpc_url))
    }
}

impl Failure {
    /// Classifies an error of an alloy HTTP transport, or returns `None` when it is not a
    /// failure of the way to the node (a JSON-RPC error answer, a null result, a local error).
    ///
    /// HTTP statuses map as in [`Failure::from_status`] (a node's own 429 counts: rate limits
    /// per egress IP are what proxies are for); reqwest errors as in [`Failure::from_reqwest`];
    /// an answer that is not JSON-RPC at all (a proxy's HTML error page) is
    /// [`FailureKind::BadResponse`].
    pub fn from_transport_error(err: &TransportError) -> Option<Self> {
        match err {
            RpcError::Transport(kind) => match kind {
                TransportErrorKind::HttpError(http)
                | TransportErrorKind::HttpErrorWithRetryAfter { error: http, .. } => {
                    Some(Self::from_status(http.status))
                }
                TransportErrorKind::Custom(e) | TransportErrorKind::NonRetryable(e) => {
                    match e.downcast_ref::<reqwest::Error>() {
                        Some(reqwest) => Some(Self::from_reqwest(reqwest)),
                        None => classify_chain(&**e).map(|kind| Self::new(kind, e.to_string())),
                    }
                }
                _ => None,
            },
            RpcError::DeserError { .. } => Some(Self::new(
                FailureKind::BadResponse,
                "answer is not JSON-RPC",
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_errors_are_classified_and_node_answers_are_not() {
        for (err, expected) in [
            (
                TransportErrorKind::http_error(407, String::new()),
                Some(FailureKind::Auth),
            ),
            (
                TransportErrorKind::http_error(429, String::new()),
                Some(FailureKind::RateLimited),
            ),
            (
                TransportErrorKind::http_error(403, String::new()),
                Some(FailureKind::Forbidden),
            ),
            (
                TransportErrorKind::http_error(502, String::new()),
                Some(FailureKind::BadResponse),
            ),
            (
                TransportErrorKind::custom(std::io::Error::from(
                    std::io::ErrorKind::ConnectionRefused,
                )),
                Some(FailureKind::Connect),
            ),
            (TransportErrorKind::backend_gone(), None),
            (TransportError::NullResp, None),
            (
                TransportError::ErrorResp(alloy::rpc::json_rpc::ErrorPayload {
                    code: -32000,
                    message: "nonce too low".into(),
                    data: None,
                }),
                None,
            ),
        ] {
            assert_eq!(
                Failure::from_transport_error(&err).map(|f| f.kind()),
                expected,
                "{err}"
            );
        }
        let not_json =
            TransportError::deser_err(serde_json::from_str::<u8>("<html>").unwrap_err(), "<html>");
        assert_eq!(
            Failure::from_transport_error(&not_json).map(|f| f.kind()),
            Some(FailureKind::BadResponse)
        );
    }
}
