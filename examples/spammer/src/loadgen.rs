//! `spammer loadgen`: the open-loop LoadGen at a target rate, one transaction builder.

use std::{
    num::{NonZeroU32, NonZeroUsize},
    process::ExitCode,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use alloy::transports::http::reqwest::Url;
use anyhow::Context as _;
use clap::builder::PossibleValuesParser;
use spam_core::{ExecutionLayer, LoadGen, MainnetPolicy, Rate, SendStrategy, WsPreconfSource};
use spam_devnet::Devnet;

use crate::{
    breaker::BreakerArgs,
    config::ConfigArg,
    endpoints::EndpointArgs,
    funding::{self, FunderArgs, Need},
    input,
    metrics::{self, MetricsArgs},
    node::{self, Node, cancel_on_ctrl_c},
    output::{DbArgs, OutputArgs, unless_refused},
    progress::{self, Live, ProgressArgs},
    scenario::{self, ScenarioArg},
    senders::SenderArgs,
    shard::{self, ShardArgs, failed},
};

/// Options of `spammer loadgen`.
#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("profile").multiple(false))]
pub(crate) struct LoadgenArgs {
    #[command(flatten, next_help_heading = "Node and endpoints")]
    endpoints: EndpointArgs,
    /// WebSocket URL for new-heads subscriptions; without it blocks are polled (an anvil
    /// spammer starts is followed over its WebSocket).
    #[arg(long, env = "SPAM_WS_URL", value_parser = input::ws_url, allow_hyphen_values = true)]
    ws_url: Option<Url>,
    /// WebSocket feed of preconfirmation events (pending, preconfirmed, revoked …).
    #[arg(long, env = "SPAM_PRECONF_WS_URL", value_parser = input::ws_url, allow_hyphen_values = true)]
    preconf_ws_url: Option<Url>,
    /// The node's execution layer, for what it supports (default: detected from
    /// web3_clientVersion): anvil, geth, reth, op-reth, erigon, cdk-erigon, gravity-reth, other.
    #[arg(long = "el", env = "SPAM_EL", value_name = "NAME")]
    el: Option<ExecutionLayer>,

    /// Constant rate in tx/s (the default profile is --rate 100).
    #[arg(help_heading = "Load", 
        long,
        group = "profile",
        allow_negative_numbers = true,
        value_name = "TPS",
        value_parser = input::constant_rate
    )]
    rate: Option<Rate>,
    /// Linear ramp FROM:TO:DUR in tx/s, e.g. 50:500:30s; TO holds after it.
    #[arg(help_heading = "Load", 
        long,
        group = "profile",
        allow_hyphen_values = true,
        value_name = "FROM:TO:DUR",
        value_parser = input::ramp
    )]
    ramp: Option<Rate>,
    /// Steps TPS:DUR,…, e.g. "100:10s,300:10s"; the last rate holds after them.
    #[arg(help_heading = "Load", 
        long,
        group = "profile",
        allow_hyphen_values = true,
        value_name = "TPS:DUR,…",
        value_parser = input::steps
    )]
    steps: Option<Rate>,
    /// A baseline with bursts BASE:PEAK:LEN:EVERY, e.g. 100:1000:2s:10s.
    #[arg(help_heading = "Load", 
        long,
        group = "profile",
        allow_hyphen_values = true,
        value_name = "BASE:PEAK:LEN:EVERY",
        value_parser = input::spike
    )]
    spike: Option<Rate>,
    /// How long the pacer sends, e.g. 30s, 2m.
    #[arg(help_heading = "Load", long, default_value = "10s", value_parser = input::positive_duration, allow_hyphen_values = true)]
    duration: Duration,

    /// What each transaction is.
    #[arg(help_heading = "Load", long, env = "SPAM_TX", default_value = "transfer_self", value_name = "NAME",
          value_parser = PossibleValuesParser::new(
              spam_tasks::TX_BUILDERS.iter().chain(spam_tasks::PREPARED_TX_BUILDERS)
          ),
          conflicts_with = "scenario")]
    tx: String,
    #[command(flatten, next_help_heading = "Load")]
    scenario: ScenarioArg,
    /// Dev-mnemonic accounts to send from, round-robin (default: what the peak rate needs
    /// with --max-in-flight-per-wallet each over three block times, at least 20).
    #[arg(help_heading = "Senders", long, value_parser = input::senders, allow_hyphen_values = true)]
    senders: Option<NonZeroU32>,
    /// Most transactions per sender sent and not yet included; a tick finding every sender at
    /// its cap is dropped.
    #[arg(help_heading = "Sending", long, default_value = "64", value_parser = input::at_least_one, allow_hyphen_values = true)]
    max_in_flight_per_wallet: NonZeroU32,
    /// Most transactions per JSON-RPC batch. By default each connection sends what queued
    /// while its previous request was out, up to 100: one transaction alone while the node
    /// keeps up, batches as the rate grows.
    #[arg(help_heading = "Sending", long, value_name = "N", value_parser = input::batch_size, allow_hyphen_values = true,
          conflicts_with_all = ["sync", "single"])]
    batch: Option<NonZeroUsize>,
    /// Longest a transaction waits for its batch to fill (default 0: batches never wait).
    #[arg(help_heading = "Sending", long, value_parser = input::duration, requires = "batch", allow_hyphen_values = true)]
    linger: Option<Duration>,
    /// One eth_sendRawTransaction request per transaction, sent at its intended time.
    #[arg(long, conflicts_with = "sync", help_heading = "Sending")]
    single: bool,
    /// Send with eth_sendRawTransactionSync (the answer is the receipt).
    #[arg(long, help_heading = "Sending")]
    sync: bool,
    /// Keep-alive HTTP connections to the send URL.
    #[arg(help_heading = "Sending", long, default_value = "8", value_parser = input::connections, allow_hyphen_values = true)]
    connections: NonZeroUsize,
    /// Sign every transaction before the run starts.
    #[arg(long, help_heading = "Sending")]
    presign: bool,
    /// Read no receipts (no gas or revert figures; the node spends nothing on reads).
    #[arg(long, help_heading = "Sending")]
    no_receipts: bool,
    /// Seed of the transaction builder's random choices.
    #[arg(help_heading = "Load", long, default_value = "0", value_parser = input::whole, allow_hyphen_values = true)]
    seed: u64,
    /// How long to wait for inclusions after the pacer stops.
    #[arg(help_heading = "Load", long, default_value = "30s", value_parser = input::duration, allow_hyphen_values = true)]
    grace: Duration,
    /// Allow chain ids of public mainnets.
    #[arg(long, help_heading = "Node and endpoints")]
    allow_mainnet: bool,

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

