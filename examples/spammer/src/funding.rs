//! Funding the senders before a run: which key pays, what each sender needs for this run, the
//! check that the funder can pay it all before anything is sent, the top-up, and the report's
//! funding section.

use std::{path::PathBuf, time::Instant};

use alloy::{
    primitives::{Address, U256},
    providers::RootProvider,
    transports::http::reqwest::Url,
};
use anyhow::Context as _;
use spam_core::{
    Budget, FeeOracle, FeeOracleConfig, Fees, Funder, FundingStats, GuardError, MainnetPolicy,
    MnemonicSource, RawKeys, TopUp, Wallet, WalletError, eth,
};

use crate::input::{self, bad_input};

/// Chain ids of local development nodes (anvil, hardhat), where dev account 0 may pay.
const DEV_CHAINS: [u64; 2] = [31_337, 1_337];

/// Senders named in a "not funded" message, at most.
const SHOWN: usize = 3;

/// Balance reads in flight at once.
const READS: usize = 64;

/// Which key pays: flattened into `run`, `loadgen` and `wallets fund`/`sweep`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct FunderKey {
    /// Fund the senders from the hex private key held in this environment variable (the key
    /// is never printed or logged).
    #[arg(long, value_name = "VAR", conflicts_with_all = ["funder_keystore", "funder_index"])]
    funder_key_env: Option<String>,
    /// Fund the senders from this keystore file (its password from --password-env).
    #[arg(long, value_name = "FILE", conflicts_with = "funder_index")]
    funder_keystore: Option<PathBuf>,
    /// Fund the senders from this dev-mnemonic account. Default on a dev chain (chain id
    /// 31337 or 1337) when the senders are dev-mnemonic accounts: 0; never a default elsewhere.
    #[arg(long, value_name = "N", value_parser = input::index, allow_hyphen_values = true)]
    funder_index: Option<u32>,
}

/// Where the funds come from and how a run uses them, flattened into `run` and `loadgen`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct FunderArgs {
    #[command(flatten)]
    key: FunderKey,
    /// Check and fund nothing: start with whatever the senders hold (a funder key then only
    /// derives --wallet-seed senders, and receives --sweep).
    #[arg(long)]
    no_funding: bool,
    /// At the end, send what the senders hold back to the funder (each keeps less than one
    /// transfer's fee).
    #[arg(long)]
    pub(crate) sweep: bool,
    /// How much of the run each sender is funded for before it starts; during the run the
    /// funder tops up every sender that has spent half of it. Longer runs then need no more
    /// from the funder at the start than this.
    #[arg(long, value_name = "DUR", default_value = "10m", value_parser = input::positive_duration,
          allow_hyphen_values = true)]
    pub(crate) fund_for: std::time::Duration,
}

/// What funding settled: the report's section (none with `--no-funding`), the top-up that
/// keeps the senders at their budget during the run, and the funder a `--sweep` returns to.
pub(crate) struct Funded {
    pub(crate) stats: Option<FundingStats>,
    pub(crate) top_up: Option<TopUp>,
    pub(crate) funder: Option<Wallet>,
}

/// What the senders must hold and where the node is.
pub(crate) struct Need<'a> {
    pub(crate) url: &'a Url,
    pub(crate) chain_id: u64,
    pub(crate) wallets: &'a [Wallet],
    /// Whether the senders are dev-mnemonic accounts.
    pub(crate) dev_senders: bool,
    /// Transactions each sender sends, at most `gas` gas each, moving `value` each.
    pub(crate) txs_per_sender: u64,
    pub(crate) gas: u64,
    pub(crate) value: U256,
    pub(crate) allow_mainnet: bool,
}

