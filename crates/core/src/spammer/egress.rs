//! Each wallet's way to the node when the run has a proxy pool: a sticky proxy per wallet, a
//! provider per wallet built over it, and the lease predicate that skips wallets whose proxy is
//! banned.
//!
//! The choice made here: a wallet whose proxy is banned is *skipped* by the lease predicate at
//! once (no new task of it goes through a proxy known to be down), and the rebalancer
//! ([`Egress::rebalance`], every [`REBALANCE_EVERY`]) *moves* it to the available proxy
//! holding the fewest wallets ([`ProxyPool::assign`]), after which it is leased again and
//! stays there. Only when every proxy is banned do wallets stay skipped, until a ban ends. A
//! pool that allows direct connections never skips: its wallets move at their next lease, or
//! go direct while every proxy is banned.

use std::{sync::Arc, time::Duration};

use alloy::{primitives::Address, providers::RootProvider, transports::http::reqwest::Url};
use parking_lot::Mutex;
use spam_proxy::{ProxyId, ProxyPool};
use tokio::time::MissedTickBehavior;
use tokio_util::task::AbortOnDropHandle;

use crate::{ProxySummary, Wallet, WalletPool};

/// How often wallets on banned proxies are moved and waiters told to look again.
pub(super) const REBALANCE_EVERY: Duration = Duration::from_millis(250);

/// The wallets' routes through a proxy pool.
pub(super) struct Egress {
    proxies: ProxyPool,
    rpc_url: Url,
    /// Per wallet (by lease index): the provider built over its route, and which route that
    /// was (`None`: direct). Built at a wallet's first task and again only when it moves.
    providers: Box<[Mutex<Option<Cached>>]>,
}

/// A wallet's provider and the route it was built over (`None`: direct).
type Cached = (Option<ProxyId>, RootProvider);