impl LoadgenArgs {
    pub(crate) fn rate(&self) -> Rate {
        [&self.rate, &self.ramp, &self.steps, &self.spike]
            .into_iter()
            .find_map(Clone::clone)
            .unwrap_or(Rate::constant(100.0))
    }

    fn strategy(&self) -> SendStrategy {
        if self.sync {
            SendStrategy::Sync
        } else if self.single {
            SendStrategy::Single
        } else if let Some(max) = self.batch {
            SendStrategy::batch(max.get(), self.linger.unwrap_or_default())
        } else {
            SendStrategy::adaptive()
        }
    }

    /// What every shard of a run must run alike (the shard's own index aside).
    fn shard_settings(&self) -> serde_json::Value {
        serde_json::json!({
            "command": "loadgen",
            "rate": self.rate().to_string(),
            "duration": humantime::format_duration(self.duration).to_string(),
            "tx": self.tx,
            "scenario": self.scenario.scenario.as_deref().map(shard::file_digest),
            "senders": self.senders.map(NonZeroU32::get),
            "max_in_flight_per_wallet": self.max_in_flight_per_wallet.get(),
            "strategy": self.strategy().to_string(),
            "connections": self.connections.get(),
            "presign": self.presign,
            "no_receipts": self.no_receipts,
            "seed": self.seed,
            "grace": humantime::format_duration(self.grace).to_string(),
            "endpoints": self.endpoints.shard_settings(),
        })
    }

