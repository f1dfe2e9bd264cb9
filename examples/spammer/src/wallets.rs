//! `spammer wallets …`: keystores of wallets of your own (written so Foundry's `cast` reads
//! them), their balances, funding them from the dev mnemonic and sweeping them back.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use alloy::{
    primitives::{Address, U256, utils::parse_units},
    providers::{Provider, RootProvider},
    signers::{k256::elliptic_curve::rand_core::OsRng, local::PrivateKeySigner},
    transports::http::reqwest::Url,
};
use anyhow::Context as _;
use spam_core::{Funder, FundingReport, KeystoreDir, Wallet};
use spam_devnet::Devnet;
use zeroize::Zeroizing;

use crate::{
    funding::{self, FunderKey, wallet_error},
    input::{self, bad_input},
    node::Node,
    senders::SenderArgs,
    task::eth,
};

/// `spammer wallets …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum WalletsCommand {
    /// Writes N new keystores (Web3 Secret Storage, as `cast wallet new` does) into DIR,
    /// encrypted with the password in $SPAM_KEYSTORE_PASSWORD; prints their addresses.
    New(NewArgs),
    /// Prints the address of every keystore in DIR and, with --rpc-url, its balance.
    List(ListArgs),
    /// Sends --amount to every wallet (any sender source: keystores, a key file, --wallet-seed,
    /// --mnemonic-env, the dev mnemonic) from the funder (--funder-key-env, --funder-keystore,
    /// --funder-index; default dev account 0).
    Fund(FundArgs),
    /// Sends every wallet's balance (less one transfer's fee) back to the funder.
    Sweep(SweepArgs),
}

/// The keystore folder and its password.
#[derive(Debug, clap::Args)]
pub(crate) struct KeystoreArgs {
    /// Folder of keystore files (every file not starting with `.`).
    #[arg(long, env = "SPAM_KEYSTORE_DIR", value_name = "DIR")]
    keystore_dir: PathBuf,
    /// Environment variable holding the keystores' password.
    #[arg(
        long,
        default_value = KeystoreDir::DEFAULT_PASSWORD_ENV,
        value_name = "VAR"
    )]
    password_env: String,
}

/// Options of `spammer wallets new`.
#[derive(Debug, clap::Args)]
pub(crate) struct NewArgs {
    /// How many wallets to create.
    #[arg(value_parser = input::senders, allow_hyphen_values = true)]
    count: std::num::NonZeroU32,
    #[command(flatten)]
    keystore: KeystoreArgs,
}

/// Options of `spammer wallets list`.
#[derive(Debug, clap::Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    keystore: KeystoreArgs,
    /// Also print each balance, read from this node.
    #[arg(long, env = "SPAM_RPC_URL", value_parser = input::http_url, allow_hyphen_values = true)]
    rpc_url: Option<Url>,
    /// Print JSON: one object per wallet (address, and balance in wei with --rpc-url).
    #[arg(long)]
    json: bool,
}

/// The node and the account funds come from and go back to (default: dev account 0).
#[derive(Debug, clap::Args)]
pub(crate) struct FunderArgs {
    /// JSON-RPC URL of the chain.
    #[arg(long, env = "SPAM_RPC_URL", value_parser = input::http_url, allow_hyphen_values = true)]
    rpc_url: Url,
    #[command(flatten)]
    key: FunderKey,
    /// Allow chain ids of public mainnets.
    #[arg(long)]
    allow_mainnet: bool,
}

/// The wallets funded or swept: any sender source of `run` and `loadgen`.
#[derive(Debug, clap::Args)]
pub(crate) struct WalletSet {
    #[command(flatten)]
    from: SenderArgs,
    /// How many wallets --wallet-seed, --mnemonic-env or the dev mnemonic give (keystores and
    /// key files: all of theirs).
    #[arg(long, value_parser = input::senders, allow_hyphen_values = true)]
    count: Option<std::num::NonZeroU32>,
}

/// Options of `spammer wallets fund`.
#[derive(Debug, clap::Args)]
pub(crate) struct FundArgs {
    #[command(flatten)]
    wallets: WalletSet,
    /// What each wallet receives: a number and a unit, e.g. `0.1eth`, `50gwei`, `1000wei`.
    #[arg(long, value_parser = amount)]
    amount: U256,
    #[command(flatten)]
    funder: FunderArgs,
}