impl Egress {
    /// Assigns every wallet a proxy now, so the wallets spread evenly over the proxies.
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
        Ok(Self {
            proxies,
            rpc_url,
            providers: wallets.iter().map(|_| Mutex::new(None)).collect(),
        })
    }

    /// Number of proxies.
    pub(super) fn len(&self) -> usize {
        self.proxies.len()
    }

    /// The lease predicate: `true` (skip) for a wallet whose proxy is banned, unless the pool
    /// allows direct connections. Two short locks and a hash lookup.
    pub(super) fn skip(&self) -> impl Fn(&Arc<Wallet>) -> bool + Send + Sync + 'static {
        let proxies = self.proxies.clone();
        move |wallet| is_skipped(&proxies, &wallet.address())
    }

    /// The provider for the wallet at `index`: through its proxy (moved first if that proxy is
    /// banned), cached while the wallet stays on it.
    ///
    /// # Errors
    /// [`spam_proxy::Error::NoProxyAvailable`] when every proxy got banned since the lease and
    /// direct connections are not allowed.
    pub(super) fn provider(
        &self,
        index: usize,
        address: Address,
    ) -> Result<RootProvider, spam_proxy::Error> {
        let route = self.proxies.assign(&address)?;
        let mut slot = self.providers[index].lock();
        match &*slot {
            Some((id, provider)) if *id == route.proxy_id() => Ok(provider.clone()),
            _ => {
                let provider = route.provider(self.rpc_url.clone());
                *slot = Some((route.proxy_id(), provider.clone()));
                Ok(provider)
            }
        }
    }

    /// Moves the wallets whose proxy is banned to available proxies. Returns how many moved
    /// and how many are still skipped (every proxy banned).
    pub(super) fn rebalance(&self, wallets: &[Arc<Wallet>]) -> (usize, usize) {
        let (mut moved, mut skipped) = (0, 0);
        for wallet in wallets {
            let address = wallet.address();
            if !is_skipped(&self.proxies, &address) {
                continue;
            }
            // Fails only when every proxy is banned: the wallet then stays where it is.
            match self.proxies.assign(&address) {
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
        self.proxies
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
            .field("proxies", &self.proxies)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use spam_proxy::{Failure, FailureKind, PoolConfig as ProxyConfig};

    use super::*;
    use crate::PoolConfig;

    const LIST: &str = "http://u:p@127.0.0.1:3128\nsocks5h://u:p@127.0.0.1:1080";

    fn setup(config: ProxyConfig) -> (Egress, WalletPool<Arc<Wallet>>, [ProxyId; 2]) {
        let proxies = ProxyPool::from_list(LIST, config).unwrap();
        let ids: Vec<ProxyId> = proxies.ids().collect();
        let wallets: Vec<Arc<Wallet>> = (0..4).map(|_| Arc::new(Wallet::random())).collect();
        let egress =
            Egress::new(proxies, "http://127.0.0.1:8545".parse().unwrap(), &wallets).unwrap();
        let pool = WalletPool::new(wallets, PoolConfig::default().with_cooldown(Duration::ZERO))
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
            .map(|lease| egress.proxies.assigned(&lease.address()).unwrap())
            .collect()
    }

    #[test]
    fn wallets_spread_evenly_and_those_on_a_banned_proxy_are_skipped_until_moved() {
        let (egress, pool, [a, b]) = setup(ProxyConfig::default());
        let mut on = leasable(&egress, &pool);
        on.sort();
        assert_eq!(on, [a, a, b, b], "two wallets per proxy");

        egress.proxies.ban(a, refused());
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

        egress.proxies.ban(b, refused());
        assert_eq!(egress.rebalance(pool.wallets()), (0, 4), "nowhere to go");
        assert!(pool.try_acquire().is_none(), "every wallet is skipped");

        egress.proxies.unban(a);
        assert!(pool.try_acquire().is_none(), "still on the banned one");
        assert_eq!(egress.rebalance(pool.wallets()), (4, 0));
        assert_eq!(leasable(&egress, &pool), [a, a, a, a]);
    }

    #[test]
    fn with_direct_allowed_nothing_is_skipped_and_wallets_move_at_lease() {
        let (egress, pool, [a, b]) = setup(ProxyConfig::default().with_allow_direct(true));
        egress.proxies.ban(a, refused());
        egress.proxies.ban(b, refused());
        let leases: Vec<_> = std::iter::from_fn(|| pool.try_acquire()).collect();
        assert_eq!(leases.len(), 4, "never skipped");
        for lease in &leases {
            egress.provider(lease.index(), lease.address()).unwrap();
            let slot = egress.providers[lease.index()].lock();
            assert_eq!(slot.as_ref().unwrap().0, None, "direct");
        }
    }

    #[test]
    fn providers_are_cached_per_wallet_until_it_moves() {
        let (egress, pool, [a, b]) = setup(ProxyConfig::default());
        let wallet = Arc::clone(&pool.wallets()[0]);
        let first = egress.proxies.assigned(&wallet.address()).unwrap();
        let other = if first == a { b } else { a };
        let route_of = |egress: &Egress| egress.providers[0].lock().as_ref().map(|(id, _)| *id);

        assert_eq!(route_of(&egress), None, "built at the first task");
        egress.provider(0, wallet.address()).unwrap();
        assert_eq!(route_of(&egress), Some(Some(first)));
        let picks = egress.proxies.stats(first).unwrap().picks;
        egress.provider(0, wallet.address()).unwrap();
        assert_eq!(route_of(&egress), Some(Some(first)));
        assert_eq!(egress.proxies.stats(first).unwrap().picks, picks + 1);

        egress.proxies.ban(first, refused());
        egress.provider(0, wallet.address()).unwrap();
        assert_eq!(
            route_of(&egress),
            Some(Some(other)),
            "rebuilt over the new proxy"
        );

        egress.proxies.ban(other, refused());
        let err = egress.provider(0, wallet.address()).unwrap_err();
        assert!(err.is_retryable(), "{err}");
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