    /// `--senders`, else what the peak rate needs on the node's chain (at least 20).
    async fn sender_count(&self) -> u32 {
        if let Some(n) = self.senders {
            return n.get();
        }
        // A local anvil mines a block a second; a remote chain's pace is read from its blocks.
        let block_time = match self.endpoints.primary() {
            Some(url) => node::block_time(url).await,
            None => None,
        };
        let block_time = block_time.unwrap_or(Duration::from_secs(1));
        LoadGen::senders_for(&self.rate(), block_time, self.max_in_flight_per_wallet).max(20)
    }
}

pub(crate) async fn run(args: LoadgenArgs) -> anyhow::Result<ExitCode> {
    let (breaker, recovery) = args.breaker.config()?;
    args.output.check()?;
    args.endpoints.check()?;
    let scenario = args.scenario.load()?;
    let shard_spec = args.shard.spec()?;
    if let Some(spec) = &shard_spec {
        shard::check(spec, args.endpoints.primary(), args.db.is_off())?;
    }
    let tx = spam_tasks::tx_builder(&args.tx);
    // Keys before anything starts: a bad source is bad input, with nothing written.
    let funder = args.funding.wallet(&args.senders_from.password_env)?;
    let wallets = args
        .senders_from
        .load(args.sender_count().await, funder.as_ref())
        .await?;
    let wallets = match &shard_spec {
        Some(spec) => shard::senders(spec, wallets)?,
        None => wallets,
    };
    // The snapshot the hook saw last: for /metrics, and the final line.
    let last: metrics::Latest = Arc::new(Mutex::new(None));
    let metrics_on = args.metrics.start(&last).await?;
    let senders = wallets.len() as u32;
    // One block a second: inclusion latencies look like a chain's, not automine's.
    let devnet = Devnet::builder()
        .accounts(senders.max(10))
        .block_time(1.0)
        .arg("--gas-limit")
        .arg("1000000000");
    let node = Node::connect(args.endpoints.primary(), devnet).await?;
    // Refused before the store is opened: a refused run leaves nothing.
    node.guard(args.allow_mainnet)?;
    args.endpoints.check_reachable(&node).await?;
    if node.is_local() {
        eprintln!("started anvil (1 s blocks) at {}", node.url);
    }
    if node.is_local() && !args.senders_from.is_dev() {
        eprintln!(
            "note: this anvil funds only the dev mnemonic's accounts; fund the senders first (spammer wallets fund)"
        );
    }
    let mut store = args.db.open().await?;
    let shard = match (shard_spec, &store) {
        (Some(spec), Some(opened)) => {
            let joined = shard::join(spec, opened.store(), args.shard_settings()).await;
            Some(unless_refused(&mut store, joined).await?)
        }
        _ => None,
    };
    // Each sender's share of the offered transactions, as the builder builds them.
    let (gas, value) = match &scenario {
        Some(scenario) => scenario.cost_hint(),
        None => match &tx {
            Some(tx) => spam_core::sample_cost(tx.as_ref()),
            None => spam_tasks::prepared_tx_cost(&args.tx).context("--tx names a known builder")?,
        },
    };
    let need = Need {
        url: &node.url,
        chain_id: node.chain_id().unwrap_or_default(),
        wallets: &wallets,
        dev_senders: args.senders_from.is_dev(),
        // At least two full in-flight windows: a node counts every pending transaction of a
        // sender against its balance.
        txs_per_sender: args
            .rate()
            .count_until(args.duration.min(args.funding.fund_for))
            .div_ceil(u64::from(senders))
            .max(2 * u64::from(args.max_in_flight_per_wallet.get())),
        gas,
        value,
        allow_mainnet: args.allow_mainnet,
    };
    let sweep_from = args.funding.sweep.then(|| wallets.clone());
    let funded = args.funding.fund(need, funder).await;
    let funded = unless_refused(&mut store, failed(shard.as_ref(), funded).await).await?;
    let mut assets = Vec::new();
    let tx: std::sync::Arc<dyn spam_core::TxBuilder> = match &scenario {
        Some(scenario) => {
            let prepared = scenario::prepare(
                scenario,
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
            std::sync::Arc::new(prepared.builder())
        }
        None => match tx {
            Some(tx) => tx,
            None => {
                let prepared = scenario::prepare_tx(
                    &args.tx,
                    &node,
                    args.endpoints.endpoints(&node),
                    &wallets,
                    args.seed,
                    args.allow_mainnet,
                )
                .await;
                unless_refused(&mut store, failed(shard.as_ref(), prepared).await).await?
            }
        },
    };
    let what = match &scenario {
        Some(scenario) => format!("scenario {}", scenario.name()),
        None => args.tx.clone(),
    };
    let cancel = cancel_on_ctrl_c("no new sends; waiting for inclusions");

    let rate = args.rate();
    let strategy = args.strategy();
    let mut loadgen = LoadGen::builder()
        .assets(assets)
        .endpoints(args.endpoints.endpoints(&node))
        .wallets(wallets)
        .tx(tx)
        .rate(rate.clone())
        .duration(args.duration)
        .strategy(strategy)
        .connections(args.connections.get())
        .max_in_flight_per_wallet(args.max_in_flight_per_wallet)
        .presign(args.presign)
        .receipts(!args.no_receipts)
        .breaker(breaker)
        .seed(args.seed)
        .grace(args.grace)
        .mainnet(if args.allow_mainnet {
            MainnetPolicy::Allow
        } else {
            MainnetPolicy::Refuse
        })
        .cancel_on(cancel.clone());
    if let Some(stats) = funded.stats {
        loadgen = loadgen.funding(stats);
    }
    if let Some(top_up) = funded.top_up {
        loadgen = loadgen.top_up(top_up);
    }
    if let Some(url) = args.ws_url.as_ref().or(node.ws_url.as_ref()) {
        loadgen = loadgen.ws_url(url.clone());
    }
    if let Some(url) = &args.preconf_ws_url {
        loadgen = loadgen.preconf(WsPreconfSource::new(url.as_str()));
    }
    if let Some(el) = args.el {
        loadgen = loadgen.execution_layer(el);
    }
    if let Some(tps) = recovery {
        loadgen = loadgen.recovery_rate(tps);
    }
    let shard_note = shard.as_ref().map(|s| shard::merged_note(s, &args.db));
    match (shard, &store) {
        (Some(shard), _) => loadgen = loadgen.shard(shard),
        (None, Some(store)) => loadgen = loadgen.store(store.store(), None),
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
        loadgen = loadgen.on_progress(every, move |p| {
            live.update(p.elapsed, &progress::loadgen_counts(p), |rates| {
                progress::loadgen_line(p, rates)
            });
            *last.lock().unwrap_or_else(PoisonError::into_inner) = Some(p.clone());
        });
    }
    eprintln!(
        "loadgen: {} of {} from {senders} senders for {}, {strategy}",
        rate,
        what,
        humantime::format_duration(args.duration)
    );
    let result = loadgen.run().await;
    // Closed before exit (no -wal/-shm files); a run that never started leaves no database.
    if let Some(store) = store {
        store.close(result.is_ok()).await;
    }
    if let Some(p) = last.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
        live.finish(p.elapsed, &progress::loadgen_counts(p), |rates| {
            progress::loadgen_line(p, rates)
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