/// Options of `spammer wallets sweep`.
#[derive(Debug, clap::Args)]
pub(crate) struct SweepArgs {
    #[command(flatten)]
    wallets: WalletSet,
    #[command(flatten)]
    funder: FunderArgs,
}

pub(crate) async fn run(command: WalletsCommand) -> anyhow::Result<ExitCode> {
    match command {
        WalletsCommand::New(args) => new(args).await,
        WalletsCommand::List(args) => list(args).await,
        WalletsCommand::Fund(args) => fund(args).await,
        WalletsCommand::Sweep(args) => sweep(args).await,
    }
}

async fn new(args: NewArgs) -> anyhow::Result<ExitCode> {
    let password = args.keystore.password()?;
    let dir = args.keystore.keystore_dir;
    if dir.exists() && !dir.is_dir() {
        return Err(bad_input(format!(
            "--keystore-dir {}: exists and is not a folder",
            dir.display()
        )));
    }
    std::fs::create_dir_all(&dir)
        .map_err(|err| bad_input(format!("--keystore-dir {}: {err}", dir.display())))?;
    let count = args.count.get();
    // scrypt is CPU-bound: off the async threads. The key is generated inside the keystore
    // writer and only its address comes back out.
    let written = tokio::task::spawn_blocking(move || {
        (0..count)
            .map(|_| write_keystore(&dir, &password))
            .collect::<anyhow::Result<Vec<_>>>()
    })
    .await
    .context("keystore writer")??;
    for (address, path) in &written {
        println!("{address}  {}", path.display());
    }
    eprintln!("wrote {} keystore(s)", written.len());
    Ok(ExitCode::SUCCESS)
}

/// Writes one new random keystore into `dir`, named by its UUID as `cast wallet new` does.
fn write_keystore(dir: &Path, password: &str) -> anyhow::Result<(Address, PathBuf)> {
    let (signer, uuid) = PrivateKeySigner::new_keystore(dir, &mut OsRng, password, None)
        .with_context(|| format!("writing a keystore into {}", dir.display()))?;
    Ok((signer.address(), dir.join(uuid)))
}

