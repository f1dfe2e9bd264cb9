//! `--rpc-url`, `--send-url` (each repeatable or a comma list), `--endpoint-strategy` and
//! `--max-rps-per-endpoint`: the endpoints of `run` and `loadgen`.

use std::num::NonZeroU32;

use alloy::transports::http::reqwest::Url;
use spam_core::{EndpointStrategy, Endpoints};

use crate::{
    input::{self, bad_input},
    node::{self, Node},
};

/// Most URLs in one of `--rpc-url`, `--send-url`.
const MAX_URLS: usize = 64;

/// The endpoints of a run.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct EndpointArgs {
    /// JSON-RPC URL of the chain (chain id, fees, blocks). Several, by repeating the flag or
    /// as a comma list, are used in order (the first is the primary). Without it, spammer
    /// starts its own anvil.
    #[arg(
        long = "rpc-url",
        id = "rpc_url",
        env = "SPAM_RPC_URL",
        value_name = "URL",
        value_delimiter = ',',
        value_parser = input::http_url,
        allow_hyphen_values = true
    )]
    rpc_urls: Vec<Url>,
    /// Where transactions (and the senders' nonce reads) go, e.g. a sequencer's builder
    /// endpoint (default: --rpc-url). Repeat the flag or give a comma list for several.
    #[arg(
        long = "send-url",
        id = "send_url",
        env = "SPAM_SEND_URL",
        value_name = "URL",
        value_delimiter = ',',
        value_parser = input::http_url,
        allow_hyphen_values = true
    )]
    send_urls: Vec<Url>,
    /// How several send URLs are used: spread (each sender sticks to one, balanced),
    /// failover (the first healthy one in order), broadcast (every tx to every one).
    #[arg(
        long,
        env = "SPAM_ENDPOINT_STRATEGY",
        value_name = "NAME",
        default_value = "spread",
        value_parser = strategy
    )]
    endpoint_strategy: EndpointStrategy,
    /// Most requests per second to each endpoint (public RPCs): reads wait for a permit,
    /// `run`'s sends too; `loadgen` drops a tick without one ("endpoint rate limit").
    #[arg(
        long,
        env = "SPAM_MAX_RPS_PER_ENDPOINT",
        value_name = "N",
        value_parser = input::rps,
        allow_hyphen_values = true
    )]
    max_rps_per_endpoint: Option<NonZeroU32>,
}

fn strategy(s: &str) -> Result<EndpointStrategy, String> {
    s.parse()
        .map_err(|err: spam_core::ParseStrategyError| err.to_string())
}

impl EndpointArgs {
    /// The primary RPC URL, when given.
    pub(crate) fn primary(&self) -> Option<&Url> {
        self.rpc_urls.first()
    }

    /// The endpoint settings every shard of a run must share (hosts and ports only: no
    /// credentials go into the run's record).
    pub(crate) fn shard_settings(&self) -> serde_json::Value {
        let hosts = |urls: &[Url]| -> Vec<String> {
            urls.iter()
                .map(|u| {
                    let (host, port) = (u.host_str().unwrap_or(""), u.port_or_known_default());
                    format!("{}://{host}:{}", u.scheme(), port.unwrap_or(0))
                })
                .collect()
        };
        serde_json::json!({
            "rpc_url": hosts(&self.rpc_urls),
            "send_url": hosts(&self.send_urls),
            "endpoint_strategy": self.endpoint_strategy.as_str(),
            "max_rps_per_endpoint": self.max_rps_per_endpoint.map(NonZeroU32::get),
        })
    }

    /// Checks what needs no node: how many URLs, none twice.
    ///
    /// # Errors
    /// [`BadInput`](crate::input::BadInput) naming the flag.
    pub(crate) fn check(&self) -> anyhow::Result<()> {
        for (flag, urls) in [
            ("--rpc-url", &self.rpc_urls),
            ("--send-url", &self.send_urls),
        ] {
            if urls.len() > MAX_URLS {
                return Err(bad_input(format!(
                    "{flag}: at most {MAX_URLS} URLs, got {}",
                    urls.len()
                )));
            }
            for (i, url) in urls.iter().enumerate() {
                if urls[..i].contains(url) {
                    return Err(bad_input(format!("{flag} {url} is given twice")));
                }
            }
        }
        Ok(())
    }

    /// Checks that every URL besides the node's answers and serves its chain, before
    /// anything is written.
    ///
    /// # Errors
    /// [`BadInput`](crate::input::BadInput) naming the URL.
    pub(crate) async fn check_reachable(&self, node: &Node) -> anyhow::Result<()> {
        let others = self
            .rpc_urls
            .iter()
            .skip(1)
            .map(|u| ("--rpc-url", u))
            .chain(self.send_urls.iter().map(|u| ("--send-url", u)))
            .filter(|(_, u)| **u != node.url);
        for (flag, url) in others {
            node::check_url(flag, url, node).await?;
        }
        Ok(())
    }

    /// The engines' endpoints: the RPC URLs (or the node spammer started), the send URLs.
    pub(crate) fn endpoints(&self, node: &Node) -> Endpoints {
        let reads = if self.rpc_urls.is_empty() {
            vec![node.url.clone()]
        } else {
            self.rpc_urls.clone()
        };
        let mut endpoints = Endpoints::new(reads)
            .with_sends(self.send_urls.clone())
            .with_strategy(self.endpoint_strategy);
        if let Some(max) = self.max_rps_per_endpoint {
            endpoints = endpoints.with_max_rps(max);
        }
        endpoints
    }
}
