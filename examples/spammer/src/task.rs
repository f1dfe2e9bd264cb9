//! `spammer task NAME` and `spammer sequence A,B,C`: run built-in tasks once, in order, on one
//! wallet, and print everything they did (debugging a task before putting it in a mix).

use std::{
    process::ExitCode,
    sync::Arc,
    time::{Duration, Instant},
};

use alloy::{
    primitives::{TxHash, U256, utils::format_units},
    providers::{Provider, RootProvider},
    transports::http::reqwest::Url,
};
use anyhow::Context as _;
use spam_core::{
    MainnetPolicy, MnemonicSource, Session, SessionConfig, Task, TaskContext, TaskError,
    TaskOutcome, TaskRegistry,
};
use spam_devnet::Devnet;

use crate::{
    input::{self, bad_input},
    node::{Node, cancel_on_ctrl_c},
};

/// Where and as whom `task` and `sequence` run.
#[derive(Debug, clap::Args)]
pub(crate) struct StepArgs {
    /// JSON-RPC URL of the chain. Without it, spammer starts its own anvil.
    #[arg(long, env = "SPAM_RPC_URL", value_parser = input::http_url, allow_hyphen_values = true)]
    rpc_url: Option<Url>,
    /// Dev-mnemonic account to run as (0 is anvil's first funded account).
    #[arg(long, default_value = "0", value_name = "N", value_parser = input::index, allow_hyphen_values = true)]
    wallet_index: u32,
    /// Seed of the task's random choices (fresh addresses, salts, amounts).
    #[arg(long, default_value = "0", value_parser = input::whole, allow_hyphen_values = true)]
    seed: u64,
    /// Longest one task may run (sends and receipts), e.g. 60s.
    #[arg(long, default_value = "60s", value_parser = input::positive_duration, allow_hyphen_values = true)]
    timeout: Duration,
    /// Allow chain ids of public mainnets.
    #[arg(long)]
    allow_mainnet: bool,
}

/// Options of `spammer task`.
#[derive(Debug, clap::Args)]
pub(crate) struct TaskArgs {
    /// The task, e.g. `transfer_self`, `erc20_deploy` (names as in `run --tasks`).
    name: String,
    #[command(flatten)]
    step: StepArgs,
}

/// Options of `spammer sequence`.
#[derive(Debug, clap::Args)]
pub(crate) struct SequenceArgs {
    /// Tasks in order, comma-separated, e.g. `deploy_counter,counter_increment`.
    #[arg(value_name = "A,B,C")]
    tasks: String,
    #[command(flatten)]
    step: StepArgs,
}

/// `spammer task NAME`.
pub(crate) async fn task(args: TaskArgs) -> anyhow::Result<ExitCode> {
    run_steps(&[args.name.as_str()], &args.step).await
}

/// `spammer sequence A,B,C`.
pub(crate) async fn sequence(args: SequenceArgs) -> anyhow::Result<ExitCode> {
    let names: Vec<&str> = args
        .tasks
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .collect();
    if names.is_empty() {
        return Err(bad_input(
            "sequence: name at least one task, e.g. `transfer_self`",
        ));
    }
    run_steps(&names, &args.step).await
}

