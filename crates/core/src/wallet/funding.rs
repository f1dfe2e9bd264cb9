//! [`Funder`]: fan value out from one wallet to many, top them up, sweep it back.

use std::fmt;

use alloy::{
    network::Ethereum,
    primitives::{Address, U256},
    providers::Provider,
};
use spam_nonce::{NonceManager, ProviderSource};

use super::{
    FundingConfig, FundingReport, TransferFailure, Wallet, WalletError,
    pipeline::{Job, NextRound},
    send::{Outcome, concurrently, wait_mined},
};
use crate::{fees::Fees, fees::TRANSFER_GAS, node::MainnetPolicy};

/// Moves value between a funder wallet and many others: [`fund`](Self::fund),
/// [`top_up`](Self::top_up) and [`sweep`](Self::sweep).
///
/// Sends are pipelined: nonces come from a [`NonceManager`], each transfer is signed locally
/// and sent with `eth_sendRawTransaction`, up to [`FundingConfig::max_in_flight`] awaiting an
/// answer at once; a nonce is committed when the node accepts and rolled back when it refuses.
/// Only then does it wait, once, for inclusion, by polling the senders' mined nonces. Transfers
/// use 21 000 gas, so recipients must be accounts without code.
///
/// Replay safety, for every method: each transfer is signed once. The same bytes are resent
/// only when the node gave no answer (the worst it can say then is *already known*). A
/// transfer the node refused is not in its pool, so signing it again in the next round with a
/// new nonce cannot pay twice. A transfer that got no answer even after retries is assumed to
/// be in the pool and its nonce stays committed; if it was in fact lost, the later transfers
/// stay queued and the call ends with [`WalletError::InclusionTimeout`].
///
/// # Examples
/// ```no_run
/// use alloy::{primitives::U256, providers::{Provider, ProviderBuilder}};
/// use spam_core::{Fees, Funder, MainnetPolicy, MnemonicSource};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let provider = ProviderBuilder::new().connect_http("http://127.0.0.1:8545".parse()?);
/// let funder = MnemonicSource::dev().with_indices(0..1).load()?.remove(0);
/// let wallets = MnemonicSource::dev().with_indices(1000..1200).load()?;
/// let gas_price = provider.get_gas_price().await?;
/// let fees = Fees::Eip1559 {
///     max_fee_per_gas: 2 * gas_price + 1_000_000_000,
///     max_priority_fee_per_gas: 1_000_000_000,
/// };
/// let funder = Funder::connect(provider, funder, fees, MainnetPolicy::Refuse).await?;
/// let addresses: Vec<_> = wallets.iter().map(|w| w.address()).collect();
/// let one_eth = U256::from(10).pow(U256::from(18));
/// println!("{}", funder.fund(&addresses, one_eth).await?);
/// // ... run the load ...
/// println!("{}", funder.sweep(&wallets).await?);
/// # Ok(())
/// # }
/// ```
pub struct Funder<P> {
    pub(super) provider: P,
    pub(super) wallet: Wallet,
    pub(super) nonces: NonceManager,
    pub(super) chain_id: u64,
    pub(super) fees: Fees,
    pub(super) config: FundingConfig,
}

