//! Selection: strategies, sticky-by-key, and the all-banned fallback.

use std::{
    hash::{DefaultHasher, Hash, Hasher},
    sync::atomic::Ordering,
    time::Instant,
};

use rand::Rng;

use crate::{
    config::Strategy,
    entry::{Entry, ProxyId},
    error::Error,
    pool::ProxyPool,
    route::Route,
};

impl ProxyPool {
    /// A route through a proxy that is not banned, chosen by the configured
    /// [`Strategy`](crate::Strategy). Never waits.
    ///
    /// # Errors
    /// [`Error::NoProxyAvailable`] when every proxy is banned (or there are none) and direct
    /// connections are not allowed; with them allowed, a direct route instead.
    pub fn pick(&self) -> Result<Route, Error> {
        self.pick_with(self.inner.config.strategy)
    }

    /// Like [`pick`](Self::pick) with another strategy.
    ///
    /// # Errors
    /// As [`pick`](Self::pick).
    pub fn pick_with(&self, strategy: Strategy) -> Result<Route, Error> {
        let now = self.now();
        let found = match strategy {
            Strategy::RoundRobin => self.round_robin(now),
            Strategy::Random => self.random(now),
            Strategy::LeastUsed => self.least_used(now),
        };
        match found {
            Some(entry) => Ok(self.hand_out(entry)),
            None => self.fallback(now),
        }
    }

    /// The proxy for `key` (a wallet address, a worker id…): the same one on every call while
    /// it is not banned. A key seen for the first time, or whose proxy is banned, gets the
    /// available proxy holding the fewest keys, and keeps that one from then on (it does not
    /// move back when the old ban expires).
    ///
    /// # Errors
    /// As [`pick`](Self::pick) when no proxy is available; the key keeps its assignment and
    /// returns to it once the ban expires.
    pub fn assign<K: Hash + ?Sized>(&self, key: &K) -> Result<Route, Error> {
        let key = key_hash(key);
        let now = self.now();
        let config = &self.inner.config;
        let entries = &self.inner.entries;
        let mut sticky = self.inner.sticky.lock();
        if let Some(&i) = sticky.by_key.get(&key)
            && !entries[i].is_banned(now, config)
        {
            return Ok(self.hand_out(&entries[i]));
        }
        let best = entries
            .iter()
            .filter(|e| !e.is_banned(now, config))
            .min_by_key(|e| (sticky.load[e.id.0], e.id.0));
        let Some(entry) = best else {
            drop(sticky);
            return self.fallback(now);
        };
        if let Some(old) = sticky.by_key.insert(key, entry.id.0) {
            sticky.load[old] -= 1;
        }
        sticky.load[entry.id.0] += 1;
        Ok(self.hand_out(entry))
    }

    /// The proxy `key` is assigned to, without assigning or moving it.
    pub fn assigned<K: Hash + ?Sized>(&self, key: &K) -> Option<ProxyId> {
        let sticky = self.inner.sticky.lock();
        sticky.by_key.get(&key_hash(key)).map(|&i| ProxyId(i))
    }

    /// Forgets `key`'s assignment. Returns the proxy it had.
    pub fn unassign<K: Hash + ?Sized>(&self, key: &K) -> Option<ProxyId> {
        let mut sticky = self.inner.sticky.lock();
        let i = sticky.by_key.remove(&key_hash(key))?;
        sticky.load[i] -= 1;
        Some(ProxyId(i))
    }

    fn round_robin(&self, now: Instant) -> Option<&Entry> {
        let entries = &self.inner.entries;
        let start = self.inner.next.fetch_add(1, Ordering::Relaxed);
        (0..entries.len())
            .map(|k| &entries[start.wrapping_add(k) % entries.len()])
            .find(|e| !e.is_banned(now, &self.inner.config))
    }

    fn random(&self, now: Instant) -> Option<&Entry> {
        // Reservoir sampling: uniform over the available proxies without collecting them.
        let mut rng = rand::rng();
        let mut chosen = None;
        for (seen, e) in self.available_entries(now).enumerate() {
            if rng.random_range(0..=seen) == 0 {
                chosen = Some(e);
            }
        }
        chosen
    }

    fn least_used(&self, now: Instant) -> Option<&Entry> {
        self.available_entries(now)
            .min_by_key(|e| e.picks.load(Ordering::Relaxed))
    }

    fn available_entries(&self, now: Instant) -> impl Iterator<Item = &Entry> {
        self.inner
            .entries
            .iter()
            .filter(move |e| !e.is_banned(now, &self.inner.config))
    }

    fn hand_out(&self, entry: &Entry) -> Route {
        entry.picks.fetch_add(1, Ordering::Relaxed);
        Route::proxy(self.clone(), entry.id)
    }

    fn fallback(&self, now: Instant) -> Result<Route, Error> {
        if self.inner.config.allow_direct {
            return Ok(self.direct());
        }
        let remaining: Vec<_> = self
            .inner
            .entries
            .iter()
            .filter_map(|e| e.ban_remaining(now, &self.inner.config))
            .collect();
        Err(Error::NoProxyAvailable {
            total: self.inner.entries.len(),
            banned: remaining.len(),
            next_unban: remaining.into_iter().min(),
        })
    }
}

