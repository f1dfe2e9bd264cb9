//! The node a run loads: the user's (checked reachable first) or an anvil started for the run;
//! and Ctrl-C.

use std::time::Duration;

use alloy::transports::http::reqwest::{Client, Url};
use anyhow::Context as _;
use spam_core::{MainnetPolicy, check_chain_id};
use spam_devnet::{Devnet, DevnetBuilder};
use tokio_util::sync::CancellationToken;

use crate::input::{bad_input, causes, unreachable};

/// How long the node may take to answer `eth_chainId` before the run gives up on it.
const REACH_TIMEOUT: Duration = Duration::from_secs(5);

/// The node a run talks to; an anvil started for it lives as long as this.
#[derive(Debug)]
pub(crate) struct Node {
    /// Its JSON-RPC URL.
    pub(crate) url: Url,
    /// Its WebSocket URL, when spammer started it.
    pub(crate) ws_url: Option<Url>,
    /// The chain id it answered.
    chain_id: Option<u64>,
    devnet: Option<Devnet>,
}

impl Node {
    /// `url` once it answers `eth_chainId`, else an anvil from `devnet` when `url` is `None`.
    ///
    /// # Errors
    /// [`BadInput`](crate::input::BadInput) naming the URL when the node does not answer within
    /// 5 s; anvil not starting.
    pub(crate) async fn connect(url: Option<&Url>, devnet: DevnetBuilder) -> anyhow::Result<Self> {
        if let Some(url) = url {
            let chain_id = reachable(url).await?;
            return Ok(Self {
                url: url.clone(),
                ws_url: None,
                chain_id: Some(chain_id),
                devnet: None,
            });
        }
        let devnet = devnet
            .start()
            .context("starting a local anvil (no --rpc-url given)")?;
        let url: Url = devnet.endpoint().parse().context("anvil endpoint")?;
        let ws_url = devnet.ws_endpoint().parse().ok();
        let chain_id = reachable(&url).await.ok();
        Ok(Self {
            url,
            ws_url,
            chain_id,
            devnet: Some(devnet),
        })
    }

    /// The chain id the node answered.
    pub(crate) const fn chain_id(&self) -> Option<u64> {
        self.chain_id
    }

    /// Refuses a known public mainnet unless `allow`: checked before anything is written (the
    /// engines check again before their first send).
    ///
    /// # Errors
    /// [`BadInput`](crate::input::BadInput) naming the chain and `--allow-mainnet`.
    pub(crate) fn guard(&self, allow: bool) -> anyhow::Result<()> {
        let policy = if allow {
            MainnetPolicy::Allow
        } else {
            MainnetPolicy::Refuse
        };
        match self.chain_id.map(|id| check_chain_id(id, policy)) {
            Some(Err(refused)) => Err(bad_input(format!("--rpc-url {}: {refused}", self.url))),
            _ => Ok(()),
        }
    }

    /// Whether spammer started this node.
    pub(crate) const fn is_local(&self) -> bool {
        self.devnet.is_some()
    }
}

/// Asks `url` for its chain id; an error names the URL and what went wrong.
async fn reachable(url: &Url) -> anyhow::Result<u64> {
    match ask_chain_id(url, "--rpc-url").await? {
        (_, Some(id)) => Ok(id),
        (answer, None) => Err(unreachable(format!(
            "--rpc-url {url} is unreachable: eth_chainId answered {answer}"
        ))),
    }
}

/// Checks that another endpoint (`flag`: `--send-url`, `--rpc-url`) answers before anything
/// is written, and, when it tells its chain id, that it is the node's chain.
///
/// # Errors
/// [`BadInput`](crate::input::BadInput) when it does not answer or serves another chain.
pub(crate) async fn check_url(flag: &str, url: &Url, node: &Node) -> anyhow::Result<()> {
    let (_, chain_id) = ask_chain_id(url, flag).await?;
    match (chain_id, node.chain_id) {
        (Some(other), Some(read)) if other != read => Err(bad_input(format!(
            "{flag} {url} serves chain id {other}, --rpc-url {} chain id {read}",
            node.url
        ))),
        _ => Ok(()),
    }
}

/// Posts `eth_chainId` to `url`: the HTTP answer (status and the start of the body) and the
/// chain id when the answer holds one. An error names `flag`, the URL and why it could not
/// be reached.
async fn ask_chain_id(url: &Url, flag: &str) -> anyhow::Result<(String, Option<u64>)> {
    let unreachable =
        |why: String| self::unreachable(format!("{flag} {url} is unreachable: {why}"));
    let client = Client::builder()
        .timeout(REACH_TIMEOUT)
        .connect_timeout(REACH_TIMEOUT)
        .build()
        .context("HTTP client")?;
    let answer = client
        .post(url.clone())
        .header("content-type", "application/json")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}"#)
        .send()
        .await
        .map_err(|err| {
            if err.is_timeout() {
                unreachable(format!("no answer within {}s", REACH_TIMEOUT.as_secs()))
            } else {
                unreachable(causes(&err))
            }
        })?;
    let status = answer.status();
    let body = answer
        .text()
        .await
        .map_err(|err| unreachable(causes(&err)))?;
    let json: Option<serde_json::Value> = serde_json::from_str(&body).ok();
    let chain_id = json
        .as_ref()
        .and_then(|j| j.get("result")?.as_str())
        .and_then(|hex| u64::from_str_radix(hex.strip_prefix("0x")?, 16).ok());
    let shown = format!(
        "HTTP {status}: {}",
        body.chars().take(200).collect::<String>()
    );
    Ok((shown, chain_id))
}

/// A token cancelled by the first Ctrl-C or SIGTERM (printing `what`); a second one exits at
/// once with code 130.
pub(crate) fn cancel_on_ctrl_c(what: &'static str) -> CancellationToken {
    let cancel = CancellationToken::new();
    tokio::spawn({
        let cancel = cancel.clone();
        async move {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            let mut signalled = async || {
                tokio::select! {
                    r = tokio::signal::ctrl_c() => r.is_ok(),
                    r = async {
                        match term.as_mut() {
                            Some(term) => term.recv().await,
                            None => std::future::pending().await,
                        }
                    } => r.is_some(),
                }
            };
            if signalled().await {
                eprintln!("interrupted: {what} (Ctrl-C again quits at once)");
                cancel.cancel();
                if signalled().await {
                    std::process::exit(130);
                }
            }
        }
    });
    cancel
}

/// The chain's block time, from the timestamps of its latest block and the one ten before;
/// `None` when the node does not answer or the chain is too young.
pub(crate) async fn block_time(url: &Url) -> Option<Duration> {
    let hex = |v: &serde_json::Value, key: &str| {
        let text = v.get(key)?.as_str()?.strip_prefix("0x")?;
        u64::from_str_radix(text, 16).ok()
    };
    let client = Client::builder().timeout(REACH_TIMEOUT).build().ok()?;
    let block = |tag: String| {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["{tag}",false]}}"#
        );
        let request = client
            .post(url.clone())
            .header("content-type", "application/json")
            .body(body);
        async move {
            let answer: serde_json::Value = request.send().await.ok()?.json().await.ok()?;
            let block = answer.get("result")?;
            Some((hex(block, "number")?, hex(block, "timestamp")?))
        }
    };
    let (number, now) = block("latest".into()).await?;
    let (_, then) = block(format!("{:#x}", number.checked_sub(10)?)).await?;
    let secs = now.saturating_sub(then);
    Some(Duration::from_secs_f64(secs as f64 / 10.0))
}
