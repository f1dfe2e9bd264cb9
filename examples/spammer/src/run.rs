//! `spammer run`: the closed-loop Spammer with the built-in tasks.

use std::{
    num::NonZeroU32,
    path::PathBuf,
    process::ExitCode,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use alloy::transports::http::reqwest::Url;
use anyhow::Context as _;
use spam_core::{MainnetPolicy, Spammer, Stop};
use spam_devnet::Devnet;
use spam_proxy::{HealthTask, PoolConfig, Probe, ProxyPool};

use crate::{
    breaker::BreakerArgs,
    config::ConfigArg,
    endpoints::EndpointArgs,
    funding::{self, FunderArgs, Need},
    input::{self, bad_input},
    metrics::{self, MetricsArgs},
    node::{self, Node, cancel_on_ctrl_c},
    output::{DbArgs, OutputArgs, unless_refused},
    progress::{self, Live, ProgressArgs},
    scenario::{self, ScenarioArg},
    senders::SenderArgs,
    shard::{self, ShardArgs, failed},
};

/// How often `--proxies` are health-checked during a run.
const PROXY_CHECK_EVERY: Duration = Duration::from_secs(30);

/// Options of `spammer run`.
#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    #[command(flatten, next_help_heading = "Node and endpoints")]
    endpoints: EndpointArgs,
    #[command(flatten, next_help_heading = "Load")]
    scenario: ScenarioArg,
    /// Most tasks started per second over all workers (governor); the wait for a start is
    /// part of the task's time.
    #[arg(help_heading = "Load", long, env = "SPAM_MAX_RATE", value_name = "N", value_parser = input::rps, allow_hyphen_values = true)]
    max_rate: Option<NonZeroU32>,
    /// How long to start new tasks, e.g. 10s, 2m.
    #[arg(help_heading = "Load", long, default_value = "10s", value_parser = input::positive_duration, allow_hyphen_values = true)]
    duration: Duration,
    /// Concurrent workers; each leases a wallet, runs a task, waits for its receipt.
    #[arg(help_heading = "Load", long, default_value = "32", value_parser = input::workers, allow_hyphen_values = true)]
    workers: NonZeroU32,
    /// Dev-mnemonic accounts to send from (default: one per worker).
    #[arg(help_heading = "Senders", long, value_parser = input::senders, allow_hyphen_values = true)]
    senders: Option<NonZeroU32>,
    /// Tasks and weights, e.g. `transfer_self=3,transfer_fresh=1`.
    #[arg(
        help_heading = "Load",
        long,
        default_value = "transfer_self=3,transfer_fresh=1",
        conflicts_with = "scenario"
    )]
    tasks: String,
    /// How long a wallet rests after each task.
    #[arg(help_heading = "Load", long, default_value = "0s", value_parser = input::duration, allow_hyphen_values = true)]
    cooldown: Duration,
    /// Seed of every random choice; the same seed runs the same task sequence.
    #[arg(help_heading = "Load", long, default_value = "0", value_parser = input::whole, allow_hyphen_values = true)]
    seed: u64,
    /// How long running tasks may finish after the stop (and pending txs may land).
    #[arg(help_heading = "Load", long, default_value = "30s", value_parser = input::duration, allow_hyphen_values = true)]
    grace: Duration,
    /// Allow chain ids of public mainnets.
    #[arg(help_heading = "Node and endpoints", long)]
    allow_mainnet: bool,
    /// Send each sender's RPC through a proxy of this list (one `scheme://[user:pass@]host:port`
    /// per line), sticky per sender; failing proxies are banned and their senders move on.
    #[arg(help_heading = "Node and endpoints", long, value_name = "FILE")]
    proxies: Option<PathBuf>,

    #[command(flatten, next_help_heading = "Circuit breaker")]
    breaker: BreakerArgs,
    #[command(flatten, next_help_heading = "Store")]
    db: DbArgs,
    #[command(flatten, next_help_heading = "Shards (one run over several processes)")]
    shard: ShardArgs,
    #[command(flatten, next_help_heading = "Reports and thresholds")]
    output: OutputArgs,
    #[command(flatten, next_help_heading = "Progress")]
    progress: ProgressArgs,
    #[command(flatten, next_help_heading = "Prometheus")]
    metrics: MetricsArgs,
    #[command(flatten, next_help_heading = "Senders")]
    senders_from: SenderArgs,
    #[command(flatten, next_help_heading = "Funding")]
    funding: FunderArgs,
    #[command(flatten, next_help_heading = "Config file")]
    config: ConfigArg,
}

