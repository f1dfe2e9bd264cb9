use std::{
    fmt,
    marker::PhantomData,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use alloy::{
    consensus::BlockHeader,
    eips::BlockNumberOrTag,
    network::{BlockResponse, Ethereum, Network},
    providers::Provider,
    transports::{TransportError, TransportErrorKind},
};
use parking_lot::Mutex;
use tokio::time::Instant;

use super::Fees;

const GWEI: u128 = 1_000_000_000;

/// Settings of a [`FeeOracle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeOracleConfig {
    /// Max fee = base fee × `base_fee_percent` / 100 + priority fee (default 200: room for
    /// six full blocks of +12.5% base-fee growth).
    pub base_fee_percent: u32,
    /// Priority fee per gas (default 1 gwei).
    pub priority_fee: u128,
    /// How long a fee is served without asking the node whether a new block exists
    /// (default 1 s; set it near the block time).
    pub refresh_after: Duration,
}

impl Default for FeeOracleConfig {
    fn default() -> Self {
        Self {
            base_fee_percent: 200,
            priority_fee: GWEI,
            refresh_after: Duration::from_secs(1),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Cached {
    block: u64,
    fees: Fees,
    checked_at: Instant,
}

struct Inner<P> {
    provider: P,
    config: FeeOracleConfig,
    cached: Mutex<Option<Cached>>,
    /// Orders refreshes so concurrent callers share one read.
    refresh: tokio::sync::Mutex<()>,
    computed: AtomicU64,
}

/// EIP-1559 fees from the latest block, shared by all workers.
///
/// Fees are recomputed at most once per new block: within `refresh_after` the cached value is
/// served without any RPC; after it, one caller reads the latest block and the others wait for
/// that read. A block subscription can push blocks with [`observe_block`](Self::observe_block)
/// instead. Chains without a base fee get a legacy gas price (`eth_gasPrice`). Cheap to clone.
pub struct FeeOracle<P, N = Ethereum> {
    inner: Arc<Inner<P>>,
    _network: PhantomData<fn() -> N>,
}

impl<P, N> Clone for FeeOracle<P, N> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            _network: PhantomData,
        }
    }
}

impl<P, N> FeeOracle<P, N>
where
    P: Provider<N>,
    N: Network,
{
    /// An oracle reading through `provider`.
    pub fn new(provider: P, config: FeeOracleConfig) -> Self {
        let inner = Inner {
            provider,
            config,
            cached: Mutex::new(None),
            refresh: tokio::sync::Mutex::new(()),
            computed: AtomicU64::new(0),
        };
        Self {
            inner: Arc::new(inner),
            _network: PhantomData,
        }
    }

    /// Fees for a new transaction.
    ///
    /// # Errors
    /// The node's error when the first read (or a due refresh) fails; a stale cached value is
    /// not served after `refresh_after` when the node cannot be asked.
    ///
    /// # Cancel safety
    /// Cancel safe: the cache changes only after a read completes.
    pub async fn current(&self) -> Result<Fees, TransportError> {
        if let Some(fees) = self.fresh() {
            return Ok(fees);
        }
        let _refresh = self.inner.refresh.lock().await;
        if let Some(fees) = self.fresh() {
            return Ok(fees); // another caller refreshed while this one waited
        }
        let block = self
            .inner
            .provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await?
            .ok_or_else(|| TransportErrorKind::custom_str("node returned no latest block"))?;
        let header = block.header();
        let (number, base_fee) = (header.number(), header.base_fee_per_gas());
        let cached = *self.inner.cached.lock();
        let fees = match (cached, base_fee) {
            (Some(c), _) if c.block == number => c.fees,
            (_, Some(base_fee)) => self.fees_for_base_fee(base_fee),
            (_, None) => {
                let gas_price = self.inner.provider.get_gas_price().await?;
                self.inner.computed.fetch_add(1, Ordering::Relaxed);
                Fees::Legacy {
                    gas_price: gas_price.saturating_add(self.inner.config.priority_fee),
                }
            }
        };
        let mut cached = self.inner.cached.lock();
        match *cached {
            // a block pushed by `observe_block` meanwhile is newer than what the node answered
            Some(newer) if newer.block > number => return Ok(newer.fees),
            _ => {
                *cached = Some(Cached {
                    block: number,
                    fees,
                    checked_at: Instant::now(),
                })
            }
        }
        drop(cached);
        Ok(fees)
    }

    /// The last fees, without asking the node (for synchronous hot paths).
    pub fn cached(&self) -> Option<Fees> {
        self.inner.cached.lock().map(|c| c.fees)
    }

    /// Feeds a block seen elsewhere (a new-heads subscription): fees follow it with no RPC.
    /// Older blocks than the cached one are ignored.
    pub fn observe_block(&self, number: u64, base_fee: u64) {
        let mut cached = self.inner.cached.lock();
        if cached.is_some_and(|c| c.block >= number) {
            return;
        }
        let fees = self.fees_for_base_fee(base_fee);
        *cached = Some(Cached {
            block: number,
            fees,
            checked_at: Instant::now(),
        });
    }

    /// How many times fees were computed (once per new block seen); for stats and tests.
    pub fn computations(&self) -> u64 {
        self.inner.computed.load(Ordering::Relaxed)
    }

    fn fresh(&self) -> Option<Fees> {
        let cached = (*self.inner.cached.lock())?;
        (cached.checked_at.elapsed() < self.inner.config.refresh_after).then_some(cached.fees)
    }

    fn fees_for_base_fee(&self, base_fee: u64) -> Fees {
        self.inner.computed.fetch_add(1, Ordering::Relaxed);
        let c = &self.inner.config;
        let scaled = u128::from(base_fee) * u128::from(c.base_fee_percent) / 100; // < 2^96
        Fees::Eip1559 {
            max_fee_per_gas: scaled.saturating_add(c.priority_fee),
            max_priority_fee_per_gas: c.priority_fee,
        }
    }
}

impl<P, N> fmt::Debug for FeeOracle<P, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FeeOracle")
            .field("config", &self.inner.config)
            .field(
                "cached",
                &self.inner.cached.lock().map(|c| (c.block, c.fees)),
            )
            .finish_non_exhaustive()
    }
}