fn key_hash<K: Hash + ?Sized>(key: &K) -> u64 {
    // `DefaultHasher::new()` uses fixed keys, so a key hashes the same for the pool's life.
    let mut h = DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use std::{collections::HashMap, time::Duration};

    use super::*;
    use crate::{
        clock::ManualClock,
        config::PoolConfig,
        failure::{Failure, FailureKind},
    };

    fn pool(n: usize, config: PoolConfig) -> ProxyPool {
        let proxies = (0..n).map(|i| format!("http://10.0.0.{i}:3128").parse().unwrap());
        ProxyPool::new(proxies, config).unwrap()
    }

    fn id(route: &Route) -> usize {
        route.proxy_id().expect("a proxy route").index()
    }

    fn dead() -> Failure {
        Failure::new(FailureKind::Connect, "refused")
    }

    #[test]
    fn round_robin_cycles_and_skips_banned() {
        let p = pool(3, PoolConfig::default());
        let ids: Vec<_> = (0..6).map(|_| id(&p.pick().unwrap())).collect();
        assert_eq!(ids, [0, 1, 2, 0, 1, 2]);
        p.ban(ProxyId(1), dead());
        let ids: Vec<_> = (0..4).map(|_| id(&p.pick().unwrap())).collect();
        assert!(!ids.contains(&1), "{ids:?}");
    }

    #[test]
    fn random_spreads_over_available_proxies_only() {
        let p = pool(4, PoolConfig::default().with_strategy(Strategy::Random));
        p.ban(ProxyId(2), dead());
        let mut counts = HashMap::new();
        for _ in 0..4000 {
            *counts.entry(id(&p.pick().unwrap())).or_insert(0) += 1;
        }
        assert_eq!(counts.get(&2), None);
        // Each of the three gets about a third; 800 is far below any plausible sample.
        for i in [0, 1, 3] {
            assert!(counts[&i] > 800, "{counts:?}");
        }
    }

    #[test]
    fn least_used_balances_picks() {
        let p = pool(3, PoolConfig::default().with_strategy(Strategy::LeastUsed));
        p.route(ProxyId(0)).unwrap(); // `route` is not a pick
        for _ in 0..5 {
            p.pick_with(Strategy::RoundRobin).unwrap(); // 0,1,2,0,1
        }
        assert_eq!(id(&p.pick().unwrap()), 2);
        assert_eq!(id(&p.pick().unwrap()), 0); // a tie goes to the first
        let picks: Vec<_> = p.stats_all().iter().map(|s| s.picks).collect();
        assert_eq!(picks, [3, 2, 2]);
    }

    #[test]
    fn sticky_keys_spread_stay_and_move_only_when_banned() {
        let p = pool(3, PoolConfig::default());
        let keys = 0..6usize;
        let first: Vec<_> = keys.clone().map(|k| id(&p.assign(&k).unwrap())).collect();
        assert_eq!(first, [0, 1, 2, 0, 1, 2]);
        for _ in 0..100 {
            for (k, &expected) in first.iter().enumerate() {
                assert_eq!(id(&p.assign(&k).unwrap()), expected);
            }
        }
        assert_eq!(p.stats_all().iter().map(|s| s.picks).sum::<u64>(), 606);
        p.ban(ProxyId(0), dead());
        let moved: Vec<_> = keys.map(|k| id(&p.assign(&k).unwrap())).collect();
        assert_eq!(moved, [1, 1, 2, 2, 1, 2]);
        p.unban(ProxyId(0));
        // Keys stay where they moved to; new keys fill the emptied proxy first.
        assert_eq!(id(&p.assign(&0usize).unwrap()), 1);
        assert_eq!(id(&p.assign(&"new").unwrap()), 0);
        assert_eq!(p.assigned(&3usize), Some(ProxyId(2)));
        assert_eq!(p.unassign(&3usize), Some(ProxyId(2)));
        assert_eq!(p.assigned(&3usize), None);
    }

    #[test]
    fn all_banned_is_an_error_or_direct_never_a_wait() {
        let clock = ManualClock::new();
        let config = PoolConfig::default()
            .with_ban_ttl(Duration::from_secs(60))
            .with_clock(clock.clone());
        let p = pool(2, config.clone());
        p.ban(ProxyId(0), dead());
        clock.advance(Duration::from_secs(30));
        p.ban(ProxyId(1), dead());
        let err = p.pick().unwrap_err();
        assert!(err.is_retryable());
        assert_eq!(
            err.to_string(),
            "no proxy available: 2 of 2 banned, next unban in 30s, and direct connections are not allowed"
        );
        assert!(p.assign(&"k").is_err());
        clock.advance(Duration::from_secs(30));
        assert_eq!(id(&p.pick().unwrap()), 0);

        let direct = pool(1, config.with_allow_direct(true));
        direct.ban(ProxyId(0), dead());
        assert!(direct.pick().unwrap().is_direct());
        assert!(direct.assign(&1).unwrap().is_direct());
        let empty = pool(0, PoolConfig::default());
        assert!(matches!(
            empty.pick(),
            Err(Error::NoProxyAvailable {
                total: 0,
                banned: 0,
                next_unban: None
            })
        ));
    }

    #[test]
    fn reported_failures_ban_after_the_threshold_and_expire() {
        let clock = ManualClock::new();
        let p = pool(
            2,
            PoolConfig::default()
                .with_ban_ttl(Duration::from_secs(600))
                .with_clock(clock.clone()),
        );
        let a = ProxyId(0);
        assert!(!p.report_failure(a, dead()));
        assert!(!p.report_failure(a, dead()));
        assert!(p.report_failure(a, dead()));
        assert!(p.is_banned(a));
        assert_eq!(p.available(), 1);
        clock.advance(Duration::from_secs(599));
        assert!(p.is_banned(a));
        clock.advance(Duration::from_secs(1));
        assert!(!p.is_banned(a));
        let s = p.stats(a).unwrap();
        assert_eq!((s.failures, s.ban_count, s.is_banned()), (3, 1, false));
        p.ban(a, dead());
        p.ban(ProxyId(1), dead());
        p.reset();
        assert_eq!(p.available(), 2);
    }
}
