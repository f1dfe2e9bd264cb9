//! [`Session::open`]: everything a run needs before its first send, checked in order.

use std::{fmt, sync::Arc, time::Duration};

use alloy::{
    providers::{Provider, ProviderBuilder, RootProvider},
    rpc::client::{ClientBuilder, RpcClient},
    transports::http::reqwest::{self, Url},
};
use spam_nonce::{NonceManager, ProviderSource};

use super::{Reconciler, SessionConfig, StartError};
use crate::{
    fees::{FeeOracle, FeeOracleConfig},
    node::{Capabilities, ExecutionLayer, check_chain_id},
    pool::WalletPool,
    rpc::RetryPolicy,
    task::{NonceCounters, RunContext},
    wallet::Wallet,
};

/// A checked, synced connection to the node under load, shared by the engines and by tools
/// that send on their own (a one-shot task, a funding step).
///
/// [`open`](Self::open) connects, reads the chain id (refusing public mainnets unless allowed),
/// the client version and execution layer, every sender's pending nonce and the fees, and
/// builds the wallet pool — in that order, stopping at the first failure with a
/// [`StartError`]. Nothing is sent and nothing persisted while opening.
///
/// # Examples
///
/// ```no_run
/// use spam_core::{MnemonicSource, Session, SessionConfig};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let wallets = MnemonicSource::dev().with_indices(0..1).load()?;
/// let session = Session::open(
///     SessionConfig::new("http://127.0.0.1:8545".parse()?).with_wallets(wallets),
/// )
/// .await?;
/// println!("chain {} ({})", session.chain_id(), session.client_version());
/// let run = session.run_context(); // what tasks run with
/// # let _ = run;
/// # Ok(())
/// # }
/// ```
pub struct Session {
    pub(crate) config: SessionConfig,
    pub(crate) read_client: RpcClient,
    pub(crate) reader: RootProvider,
    pub(crate) sender: RootProvider,
    pub(crate) send_url: Url,
    pub(crate) chain_id: u64,
    pub(crate) client_version: String,
    pub(crate) el: ExecutionLayer,
    pub(crate) wallets: Vec<Arc<Wallet>>,
    pub(crate) nonces: NonceManager,
    pub(crate) fees: FeeOracle<RootProvider>,
    pub(crate) pool: WalletPool<Arc<Wallet>>,
    pub(crate) counters: Arc<NonceCounters>,
    pub(crate) retry: RetryPolicy,
    /// Senders refused for lack of funds: the pool skips them (until a top-up).
    pub(crate) parking: Arc<super::Parking>,
}

impl Session {
    /// Opens a session: connect → chain id and mainnet guard → client version and execution
    /// layer → every sender's nonce → fees → wallet pool.
    ///
    /// # Errors
    /// A [`StartError`]: bad settings ([`is_bad_input`](StartError::is_bad_input)), a refused
    /// mainnet, an unreachable node ([`is_unreachable`](StartError::is_unreachable)) or a
    /// failed read.
    ///
    /// # Cancel safety
    /// Cancel safe: it only reads; a dropped open leaves nothing behind.
    pub async fn open(mut config: SessionConfig) -> Result<Self, StartError> {
        let (rpc_url, send_url) = check(&config)?;
        let (read_client, reader) = connect(&rpc_url, config.http_timeout)?;
        let sender = if send_url == rpc_url {
            reader.clone()
        } else {
            connect(&send_url, config.http_timeout)?.1
        };
        let chain_id = chain_id(&reader, &config).await?;
        if send_url != rpc_url {
            self::chain_id(&sender, &config).await?;
        }
        let client_version = reader
            .get_client_version()
            .await
            .unwrap_or_else(|_| "unknown".into());
        let el = config
            .el
            .unwrap_or_else(|| ExecutionLayer::detect(&client_version));
        let wallets: Vec<Arc<Wallet>> = std::mem::take(&mut config.wallets)
            .into_iter()
            .map(Arc::new)
            .collect();
        let nonces = sync_nonces(&sender, el.capabilities(), &wallets).await?;
        let fees = FeeOracle::new(reader.clone(), FeeOracleConfig::default());
        fees.current()
            .await
            .map_err(StartError::rpc("reading fees"))?;
        let pool = WalletPool::new(wallets.clone(), config.pool.clone())?;
        let parking = Arc::new(super::Parking::default());
        pool.set_skip({
            let parking = Arc::clone(&parking);
            move |w: &Arc<Wallet>| parking.is_parked(&w.address())
        });
        Ok(Self {
            config,
            read_client,
            reader,
            sender,
            send_url,
            chain_id,
            client_version,
            el,
            wallets,
            nonces,
            fees,
            pool,
            counters: Arc::new(NonceCounters::default()),
            retry: RetryPolicy::default(),
            parking,
        })
    }

