//! [`Router`]: which endpoint each request goes to, sticky per sender.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use alloy::{
    primitives::Address, providers::RootProvider, rpc::client::RpcClient,
    transports::utils::guess_local_url,
};
use parking_lot::Mutex;
use tokio::time::Instant;

use super::{
    EndpointStrategy, Endpoints,
    member::Endpoint,
    transport::{Route, Routed},
};
use crate::{metrics::LatencyBuckets, report::EndpointSummary};

/// The run's endpoints and where each sender sends. Cheap to share (`Arc`).
pub(crate) struct Router {
    pub(super) endpoints: Vec<Arc<Endpoint>>,
    /// Indexes into `endpoints`, in the order given.
    pub(super) reads: Vec<usize>,
    pub(super) sends: Vec<usize>,
    pub(super) strategy: EndpointStrategy,
    pub(super) probe_every: Duration,
    figures: bool,
    places: Mutex<Places>,
    /// Senders moved to another endpoint and not yet reconciled against it.
    moved: Mutex<HashSet<Address>>,
    moving: AtomicUsize,
    /// The send endpoints' health changes counted at the last rebalance.
    last_changes: std::sync::atomic::AtomicU64,
    is_local: bool,
}

#[derive(Default)]
struct Places {
    by_sender: HashMap<Address, usize>,
    /// Senders per endpoint (by index into `endpoints`).
    load: Vec<usize>,
}

impl Router {
    /// One [`Endpoint`] per distinct URL; `timeout` bounds each HTTP request.
    pub(crate) fn new(config: &Endpoints, timeout: Duration) -> Result<Arc<Self>, String> {
        config.check()?;
        let start = Instant::now();
        let mut urls = Vec::new();
        let mut index_of = |url: &alloy::transports::http::reqwest::Url| {
            urls.iter().position(|u| u == url).unwrap_or_else(|| {
                urls.push(url.clone());
                urls.len() - 1
            })
        };
        let reads: Vec<usize> = config.reads.iter().map(&mut index_of).collect();
        let sends: Vec<usize> = config.sends().iter().map(&mut index_of).collect();
        let endpoints = urls
            .into_iter()
            .enumerate()
            .map(|(i, url)| Endpoint::new(i, url, timeout, config.max_rps, start).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| format!("the HTTP client could not be built: {err}"))?;
        let is_local = endpoints.iter().all(|e| guess_local_url(e.url.as_str()));
        let load = vec![0; endpoints.len()];
        Ok(Arc::new(Self {
            endpoints,
            reads,
            sends,
            strategy: config.strategy,
            probe_every: config.probe_every,
            figures: config.has_figures(),
            places: Mutex::new(Places {
                by_sender: HashMap::new(),
                load,
            }),
            moved: Mutex::new(HashSet::new()),
            moving: AtomicUsize::new(0),
            last_changes: std::sync::atomic::AtomicU64::new(0),
            is_local,
        }))
    }

    /// Every endpoint, reads and sends, once each.
    pub(crate) fn endpoints(&self) -> &[Arc<Endpoint>] {
        &self.endpoints
    }

    /// Whether more than one endpoint is in play.
    pub(crate) fn is_multi(&self) -> bool {
        self.endpoints.len() > 1
    }

    /// Whether every signed transaction goes to every send endpoint.
    pub(crate) fn broadcasts(&self) -> bool {
        self.strategy == EndpointStrategy::Broadcast && self.sends.len() > 1
    }

    /// The send endpoints, in order.
    pub(crate) fn send_endpoints(&self) -> impl Iterator<Item = &Arc<Endpoint>> {
        self.sends.iter().map(|&i| &self.endpoints[i])
    }

    /// The healthy send endpoints (all of them when none is healthy: something must be
    /// tried).
    pub(crate) fn healthy_sends(&self) -> Vec<&Arc<Endpoint>> {
        let healthy: Vec<_> = self.send_endpoints().filter(|e| e.is_healthy()).collect();
        if healthy.is_empty() {
            self.send_endpoints().collect()
        } else {
            healthy
        }
    }