async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let wallets = args.keystore.load().await?;
    let balances = match &args.rpc_url {
        Some(url) => {
            let node = Node::connect(Some(url), Devnet::builder()).await?;
            let provider = funding::provider(&node.url)?;
            let mut balances = Vec::with_capacity(wallets.len());
            for wallet in &wallets {
                let balance = provider
                    .get_balance(wallet.address())
                    .await
                    .with_context(|| format!("reading the balance of {}", wallet.address()))?;
                balances.push(Some(balance));
            }
            balances
        }
        None => vec![None; wallets.len()],
    };
    if args.json {
        let rows: Vec<_> = wallets
            .iter()
            .zip(&balances)
            .map(|(wallet, balance)| {
                serde_json::json!({
                    "address": wallet.address().to_string(),
                    "balance_wei": balance.map(|b| b.to_string()),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
        return Ok(ExitCode::SUCCESS);
    }
    for (wallet, balance) in wallets.iter().zip(balances) {
        match balance {
            Some(balance) => println!("{}  {} ETH", wallet.address(), eth(balance)),
            None => println!("{}", wallet.address()),
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn fund(args: FundArgs) -> anyhow::Result<ExitCode> {
    let key = args.funder.wallet(&args.wallets.from.password_env)?;
    let wallets = args.wallets.load(&key).await?;
    let funder = args.funder.connect(key).await?;
    let to: Vec<Address> = wallets.iter().map(Wallet::address).collect();
    eprintln!(
        "funding {} wallet(s) with {} ETH each from {}",
        to.len(),
        eth(args.amount),
        funder.address()
    );
    let report = funder.fund(&to, args.amount).await.map_err(wallet_error)?;
    Ok(print_report("funded", &report))
}

async fn sweep(args: SweepArgs) -> anyhow::Result<ExitCode> {
    let key = args.funder.wallet(&args.wallets.from.password_env)?;
    let wallets = args.wallets.load(&key).await?;
    let funder = args.funder.connect(key).await?;
    eprintln!(
        "sweeping {} wallet(s) back to {}",
        wallets.len(),
        funder.address()
    );
    let report = funder.sweep(&wallets).await.map_err(wallet_error)?;
    Ok(print_report("swept", &report))
}

/// Prints `what: …` and every refused transfer; exit 1 when one was refused.
fn print_report(what: &str, report: &FundingReport) -> ExitCode {
    println!(
        "{what}: {} transfer(s), {} ETH; {} skipped, {} refused",
        report.sent,
        eth(report.value),
        report.skipped,
        report.failed.len()
    );
    for failure in &report.failed {
        println!(
            "refused: {} -> {} ({} ETH): {}",
            failure.from,
            failure.to,
            eth(failure.value),
            failure.error
        );
    }
    if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

impl KeystoreArgs {
    /// The password from the environment: bad input naming the variable when unset or empty.
    fn password(&self) -> anyhow::Result<Zeroizing<String>> {
        let var = &self.password_env;
        match std::env::var(var) {
            Ok(password) if !password.is_empty() => Ok(Zeroizing::new(password)),
            Ok(_) => Err(bad_input(format!(
                "keystore password environment variable {var} is empty"
            ))),
            Err(_) => Err(bad_input(format!(
                "keystore password environment variable {var} is not set"
            ))),
        }
    }

    /// Decrypts every keystore of the folder.
    async fn load(&self) -> anyhow::Result<Vec<Wallet>> {
        let password = self.password()?;
        KeystoreDir::new(&self.keystore_dir)
            .with_password(password)
            .load()
            .await
            .map_err(|err| bad_input(format!("--keystore-dir: {err}")))
    }
}

impl WalletSet {
    /// The wallets: all of a keystore folder or key file, else `--count` of the other sources.
    async fn load(&self, funder: &Wallet) -> anyhow::Result<Vec<Wallet>> {
        let listed = self.from.keystore_dir.is_some() || self.from.keys_file.is_some();
        let count = match self.count {
            Some(count) => count.get(),
            None if listed => 0,
            None => {
                return Err(bad_input(
                    "--count N: how many wallets --wallet-seed, --mnemonic-env or the dev \
                     mnemonic give",
                ));
            }
        };
        self.from.load(count, Some(funder)).await
    }
}

impl FunderArgs {
    /// The paying (or receiving) wallet: the one named, else dev account 0.
    fn wallet(&self, password_env: &str) -> anyhow::Result<Wallet> {
        match self.key.wallet(password_env)? {
            Some(wallet) => Ok(wallet),
            None => funding::dev_account(0),
        }
    }

    /// A funder on the node (checked reachable first) from `wallet`.
    async fn connect(&self, wallet: Wallet) -> anyhow::Result<Funder<RootProvider>> {
        let node = Node::connect(Some(&self.rpc_url), Devnet::builder()).await?;
        funding::connect(&node.url, wallet, self.allow_mainnet).await
    }
}

/// `0.1eth`, `50gwei`, `1000wei` (`ether` spelled out too) as wei; more than zero.
fn amount(s: &str) -> Result<U256, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or_else(|| format!("`{s}` needs a unit, e.g. 0.1eth, 50gwei, 1000wei"))?;
    let (number, unit) = s.split_at(split);
    if number.trim().starts_with('-') {
        return Err("must be more than zero".into());
    }
    let unit = match unit.to_ascii_lowercase().as_str() {
        "eth" | "ether" => "ether",
        "gwei" => "gwei",
        "wei" => "wei",
        other => return Err(format!("unknown unit `{other}`; use eth, gwei or wei")),
    };
    let wei: U256 = parse_units(number.trim(), unit)
        .map_err(|err| format!("`{s}` is not an amount ({err})"))?
        .into();
    if wei.is_zero() {
        return Err("must be more than zero".into());
    }
    Ok(wei)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_need_a_unit() {
        assert_eq!(amount("0.1eth"), Ok(U256::from(10u128.pow(17))));
        assert_eq!(amount("2 ether"), Ok(U256::from(2 * 10u128.pow(18))));
        assert_eq!(amount("50gwei"), Ok(U256::from(50_000_000_000u64)));
        assert_eq!(amount("7wei"), Ok(U256::from(7)));
        assert!(amount("0.1").unwrap_err().contains("needs a unit"));
        assert!(amount("1btc").unwrap_err().contains("unknown unit"));
        assert!(amount("0eth").unwrap_err().contains("more than zero"));
        assert!(amount("-1eth").is_err());
    }
}
