//! `spammer run`: closed-loop value transfers (walking skeleton; the full engine lives in spam-core).

use std::{
    num::NonZeroU32,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use alloy::{
    consensus::{SignableTransaction, TxEnvelope},
    eips::eip2718::Encodable2718,
    network::TxSignerSync,
    primitives::{Address, U256},
    providers::{Provider, ProviderBuilder, RootProvider},
    signers::local::{MnemonicBuilder, PrivateKeySigner},
    transports::http::reqwest::Url,
};
use anyhow::Context as _;
use spam_core::{
    Action, FeeOracle, FeeOracleConfig, Fees, MainnetPolicy, RetryPolicy, check_chain_id,
    send_raw_transaction,
};
use spam_devnet::{DEV_MNEMONIC, Devnet};
use spam_nonce::{NonceManager, ProviderSource};
use tokio::task::JoinSet;

use crate::report::RunReport;

/// Options of `spammer run`.
#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// JSON-RPC URL of the chain. Without it, spammer starts its own anvil.
    #[arg(long, env = "SPAM_RPC_URL")]
    rpc_url: Option<Url>,
    /// How long to send, e.g. 10s, 2m.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// How many accounts of the dev mnemonic send.
    #[arg(long, default_value = "8")]
    senders: NonZeroU32,
    /// Concurrent workers; several workers share a sender, each awaiting its own send.
    #[arg(long, default_value = "32")]
    workers: NonZeroU32,
    /// How long to wait after sending stops for sent transactions to be included.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    grace: Duration,
    /// Allow chain ids of public mainnets.
    #[arg(long)]
    allow_mainnet: bool,
}

/// Counters the workers share.
#[derive(Debug, Default)]
struct Counters {
    sent: AtomicU64,
    errors: AtomicU64,
    last_error: Mutex<Option<String>>,
}

/// What every worker needs.
#[derive(Debug)]
struct Shared {
    provider: RootProvider,
    nonces: NonceManager,
    fees: FeeOracle<RootProvider>,
    retry: RetryPolicy,
    chain_id: u64,
    stop: AtomicBool,
    counters: Counters,
}

pub(crate) async fn run(args: RunArgs) -> anyhow::Result<RunReport> {
    let senders = args.senders.get();
    let (devnet, url) = match &args.rpc_url {
        Some(url) => (None, url.clone()),
        None => {
            let devnet = Devnet::builder()
                .accounts(senders.max(10))
                .block_time(1.0)
                .arg("--gas-limit")
                .arg("1000000000")
                .start()
                .context("starting a local anvil (no --rpc-url given)")?;
            let url = devnet.endpoint().parse().context("anvil endpoint")?;
            eprintln!(
                "started anvil at {url} (1 s blocks); sending for {:?}",
                args.duration
            );
            (Some(devnet), url)
        }
    };
    let provider = ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_http(url.clone());
    let chain_id = provider
        .get_chain_id()
        .await
        .with_context(|| format!("reading the chain id from {url}"))?;
    let policy = if args.allow_mainnet {
        MainnetPolicy::Allow
    } else {
        MainnetPolicy::Refuse
    };
    check_chain_id(chain_id, policy)?;
    let client_version = provider
        .get_client_version()
        .await
        .unwrap_or_else(|_| "unknown".into());

    let signers: Vec<PrivateKeySigner> = (0..senders)
        .map(|i| MnemonicBuilder::from_phrase_nth(DEV_MNEMONIC, i))
        .collect();
    let addresses: Vec<Address> = signers.iter().map(|s| s.address()).collect();
    let start_block = provider.get_block_number().await?;
    let start_nonces = latest_nonces(&provider, &addresses).await?;

    let shared = Arc::new(Shared {
        nonces: NonceManager::new(ProviderSource::new(provider.clone())),
        fees: FeeOracle::new(provider.clone(), FeeOracleConfig::default()),
        retry: RetryPolicy::default(),
        provider,
        chain_id,
        stop: AtomicBool::new(false),
        counters: Counters::default(),
    });
    for &address in &addresses {
        shared
            .nonces
            .resync(address)
            .await
            .context("reading start nonces")?;
    }
    shared.fees.current().await.context("reading fees")?;

    let started = Instant::now();
    let mut workers = JoinSet::new();
    for worker in 0..args.workers.get() {
        let signer = signers[(worker % senders) as usize].clone();
        workers.spawn(send_loop(Arc::clone(&shared), signer));
    }
    let stopper = tokio::spawn(stop_after(Arc::clone(&shared), args.duration));
    while let Some(joined) = workers.join_next().await {
        joined.context("a worker panicked")?;
    }
    stopper.abort();
    let send_elapsed = started.elapsed();

    let committed = shared.counters.sent.load(Ordering::Relaxed);
    let included = wait_included(
        &shared.provider,
        &addresses,
        &start_nonces,
        committed,
        args.grace,
    )
    .await?;
    let end_block = shared.provider.get_block_number().await?;
    let mut block_txs = Vec::new();
    for number in start_block + 1..=end_block {
        let block = shared.provider.get_block_by_number(number.into()).await?;
        block_txs.push(block.map_or(0, |b| b.transactions.len() as u64));
    }

    Ok(RunReport {
        rpc_url: url.to_string(),
        chain_id,
        client_version,
        own_devnet: devnet.is_some(),
        senders,
        workers: args.workers.get(),
        send_elapsed,
        total_elapsed: started.elapsed(),
        sent: committed,
        send_errors: shared.counters.errors.load(Ordering::Relaxed),
        last_error: shared
            .counters
            .last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take(),
        included,
        block_txs,
    })
}

