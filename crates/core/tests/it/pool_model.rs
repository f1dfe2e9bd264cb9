//! Model test: random sequences of try_acquire / acquire / release / clock advance / skip
//! changes, on random pool shapes, checked step by step against a plain reference model of the
//! permit rule (cap, cooldown per release, skip) and of each strategy's choice.

use std::{
    num::NonZeroU32,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use proptest::prelude::*;
use spam_core::{Lease, LeaseStrategy as Pick, WalletPool, WalletPoolConfig};
use tokio::time::Instant;

/// How long an `acquire` the model says can never return is given before it is cancelled.
const HANG: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone)]
enum Op {
    TryAcquire,
    Acquire,
    Release(usize),
    Advance(u64),
    SkipMask(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::TryAcquire),
        3 => Just(Op::Acquire),
        5 => any::<usize>().prop_map(Op::Release),
        3 => (0u64..6).prop_map(|s| Op::Advance(s * 1_000)),
        1 => (0u64..64).prop_map(Op::SkipMask),
    ]
}

fn pick() -> impl Strategy<Value = Pick> {
    prop_oneof![
        Just(Pick::RoundRobin),
        Just(Pick::LeastRecentlyUsed),
        any::<u64>().prop_map(|seed| Pick::Random { seed: Some(seed) }),
    ]
}

/// The reference: per-wallet leases and cooling permits, strategy state, virtual time.
struct Model {
    cap: u32,
    cooldown: Duration,
    strategy: Pick,
    now: Duration,
    leased: Vec<u32>,
    /// `ready_at` (since start) of each cooling permit, per wallet.
    cooling: Vec<Vec<Duration>>,
    skip: u64,
    rr_next: usize,
    /// Wallets, least recently touched first.
    lru: Vec<usize>,
}

impl Model {
    fn new(n: usize, cap: u32, cooldown: Duration, strategy: Pick) -> Self {
        Self {
            cap,
            cooldown,
            strategy,
            now: Duration::ZERO,
            leased: vec![0; n],
            cooling: vec![Vec::new(); n],
            skip: 0,
            rr_next: 0,
            lru: (0..n).collect(),
        }
    }

    fn available(&self, i: usize) -> bool {
        let cooling = self.cooling[i].iter().filter(|&&t| t > self.now).count();
        self.skip >> i & 1 == 0 && self.leased[i] as usize + cooling < self.cap as usize
    }

    fn available_set(&self) -> Vec<usize> {
        (0..self.leased.len())
            .filter(|&i| self.available(i))
            .collect()
    }

    /// The wallet the strategy must pick now (`None` for random: any available one).
    fn expected_pick(&self) -> Option<usize> {
        let n = self.leased.len();
        match self.strategy {
            Pick::RoundRobin => (0..n)
                .map(|k| (self.rr_next + k) % n)
                .find(|&i| self.available(i)),
            Pick::LeastRecentlyUsed => self.lru.iter().copied().find(|&i| self.available(i)),
            _ => None,
        }
    }

    fn touch(&mut self, i: usize) {
        self.lru.retain(|&j| j != i);
        self.lru.push(i);
    }

    fn lease(&mut self, i: usize) {
        assert!(self.available(i), "pool leased unavailable wallet {i}");
        self.leased[i] += 1;
        self.rr_next = (i + 1) % self.leased.len();
        self.touch(i);
    }

    fn release(&mut self, i: usize) {
        self.leased[i] -= 1;
        if !self.cooldown.is_zero() {
            self.cooling[i].push(self.now + self.cooldown);
        }
        self.touch(i);
    }

    /// When `acquire` must return if nothing is available now: the next `ready_at` of a wallet
    /// that is not skipped.
    fn next_ready(&self) -> Option<Duration> {
        (0..self.leased.len())
            .filter(|&i| self.skip >> i & 1 == 0)
            .flat_map(|i| self.cooling[i].iter().copied())
            .filter(|&t| t > self.now)
            .min()
    }
}

fn check_pick(model: &Model, got: Option<usize>) {
    let available = model.available_set();
    match got {
        None => assert!(
            available.is_empty(),
            "pool said none, model has {available:?}"
        ),
        Some(i) => {
            assert!(available.contains(&i), "got {i}, available {available:?}");
            if let Some(expected) = model.expected_pick() {
                assert_eq!(i, expected, "{:?} picked the wrong wallet", model.strategy);
            }
        }
    }
}

fn run(n: usize, cap: u32, cooldown_ms: u64, strategy: Pick, ops: Vec<Op>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async move {
        let cooldown = Duration::from_millis(cooldown_ms);
        let config = WalletPoolConfig::default()
            .with_cooldown(cooldown)
            .with_max_in_flight(NonZeroU32::new(cap).unwrap())
            .with_strategy(strategy);
        let mask = Arc::new(AtomicU64::new(0));
        let pool = WalletPool::new(0..n, config).unwrap().with_skip({
            let mask = Arc::clone(&mask);
            move |&w: &usize| mask.load(Ordering::Relaxed) >> w & 1 == 1
        });
        let mut model = Model::new(n, cap, cooldown, strategy);
        let mut live: Vec<Lease<usize>> = Vec::new();
        let start = Instant::now();

        for op in ops {
            match op {
                Op::TryAcquire => {
                    let lease = pool.try_acquire();
                    check_pick(&model, lease.as_ref().map(Lease::index));
                    if let Some(lease) = lease {
                        model.lease(lease.index());
                        live.push(lease);
                    }
                }
                Op::Acquire => {
                    let can_wait = model.available_set().is_empty();
                    let wake_at = if can_wait {
                        model.next_ready()
                    } else {
                        Some(model.now)
                    };
                    let got = tokio::time::timeout(HANG, pool.acquire()).await;
                    match (wake_at, got) {
                        (Some(at), Ok(lease)) => {
                            model.now = at;
                            assert_eq!(start.elapsed(), at, "acquire returned off ready_at");
                            check_pick(&model, Some(lease.index()));
                            model.lease(lease.index());
                            live.push(lease);
                        }
                        (None, Err(_)) => model.now += HANG, // cancelled, as it must hang
                        (wake_at, got) => {
                            panic!("model {wake_at:?}, pool {:?}", got.map(|l| l.index()))
                        }
                    }
                }
                Op::Release(k) if !live.is_empty() => {
                    let lease = live.swap_remove(k % live.len());
                    model.release(lease.index());
                    lease.release();
                }
                Op::Release(_) => {}
                Op::Advance(ms) => {
                    tokio::time::advance(Duration::from_millis(ms)).await;
                    model.now += Duration::from_millis(ms);
                }
                Op::SkipMask(bits) => {
                    mask.store(bits, Ordering::Relaxed);
                    pool.refresh();
                    model.skip = bits;
                }
            }
            // The cap holds for live leases, and the pool's counters agree.
            for i in 0..n {
                let held = live.iter().filter(|l| l.index() == i).count();
                assert!(
                    held <= cap as usize,
                    "wallet {i} leased {held} times, cap {cap}"
                );
                assert_eq!(held as u32, model.leased[i]);
            }
            let stats = pool.stats();
            assert_eq!((stats.leased, stats.waiting), (live.len(), 0));
            assert_eq!(start.elapsed(), model.now);
        }
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn pool_matches_model(
        n in 1usize..6,
        cap in 1u32..4,
        cooldown_ms in prop_oneof![Just(0u64), Just(1_000), Just(4_000)],
        strategy in pick(),
        ops in proptest::collection::vec(op(), 1..80),
    ) {
        run(n, cap, cooldown_ms, strategy, ops);
    }
}