    /// The send endpoint of `sender`: the one it has while it is the right one, else (first
    /// call, unhealthy, failover target changed) the right one now, and the sender counts
    /// as moved.
    pub(crate) fn send_endpoint(&self, sender: Address) -> &Arc<Endpoint> {
        if self.sends.len() == 1 {
            return &self.endpoints[self.sends[0]];
        }
        let mut places = self.places.lock();
        let index = self.place(&mut places, sender);
        &self.endpoints[index]
    }

    fn place(&self, places: &mut Places, sender: Address) -> usize {
        let current = places.by_sender.get(&sender).copied();
        let target = self.target(current, &places.load);
        if current == Some(target) {
            return target;
        }
        places.load[target] += 1;
        places.by_sender.insert(sender, target);
        if let Some(from) = current {
            places.load[from] -= 1;
            self.endpoints[target].moved(true);
            self.endpoints[from].moved(false);
            if self.moved.lock().insert(sender) {
                self.moving.fetch_add(1, Ordering::Relaxed);
            }
            tracing::debug!(target: "spam::endpoint", %sender, from = %self.endpoints[from].label, to = %self.endpoints[target].label, "sender moved");
        }
        target
    }

    /// Where a sender on `current` belongs now.
    fn target(&self, current: Option<usize>, load: &[usize]) -> usize {
        let healthy = |i: &usize| self.endpoints[*i].is_healthy();
        match self.strategy {
            EndpointStrategy::Spread => {
                if let Some(c) = current.filter(healthy) {
                    return c;
                }
                let least = |it: &mut dyn Iterator<Item = usize>| it.min_by_key(|&i| (load[i], i));
                least(&mut self.sends.iter().copied().filter(healthy))
                    .or(current)
                    .or_else(|| least(&mut self.sends.iter().copied()))
                    .expect("at least one send endpoint")
            }
            EndpointStrategy::Failover | EndpointStrategy::Broadcast => self
                .sends
                .iter()
                .copied()
                .find(healthy)
                .or(current)
                .unwrap_or(self.sends[0]),
        }
    }

    /// Moves every sender that is not where it belongs (its endpoint unhealthy, or the
    /// failover primary back); returns how many moved. Looks at the senders only when the
    /// send endpoints' health changed since the last call: the walk is over every sender.
    pub(crate) fn rebalance(&self) -> usize {
        if self.sends.len() == 1 {
            return 0;
        }
        let changes: u64 = self.send_endpoints().map(|e| e.health_changes()).sum();
        if self.last_changes.swap(changes, Ordering::Relaxed) == changes {
            return 0;
        }
        let mut places = self.places.lock();
        let senders: Vec<Address> = places.by_sender.keys().copied().collect();
        senders
            .into_iter()
            .filter(|&s| {
                let before = places.by_sender.get(&s).copied();
                Some(self.place(&mut places, s)) != before
            })
            .count()
    }

    /// Whether a transaction of `sender` may go now under the request caps (open loop: a
    /// refusal drops the tick, counted at the endpoint). Every healthy endpoint must allow
    /// it when the run broadcasts.
    pub(crate) fn admit(&self, sender: Address) -> bool {
        if self.broadcasts() {
            self.healthy_sends().iter().all(|e| e.try_permits(1))
        } else {
            self.send_endpoint(sender).try_permits(1)
        }
    }

    /// The read endpoint: the first healthy one in order, whatever the strategy. The block
    /// scan, receipts and fees need one consistent view of the chain; replicas behind a
    /// spread would each be at their own head.
    pub(crate) fn read_endpoint(&self) -> &Arc<Endpoint> {
        let first = self
            .reads
            .iter()
            .map(|&i| &self.endpoints[i])
            .find(|e| e.is_healthy());
        first.unwrap_or(&self.endpoints[self.reads[0]])
    }

    /// A healthy endpoint of `route`'s set other than `failed`, in order.
    pub(crate) fn other_healthy(&self, route: Route, failed: usize) -> Option<&Arc<Endpoint>> {
        let set = if route == Route::Reads {
            &self.reads
        } else {
            &self.sends
        };
        set.iter()
            .map(|&i| &self.endpoints[i])
            .find(|e| e.index != failed && e.is_healthy())
    }