impl RunArgs {
    /// What every shard of a run must run alike (the shard's own index aside).
    fn shard_settings(&self) -> serde_json::Value {
        serde_json::json!({
            "command": "run",
            "workers": self.workers.get(),
            "senders": self.senders.map(NonZeroU32::get),
            "duration": humantime::format_duration(self.duration).to_string(),
            "tasks": self.tasks,
            "scenario": self.scenario.scenario.as_deref().map(shard::file_digest),
            "max_rate": self.max_rate.map(NonZeroU32::get),
            "cooldown": humantime::format_duration(self.cooldown).to_string(),
            "seed": self.seed,
            "grace": humantime::format_duration(self.grace).to_string(),
            "endpoints": self.endpoints.shard_settings(),
        })
    }
}

pub(crate) async fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let (breaker, recovery) = args.breaker.config()?;
    args.output.check()?;
    args.endpoints.check()?;
    let shard_spec = args.shard.spec()?;
    if let Some(spec) = &shard_spec {
        shard::check(spec, args.endpoints.primary(), args.db.is_off())?;
        if spec.workers(args.workers.get()) == 0 {
            return Err(bad_input(format!(
                "--workers {} cannot be shared by {} shards: give each shard at least one",
                args.workers,
                spec.count()
            )));
        }
    }
    // Keys before anything starts: a bad source is bad input, with nothing written.
    let funder = args.funding.wallet(&args.senders_from.password_env)?;
    let wallets = args
        .senders_from
        .load(args.senders.unwrap_or(args.workers).get(), funder.as_ref())
        .await?;
    let wallets = match &shard_spec {
        Some(spec) => shard::senders(spec, wallets)?,
        None => wallets,
    };
    let senders = wallets.len() as u32;
    let scenario = args.scenario.load()?;
    let mix = match &scenario {
        Some(_) => None,
        None => {
            let registry = spam_tasks::registry();
            let weights = parse_tasks(&args.tasks).map_err(|err| bad_input(format!("{err:#}")))?;
            let pairs: Vec<(&str, u32)> = weights.iter().map(|(n, w)| (n.as_str(), *w)).collect();
            Some(
                registry
                    .mix(&pairs)
                    .map_err(|err| bad_input(format!("--tasks: {err}")))?,
            )
        }
    };
    let cost = match (&scenario, &mix) {
        (Some(scenario), _) => scenario.cost_hint(),
        (None, Some(mix)) => mix
            .tasks()
            .map(|(task, _)| task.cost_hint().unwrap_or((1_000_000, Default::default())))
            .fold(
                (0, Default::default()),
                |(g, v): (u64, alloy::primitives::U256), (tg, tv)| (g.max(tg), v.max(tv)),
            ),
        (None, None) => unreachable!("a mix without a scenario"),
    };
    // Read the list before starting anything: a bad line is reported at once.
    let proxies = args
        .proxies
        .as_ref()
        .map(|file| {
            ProxyPool::from_file(file, PoolConfig::default())
                .map_err(|err| bad_input(format!("--proxies {}: {err}", file.display())))
        })
        .transpose()?;
    // The snapshot the hook saw last: for /metrics, and the final line.
    let last: metrics::Latest = Arc::new(Mutex::new(None));
    let metrics_on = args.metrics.start(&last).await?;

    let devnet = Devnet::builder()
        .accounts(senders.max(10))
        .arg("--gas-limit")
        .arg("1000000000");
    let node = Node::connect(args.endpoints.primary(), devnet).await?;
    // Refused before the store is opened: a refused run leaves nothing.
    node.guard(args.allow_mainnet)?;
    args.endpoints.check_reachable(&node).await?;
    if node.is_local() {
        eprintln!("started anvil (automine) at {}", node.url);
    }
    if node.is_local() && !args.senders_from.is_dev() {
        eprintln!(
            "note: this anvil funds only the dev mnemonic's accounts; fund the senders first (spammer wallets fund)"
        );
    }
    let url = node.url.clone();
    let mut store = args.db.open().await?;
    let shard = match (shard_spec, &store) {
        (Some(spec), Some(opened)) => {
            let joined = shard::join(spec, opened.store(), args.shard_settings()).await;
            Some(unless_refused(&mut store, joined).await?)
        }
        _ => None,
    };
    let sweep_from = args.funding.sweep.then(|| wallets.clone());
    let funded = fund(&args, &node, &wallets, cost, funder).await;
    let funded = unless_refused(&mut store, failed(shard.as_ref(), funded).await).await?;
    let mut assets = Vec::new();
    let mix = match (scenario, mix) {
        (Some(scenario), _) => {
            let prepared = scenario::prepare(
                &scenario,
                &node,
                args.endpoints.endpoints(&node),
                &wallets,
                args.seed,
                args.allow_mainnet,
            )
            .await;
            let prepared =
                unless_refused(&mut store, failed(shard.as_ref(), prepared).await).await?;
            assets = prepared.assets();
            prepared.tasks()
        }
        (None, Some(mix)) => mix,
        (None, None) => unreachable!("a mix without a scenario"),
    };
    let cancel = cancel_on_ctrl_c("no new tasks; waiting for running ones");
    let what = match &args.scenario.scenario {
        Some(path) => format!("scenario {}", path.display()),
        None => args.tasks.clone(),
    };
    eprintln!(
        "running {} workers over {senders} senders for {:?}: {what}",
        args.workers, args.duration
    );
    let _health_checks = match &proxies {
        Some(pool) => Some(check_proxies(pool, &url).await),
        None => None,
    };
    let mut spammer = Spammer::builder().breaker(breaker);
    if let Some(stats) = funded.stats {
        spammer = spammer.funding(stats);
    }
    if let Some(top_up) = funded.top_up {
        spammer = spammer.top_up(top_up);
    }
    if let Some(per_second) = recovery {
        spammer = spammer.recovery_rate(per_second);
    }
    if let Some(pool) = proxies {
        spammer = spammer.proxies(pool);
    }
    let shard_note = shard.as_ref().map(|s| shard::merged_note(s, &args.db));
    match (shard, &store) {
        (Some(shard), _) => spammer = spammer.shard(shard),
        (None, Some(store)) => spammer = spammer.store(store.store(), None),
        (None, None) => {}
    }
    let live = Arc::new(Live::new(&args.progress, args.duration));
    if metrics_on || !live.is_off() {
        let every = if metrics_on {
            progress::REDRAW
        } else {
            live.every()
        };
        let (live, last) = (Arc::clone(&live), Arc::clone(&last));
        spammer = spammer.on_progress(every, move |p| {
            live.update(p.elapsed, &progress::spammer_counts(p), |rates| {
                progress::spammer_line(p, rates)
            });
            *last.lock().unwrap_or_else(PoisonError::into_inner) = Some(p.clone());
        });
    }
    if let Some(rate) = args.max_rate {
        spammer = spammer.max_rate(rate);
    }
    let spammer = spammer
        .assets(assets)
        .endpoints(args.endpoints.endpoints(&node))
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
        .cancel_on(cancel.clone());
    let result = match spammer.build() {
        Ok(spammer) => spammer.run().await,
        Err(err) => Err(err),
    };
    // Closed before exit (no -wal/-shm files); a run that never started leaves no database.
    if let Some(store) = store {
        store.close(result.is_ok()).await;
    }
    if let Some(p) = last.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
        live.finish(p.elapsed, &progress::spammer_counts(p), |rates| {
            progress::spammer_line(p, rates)
        });
    }
    let report = result?;
    if let Some(note) = shard_note {
        eprintln!("{note}");
    }
    if let (Some(wallets), Some(funder)) = (&sweep_from, funded.funder) {
        eprintln!(
            "{}",
            funding::sweep(&node.url, wallets, funder, args.allow_mainnet).await?
        );
    }
    args.output
        .finish(&report, cancel.is_cancelled(), args.db.allow_store_loss)
}