    /// The chain id the node reported.
    pub const fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The node's `web3_clientVersion` (`"unknown"` when it did not say).
    pub fn client_version(&self) -> &str {
        &self.client_version
    }

    /// The execution layer: as configured, else detected from the client version.
    pub const fn execution_layer(&self) -> ExecutionLayer {
        self.el
    }

    /// The provider of the RPC URL (reads: chain, fees, blocks).
    pub fn provider(&self) -> &RootProvider {
        &self.reader
    }

    /// The senders, in the order given.
    pub fn wallets(&self) -> &[Arc<Wallet>] {
        &self.wallets
    }

    /// The nonce manager, synced to every sender's pending nonce at open.
    pub fn nonces(&self) -> &NonceManager {
        &self.nonces
    }

    /// The fee oracle (read once at open).
    pub fn fees(&self) -> &FeeOracle<RootProvider> {
        &self.fees
    }

    /// The settings the session was opened with (its wallets moved into [`wallets`](Self::wallets)).
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// What tasks run with: the send URL's provider, the session's nonces, fees and nonce
    /// counters, the session's stop token; see [`RunContext`]'s `with_*` methods for the rest.
    pub fn run_context(&self) -> RunContext {
        RunContext::new(
            self.sender.clone(),
            self.nonces.clone(),
            self.fees.clone(),
            self.chain_id,
        )
        .with_retry(self.retry)
        .with_cancel(self.config.cancel.clone())
        .with_counters(Arc::clone(&self.counters))
        .with_parking(Arc::clone(&self.parking))
    }

    /// Reconciles senders mid-run over the send URL (see [`Reconciler`]); each request is
    /// bounded by `timeout`.
    pub(crate) fn reconciler(&self, timeout: Duration) -> Reconciler {
        Reconciler::new(
            self.sender.clone(),
            self.nonces.clone(),
            self.fees.clone(),
            self.chain_id,
            &self.wallets,
            timeout,
        )
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("chain_id", &self.chain_id)
            .field("client_version", &self.client_version)
            .field("el", &self.el)
            .field("wallets", &self.wallets.len())
            .field("send_url", &self.send_url.as_str())
            .finish_non_exhaustive()
    }
}

/// The URLs, once every setting that needs no node is known good.
fn check(config: &SessionConfig) -> Result<(Url, Url), StartError> {
    config.check()?;
    let rpc_url = config.rpc_url.clone().expect("checked");
    let send_url = config.send_url.clone().unwrap_or_else(|| rpc_url.clone());
    Ok((rpc_url, send_url))
}

/// A JSON-RPC client and a provider without fillers over one keep-alive HTTP client.
pub(crate) fn connect(
    url: &Url,
    timeout: Duration,
) -> Result<(RpcClient, RootProvider), StartError> {
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .tcp_nodelay(true)
        .build()
        .map_err(|err| StartError::config(format!("the HTTP client could not be built: {err}")))?;
    let client = ClientBuilder::default().http_with_client(http, url.clone());
    let provider = ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_client(client.clone());
    Ok((client, provider))
}

async fn chain_id(provider: &RootProvider, config: &SessionConfig) -> Result<u64, StartError> {
    let chain_id = provider
        .get_chain_id()
        .await
        .map_err(StartError::rpc("reading the chain id"))?;
    check_chain_id(chain_id, config.mainnet)?;
    Ok(chain_id)
}

/// A nonce manager over the send URL's pending view, every sender loaded.
async fn sync_nonces(
    sender: &RootProvider,
    caps: Capabilities,
    wallets: &[Arc<Wallet>],
) -> Result<NonceManager, StartError> {
    let nonces = NonceManager::new(
        ProviderSource::new(sender.clone()).with_pending_nonce_method(caps.pending_nonce_method),
    );
    for wallet in wallets {
        nonces.resync(wallet.address()).await?;
    }
    Ok(nonces)
}