impl FunderArgs {
    /// Reads every sender's balance and tops up those holding less than this run needs,
    /// after checking the funder can pay for all of it. `funder` is the one asked for; on a
    /// dev chain with dev-mnemonic senders dev account 0 stands in.
    ///
    /// # Errors
    /// [`BadInput`](crate::input::BadInput), with nothing sent: the funder cannot pay (the
    /// shortfall is named), senders lack funds and no funder is set (the flags that fix it
    /// are named), or `--sweep` has no funder to return to. Other errors (a transfer not
    /// included) after sending.
    pub(crate) async fn fund(
        &self,
        need: Need<'_>,
        funder: Option<Wallet>,
    ) -> anyhow::Result<Funded> {
        let funder = match funder {
            Some(wallet) => Some(wallet),
            None if need.dev_senders && DEV_CHAINS.contains(&need.chain_id) => {
                Some(dev_account(0)?)
            }
            None => None,
        };
        if self.sweep && funder.is_none() {
            return Err(bad_input(
                "--sweep sends the senders' funds back to the funder: name it with \
                 --funder-key-env VAR, --funder-keystore FILE or --funder-index N",
            ));
        }
        if self.no_funding {
            return Ok(Funded {
                stats: None,
                top_up: None,
                funder,
            });
        }
        let started = Instant::now();
        let provider = provider(need.url)?;
        let fees = fees(&provider).await?;
        // Ten transactions at least: a top-up then never races a sender's next send.
        let budget = Budget::new(
            need.txs_per_sender.max(10),
            need.gas,
            fees.max_fee_per_gas(),
        )
        .with_value(need.value);
        let per_sender = budget.per_sender();
        let addresses: Vec<Address> = need.wallets.iter().map(Wallet::address).collect();
        let balances = spam_core::balances(&provider, &addresses, READS).await?;
        let short: Vec<Address> = addresses
            .iter()
            .zip(&balances)
            .filter(|&(_, balance)| *balance < per_sender)
            .map(|(&address, _)| address)
            .collect();
        let mut stats = FundingStats::default();
        stats.funder = funder
            .as_ref()
            .map_or_else(|| "none".into(), |w| w.address().to_string());
        stats.budget = budget.to_string();
        stats.per_sender_wei = per_sender.to_string();
        stats.already_funded = (addresses.len() - short.len()) as u64;
        stats.value_wei = "0".into();
        stats.max_fees_wei = "0".into();
        let Some(wallet) = funder else {
            if !short.is_empty() {
                let shown: Vec<String> = short.iter().take(SHOWN).map(Address::to_string).collect();
                let more = if short.len() > SHOWN { ", …" } else { "" };
                return Err(bad_input(format!(
                    "{} of {} senders hold less than the {} this run needs ({}{more}): fund them \
                     with --funder-key-env VAR (a funded key in that variable), --funder-keystore \
                     FILE or --funder-index N, or start anyway with --no-funding",
                    short.len(),
                    addresses.len(),
                    eth(per_sender),
                    shown.join(", ")
                )));
            }
            return Ok(Funded {
                stats: Some(finished(stats, started)),
                top_up: None,
                funder: None,
            });
        };
        let top_up = TopUp::new(wallet.clone(), per_sender / U256::from(2), per_sender)
            .with_every((self.fund_for / 4).min(std::time::Duration::from_secs(2)));
        if !short.is_empty() {
            let funder = funder_on(provider, wallet.clone(), fees, need.allow_mainnet).await?;
            let report = match funder.top_up(&short, per_sender, per_sender).await {
                Err(WalletError::InsufficientFunds {
                    funder,
                    needed,
                    available,
                }) => {
                    return Err(bad_input(format!(
                        "the funder {funder} holds {}, but topping up {} senders to {} each \
                         needs {} (short by {}); nothing was sent: fund it, or run shorter or \
                         slower",
                        eth(available),
                        short.len(),
                        eth(per_sender),
                        eth(needed),
                        eth(needed.saturating_sub(available)),
                    )));
                }
                other => other.context("funding the senders")?,
            };
            if let Some(first) = report.failed.first() {
                anyhow::bail!(
                    "funding the senders: {} transfers were refused (first: {})",
                    report.failed.len(),
                    first.error
                );
            }
            stats.funded = report.sent as u64;
            stats.value_wei = report.value.to_string();
            stats.max_fees_wei =
                (U256::from(fees.max_cost(21_000)) * U256::from(report.sent)).to_string();
        }
        Ok(Funded {
            stats: Some(finished(stats, started)),
            top_up: Some(top_up),
            funder: Some(wallet),
        })
    }

    /// The funder's wallet when one was asked for; see [`FunderKey::wallet`].
    pub(crate) fn wallet(&self, password_env: &str) -> anyhow::Result<Option<Wallet>> {
        self.key.wallet(password_env)
    }
}

/// `stats` with the time it took since `started`, announced on stderr.
fn finished(mut stats: FundingStats, started: Instant) -> FundingStats {
    stats.secs = started.elapsed().as_secs_f64();
    eprintln!(
        "funding: {} senders topped up, {} already held enough",
        stats.funded, stats.already_funded
    );
    stats
}