/// Runs `names` in order on one wallet with one context (as [`spam_core::Sequence`] does),
/// printing each step; stops at the first failure (exit 1).
async fn run_steps(names: &[&str], args: &StepArgs) -> anyhow::Result<ExitCode> {
    let registry = spam_tasks::registry();
    let steps = names
        .iter()
        .map(|name| lookup(&registry, name))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let index = args.wallet_index;
    let wallet = MnemonicSource::dev()
        .with_indices(index..index.saturating_add(1))
        .load()
        .context("deriving the dev-mnemonic wallet")?
        .remove(0);

    let devnet = Devnet::builder().accounts(index.saturating_add(1).max(10));
    let node = Node::connect(args.rpc_url.as_ref(), devnet).await?;
    if node.is_local() {
        eprintln!("started anvil (automine) at {}", node.url);
    }
    let policy = if args.allow_mainnet {
        MainnetPolicy::Allow
    } else {
        MainnetPolicy::Refuse
    };
    let cancel = cancel_on_ctrl_c("cancelling the task");
    let session = Session::open(
        SessionConfig::new(node.url.clone())
            .with_wallets(vec![wallet])
            .with_mainnet(policy)
            .with_cancel(cancel.clone()),
    )
    .await?;
    let wallet = Arc::clone(&session.wallets()[0]);
    let provider = session.provider().clone();
    let next_nonce = session
        .nonces()
        .snapshot(wallet.address())
        .map_or(0, |s| s.next);
    let balance = provider
        .get_balance(wallet.address())
        .await
        .context("reading the wallet's balance")?;
    let chain_id = session.chain_id();
    let ctx = TaskContext::new(Arc::new(session.run_context()), wallet, 0, args.seed);
    println!("node: {} (chain id {chain_id})", node.url);
    println!(
        "wallet: {} (dev index {index}), nonce {next_nonce}, balance {} ETH",
        ctx.wallet().address(),
        eth(balance)
    );

    let count = steps.len();
    let mut total = TaskOutcome::default();
    let started = Instant::now();
    for (i, step) in steps.iter().enumerate() {
        let at = Instant::now();
        let result = match tokio::time::timeout(args.timeout, step.run(&ctx)).await {
            Ok(result) => result,
            Err(_) => {
                cancel.cancel();
                Err(TaskError::Timeout(args.timeout))
            }
        };
        let took = at.elapsed();
        println!("[{}/{count}] {}", i + 1, step.name());
        match result {
            Ok(outcome) => {
                println!("  outcome: ok in {}", ms(took));
                print_outcome(&provider, &outcome).await;
                total.absorb(outcome);
            }
            Err(err) => {
                println!("  outcome: failed after {}", ms(took));
                if let TaskError::Reverted { hash } = &err {
                    println!("  tx {hash}  {}", receipt_line(&provider, *hash).await);
                }
                print_error(&err);
                if i + 1 < count {
                    println!("stopped: {} later step(s) not run", count - i - 1);
                }
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    if count > 1 {
        println!(
            "sequence: {count} steps ok in {}, {} tx, gas used {}",
            ms(started.elapsed()),
            total.tx_hashes.len(),
            total.gas_used
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The task called `name`, or bad input listing the valid names.
fn lookup(registry: &TaskRegistry, name: &str) -> anyhow::Result<Arc<dyn Task>> {
    registry.get(name).cloned().ok_or_else(|| {
        let valid: Vec<&str> = registry.names().collect();
        bad_input(format!(
            "unknown task `{name}`; valid tasks: {}",
            valid.join(", ")
        ))
    })
}

/// The outcome, with each transaction's receipt (block, gas, status, fee paid).
async fn print_outcome(provider: &RootProvider, outcome: &TaskOutcome) {
    for hash in &outcome.tx_hashes {
        println!("  tx {hash}  {}", receipt_line(provider, *hash).await);
    }
    println!("  gas used: {}", outcome.gas_used);
    for asset in &outcome.assets {
        println!("  created: {} at {}", asset.kind, asset.address);
    }
    if let Some(message) = &outcome.message {
        println!("  note: {message}");
    }
}

/// `block N, gas G, success, fee F ETH`, or why the receipt could not be read.
async fn receipt_line(provider: &RootProvider, hash: TxHash) -> String {
    match provider.get_transaction_receipt(hash).await {
        Ok(Some(r)) => format!(
            "block {}, gas {}, {}, fee {} ETH",
            r.block_number.map_or_else(|| "?".into(), |b| b.to_string()),
            r.gas_used,
            if r.status() { "success" } else { "reverted" },
            eth(U256::from(u128::from(r.gas_used) * r.effective_gas_price))
        ),
        Ok(None) => "not included (no receipt)".into(),
        Err(err) => format!("receipt unreadable: {err}"),
    }
}

/// The error class the report would count, then the error and every cause.
fn print_error(err: &TaskError) {
    println!("  error class: {}", err.label());
    println!("  error: {err}");
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        println!("  caused by: {cause}");
        source = cause.source();
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Wei as ether, trailing zeros trimmed.
pub(crate) fn eth(wei: U256) -> String {
    let text = format_units(wei, "ether").unwrap_or_else(|_| "?".into());
    match text.split_once('.') {
        Some((int, frac)) if frac.trim_end_matches('0').is_empty() => int.to_owned(),
        Some((int, frac)) => format!("{int}.{}", frac.trim_end_matches('0')),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ether_is_trimmed() {
        assert_eq!(eth(U256::from(10u128.pow(17))), "0.1");
        assert_eq!(eth(U256::from(3 * 10u128.pow(18))), "3");
        assert_eq!(eth(U256::from(1u8)), "0.000000000000000001");
    }

    #[test]
    fn unknown_names_list_the_valid_ones() {
        let err = lookup(&spam_tasks::registry(), "no_such").unwrap_err();
        assert!(crate::input::is_bad_input(&err));
        let text = err.to_string();
        assert!(
            text.contains("no_such") && text.contains("transfer_self"),
            "{text}"
        );
    }
}