/// One worker: reserve a nonce, sign, send, act on the answer; until told to stop.
async fn send_loop(shared: Arc<Shared>, signer: PrivateKeySigner) {
    let sender = signer.address();
    while !shared.stop.load(Ordering::Relaxed) {
        let (reservation, fees) = match (
            shared.nonces.reserve(sender).await,
            shared.fees.current().await,
        ) {
            (Ok(r), Ok(fees)) => (r, fees),
            (Err(err), _) => {
                record_error(&shared, format!("nonce for {sender}: {err}"));
                continue;
            }
            (_, Err(err)) => {
                record_error(&shared, format!("fees: {err}"));
                continue;
            }
        };
        let raw = match sign_transfer(&signer, shared.chain_id, reservation.nonce(), fees) {
            Ok(raw) => raw,
            Err(err) => {
                record_error(&shared, format!("signing: {err}"));
                continue;
            }
        };
        match send_raw_transaction(&shared.provider, &raw, &shared.retry).await {
            Ok(_) => {
                let _ = reservation.commit();
                shared.counters.sent.fetch_add(1, Ordering::Relaxed);
            }
            Err(err) => {
                record_error(&shared, err.to_string());
                match err.action() {
                    Action::Commit => {
                        let _ = reservation.commit();
                        shared.counters.sent.fetch_add(1, Ordering::Relaxed);
                    }
                    Action::FastForward(next) => {
                        drop(reservation);
                        shared.nonces.fast_forward(sender, next);
                    }
                    // The send may have reached the pool: keep the nonce used and ask the chain.
                    Action::ResendSame | Action::Resync => {
                        let _ = reservation.commit();
                        let _ = shared.nonces.resync(sender).await;
                    }
                    Action::BackOff(wait) => {
                        drop(reservation);
                        tokio::time::sleep(wait.unwrap_or(Duration::from_millis(200))).await;
                    }
                    // Fee, funds, gas or unknown refusals: the nonce was not used.
                    _ => drop(reservation),
                }
            }
        }
    }
}

/// A signed EIP-2718 value transfer of 1 wei to the sender itself.
fn sign_transfer(
    signer: &PrivateKeySigner,
    chain_id: u64,
    nonce: u64,
    fees: Fees,
) -> alloy::signers::Result<Vec<u8>> {
    let mut tx = fees.transfer(chain_id, nonce, signer.address(), U256::from(1));
    let signature = signer.sign_transaction_sync(&mut tx)?;
    Ok(TxEnvelope::from(tx.into_signed(signature)).encoded_2718())
}

fn record_error(shared: &Shared, message: String) {
    shared.counters.errors.fetch_add(1, Ordering::Relaxed);
    *shared
        .counters
        .last_error
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = Some(message);
}

/// Stops the workers after `duration` or on Ctrl-C.
async fn stop_after(shared: Arc<Shared>, duration: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(duration) => {}
        _ = tokio::signal::ctrl_c() => eprintln!("interrupted: stopping"),
    }
    shared.stop.store(true, Ordering::Relaxed);
}

async fn latest_nonces(provider: &RootProvider, addresses: &[Address]) -> anyhow::Result<Vec<u64>> {
    let mut nonces = Vec::with_capacity(addresses.len());
    for &address in addresses {
        nonces.push(provider.get_transaction_count(address).latest().await?);
    }
    Ok(nonces)
}

/// Polls the senders' mined nonces until `committed` transactions are in blocks or `grace`
/// passes; returns how many were included.
async fn wait_included(
    provider: &RootProvider,
    addresses: &[Address],
    start: &[u64],
    committed: u64,
    grace: Duration,
) -> anyhow::Result<u64> {
    let deadline = Instant::now() + grace;
    loop {
        let now = latest_nonces(provider, addresses).await?;
        let included: u64 = now.iter().zip(start).map(|(n, s)| n - s).sum();
        if included >= committed || Instant::now() >= deadline {
            return Ok(included);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