    /// The first healthy send endpoint: sends that belong to no sender (a filler, settling).
    pub(crate) fn first_send_endpoint(&self) -> &Arc<Endpoint> {
        self.healthy_sends()[0]
    }

    /// A provider whose every request goes where `route` says at that moment.
    pub(crate) fn provider(self: &Arc<Self>, route: Route) -> RootProvider {
        RootProvider::new(self.client(route))
    }

    /// A JSON-RPC client whose every request goes where `route` says at that moment.
    pub(crate) fn client(self: &Arc<Self>, route: Route) -> RpcClient {
        RpcClient::new(
            Routed {
                router: Arc::clone(self),
                route,
            },
            self.is_local,
        )
    }

    /// A provider of `sender`'s send endpoint of the moment.
    pub(crate) fn provider_for(self: &Arc<Self>, sender: Address) -> RootProvider {
        self.provider(Route::Sender(sender))
    }

    /// Whether `sender` moved and was not reconciled since: it should not take a nonce.
    pub(crate) fn is_moving(&self, sender: &Address) -> bool {
        self.moving.load(Ordering::Relaxed) > 0 && self.moved.lock().contains(sender)
    }

    /// The senders that moved and wait to be reconciled.
    pub(crate) fn moved(&self) -> Vec<Address> {
        if self.moving.load(Ordering::Relaxed) == 0 {
            return Vec::new();
        }
        self.moved.lock().iter().copied().collect()
    }

