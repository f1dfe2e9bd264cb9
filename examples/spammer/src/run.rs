//! `spammer run`: the closed-loop Spammer with the built-in tasks.

use std::{num::NonZeroU32, path::PathBuf, time::Duration};

use alloy::transports::http::reqwest::Url;
use anyhow::Context as _;
use spam_core::{MainnetPolicy, MnemonicSource, Report, Spammer, Stop};
use spam_devnet::Devnet;
use spam_proxy::{PoolConfig, Probe, ProxyPool};
use tokio_util::sync::CancellationToken;

/// How often `--proxies` are health-checked during a run.
const PROXY_CHECK_EVERY: Duration = Duration::from_secs(30);

/// Options of `spammer run`.
#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// JSON-RPC URL of the chain. Without it, spammer starts its own anvil.
    #[arg(long, env = "SPAM_RPC_URL")]
    rpc_url: Option<Url>,
    /// How long to start new tasks, e.g. 10s, 2m.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Concurrent workers; each leases a wallet, runs a task, waits for its receipt.
    #[arg(long, default_value = "32")]
    workers: NonZeroU32,
    /// Dev-mnemonic accounts to send from (default: one per worker).
    #[arg(long)]
    senders: Option<NonZeroU32>,
    /// Tasks and weights, e.g. `transfer_self=3,transfer_fresh=1`.
    #[arg(long, default_value = "transfer_self=3,transfer_fresh=1")]
    tasks: String,
    /// How long a wallet rests after each task.
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    cooldown: Duration,
    /// Seed of every random choice; the same seed runs the same task sequence.
    #[arg(long, default_value = "0")]
    seed: u64,
    /// How long running tasks may finish after the stop (and pending txs may land).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    grace: Duration,
    /// Allow chain ids of public mainnets.
    #[arg(long)]
    allow_mainnet: bool,
    /// Send each sender's RPC through a proxy of this list (one `scheme://[user:pass@]host:port`
    /// per line), sticky per sender; failing proxies are banned and their senders move on.
    #[arg(long, value_name = "FILE")]
    proxies: Option<PathBuf>,
}

pub(crate) async fn run(args: RunArgs) -> anyhow::Result<Report> {
    let senders = args.senders.unwrap_or(args.workers).get();
    let registry = spam_tasks::registry();
    let weights = parse_tasks(&args.tasks)?;
    let pairs: Vec<(&str, u32)> = weights.iter().map(|(n, w)| (n.as_str(), *w)).collect();
    let mix = registry.mix(&pairs)?;
    // Read the list before starting anything: a bad line is reported at once.
    let proxies = args
        .proxies
        .as_ref()
        .map(|file| {
            ProxyPool::from_file(file, PoolConfig::default())
                .with_context(|| format!("--proxies {}", file.display()))
        })
        .transpose()?;

    let (_devnet, url) = match &args.rpc_url {
        Some(url) => (None, url.clone()),
        None => {
            let devnet = Devnet::builder()
                .accounts(senders.max(10))
                .arg("--gas-limit")
                .arg("1000000000")
                .start()
                .context("starting a local anvil (no --rpc-url given)")?;
            let url = devnet.endpoint().parse().context("anvil endpoint")?;
            eprintln!("started anvil (automine) at {url}");
            (Some(devnet), url)
        }
    };
    let wallets = MnemonicSource::dev().with_indices(0..senders).load()?;
    let cancel = CancellationToken::new();
    tokio::spawn({
        let cancel = cancel.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!(
                    "interrupted: no new tasks; waiting for running ones (Ctrl-C again quits)"
                );
                cancel.cancel();
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        }
    });
    eprintln!(
        "running {} workers over {senders} senders for {:?}: {}",
        args.workers, args.duration, args.tasks
    );
    // Checked now and every 30 s: a dead proxy is banned before senders are put on it.
    let _health_checks = match &proxies {
        Some(pool) => {
            let probe = Probe::chain_id(url.clone());
            let healthy = pool
                .check_all(&probe)
                .await
                .iter()
                .filter(|r| r.health.is_healthy())
                .count();
            eprintln!("proxies: {healthy} of {} healthy", pool.len());
            Some(pool.spawn_health_checks(probe, PROXY_CHECK_EVERY))
        }
        None => None,
    };
    let mut spammer = Spammer::builder();
    if let Some(pool) = proxies {
        spammer = spammer.proxies(pool);
    }
    let report = spammer
        .rpc_url(url)
        .wallets(wallets)
        .tasks(mix)
        .workers(args.workers)
        .stop(Stop::After(args.duration))
        .cooldown(args.cooldown)
        .seed(args.seed)
        .grace(args.grace)
        .mainnet(if args.allow_mainnet {
            MainnetPolicy::Allow
        } else {
            MainnetPolicy::Refuse
        })
        .cancel_on(cancel)
        .build()?
        .run()
        .await?;
    Ok(report)
}

/// `a=3,b=1` → `[("a", 3), ("b", 1)]`; a name without `=` weighs 1.
fn parse_tasks(spec: &str) -> anyhow::Result<Vec<(String, u32)>> {
    spec.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| match part.split_once('=') {
            Some((name, weight)) => {
                let weight = weight.trim().parse().with_context(|| {
                    format!("--tasks: weight of `{name}` must be a whole number, got `{weight}`")
                })?;
                Ok((name.trim().to_string(), weight))
            }
            None => Ok((part.to_string(), 1)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_specs_parse() {
        assert_eq!(
            parse_tasks("transfer_self=3, transfer_fresh").unwrap(),
            [
                ("transfer_self".to_string(), 3),
                ("transfer_fresh".to_string(), 1)
            ]
        );
        assert!(
            parse_tasks("a=x")
                .unwrap_err()
                .to_string()
                .contains("whole number")
        );
    }
}