/// Tops the senders up to what this run needs (see [`FunderArgs::fund`]): each worker's task
/// loop runs back to back, one task per block time at most (20 ms on an automining node).
async fn fund(
    args: &RunArgs,
    node: &Node,
    wallets: &[spam_core::Wallet],
    (gas, value): (u64, alloy::primitives::U256),
    funder: Option<spam_core::Wallet>,
) -> anyhow::Result<funding::Funded> {
    let block_time = match args.endpoints.primary() {
        Some(url) => node::block_time(url).await,
        None => None,
    };
    let task_time = block_time
        .unwrap_or_default()
        .max(Duration::from_millis(20));
    let senders = wallets.len() as u64;
    let workers_per_sender = u64::from(args.workers.get()).div_ceil(senders.max(1));
    let funded_for = args.duration.min(args.funding.fund_for);
    let rounds = (funded_for.as_secs_f64() / task_time.as_secs_f64()).ceil() as u64;
    let need = Need {
        url: &node.url,
        chain_id: node.chain_id().unwrap_or_default(),
        wallets,
        dev_senders: args.senders_from.is_dev(),
        txs_per_sender: workers_per_sender.saturating_mul(rounds.max(1)),
        gas,
        value,
        allow_mainnet: args.allow_mainnet,
    };
    args.funding.fund(need, funder).await
}

/// Checks every proxy now and every 30 s after: a dead proxy is banned before senders are
/// put on it. The checks run until the returned task is dropped.
async fn check_proxies(pool: &ProxyPool, url: &Url) -> HealthTask {
    let probe = Probe::chain_id(url.clone());
    let healthy = pool
        .check_all(&probe)
        .await
        .iter()
        .filter(|r| r.health.is_healthy())
        .count();
    eprintln!("proxies: {healthy} of {} healthy", pool.len());
    pool.spawn_health_checks(probe, PROXY_CHECK_EVERY)
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
