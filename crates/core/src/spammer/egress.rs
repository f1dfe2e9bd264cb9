//! Each wallet's way to the node when the run has a proxy pool: a sticky proxy per wallet, a
//! provider per wallet whose every request goes through the wallet's proxy of the moment, and
//! the lease predicate that skips wallets whose proxy is banned.
//!
//! The choice made here: a wallet whose proxy is banned is *skipped* by the lease predicate at
//! once (no new task of it starts on a proxy known to be down), and the rebalancer
//! ([`Egress::rebalance`], every [`REBALANCE_EVERY`]) *moves* it to the available proxy
//! holding the fewest wallets ([`ProxyPool::assign`]), after which it is leased again and
//! stays there. Only when every proxy is banned do wallets stay skipped, until a ban ends. A
//! task already running when its proxy is banned moves with its next request (a retry of a
//! read, or of a send that never reached the node). A pool that allows direct connections
//! never skips: its wallets move at their next request, or go direct while every proxy is
//! banned.

use std::{
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use alloy::{
    primitives::Address,
    providers::RootProvider,
    rpc::{
        client::RpcClient,
        json_rpc::{RequestPacket, ResponsePacket},
    },
    transports::{
        BoxTransport, TransportError, TransportErrorKind, TransportFut, http::reqwest::Url,
        utils::guess_local_url,
    },
};
use spam_proxy::{ProxyId, ProxyPool};
use tokio::time::MissedTickBehavior;
use tokio_util::task::AbortOnDropHandle;
use tower::Service;

use crate::{pool::WalletPool, report::ProxySummary, wallet::Wallet};

/// How often wallets on banned proxies are moved and waiters told to look again.
pub(super) const REBALANCE_EVERY: Duration = Duration::from_millis(250);

/// The wallets' routes through a proxy pool.
pub(super) struct Egress {
    routes: Arc<Routes>,
    /// Per wallet (by lease index): its provider, routing each request by its assignment.
    providers: Box<[RootProvider]>,
}

/// One transport per proxy (and a direct one), each reporting to the pool.
struct Routes {
    proxies: ProxyPool,
    by_proxy: Box<[BoxTransport]>,
    direct: BoxTransport,
}

impl Routes {
    fn transport(&self, id: Option<ProxyId>) -> &BoxTransport {
        id.map_or(&self.direct, |id| &self.by_proxy[id.index()])
    }
}

/// A wallet's transport: every request goes through the proxy the wallet is assigned to *at
/// that moment* ([`ProxyPool::assign`]), so a retry after a proxy got banned already takes the
/// wallet's new proxy instead of failing again on the dead one.
#[derive(Clone)]
struct WalletTransport {
    routes: Arc<Routes>,
    address: Address,
}

impl Service<RequestPacket> for WalletTransport {
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // The per-proxy HTTP transports are always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        match self.routes.proxies.assign(&self.address) {
            Ok(route) => self
                .routes
                .transport(route.proxy_id())
                .clone()
                .call(request),
            Err(err) => Box::pin(async move { Err(TransportErrorKind::custom(err)) }),
        }
    }
}

impl Egress {
    /// Assigns every wallet a proxy now, so the wallets spread evenly over the proxies, and
    /// builds one transport per proxy and one provider per wallet.
    ///
    /// # Errors
    /// [`spam_proxy::Error::NoProxyAvailable`] when every proxy is banned (or the pool is
    /// empty) and direct connections are not allowed.
    pub(super) fn new(
        proxies: ProxyPool,
        rpc_url: Url,
        wallets: &[Arc<Wallet>],
    ) -> Result<Self, spam_proxy::Error> {
        for wallet in wallets {
            proxies.assign(&wallet.address())?;
        }
        let transport =
            |route: spam_proxy::Route| route.rpc_client(rpc_url.clone()).transport().clone();
        let routes = Arc::new(Routes {
            by_proxy: proxies
                .ids()
                .map(|id| transport(proxies.route(id).expect("an id of this pool")))
                .collect(),
            direct: transport(proxies.direct()),
            proxies,
        });
        let is_local = guess_local_url(rpc_url.as_str());
        let providers = wallets
            .iter()
            .map(|wallet| {
                let transport = WalletTransport {
                    routes: Arc::clone(&routes),
                    address: wallet.address(),
                };
                RootProvider::new(RpcClient::new(transport, is_local))
            })
            .collect();
        Ok(Self { routes, providers })
    }

