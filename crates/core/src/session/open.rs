//! [`Session::open`]: everything a run needs before its first send, checked in order.

use std::{fmt, sync::Arc, time::Duration};

use alloy::{
    providers::{Provider, RootProvider},
    rpc::client::RpcClient,
};
use spam_nonce::NonceManager;
use tokio_util::{sync::CancellationToken, task::AbortOnDropHandle};

use super::{Reconciler, SessionConfig, StartError};
use crate::{
    endpoint::{Route, RoutedNonces, Router},
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
    /// Sends that belong to no sender (fillers, settling): the first healthy send endpoint.
    pub(crate) sender: RootProvider,
    pub(crate) router: Arc<Router>,
    /// Probes the endpoints and moves senders, while the session lives (several endpoints).
    _health: Option<AbortOnDropHandle<()>>,
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
        config.check()?;
        let router =
            Router::new(&config.endpoints, config.http_timeout).map_err(StartError::config)?;
        let read_client = router.client(Route::Reads);
        let reader = RootProvider::new(read_client.clone());
        let sender = router.provider(Route::Sends);
        let chain_id = chain_ids(&router, &config).await?;
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
        let nonces = sync_nonces(&router, el.capabilities(), &wallets).await?;
        let fees = FeeOracle::new(reader.clone(), FeeOracleConfig::default());
        fees.current()
            .await
            .map_err(StartError::rpc("reading fees"))?;
        let pool = WalletPool::new(wallets.clone(), config.pool.clone())?;
        let parking = Arc::new(super::Parking::default());
        pool.set_skip({
            let (parking, router) = (Arc::clone(&parking), Arc::clone(&router));
            move |w: &Arc<Wallet>| {
                let address = w.address();
                parking.is_parked(&address) || router.is_moving(&address)
            }
        });
        let _health = router.spawn_health(CancellationToken::new());
        Ok(Self {
            config,
            read_client,
            reader,
            sender,
            router,
            _health,
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
            Arc::clone(&self.router),
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
            .field("endpoints", &self.router)
            .finish_non_exhaustive()
    }
}

/// Every endpoint's chain id: one chain, and not a refused mainnet.
async fn chain_ids(router: &Router, config: &SessionConfig) -> Result<u64, StartError> {
    let mut first: Option<(u64, &str)> = None;
    for endpoint in router.endpoints() {
        let provider: RootProvider =
            RootProvider::new(RpcClient::new(endpoint.transport.clone(), true));
        let what = if router.is_multi() {
            "reading the chain id of an endpoint"
        } else {
            "reading the chain id"
        };
        let chain_id = provider.get_chain_id().await.map_err(|err| {
            if router.is_multi() {
                tracing::error!(target: "spam::endpoint", endpoint = %endpoint.label, %err, "endpoint unreachable at start");
            }
            StartError::rpc(what)(err)
        })?;
        check_chain_id(chain_id, config.mainnet)?;
        match first {
            None => first = Some((chain_id, &endpoint.label)),
            Some((id, label)) if id != chain_id => {
                return Err(StartError::config(format!(
                    "endpoint {} serves chain {chain_id}, endpoint {label} chain {id}: every \
                     endpoint of a run must serve one chain",
                    endpoint.label
                )));
            }
            Some(_) => {}
        }
    }
    Ok(first.expect("at least one endpoint").0)
}

/// A nonce manager over each sender's send endpoint's pending view, every sender loaded.
async fn sync_nonces(
    router: &Arc<Router>,
    caps: Capabilities,
    wallets: &[Arc<Wallet>],
) -> Result<NonceManager, StartError> {
    let nonces = NonceManager::new(RoutedNonces::new(
        Arc::clone(router),
        caps.pending_nonce_method,
    ));
    for wallet in wallets {
        nonces.resync(wallet.address()).await?;
    }
    Ok(nonces)
}