    /// `senders` were reconciled against their new endpoint.
    pub(crate) fn reconciled(&self, senders: &[Address]) {
        let mut moved = self.moved.lock();
        for s in senders {
            if moved.remove(s) {
                self.moving.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    /// Per-endpoint figures for the report; empty with one endpoint and no cap.
    /// `senders`: how many the run has (all of them are on a lone send endpoint).
    pub(crate) fn summaries(&self, senders: usize) -> Vec<EndpointSummary> {
        if !self.figures {
            return Vec::new();
        }
        let places = self.places.lock();
        let all_sends: u64 = self.endpoints.iter().map(|e| e.sends()).sum();
        self.endpoints
            .iter()
            .map(|e| {
                let read = self.reads.contains(&e.index);
                let send = self.sends.contains(&e.index);
                let roles = match (read, send) {
                    (true, true) => "read+send",
                    (true, false) => "read",
                    _ => "send",
                };
                let senders = if self.sends.len() == 1 {
                    if send { senders as u64 } else { 0 }
                } else {
                    places.load[e.index] as u64
                };
                e.summary(roles, senders, all_sends)
            })
            .collect()
    }

    /// Per endpoint label, send to answer as histogram buckets (empty when
    /// [`summaries`](Self::summaries) is).
    pub(crate) fn ack_buckets(&self) -> BTreeMap<String, LatencyBuckets> {
        if !self.figures {
            return BTreeMap::new();
        }
        self.endpoints
            .iter()
            .filter_map(|e| Some((e.label.clone(), e.ack_buckets()?)))
            .collect()
    }
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("endpoints", &self.endpoints)
            .field("strategy", &self.strategy)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    fn url(port: u16) -> alloy::transports::http::reqwest::Url {
        format!("http://127.0.0.1:{port}").parse().unwrap()
    }

    fn router(strategy: EndpointStrategy, sends: usize) -> Arc<Router> {
        let endpoints = Endpoints::new(vec![url(1)])
            .with_sends((0..sends).map(|i| url(10 + i as u16)).collect())
            .with_strategy(strategy);
        Router::new(&endpoints, Duration::from_secs(1)).unwrap()
    }

    /// Opens the breaker of send endpoint `i` (three failed calls: the endpoint breaker's
    /// minimum).
    fn kill(router: &Router, i: usize) {
        let endpoint = &router.endpoints[router.sends[i]];
        for _ in 0..3 {
            endpoint.breaker.try_acquire().unwrap().failure();
        }
        assert!(!endpoint.is_healthy());
    }

    fn senders(n: u8) -> Vec<Address> {
        (1..=n).map(Address::repeat_byte).collect()
    }

    fn on(router: &Router, senders: &[Address]) -> Vec<usize> {
        senders
            .iter()
            .map(|s| router.send_endpoint(*s).index)
            .collect()
    }

    #[test]
    fn spread_is_sticky_and_balanced_and_moves_only_the_senders_of_a_dead_endpoint() {
        let router = router(EndpointStrategy::Spread, 3);
        let senders = senders(9);
        let first = on(&router, &senders);
        for e in 1..=3 {
            assert_eq!(first.iter().filter(|&&i| i == e).count(), 3, "{first:?}");
        }
        assert_eq!(on(&router, &senders), first, "sticky");
        assert!(router.moved().is_empty(), "first placements are not moves");

        kill(&router, 0); // endpoint index 1
        let after = on(&router, &senders);
        for (before, now) in first.iter().zip(&after) {
            if *before == 1 {
                assert_ne!(*now, 1);
            } else {
                assert_eq!(before, now, "senders of healthy endpoints stay");
            }
        }
        assert_eq!(router.moved().len(), 3);
        assert!(router.is_moving(&senders[first.iter().position(|&i| i == 1).unwrap()]));
        router.reconciled(&router.moved());
        assert!(router.moved().is_empty());
        assert_eq!(router.rebalance(), 0, "nothing left to move");
    }

    #[test]
    fn failover_uses_the_first_healthy_endpoint_and_comes_back_to_the_primary() {
        let router = router(EndpointStrategy::Failover, 2);
        let senders = senders(4);
        assert_eq!(on(&router, &senders), [1, 1, 1, 1]);
        kill(&router, 0);
        assert_eq!(on(&router, &senders), [2, 2, 2, 2]);
        assert_eq!(router.moved().len(), 4);
        router.reconciled(&router.moved());

        // The breaker's open period ends; one successful probe closes it.
        std::thread::sleep(Duration::from_millis(550));
        let primary = &router.endpoints[router.sends[0]];
        primary.breaker.try_acquire().unwrap().success();
        assert!(primary.is_healthy());
        assert_eq!(router.rebalance(), 4, "back to the primary");
        assert_eq!(on(&router, &senders), [1, 1, 1, 1]);
        let s = router.summaries(4);
        assert_eq!((s[1].senders_out, s[1].senders_in, s[1].senders), (4, 4, 4));
        assert_eq!(
            s[1].transitions
                .iter()
                .map(|t| t.to.as_str())
                .collect::<Vec<_>>(),
            ["unhealthy", "healthy"]
        );
    }

    #[test]
    fn with_every_endpoint_down_senders_stay_where_they_are() {
        let router = router(EndpointStrategy::Spread, 2);
        let senders = senders(2);
        let first = on(&router, &senders);
        kill(&router, 0);
        kill(&router, 1);
        assert_eq!(on(&router, &senders), first);
        assert!(router.moved().is_empty());
    }

    #[test]
    fn the_request_cap_refuses_ticks_beyond_it_and_counts_them() {
        let endpoints = Endpoints::new(vec![url(1)]).with_max_rps(NonZeroU32::new(100).unwrap());
        let router = Router::new(&endpoints, Duration::from_secs(1)).unwrap();
        let sender = Address::repeat_byte(1);
        // The initial burst is drained: a quick series gets at most a permit or two.
        let passed = (0..50).filter(|_| router.admit(sender)).count();
        assert!(passed <= 2, "{passed} passed at once under 100/s");
        let s = router.summaries(1);
        assert_eq!(s.len(), 1, "a cap alone brings figures");
        assert_eq!(s[0].rate_limited, 50 - passed as u64);
    }

    #[test]
    fn broadcast_places_senders_like_failover_for_their_other_requests() {
        let router = router(EndpointStrategy::Broadcast, 2);
        assert!(router.broadcasts());
        assert_eq!(on(&router, &senders(3)), [1, 1, 1]);
        assert_eq!(router.healthy_sends().len(), 2);
        kill(&router, 1);
        assert_eq!(router.healthy_sends().len(), 1);
    }
}