    /// The provider of the wallet at `index` (by lease index).
    pub(super) fn provider(&self, index: usize) -> RootProvider {
        self.providers[index].clone()
    }

    /// Number of proxies.
    pub(super) fn len(&self) -> usize {
        self.routes.proxies.len()
    }

    /// The lease predicate: `true` (skip) for a wallet whose proxy is banned, unless the pool
    /// allows direct connections. Two short locks and a hash lookup.
    pub(super) fn skip(&self) -> impl Fn(&Arc<Wallet>) -> bool + Send + Sync + 'static {
        let proxies = self.routes.proxies.clone();
        move |wallet| is_skipped(&proxies, &wallet.address())
    }

    /// Moves the wallets whose proxy is banned to available proxies. Returns how many moved
    /// and how many are still skipped (every proxy banned).
    pub(super) fn rebalance(&self, wallets: &[Arc<Wallet>]) -> (usize, usize) {
        let (mut moved, mut skipped) = (0, 0);
        for wallet in wallets {
            let address = wallet.address();
            if !is_skipped(&self.routes.proxies, &address) {
                continue;
            }
            // Fails only when every proxy is banned: the wallet then stays where it is.
            match self.routes.proxies.assign(&address) {
                Ok(route) => {
                    moved += 1;
                    tracing::debug!(target: "spam::spammer", wallet = %address, to = %route, "moved off a banned proxy");
                }
                Err(_) => skipped += 1,
            }
        }
        (moved, skipped)
    }

    /// Runs [`rebalance`](Self::rebalance) every [`REBALANCE_EVERY`] and wakes waiting workers
    /// when a wallet came back, until the returned handle is dropped.
    pub(super) fn spawn_rebalancer(
        self: &Arc<Self>,
        pool: WalletPool<Arc<Wallet>>,
    ) -> AbortOnDropHandle<()> {
        let egress = Arc::clone(self);
        AbortOnDropHandle::new(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(REBALANCE_EVERY);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            let mut skipped_before = 0;
            loop {
                ticks.tick().await;
                let (moved, skipped) = egress.rebalance(pool.wallets());
                // Only when a skipped wallet became leasable (moved, or its ban ended): an
                // unconditional refresh would repeat the pool's "every wallet skipped" warning.
                if moved > 0 || skipped < skipped_before {
                    pool.refresh();
                }
                skipped_before = skipped;
            }
        }))
    }

    /// Every proxy's counters, for the report.
    pub(super) fn summaries(&self) -> Vec<ProxySummary> {
        self.routes
            .proxies
            .stats_all()
            .iter()
            .map(ProxySummary::from)
            .collect()
    }
}

/// Whether the lease predicate skips `address`.
fn is_skipped(proxies: &ProxyPool, address: &Address) -> bool {
    !proxies.config().allow_direct()
        && proxies
            .assigned(address)
            .is_some_and(|id| proxies.is_banned(id))
}