/// `--sweep`: sends what `wallets` hold back to `funder`, and says what it did.
///
/// # Errors
/// A balance read or a sweep transfer failing.
pub(crate) async fn sweep(
    url: &Url,
    wallets: &[Wallet],
    funder: Wallet,
    allow_mainnet: bool,
) -> anyhow::Result<String> {
    let funder = connect(url, funder, allow_mainnet).await?;
    let report = funder
        .sweep(wallets)
        .await
        .context("sweeping the senders")?;
    Ok(format!(
        "swept {} senders back to {}: {} ({} held less than a transfer's fee, {} refused)",
        report.sent,
        funder.address(),
        eth(report.value),
        report.skipped,
        report.failed.len()
    ))
}

/// A funder paying from `wallet` on the node at `url`, at its current fees.
///
/// # Errors
/// The fees or the chain id cannot be read; a refused mainnet is bad input.
pub(crate) async fn connect(
    url: &Url,
    wallet: Wallet,
    allow_mainnet: bool,
) -> anyhow::Result<Funder<RootProvider>> {
    let provider = provider(url)?;
    let fees = fees(&provider).await?;
    funder_on(provider, wallet, fees, allow_mainnet).await
}

async fn funder_on(
    provider: RootProvider,
    wallet: Wallet,
    fees: Fees,
    allow_mainnet: bool,
) -> anyhow::Result<Funder<RootProvider>> {
    let policy = if allow_mainnet {
        MainnetPolicy::Allow
    } else {
        MainnetPolicy::Refuse
    };
    Funder::connect(provider, wallet, fees, policy)
        .await
        .map_err(wallet_error)
}

async fn fees(provider: &RootProvider) -> anyhow::Result<Fees> {
    FeeOracle::new(provider.clone(), FeeOracleConfig::default())
        .current()
        .await
        .context("reading the node's fees")
}

/// A refused mainnet is the caller's to fix (exit 2); the rest are failures.
pub(crate) fn wallet_error(err: WalletError) -> anyhow::Error {
    match err {
        WalletError::Chain {
            source: source @ GuardError::Refused(_),
        } => bad_input(source.to_string()),
        err => anyhow::Error::new(err),
    }
}

impl FunderKey {
    /// The funder's wallet when one was asked for (`--funder-key-env`, `--funder-keystore`,
    /// `--funder-index`): loaded before anything starts, so a bad key is bad input.
    pub(crate) fn wallet(&self, password_env: &str) -> anyhow::Result<Option<Wallet>> {
        if let Some(var) = &self.funder_key_env {
            let mut keys = RawKeys::from_env(var)
                .load()
                .map_err(|err| bad_input(format!("--funder-key-env {var}: {err}")))?;
            if keys.len() != 1 {
                return Err(bad_input(format!(
                    "--funder-key-env {var}: holds {} keys, one is needed",
                    keys.len()
                )));
            }
            return Ok(Some(keys.remove(0)));
        }
        if let Some(file) = &self.funder_keystore {
            let password = std::env::var(password_env).map_err(|_| {
                bad_input(format!(
                    "--funder-keystore {}: the password variable {password_env} is not set",
                    file.display()
                ))
            })?;
            let wallet = Wallet::from_keystore(file, &password)
                .map_err(|err| bad_input(format!("--funder-keystore {}: {err}", file.display())))?;
            return Ok(Some(wallet));
        }
        match self.funder_index {
            Some(index) => Ok(Some(dev_account(index)?)),
            None => Ok(None),
        }
    }
}

/// Dev-mnemonic account `index`.
pub(crate) fn dev_account(index: u32) -> anyhow::Result<Wallet> {
    let mut wallets = MnemonicSource::dev()
        .with_indices(index..index + 1)
        .load()?;
    Ok(wallets.remove(0))
}

/// A provider on `url` whose requests give up after 30 s: funding never hangs on a node that
/// stopped answering.
pub(crate) fn provider(url: &Url) -> anyhow::Result<RootProvider> {
    let http = alloy::transports::http::reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .context("HTTP client")?;
    let client = alloy::rpc::client::ClientBuilder::default().http_with_client(http, url.clone());
    Ok(alloy::providers::ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_client(client))
}