impl<P> Funder<P>
where
    P: Provider + Clone + 'static,
{
    /// A funder sending from `wallet` through `provider`, on chain `chain_id`, with nonces
    /// from `nonces` (share it with anything else sending from the same accounts).
    pub fn new(
        provider: P,
        wallet: Wallet,
        nonces: NonceManager,
        chain_id: u64,
        fees: Fees,
    ) -> Self {
        Self {
            provider,
            wallet,
            nonces,
            chain_id,
            fees,
            config: FundingConfig::default(),
        }
    }

    /// Reads and checks the chain id (refusing known mainnets unless `policy` allows) and
    /// builds a funder with its own [`NonceManager`] reading through `provider`.
    ///
    /// # Errors
    /// [`WalletError::Chain`] when the chain id cannot be read or is refused.
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads.
    pub async fn connect(
        provider: P,
        wallet: Wallet,
        fees: Fees,
        policy: MainnetPolicy,
    ) -> Result<Self, WalletError> {
        let chain_id = crate::read_chain_id::<P, Ethereum>(&provider, policy)
            .await
            .map_err(|source| WalletError::Chain { source })?;
        let nonces = NonceManager::new(ProviderSource::new(provider.clone()));
        Ok(Self::new(provider, wallet, nonces, chain_id, fees))
    }

    /// Replaces the pacing and timeouts.
    pub const fn with_config(mut self, config: FundingConfig) -> Self {
        self.config = config;
        self
    }

    /// Replaces the fees put on every transfer.
    pub const fn with_fees(mut self, fees: Fees) -> Self {
        self.fees = fees;
        self
    }

    /// The funder's address.
    pub const fn address(&self) -> Address {
        self.wallet.address()
    }

    /// The fees put on every transfer.
    pub const fn fees(&self) -> Fees {
        self.fees
    }

    /// The nonce manager the sends reserve from.
    pub const fn nonces(&self) -> &NonceManager {
        &self.nonces
    }

    /// Sends `amount` wei to every address in `to`; see [`fund_each`](Self::fund_each).
    ///
    /// # Errors
    /// As [`fund_each`](Self::fund_each).
    ///
    /// # Cancel safety
    /// As [`fund_each`](Self::fund_each).
    pub async fn fund(&self, to: &[Address], amount: U256) -> Result<FundingReport, WalletError> {
        let transfers: Vec<(Address, U256)> = to.iter().map(|&a| (a, amount)).collect();
        self.fund_each(&transfers).await
    }

    /// Sends each `(recipient, value)` from the funder, pipelined, retrying refused transfers
    /// in up to [`FundingConfig::with_attempts`] rounds, then waits until all are included.
    ///
    /// Between rounds it does what the refusals' [`Action`](crate::Action)s ask: resync or
    /// fast-forward the funder's nonces, bump the fees ([`Fees::bump`]) after *fee too low*,
    /// back off after *pool full* or a rate limit.
    ///
    /// Before sending it checks the funder can pay every value plus each transfer's maximum
    /// fee. If refused transfers leave gaps below accepted nonces, the gaps are filled with
    /// zero-value transfers to the funder so the accepted ones are not stuck.
    ///
    /// # Errors
    /// [`WalletError::InsufficientFunds`] before anything is sent; [`WalletError::Rpc`] when a
    /// read fails; [`WalletError::Nonce`] or [`WalletError::Sign`] (sending stops, transfers in
    /// flight finish first); [`WalletError::Send`] when a gap cannot be filled;
    /// [`WalletError::InclusionTimeout`]. Transfers refused in every round are not errors:
    /// they are listed in [`FundingReport::failed`].
    ///
    /// # Cancel safety
    /// Not cancel safe, but dropping it leaves nothing inconsistent: transfers already handed
    /// to the node are sent on spawned tasks, which finish their one send and commit or roll
    /// back their nonce; nothing more is scheduled, nothing is resent. Some recipients may then
    /// be funded and others not: once the sent transfers are included (top-up reads `latest`
    /// balances), call [`top_up`](Self::top_up) to finish the job without paying anyone twice.
    /// Dropped while waiting for inclusion, the transfers still get included.
    pub async fn fund_each(
        &self,
        transfers: &[(Address, U256)],
    ) -> Result<FundingReport, WalletError> {
        let mut report = FundingReport::default();
        if transfers.is_empty() {
            return Ok(report);
        }
        let from = self.address();
        self.check_funds(transfers).await?;
        let attempts = self.config.attempts().get();
        let mut fees = self.fees;
        let mut todo = transfers.to_vec();
        let mut highest = None;
        for round in 1..=attempts {
            let jobs = todo
                .iter()
                .map(|&(to, value)| Job {
                    from: &self.wallet,
                    to,
                    value,
                })
                .collect();
            let outcomes = self.send_all(jobs, fees).await?;
            let mut retry = Vec::new();
            let mut next_round = NextRound::default();
            for ((to, value), outcome) in todo.into_iter().zip(outcomes) {
                match outcome {
                    Outcome::Sent { nonce } => {
                        report.sent += 1;
                        report.value = report.value.saturating_add(value);
                        highest = highest.max(Some(nonce));
                    }
                    Outcome::Rejected { error, .. } => {
                        next_round.learn(error.action());
                        if round == attempts {
                            report.failed.push(TransferFailure {
                                from,
                                to,
                                value,
                                error,
                            });
                        } else {
                            retry.push((to, value));
                        }
                    }
                }
            }
            todo = retry;
            // Nonce conflicts were already resolved by each send; what is left is the fee (bumped
            // even after the last round, so gap filling below pays enough) and the pace.
            tracing::debug!(
                target: "spam::wallet",
                round, retry = todo.len(), ?next_round,
                "transfers refused"
            );
            if next_round.bump_fee {
                fees = fees.bump();
            }
            if todo.is_empty() || round == attempts {
                break;
            }
            tokio::time::sleep(next_round.back_off.unwrap_or(self.config.poll_interval())).await;
        }
        if let Some(highest) = highest {
            self.fill_gaps(highest, fees).await?;
            self.wait(vec![(from, highest + 1)]).await?;
        }
        tracing::info!(target: "spam::wallet", %from, %report, "funded");
        Ok(report)
    }

    /// Reads every balance, then funds those below `threshold` up to `target`; the others are
    /// counted in [`FundingReport::skipped`]. Running it twice funds nobody twice (once the
    /// first call's transfers are included).
    ///
    /// # Errors
    /// [`WalletError::Rpc`] when a balance cannot be read, then as [`fund_each`](Self::fund_each).
    ///
    /// # Cancel safety
    /// As [`fund_each`](Self::fund_each); dropped while reading balances, nothing was sent.
    pub async fn top_up(
        &self,
        wallets: &[Address],
        threshold: U256,
        target: U256,
    ) -> Result<FundingReport, WalletError> {
        let balances = self.balances(wallets).await?;
        let transfers: Vec<(Address, U256)> = wallets
            .iter()
            .zip(balances)
            .filter(|&(_, balance)| balance < threshold && balance < target)
            .map(|(&address, balance)| (address, target - balance))
            .collect();
        let skipped = wallets.len() - transfers.len();
        let mut report = self.fund_each(&transfers).await?;
        report.skipped += skipped;
        Ok(report)
    }

    /// The `latest` balance of every address, read concurrently, in input order; see
    /// [`balances`].
    ///
    /// # Errors
    /// [`WalletError::Rpc`] naming the first address whose read failed.
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads.
    pub async fn balances(&self, addresses: &[Address]) -> Result<Vec<U256>, WalletError> {
        balances(&self.provider, addresses, self.limit()).await
    }

    /// Sends every wallet's balance, minus one transfer's maximum fee, back to the funder,
    /// all wallets concurrently, then waits until all are included. Wallets holding no more
    /// than that fee, and the funder itself, are skipped. What is left behind is the fee not
    /// spent (maximum minus actual), less than one transfer's maximum fee.
    ///
    /// # Errors
    /// [`WalletError::Rpc`] when a balance or nonce cannot be read; [`WalletError::Nonce`] or
    /// [`WalletError::Sign`]; [`WalletError::InclusionTimeout`]. Refused sweeps are listed in
    /// [`FundingReport::failed`].
    ///
    /// # Cancel safety
    /// As [`fund_each`](Self::fund_each): sends already started finish on their tasks and
    /// resolve their nonces; running it again sweeps what is left.
    pub async fn sweep(&self, wallets: &[Wallet]) -> Result<FundingReport, WalletError> {
        let to = self.address();
        let fee = U256::from(self.fees.max_cost(TRANSFER_GAS));
        let addresses: Vec<Address> = wallets.iter().map(Wallet::address).collect();
        let states = concurrently(addresses, self.limit(), |address| {
            let provider = self.provider.clone();
            async move {
                let rpc = |what| {
                    move |source| WalletError::Rpc {
                        what,
                        address,
                        source,
                    }
                };
                let balance = provider.get_balance(address).latest().await;
                let next = provider.get_transaction_count(address).pending().await;
                Ok::<_, WalletError>((
                    balance.map_err(rpc("balance"))?,
                    next.map_err(rpc("nonce"))?,
                ))
            }
        })
        .await;
        let mut report = FundingReport::default();
        let mut jobs = Vec::new();
        for (wallet, state) in wallets.iter().zip(states) {
            let (balance, next) = state?;
            if balance <= fee || wallet.address() == to {
                report.skipped += 1;
                continue;
            }
            // The node's pending count is fresh: a manager that knew less catches up to it.
            self.nonces.fast_forward(wallet.address(), next);
            jobs.push(Job {
                from: wallet,
                to,
                value: balance - fee,
            });
        }
        let sent: Vec<(Address, U256)> = jobs.iter().map(|j| (j.from.address(), j.value)).collect();
        let outcomes = self.send_all(jobs, self.fees).await?;
        let mut waiting = Vec::new();
        for ((from, value), outcome) in sent.into_iter().zip(outcomes) {
            match outcome {
                Outcome::Sent { nonce } => {
                    report.sent += 1;
                    report.value = report.value.saturating_add(value);
                    waiting.push((from, nonce + 1));
                }
                Outcome::Rejected { error, .. } => report.failed.push(TransferFailure {
                    from,
                    to,
                    value,
                    error,
                }),
            }
        }
        self.wait(waiting).await?;
        tracing::info!(target: "spam::wallet", %to, %report, "swept");
        Ok(report)
    }

    pub(super) fn limit(&self) -> usize {
        self.config.max_in_flight().get()
    }

    async fn check_funds(&self, transfers: &[(Address, U256)]) -> Result<(), WalletError> {
        let fee = U256::from(self.fees.max_cost(TRANSFER_GAS));
        let needed = transfers.iter().fold(U256::ZERO, |sum, (_, value)| {
            sum.saturating_add(*value).saturating_add(fee)
        });
        let funder = self.address();
        let available = self.balances(&[funder]).await?[0];
        if available < needed {
            return Err(WalletError::InsufficientFunds {
                funder,
                needed,
                available,
            });
        }
        Ok(())
    }

    async fn wait(&self, waiting: Vec<(Address, u64)>) -> Result<(), WalletError> {
        wait_mined(
            &self.provider,
            waiting,
            self.limit(),
            self.config.poll_interval(),
            self.config.inclusion_timeout(),
        )
        .await
    }
}

/// The `latest` balance of every address through `provider`, at most `max_in_flight` reads
/// at once, in input order: what a funding step reads before it sends anything.
///
/// # Errors
/// [`WalletError::Rpc`] naming the first address whose read failed.
///
/// # Cancel safety
/// Cancel safe: it only reads.
pub async fn balances<P>(
    provider: &P,
    addresses: &[Address],
    max_in_flight: usize,
) -> Result<Vec<U256>, WalletError>
where
    P: Provider + Clone + 'static,
{
    concurrently(addresses.to_vec(), max_in_flight, |address| {
        let provider = provider.clone();
        async move {
            provider
                .get_balance(address)
                .latest()
                .await
                .map_err(|source| WalletError::Rpc {
                    what: "balance",
                    address,
                    source,
                })
        }
    })
    .await
    .into_iter()
    .collect()
}

impl<P> fmt::Debug for Funder<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Funder")
            .field("wallet", &self.wallet)
            .field("chain_id", &self.chain_id)
            .field("fees", &self.fees)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