impl std::fmt::Debug for Egress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Egress")
            .field("proxies", &self.routes.proxies)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use alloy::providers::Provider;
    use spam_proxy::{Failure, FailureKind, PoolConfig as ProxyConfig};

    use super::*;
    use crate::pool::WalletPoolConfig;

    const LIST: &str = "http://u:p@127.0.0.1:3128\nsocks5h://u:p@127.0.0.1:1080";

    fn setup(config: ProxyConfig) -> (Egress, WalletPool<Arc<Wallet>>, [ProxyId; 2]) {
        let proxies = ProxyPool::from_list(LIST, config).unwrap();
        let ids: Vec<ProxyId> = proxies.ids().collect();
        let wallets: Vec<Arc<Wallet>> = (0..4).map(|_| Arc::new(Wallet::random())).collect();
        let egress =
            Egress::new(proxies, "http://127.0.0.1:8545".parse().unwrap(), &wallets).unwrap();
        let pool = WalletPool::new(
            wallets,
            WalletPoolConfig::default().with_cooldown(Duration::ZERO),
        )
        .unwrap()
        .with_skip(egress.skip());
        (egress, pool, [ids[0], ids[1]])
    }

    fn refused() -> Failure {
        Failure::new(FailureKind::Connect, "connection refused")
    }

    /// Leases every wallet the pool hands out now, and returns their proxies.
    fn leasable(egress: &Egress, pool: &WalletPool<Arc<Wallet>>) -> Vec<ProxyId> {
        let leases: Vec<_> = std::iter::from_fn(|| pool.try_acquire()).collect();
        leases
            .iter()
            .map(|lease| egress.routes.proxies.assigned(&lease.address()).unwrap())
            .collect()
    }

    #[test]
    fn wallets_spread_evenly_and_those_on_a_banned_proxy_are_skipped_until_moved() {
        let (egress, pool, [a, b]) = setup(ProxyConfig::default());
        let mut on = leasable(&egress, &pool);
        on.sort();
        assert_eq!(on, [a, a, b, b], "two wallets per proxy");

        egress.routes.proxies.ban(a, refused());
        assert_eq!(
            leasable(&egress, &pool),
            [b, b],
            "the wallets on the banned proxy are skipped"
        );
        assert_eq!(egress.rebalance(pool.wallets()), (2, 0));
        assert_eq!(
            leasable(&egress, &pool),
            [b, b, b, b],
            "moved, leased again"
        );

        egress.routes.proxies.ban(b, refused());
        assert_eq!(egress.rebalance(pool.wallets()), (0, 4), "nowhere to go");
        assert!(pool.try_acquire().is_none(), "every wallet is skipped");

        egress.routes.proxies.unban(a);
        assert!(pool.try_acquire().is_none(), "still on the banned one");
        assert_eq!(egress.rebalance(pool.wallets()), (4, 0));
        assert_eq!(leasable(&egress, &pool), [a, a, a, a]);
    }

    #[test]
    fn with_direct_allowed_nothing_is_skipped() {
        let (egress, pool, [a, b]) = setup(ProxyConfig::default().with_allow_direct(true));
        egress.routes.proxies.ban(a, refused());
        egress.routes.proxies.ban(b, refused());
        let leases: Vec<_> = std::iter::from_fn(|| pool.try_acquire()).collect();
        assert_eq!(leases.len(), 4, "none skipped");
    }

    #[tokio::test]
    async fn each_request_takes_the_wallets_proxy_of_the_moment() {
        let (egress, pool, [a, b]) = setup(ProxyConfig::default());
        let wallet = Arc::clone(&pool.wallets()[0]);
        let provider = egress.provider(0);
        let first = egress.routes.proxies.assigned(&wallet.address()).unwrap();
        let other = if first == a { b } else { a };
        let picks = |id| egress.routes.proxies.stats(id).unwrap().picks;
        let (before_first, before_other) = (picks(first), picks(other));

        // Nothing listens on the proxies' ports: each request fails, but through which proxy
        // it went shows in the pool's counters.
        provider.get_block_number().await.unwrap_err();
        assert_eq!(picks(first), before_first + 1);
        egress.routes.proxies.ban(first, refused());
        provider.get_block_number().await.unwrap_err();
        assert_eq!(
            picks(other),
            before_other + 1,
            "moved without a new provider"
        );
        assert_eq!(
            egress.routes.proxies.assigned(&wallet.address()),
            Some(other)
        );

        egress.routes.proxies.ban(other, refused());
        let err = provider.get_block_number().await.unwrap_err();
        assert!(err.to_string().contains("no proxy available"), "{err}");
    }

    #[test]
    fn an_all_banned_pool_without_direct_refuses_to_start() {
        let proxies = ProxyPool::from_list(LIST, ProxyConfig::default()).unwrap();
        for id in proxies.ids().collect::<Vec<_>>() {
            proxies.ban(id, refused());
        }
        let wallets = [Arc::new(Wallet::random())];
        let err =
            Egress::new(proxies, "http://127.0.0.1:8545".parse().unwrap(), &wallets).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("no proxy available: 2 of 2 banned"),
            "{err}"
        );
    }
}
